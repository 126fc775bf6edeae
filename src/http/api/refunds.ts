import type { FastifyInstance } from 'fastify';
import { parseAmount } from '../../domain/money.js';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { ApiError, invalid, notFound } from './errors.js';
import { idempotent } from './idempotency.js';
import { tokenParams } from './payments.js';
import { BDT_PATTERN, COMMON_ERRORS, errorResponses, SECURITY, withDescription } from './schemas.js';
import { refundView } from './views.js';
import type { Refund } from '../../app/refunds.js';

const AMOUNT_RE = new RegExp(BDT_PATTERN);

const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description:
        'Makes the POST safe to retry: the same key with the same body answers the first response again (with `Idempotent-Replayed: true`); the same key with another body answers 409 `idempotency_conflict`. Keys are kept 24 hours. ' +
        'The key is recorded in the same database transaction that creates the refund, so a retry never makes a second refund, even when the gateway stopped between creating the refund and answering: ' +
        'then no first response was sent, and the retry answers the refund as it stands at that moment (`201`, the same refund id, `pending` until the gateway has the bank’s final answer), and every later retry repeats that answer byte for byte, as replays of a first answer do. ' +
        'Follow a `pending` refund with `GET /refunds/{id}` or the `refund.succeeded` / `refund.failed` webhook. A retry while the first request is still running in the same gateway waits up to 10 seconds for its answer, then answers 409 `idempotency_in_progress` (retry shortly).',
    },
  },
} as const;

export async function refundRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  app.post(
    '/payments/:token/refunds',
    {
      schema: {
        tags: ['Refunds'],
        summary: 'Refund a payment',
        description:
          'Full (`{}`) or partial (`{"amount":"12.50"}`, BDT). Several refunds may be made up to the payment’s BDT amount (the EMI surcharge is not refundable). The refund comes back as the bank answered it: `succeeded` or `failed`, or `pending` when the bank accepted it without a final answer or did not answer in time (the gateway then asks the bank until it does). With an `Idempotency-Key`, retries are safe even across a gateway crash (see the header).',
        security: SECURITY,
        params: tokenParams,
        headers: idempotencyHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            amount: {
              type: 'string',
              pattern: BDT_PATTERN,
              description: 'BDT amount with at most 2 decimals; omit to refund everything still refundable.',
              examples: ['12.50'],
            },
          },
          examples: [{ amount: '12.50' }, {}],
        },
        response: {
          201: {
            ...withDescription('Refund', 'The refund, as the bank answered it.'),
            headers: {
              'idempotent-replayed': {
                type: 'string',
                enum: ['true'],
                description: 'Present when this is a stored earlier answer.',
              },
            },
          },
          ...errorResponses(400, 404, 409, 413, 415, 422, ...COMMON_ERRORS),
        },
      },
      // Fastify's validation coerces types (5 would pass as "5") and drops unknown fields silently;
      // money must arrive as text, never a JSON number, and a misspelt field must not go unnoticed.
      preValidation: async (req) => {
        const body = req.body;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) return; // the schema answers that
        const unknown = Object.keys(body).find((k) => k !== 'amount');
        if (unknown !== undefined) throw invalid(unknown, `Unknown field ${unknown}`);
        const amount = (body as { amount?: unknown }).amount;
        if (amount !== undefined && typeof amount !== 'string')
          throw invalid('amount', 'amount must be a decimal string such as "12.50"');
        // The same answer as for "0": every refused amount is invalid_amount on the amount field.
        if (typeof amount === 'string' && !AMOUNT_RE.test(amount))
          throw new ApiError(
            400,
            'invalid_amount',
            'amount must be a BDT amount with at most 2 decimals, such as "12.50"',
            'amount',
          );
      },
    },
    async (req, reply) => {
      const m = merchantOf(req);
      const { token } = req.params as { token: string };
      const body = req.body as { amount?: string };
      // serializeInput is typed unknown for the status form; it returns the route's serialised string.
      const answer = (refund: Refund) => ({
        status: 201,
        body: String(reply.serializeInput(refundView(refund), '201')),
      });
      // The key is written in the transaction that reserves the refund (crash-safe: see the header's description).
      return idempotent(s.idempotency, req, reply, {
        work: async (binding) => {
          const amount = body.amount === undefined ? null : parseAmount(body.amount);
          const refund = await s.refunds.create(
            m.id,
            token.toLowerCase(),
            amount,
            { kind: 'merchant', id: 'api key', ip: req.ip },
            binding ? { idempotency: binding } : {},
          );
          return { ...answer(refund), resourceId: refund.id };
        },
        current: async (refundId) => {
          const refund = await s.refunds.get(m.id, refundId);
          return refund && answer(refund);
        },
      });
    },
  );

  app.get(
    '/refunds/:id',
    {
      schema: {
        tags: ['Refunds'],
        summary: 'Get a refund',
        security: SECURITY,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', maxLength: 64, description: 'The refund id (`rfd_…`).' } },
        },
        response: { 200: withDescription('Refund', 'The refund.'), ...errorResponses(404, ...COMMON_ERRORS) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const r = await s.refunds.get(merchantOf(req).id, id);
      if (!r) throw notFound('Refund');
      return refundView(r);
    },
  );
}
