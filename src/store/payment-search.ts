import { sql, type Kysely } from 'kysely';
import type { Payment, PaymentMethod, PaymentStatus } from '../domain/payment.js';
import type { Database } from './schema.js';
import { toPayment } from './payments.js';

export interface PaymentFilter {
  /** Only this merchant's payments (always set for the dashboard). */
  merchantId?: string | undefined;
  /** Exact match on order id, token, gateway ref_id, merchant_ref_id, customer phone or email. */
  q?: string | undefined;
  status?: PaymentStatus | undefined;
  method?: PaymentMethod | undefined;
  /** init time range, epoch ms, [from, to). */
  from?: number | undefined;
  to?: number | undefined;
  /** BDT amount range in minor units, inclusive. */
  minAmountMinor?: bigint | undefined;
  maxAmountMinor?: bigint | undefined;
}

export interface Page {
  payments: Payment[];
  /** Opaque cursor for the next (older) page; undefined on the last page. */
  next: string | undefined;
}

const encodeCursor = (p: Payment) => Buffer.from(`${p.initAt}:${p.id}`).toString('base64url');

function decodeCursor(c: string | undefined): { initAt: number; id: string } | undefined {
  if (!c || c.length > 200) return undefined;
  const [at, id] = Buffer.from(c, 'base64url').toString('utf8').split(':');
  const initAt = Number(at);
  return Number.isSafeInteger(initAt) && id && /^pay_[A-Za-z0-9]+$/.test(id) ? { initAt, id } : undefined;
}

/**
 * Payment search with keyset pagination (newest first, by init_at then id): each page costs the
 * same however deep it is, on the (merchant_id, init_at, id) index.
 */
export function createPaymentSearch(db: Kysely<Database>) {
  function filtered(f: PaymentFilter) {
    let q = db.selectFrom('payments').selectAll();
    if (f.merchantId) q = q.where('merchant_id', '=', f.merchantId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.method) q = q.where('method', '=', f.method);
    if (f.from !== undefined) q = q.where('init_at', '>=', f.from);
    if (f.to !== undefined) q = q.where('init_at', '<', f.to);
    if (f.minAmountMinor !== undefined) q = q.where('amount_bdt_minor', '>=', f.minAmountMinor.toString());
    if (f.maxAmountMinor !== undefined) q = q.where('amount_bdt_minor', '<=', f.maxAmountMinor.toString());
    const term = f.q?.trim();
    if (term) {
      q = q.where((eb) =>
        eb.or([
          eb('merchant_order_id', '=', term),
          eb('token', '=', term.toLowerCase()),
          eb('ref_id', '=', term),
          eb('merchant_ref_id', '=', term),
          eb('customer_phone', '=', term),
          eb('customer_email', '=', term.toLowerCase()),
          eb('customer_email', '=', term),
        ]),
      );
    }
    return q;
  }

  async function page(f: PaymentFilter, cursor?: string, limit = 50): Promise<Page> {
    let q = filtered(f);
    const c = decodeCursor(cursor);
    if (c) {
      q = q.where((eb) =>
        eb.or([eb('init_at', '<', c.initAt), eb.and([eb('init_at', '=', c.initAt), eb('id', '<', c.id)])]),
      );
    }
    const rows = await q
      .orderBy('init_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const payments = rows.slice(0, limit).map(toPayment);
    return { payments, next: rows.length > limit ? encodeCursor(payments[payments.length - 1]!) : undefined };
  }

  return {
    page,
    /** One payment by its token, only if it belongs to `merchantId` (another merchant's token reads as absent). */
    async byToken(merchantId: string, token: string): Promise<Payment | undefined> {
      const r = await db
        .selectFrom('payments')
        .selectAll()
        .where('token', '=', token)
        .where('merchant_id', '=', merchantId)
        .executeTakeFirst();
      return r && toPayment(r);
    },
    /** Every matching payment, fetched a page at a time: memory stays flat however many there are. */
    async *all(f: PaymentFilter, batch = 1000): AsyncGenerator<Payment> {
      let cursor: string | undefined;
      do {
        const p = await page(f, cursor, batch);
        yield* p.payments;
        cursor = p.next;
      } while (cursor);
    },
    /**
     * Per day (in the gateway's time zone, given as its current UTC offset) since `from`: payments
     * started, approved, and the approved BDT volume.
     */
    async daily(merchantId: string, from: number, offsetMs: number) {
      // A literal, not a parameter: PostgreSQL must see the same expression in SELECT and GROUP BY.
      const day = sql<number>`((init_at + ${sql.lit(Math.trunc(offsetMs))}) / 86400000)`;
      const rows = await db
        .selectFrom('payments')
        .select([
          day.as('day'),
          (eb) => eb.fn.countAll<number>().as('total'),
          sql<number>`sum(case when status = 'approved' then 1 else 0 end)`.as('approved'),
          sql<number>`sum(case when status = 'approved' then amount_bdt_minor else 0 end)`.as('volume'),
        ])
        .where('merchant_id', '=', merchantId)
        .where('init_at', '>=', from)
        .groupBy(day)
        .orderBy(day)
        .execute();
      return rows.map((r) => ({
        day: Number(r.day),
        total: Number(r.total),
        approved: Number(r.approved ?? 0),
        volumeMinor: BigInt(r.volume ?? 0),
      }));
    },
  };
}

export type PaymentSearch = ReturnType<typeof createPaymentSearch>;
