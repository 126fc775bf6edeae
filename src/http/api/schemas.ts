/**
 * JSON Schemas of the JSON API. Fastify validates requests and serialises responses with them, and
 * @fastify/swagger turns the same objects into the OpenAPI document: one source for both.
 * Shared schemas carry an $id, are added to the API scope and referenced as "Name#".
 */

const MONEY_PATTERN = '^-?\\d+\\.\\d{2}$';
export const money = (description: string) =>
  ({ type: 'string', pattern: MONEY_PATTERN, description, examples: ['1250.00'] }) as const;
const time = (description: string) => ({ type: 'string', format: 'date-time', description }) as const;
const nullable = <T extends { type: string }>(s: T) => ({ ...s, type: [s.type, 'null'] }) as const;

export const PAYMENT_STATUSES = ['pending', 'approved', 'declined', 'cancelled', 'expired'] as const;
export const PAYMENT_METHODS = ['card', 'mobile_wallet', 'internet_banking'] as const;

export const ErrorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every error of the API has this shape.',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: {
          type: 'string',
          description:
            'Stable machine code: invalid_request, invalid_amount, unauthenticated, forbidden, not_found, idempotency_conflict, idempotency_in_progress, refund_exceeds_refundable, payment_not_refundable, invalid_webhook_url, unsupported_media_type, payload_too_large, rate_limited, maintenance, internal_error.',
          examples: ['not_found'],
        },
        message: { type: 'string', description: 'Human-readable; may change.' },
        field: { type: 'string', description: 'The request field at fault, when one is.' },
        request_id: { type: 'string', description: 'On internal errors: quote it to support.' },
      },
    },
  },
} as const;

export const PaymentSchema = {
  $id: 'Payment',
  type: 'object',
  description: 'A payment, as created by init-payment-process. Amounts are decimal strings, times ISO 8601 (UTC).',
  additionalProperties: false,
  required: [
    'token',
    'ref_id',
    'merchant_order_id',
    'merchant_ref_id',
    'status',
    'txn_status',
    'currency',
    'amount',
    'amount_bdt',
    'refunded_bdt',
    'created_at',
  ],
  properties: {
    token: { type: 'string', pattern: '^[0-9a-f]{40}$', description: 'The payment token (40 lowercase hex).' },
    ref_id: { type: 'string', description: 'Gateway transaction reference (check-payment ref_id).' },
    merchant_order_id: { type: 'string' },
    merchant_ref_id: { type: 'string' },
    status: { type: 'string', enum: PAYMENT_STATUSES },
    txn_status: {
      type: ['string', 'null'],
      enum: ['1000', '1001', '1009', null],
      description:
        'The legacy txn_status: "1000" paid, "1001" declined, "1009" cancelled or expired, null while pending.',
    },
    txn_details: { type: 'string', examples: ['Approved'] },
    currency: { type: 'string', description: 'The order currency (ISO 4217).', examples: ['BDT'] },
    amount: money('Requested amount in `currency`.'),
    conversion_rate: { type: 'string', description: 'currency→BDT rate locked at init.', examples: ['1.00'] },
    amount_bdt: money('The amount in BDT.'),
    fee_percent: { type: 'string', examples: ['2.50'] },
    fee_bdt: money('Gateway fee, deducted at settlement.'),
    emi_months: nullable({ type: 'integer', description: 'EMI period, when the customer chose EMI.' }),
    emi_bank: nullable({ type: 'string' }),
    emi_percent: { type: 'string', examples: ['0.00'] },
    emi_charge_bdt: money('EMI surcharge paid by the customer.'),
    discount_bdt: money('Gateway-funded discount.'),
    charged_bdt: money('What the customer was charged (check-payment bank_amount_bdt).'),
    refunded_bdt: money('Refunded so far.'),
    method: nullable({ type: 'string', enum: [...PAYMENT_METHODS, null] }),
    card_details: nullable({
      type: 'string',
      description: 'Masked instrument: first 6 and last 4 digits of a card, or a masked wallet number.',
      examples: ['411111******1111'],
    }),
    payment_card: nullable({ type: 'string', examples: ['VISA-Sandbox Bank'] }),
    is_foreign: { type: 'boolean' },
    customer: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'email', 'phone'],
      properties: { name: { type: 'string' }, email: { type: 'string' }, phone: { type: 'string' } },
    },
    created_at: time('When the payment was initiated.'),
    completed_at: nullable(time('When it reached a final state; null while pending.')),
    expires_at: time('When an unpaid payment expires.'),
  },
} as const;

export const RefundSchema = {
  $id: 'Refund',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'payment_token', 'amount', 'currency', 'status', 'reason', 'created_at', 'completed_at'],
  properties: {
    id: { type: 'string', pattern: '^rfd_[A-Za-z0-9]+$', examples: ['rfd_3kTz9QbW1xYh2LmN8pVc'] },
    payment_token: { type: 'string', pattern: '^[0-9a-f]{40}$' },
    amount: money('Refunded amount in BDT.'),
    currency: { type: 'string', enum: ['BDT'] },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
    reason: nullable({ type: 'string', description: 'Why a refund failed (from the bank).' }),
    created_at: time('When the refund was requested.'),
    completed_at: nullable(time('When the bank answered.')),
  },
} as const;

export const BalanceSchema = {
  $id: 'Balance',
  type: 'object',
  additionalProperties: false,
  required: ['currency', 'available', 'pending_refunds', 'settled', 'fees'],
  properties: {
    currency: { type: 'string', enum: ['BDT'] },
    available: money('Owed to the merchant and not yet settled.'),
    pending_refunds: money('Refunds requested and not yet answered by the bank.'),
    settled: money('Paid out in settlement batches so far.'),
    fees: money('Gateway fees charged so far.'),
  },
} as const;

export const SettlementSchema = {
  $id: 'Settlement',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'date', 'currency', 'gross', 'fees', 'emi', 'refunds', 'net', 'payment_count', 'created_at'],
  properties: {
    id: { type: 'string', pattern: '^stl_[A-Za-z0-9]+$' },
    date: { type: 'string', format: 'date', description: "The settled day in the gateway's time zone." },
    currency: { type: 'string', enum: ['BDT'] },
    gross: money('Approved payments of the day.'),
    fees: money('Gateway fees.'),
    emi: money('EMI surcharges.'),
    refunds: money('Refunds of the day.'),
    net: money('Net payable to the merchant.'),
    payment_count: { type: 'integer', minimum: 0 },
    created_at: time('When the batch was built.'),
  },
} as const;

export const SHARED_SCHEMAS = [ErrorSchema, PaymentSchema, RefundSchema, BalanceSchema, SettlementSchema];

export const ref = (id: string) => ({ $ref: `${id}#` });

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (a parameter or the body is malformed).',
  401: 'Missing or unknown API key.',
  403: 'The merchant is not active (pending approval or suspended).',
  404: 'Not found (or not this merchant’s).',
  409: 'Idempotency-Key reused with a different request, or still in progress.',
  410: 'Gone: the listen session has ended.',
  413: 'Body too large.',
  415: 'The body is not application/json.',
  422: 'The request is well-formed but cannot be done (refund exceeds what is refundable, payment not paid).',
  429: 'Too many requests; see Retry-After.',
  500: 'Internal error; the message carries a request id.',
  503: 'The gateway is in maintenance.',
};

/** Response schemas for the given error statuses (each the shared Error shape). */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; $ref?: string } | object> = {};
  for (const s of statuses) out[s] = { description: ERROR_TEXT[s] ?? 'Error', ...ref('Error') };
  return out;
}

export const COMMON_ERRORS = [401, 403, 429, 500] as const;

export const listOf = (id: string, description: string) =>
  ({
    type: 'object',
    description,
    additionalProperties: false,
    required: ['data', 'next_cursor'],
    properties: {
      data: { type: 'array', items: ref(id) },
      next_cursor: {
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page; null on the last page.',
      },
    },
  }) as const;

export const withDescription = (id: string, description: string) => ({ description, ...ref(id) });

export const paginationQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Page size (at most 100).' },
  cursor: {
    type: 'string',
    maxLength: 200,
    pattern: '^[A-Za-z0-9_-]+$',
    description: 'The `next_cursor` of the previous page.',
  },
} as const;

export const SECURITY = [{ bearerAuth: [] }];

/** A BDT amount as the API takes it: decimal text, at most 2 decimals. */
export const BDT_PATTERN = '^\\d{1,13}(\\.\\d{1,2})?$';
