import type { FastifyInstance } from 'fastify';
import type { Payment, PaymentMethod, PaymentStatus } from '../../domain/payment.js';
import type { PaymentFilter } from '../../store/payment-search.js';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { invalid, notFound } from './errors.js';
import {
  BDT_PATTERN,
  COMMON_ERRORS,
  errorResponses,
  listOf,
  paginationQuery,
  PAYMENT_METHODS,
  PAYMENT_STATUSES,
  SECURITY,
  withDescription,
} from './schemas.js';
import { paymentView } from './views.js';

interface ListQuery {
  status?: PaymentStatus;
  method?: PaymentMethod;
  created_from?: string;
  created_to?: string;
  min_amount?: string;
  max_amount?: string;
  q?: string;
  limit: number;
  cursor?: string;
}

const TIME_DOC =
  'An ISO 8601 date (`2025-01-31`, a whole day in the gateway’s time zone), a date-time with offset (`2025-01-31T10:00:00Z`), or epoch seconds or milliseconds.';

export const tokenParams = {
  type: 'object',
  required: ['token'],
  properties: {
    token: {
      type: 'string',
      pattern: '^[0-9a-fA-F]{40}$',
      description: 'The payment token from init-payment-process.',
    },
  },
} as const;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A time bound → epoch ms. `end` turns a bare date into the start of the next day, so that
 * created_to=2025-01-31 covers the whole of that day.
 */
function parseTime(field: string, text: string, end: boolean, zoneOffsetAt: (ms: number) => number): number {
  const t = text.trim();
  if (/^\d{1,16}$/.test(t)) {
    const n = Number(t);
    // 10^11 s is the year 5138: anything above is milliseconds.
    return n < 1e11 ? n * 1000 : n;
  }
  const d = DATE_RE.exec(t);
  if (d) {
    const wall = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]) + (end ? 1 : 0));
    const check = new Date(Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])));
    if (check.toISOString().slice(0, 10) !== t) throw invalid(field, `${field} is not a valid date`);
    // Local midnight: the offset that applies is the one at the resulting instant.
    return wall - zoneOffsetAt(wall - zoneOffsetAt(wall));
  }
  const ms = DATETIME_RE.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(ms)) throw invalid(field, `${field}: ${TIME_DOC}`);
  return ms;
}

const toMinor = (text: string): bigint => {
  const [whole, frac = ''] = text.split('.');
  return BigInt(whole ?? '0') * 100n + BigInt(frac.padEnd(2, '0'));
};

/** A cursor this API handed out: base64url of "<init ms>:<payment id>". */
function checkCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{1,16}:pay_[A-Za-z0-9]+$/.test(text)) throw invalid('cursor', 'cursor is not one this API returned');
  return cursor;
}

export async function paymentRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  // The payments row carries its succeeded refunds' total (kept with each refund): no query per payment.
  const view = (p: Payment) => paymentView(p, p.refundedMinor ?? 0n);

  app.get(
    '/payments',
    {
      schema: {
        tags: ['Payments'],
        summary: 'List payments',
        description:
          'Newest first, with cursor pagination. Filters combine with AND; pass the same filters with each `cursor`.',
        security: SECURITY,
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: PAYMENT_STATUSES },
            method: { type: 'string', enum: PAYMENT_METHODS },
            created_from: { type: 'string', maxLength: 40, description: `Initiated at or after. ${TIME_DOC}` },
            created_to: {
              type: 'string',
              maxLength: 40,
              description: `Initiated before (a bare date includes that day). ${TIME_DOC}`,
            },
            min_amount: {
              type: 'string',
              pattern: BDT_PATTERN,
              description: 'Minimum BDT amount, inclusive ("100" or "99.50").',
            },
            max_amount: { type: 'string', pattern: BDT_PATTERN, description: 'Maximum BDT amount, inclusive.' },
            q: {
              type: 'string',
              maxLength: 200,
              description: 'Exact match on order id, token, ref_id, merchant_ref_id, customer phone or email.',
            },
            ...paginationQuery,
          },
        },
        response: { 200: listOf('Payment', 'A page of payments.'), ...errorResponses(400, ...COMMON_ERRORS) },
      },
    },
    async (req) => {
      const q = req.query as ListQuery;
      const offsetAt = (ms: number) =>
        Date.parse(s.formatTime(ms).replace(' ', 'T') + 'Z') - Math.floor(ms / 1000) * 1000;
      const filter: PaymentFilter = { merchantId: merchantOf(req).id, status: q.status, method: q.method };
      if (q.q !== undefined && q.q.trim() !== '') filter.q = q.q;
      if (q.created_from !== undefined) filter.from = parseTime('created_from', q.created_from, false, offsetAt);
      if (q.created_to !== undefined) filter.to = parseTime('created_to', q.created_to, true, offsetAt);
      if (q.min_amount !== undefined) filter.minAmountMinor = toMinor(q.min_amount);
      if (q.max_amount !== undefined) filter.maxAmountMinor = toMinor(q.max_amount);
      const page = await s.paymentSearch.page(
        filter,
        q.cursor === undefined ? undefined : checkCursor(q.cursor),
        q.limit,
      );
      return { data: page.payments.map(view), next_cursor: page.next ?? null };
    },
  );

  app.get(
    '/payments/:token',
    {
      schema: {
        tags: ['Payments'],
        summary: 'Get a payment',
        description:
          'The payment with its amounts, state, masked instrument and refunded amount. Another merchant’s token answers 404.',
        security: SECURITY,
        params: tokenParams,
        response: { 200: withDescription('Payment', 'The payment.'), ...errorResponses(400, 404, ...COMMON_ERRORS) },
      },
    },
    async (req) => {
      const { token } = req.params as { token: string };
      const p = await s.paymentSearch.byToken(merchantOf(req).id, token.toLowerCase());
      if (!p) throw notFound('Payment');
      return view(p);
    },
  );
}
