import type { FastifySchema } from 'fastify';

/**
 * OpenAPI descriptions of the legacy Walletmix v2 routes (PROTOCOL.md sections 3–5, 7). Documentation
 * only: these routes decode their bodies themselves (four encodings, hand-built bodies) and send
 * pre-serialised strings, so no schema here may validate or serialise anything. Hence the request
 * bodies are attached through @fastify/swagger's per-route `swaggerTransform` (which only the
 * document generator reads) rather than `schema.body` (which Fastify would validate).
 */

export const LEGACY_TAG = 'Legacy protocol (Walletmix v2)';

const str = (description: string, examples?: string[]) =>
  ({ type: 'string', description, ...(examples ? { examples } : {}) }) as const;
const strOrNull = (description: string, examples?: string[]) =>
  ({ type: ['string', 'null'], description, ...(examples ? { examples } : {}) }) as const;

const LEGACY_ERROR = {
  type: 'object',
  description: 'A business error: HTTP 200 all the same, `statusCode` a string, no token.',
  required: ['statusCode', 'statusMsg'],
  properties: {
    statusCode: str(
      '2001 auth failed · 2002 merchant not active · 2003 field missing · 2004 field invalid · 2005 amount invalid · 2006 currency · 2007 callback_url not allowed · 2008 merchant_ref_id reused · 2009 token not found · 2010 too many requests · 3001 maintenance · 5000 internal',
      ['2003'],
    ),
    statusMsg: str('Human-readable', ['Required field missing: customer_email']),
    field: str('The field at fault, when one is', ['customer_email']),
    request_id: str('On 5000: quote it to support'),
  },
} as const;

const CREDENTIALS = {
  wmx_id: str('Merchant ID: `WMX` + 13 lowercase hex', ['WMX6553c1d5a8b2e']),
  access_app_key: str('40 lowercase hex', ['0123456789abcdef0123456789abcdef01234567']),
  authorization: str('`Basic ` + base64(username:password)', ['Basic c2hvcF8xMjM0NTY3ODkwOnNlY3JldA==']),
} as const;

const CONSUMES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'];

/** A transform that documents a request body without Fastify ever seeing it as a schema. */
const withDocBody =
  (body: object) =>
  ({ schema, url }: { schema: FastifySchema; url: string }) => ({
    schema: { ...schema, body, consumes: CONSUMES },
    url,
  });

const INIT_BODY = {
  type: 'object',
  description:
    'Urlencoded (as the official PHP class sends it), multipart or JSON. Unknown fields are ignored; repeated keys take the first value; over 64 KiB is error 2004.',
  required: [
    'wmx_id',
    'access_app_key',
    'authorization',
    'merchant_order_id',
    'customer_name',
    'customer_email',
    'customer_phone',
    'product_desc',
    'amount',
    'currency',
    'callback_url',
  ],
  properties: {
    ...CREDENTIALS,
    merchant_order_id: str('The shop’s order id, ≤ 64 chars', ['1001']),
    merchant_ref_id: str(
      'The shop’s unique reference, ≤ 64 chars; the same reference with the same fields within 24 h returns the same token',
      ['65a1f3c2b9e7d'],
    ),
    app_name: str('Site or app label, ≤ 255'),
    cart_info: str('By convention `wmx_id,host,app_name`; never validated'),
    customer_name: str('Customer name (UTF-8; Bangla is fine)'),
    customer_email: str('Customer email'),
    customer_phone: str('Customer phone'),
    customer_add: str('Customer address'),
    customer_city: str('Customer city'),
    customer_country: str('Customer country'),
    customer_postcode: str('Customer postcode'),
    shipping_name: str('Shipping name'),
    shipping_add: str('Shipping address'),
    shipping_city: str('Shipping city'),
    shipping_country: str('Shipping country'),
    shipping_postCode: str('Shipping postcode (note the capital C)'),
    product_desc: str(
      'Free text ≤ 4096; the grammar `{2xItem A[5]=[10]}+{shipping rate:0}-{discount amount:0}=10.00` is shown as lines',
      ['{1xT-shirt[450]=[450]}+{shipping rate:60}-{discount amount:0}=510.00'],
    ),
    amount: str('Decimal, > 0, at most 2 decimals, in `currency`', ['510.00']),
    currency: str('ISO code from the rate table (case-insensitive)', ['BDT']),
    options: str('base64 of `s=<site>,i=<server ip>`; never rejected'),
    callback_url: str('Absolute http(s) URL on a registered domain (any host for a sandbox merchant)', [
      'https://shop.example.com/wmx/callback?order=1001',
    ]),
    extra_json: str('A JSON string, `[]` when empty; EMI keys `emi_period` (3/6/9/12) and `emi_selected_bank`', ['[]']),
  },
} as const;

const CHECK_BODY = {
  type: 'object',
  description: 'The same encodings as init. Unknown fields (the official class also sends `amount`) are ignored.',
  required: ['wmx_id', 'access_app_key', 'authorization', 'token'],
  properties: { ...CREDENTIALS, token: str('The token init returned', ['3f2a9c1e5b7d4a6c8e0f1a2b3c4d5e6f7a8b9c0d']) },
} as const;

const RECORD_FIELDS: Record<string, ReturnType<typeof str> | ReturnType<typeof strOrNull>> = {
  wmx_id: str('Echo'),
  ref_id: str('Gateway transaction reference, 15 alphanumerics'),
  token: str('Echo'),
  merchant_req_amount: str('Requested amount, 2 decimals', ['510.00']),
  merchant_ref_id: str('Echo'),
  merchant_order_id: str('Echo'),
  merchant_currency: str('Upper case', ['BDT']),
  conversion_rate: str('currency→BDT rate locked at init', ['1.00']),
  merchant_amount_bdt: str('merchant_req_amount × conversion_rate, half-up'),
  service_ratio: str('Fee percent for the method used', ['2.50']),
  wmx_charge_bdt: str('Fee in BDT'),
  emi_ratio: str('EMI surcharge percent', ['0.00']),
  emi_charge: str('EMI surcharge in BDT', ['0.00']),
  discount_bdt: str('Gateway-funded discount', ['0.00']),
  bank_amount_bdt: str('What the customer was charged'),
  request_ip: str('The IP that called init'),
  txn_status: strOrNull('"1000" paid · "1001" declined · "1009" cancelled or expired · null not finished', ['1000']),
  txn_details: str('Approved, Declined: insufficient funds, Cancelled by customer, Expired…'),
  extra_json: strOrNull('As received at init'),
  card_details: strOrNull('Masked instrument', ['411111******1111']),
  is_foreign: str('"1" for a card issued abroad, else "0"'),
  payment_card: str('Label', ['VISA-Sandbox Bank']),
  card_code: str('Numeric code string'),
  payment_method: str('Numeric code string: 1 card, 2 mobile wallet, 3 internet banking'),
  init_time: str('YYYY-MM-DD HH:MM:SS in the gateway’s time zone'),
  txn_time: strOrNull('As init_time; null until final'),
  customer_details: str('JSON-encoded customer and shipping fields'),
  refunded_amount_bdt: str('Ours: succeeded refunds so far, in BDT', ['0.00']),
};

const CHECK_RECORD = {
  type: 'object',
  description: 'The authoritative record. Every value is a string or null except `statusCode`, a number.',
  required: [...Object.keys(RECORD_FIELDS), 'statusCode'],
  properties: {
    ...RECORD_FIELDS,
    statusCode: { type: 'integer', enum: [1000, 1008], description: '1000 when txn_status is "1000", else 1008' },
  },
} as const;

const json200 = (description: string, schema: object) => ({ 200: { description, ...schema } });

export const LEGACY_SCHEMAS = {
  checkServer: {
    schema: {
      tags: [LEGACY_TAG],
      summary: 'Where to send init, and the payment page base URL',
      description:
        'No auth; any body is ignored; cheap enough to call on every page load. In maintenance `selectedServer` is false and the official class refuses to start a payment.',
      security: [],
      response: json200('Always 200', {
        anyOf: [
          {
            type: 'object',
            required: ['selectedServer', 'url', 'bank_payment_url'],
            properties: {
              selectedServer: { type: 'boolean', enum: [true] },
              url: str('init-payment-process URL'),
              bank_payment_url: str('Payment page base URL'),
            },
          },
          {
            type: 'object',
            required: ['selectedServer', 'statusMsg'],
            properties: { selectedServer: { type: 'boolean', enum: [false] }, statusMsg: str('Why') },
          },
        ],
      }),
    },
  },
  initPayment: {
    schema: {
      tags: [LEGACY_TAG],
      summary: 'Start a payment',
      description:
        'Credentials in the body. On success redirect the customer to `{bank_payment_url}/{token}`. Errors are HTTP 200 too.',
      security: [],
      response: json200('Success or a coded error (always HTTP 200)', {
        anyOf: [
          {
            type: 'object',
            required: ['statusCode', 'statusMsg', 'token'],
            properties: {
              statusCode: { type: 'string', enum: ['1000'] },
              statusMsg: { type: 'string', enum: ['Success'] },
              token: str('40 lowercase hex'),
            },
          },
          LEGACY_ERROR,
        ],
      }),
    },
    config: { swaggerTransform: withDocBody(INIT_BODY) },
  },
  checkPayment: {
    schema: {
      tags: [LEGACY_TAG],
      summary: 'The transaction record of a token',
      description:
        'Verify `wmx_id`, `txn_status == "1000"` and the amounts before fulfilling. Another merchant’s token answers 2009, like an unknown one.',
      security: [],
      response: json200('The record or a coded error (always HTTP 200)', { anyOf: [CHECK_RECORD, LEGACY_ERROR] }),
    },
    config: { swaggerTransform: withDocBody(CHECK_BODY) },
  },
  emiBanks: {
    schema: {
      tags: [LEGACY_TAG],
      summary: 'Banks offering EMI',
      security: [],
      response: json200('Bank key → name', {
        type: 'object',
        required: ['emiBankList'],
        properties: {
          emiBankList: {
            type: 'object',
            additionalProperties: { type: 'string' },
            examples: [{ dbbl: 'Dutch-Bangla Bank' }],
          },
        },
      }),
    },
  },
  abort: {
    schema: {
      tags: [LEGACY_TAG],
      summary: 'The page saying a payment was aborted',
      description: 'The Android SDKs watch for this URL.',
      security: [],
      produces: ['text/html'],
      response: json200('HTML page', { type: 'string' }),
    },
  },
} as const;

const HTML = { 'text/html': { schema: { type: 'string' as const } } };

const HOSTED_PAGE = (withExtra: boolean) => ({
  get: {
    tags: [LEGACY_TAG],
    summary: withExtra ? 'The hosted payment page, with an extra segment' : 'The hosted payment page',
    description:
      'HTML for the customer’s browser (English and Bangla; works without JavaScript): card, mobile wallet, internet banking and EMI. When the payment is final, the page makes the browser POST `merchant_txn_data` (a JSON string) and `wmx_signature` to `callback_url`.' +
      (withExtra ? ' The extra segment is echoed as `username` in `merchant_txn_data`.' : ''),
    security: [],
    parameters: [
      {
        name: 'token',
        in: 'path' as const,
        required: true,
        schema: { type: 'string' as const, pattern: '^[0-9a-f]{40}$' },
      },
      ...(withExtra
        ? [{ name: 'extra', in: 'path' as const, required: true, schema: { type: 'string' as const } }]
        : []),
    ],
    responses: {
      200: { description: 'The payment page (or the result page of a finished payment).', content: HTML },
      404: { description: 'Unknown token.', content: HTML },
    },
  },
});

/** Path items for the OpenAPI document's base `paths` (the checkout routes carry no schema). */
export const HOSTED_PAGE_PATHS = {
  '/bank-payment-process/{token}': HOSTED_PAGE(false),
  '/bank-payment-process/{token}/{extra}': HOSTED_PAGE(true),
};
