import type { FastifyInstance } from 'fastify';
import {
  PAY_OUTCOMES,
  SANDBOX_OUTCOMES,
  SandboxHelperError,
  type PayOutcome,
  type SandboxOutcome,
  type SandboxPaymentResult,
} from '../../app/sandbox-helpers.js';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { ApiError } from './errors.js';
import { exactBody } from './exact-body.js';
import { idempotent } from './idempotency.js';
import { BDT_PATTERN, COMMON_ERRORS, SECURITY, errorResponses, ref } from './schemas.js';
import { paymentView } from './views.js';

const IDEMPOTENCY_HEADER = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'Makes the POST safe to retry: the same key and body answer the first payment again.',
    },
  },
} as const;

const CreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['outcome'],
  properties: {
    outcome: { type: 'string', enum: [...SANDBOX_OUTCOMES] },
    amount: { type: 'string', pattern: BDT_PATTERN, description: 'Decimal text; default "100.00".' },
    currency: { type: 'string', minLength: 3, maxLength: 3, description: 'Default BDT.' },
    order_id: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'merchant_order_id; default test-….',
    },
    callback_url: { type: 'string', minLength: 1, maxLength: 2048 },
    refunds_fail: {
      type: 'boolean',
      description: 'Pay with the sandbox card whose refunds fail (for refund.failed).',
    },
    other_merchant: { type: 'boolean', description: 'Make it on the gateway’s other sandbox merchant.' },
  },
  examples: [{ outcome: 'succeeded', amount: '250.00' }],
} as const;

const PayBody = {
  type: 'object',
  additionalProperties: false,
  required: ['outcome'],
  properties: {
    outcome: { type: 'string', enum: [...PAY_OUTCOMES] },
    refunds_fail: { type: 'boolean' },
  },
} as const;

const ResultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['payment', 'wmx_id', 'callback_url', 'payment_url', 'callback'],
  properties: {
    payment: ref('Payment'),
    wmx_id: { type: 'string', description: 'The Merchant ID the payment belongs to.' },
    callback_url: { type: 'string', description: 'The payment’s callback URL, as given at init.' },
    payment_url: { type: 'string', description: 'The hosted payment page of this payment.' },
    callback: {
      type: ['object', 'null'],
      description:
        'What the hosted page posts to the callback URL now that the payment is final (`merchant_txn_data` and `wmx_signature`, exactly as a browser would bring them); null while pending.',
      additionalProperties: false,
      required: ['url', 'merchant_txn_data', 'wmx_signature'],
      properties: {
        url: { type: 'string' },
        merchant_txn_data: { type: 'string' },
        wmx_signature: { type: 'string' },
      },
    },
  },
} as const;

/**
 * Sandbox test helpers under /sandbox: real sandbox payments in a chosen state, for `wmx trigger`,
 * `wmx doctor` and a merchant's own tests. A live merchant's key gets 403 `sandbox_only`.
 */
export async function sandboxRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  const answer = (r: SandboxPaymentResult) => ({
    payment: paymentView(r.payment, r.payment.refundedMinor ?? 0n),
    wmx_id: r.merchant.wmxId,
    callback_url: r.payment.callbackUrl,
    payment_url: `${s.publicUrl}/bank-payment-process/${r.payment.token}`,
    callback: r.callback && { url: r.callback.url, ...r.callback.fields },
  });
  const asApiError = (e: unknown): never => {
    if (e instanceof SandboxHelperError) throw new ApiError(e.status, e.code, e.message);
    throw e;
  };

  app.post(
    '/sandbox/payments',
    {
      schema: {
        tags: ['Sandbox'],
        summary: 'Make a sandbox payment in a chosen state',
        description:
          'Starts a payment exactly as `init-payment-process` would and takes it to `outcome` as a customer would (the sandbox bank with its test cards, Cancel, expiry): the payment, its ledger postings and its webhook event are real. `pending` leaves it unpaid (a token to test a callback handler with). `other_merchant` makes it on the gateway’s own second sandbox merchant: a token that is not yours. Sandbox merchants only.',
        security: SECURITY,
        headers: IDEMPOTENCY_HEADER,
        body: CreateBody,
        response: {
          201: { ...ResultSchema, description: 'The payment as it now stands.' },
          ...errorResponses(400, 409, 413, 415, ...COMMON_ERRORS, 503),
        },
      },
      preValidation: exactBody(CreateBody),
    },
    async (req, reply) => {
      const m = merchantOf(req);
      const b = req.body as {
        outcome: SandboxOutcome;
        amount?: string;
        currency?: string;
        order_id?: string;
        callback_url?: string;
        refunds_fail?: boolean;
        other_merchant?: boolean;
      };
      return idempotent(s.idempotency, req, reply, async () => {
        const r = await s.sandboxHelpers
          .createPayment(
            m,
            {
              outcome: b.outcome,
              amount: b.amount,
              currency: b.currency,
              orderId: b.order_id,
              callbackUrl: b.callback_url,
              refundsFail: b.refunds_fail,
              otherMerchant: b.other_merchant,
            },
            req.ip,
          )
          .catch(asApiError);
        return { status: 201, body: String(reply.serializeInput(answer(r), '201')) };
      });
    },
  );

  app.get(
    '/sandbox/payments/pending',
    {
      schema: {
        tags: ['Sandbox'],
        summary: 'Find your newest unpaid payment for a callback URL',
        description:
          'The newest of your payments still payable on the hosted page (pending, unexpired) whose `callback_url` is this URL, query string aside; or the one named by `token`. `wmx doctor` tests a callback handler with an order the shop itself started. 404 when there is none. Sandbox merchants only.',
        security: SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['callback_url'],
          properties: {
            callback_url: { type: 'string', minLength: 1, maxLength: 2048 },
            token: { type: 'string', maxLength: 64 },
          },
        },
        response: {
          200: { ...ResultSchema, description: 'The payment (its `callback` is null: it is not final).' },
          ...errorResponses(400, 404, 409, ...COMMON_ERRORS),
        },
      },
    },
    async (req) => {
      const q = req.query as { callback_url: string; token?: string };
      const r = await s.sandboxHelpers.shopPending(merchantOf(req), q.callback_url, q.token).catch(asApiError);
      if (!r) throw new ApiError(404, 'not_found', 'No payable payment of yours has this callback URL.');
      return answer(r);
    },
  );

  app.post(
    '/sandbox/payments/:token/pay',
    {
      schema: {
        tags: ['Sandbox'],
        summary: 'Pay one of your pending sandbox payments',
        description:
          'Takes a pending payment (one your shop started with `init-payment-process`) to `outcome` on the sandbox bank, as a customer on the hosted page would. Sandbox merchants only.',
        security: SECURITY,
        headers: IDEMPOTENCY_HEADER,
        params: {
          type: 'object',
          required: ['token'],
          properties: { token: { type: 'string', maxLength: 64, description: 'The payment token.' } },
        },
        body: PayBody,
        response: {
          200: { ...ResultSchema, description: 'The payment as it now stands.' },
          ...errorResponses(400, 404, 409, 413, 415, ...COMMON_ERRORS),
        },
      },
      preValidation: exactBody(PayBody),
    },
    async (req, reply) => {
      const m = merchantOf(req);
      const { token } = req.params as { token: string };
      const b = req.body as { outcome: PayOutcome; refunds_fail?: boolean };
      return idempotent(s.idempotency, req, reply, async () => {
        const r = await s.sandboxHelpers.payPending(m, token, b.outcome, b.refunds_fail === true).catch(asApiError);
        return { status: 200, body: String(reply.serializeInput(answer(r), '200')) };
      });
    },
  );
}
