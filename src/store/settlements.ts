import type { Kysely, Selectable } from 'kysely';
import { settlementTransfer } from '../domain/ledger.js';
import type { Payment } from '../domain/payment.js';
import { postTransfer } from './ledger.js';
import { toPayment } from './payments.js';
import { toRefund, type Refund } from './refunds.js';
import type { Database, SettlementBatchesTable } from './schema.js';

export interface SettlementBatch {
  id: string /* stl_… */;
  merchantId: string;
  /** The settled day, YYYY-MM-DD in the gateway's time zone. */
  date: string;
  currency: 'BDT';
  /** Sum of merchant_amount_bdt of the payments approved that day. */
  grossMinor: bigint;
  feesMinor: bigint;
  /** EMI surcharges of those payments: the gateway's, shown for reconciliation, not part of net. */
  emiMinor: bigint;
  /** Refunds that succeeded that day (of any payment, settled before or not). */
  refundsMinor: bigint;
  /** gross − fees − refunds; negative when refunds exceed the day's payments. */
  netMinor: bigint;
  paymentCount: number;
  refundCount: number;
  createdAt: number;
}

/** A merchant's totals over one day window; what a batch is built from (and verify recomputes). */
export interface DayTotals {
  merchantId: string;
  grossMinor: bigint;
  feesMinor: bigint;
  emiMinor: bigint;
  paymentCount: number;
  refundsMinor: bigint;
  refundCount: number;
}

export function toBatch(r: Selectable<SettlementBatchesTable>): SettlementBatch {
  return {
    id: r.id,
    merchantId: r.merchant_id,
    date: r.date,
    currency: 'BDT',
    grossMinor: BigInt(r.gross_minor),
    feesMinor: BigInt(r.fees_minor),
    emiMinor: BigInt(r.emi_minor),
    refundsMinor: BigInt(r.refunds_minor),
    netMinor: BigInt(r.net_minor),
    paymentCount: Number(r.payment_count),
    refundCount: Number(r.refund_count),
    createdAt: Number(r.created_at),
  };
}

const big = (v: string | number | bigint | null | undefined): bigint => BigInt(v ?? 0);

export interface BatchPage {
  items: SettlementBatch[];
  /** Opaque cursor for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

const encodeCursor = (b: SettlementBatch): string => Buffer.from(`${b.date}|${b.id}`).toString('base64url');

function decodeCursor(c: string | undefined): { date: string; id: string } | undefined {
  if (!c || c.length > 200) return undefined;
  const [date, id] = Buffer.from(c, 'base64url').toString('utf8').split('|');
  return date && id && /^\d{4}-\d{2}-\d{2}$/.test(date) && /^stl_[A-Za-z0-9]+$/.test(id) ? { date, id } : undefined;
}

export function createSettlementRepo(k: Kysely<Database>) {
  return {
    /** Per-merchant totals of approved payments (by txn_at) and succeeded refunds (by completed_at) in [start, end). */
    async dayTotals(start: number, end: number, merchantId?: string): Promise<DayTotals[]> {
      let pq = k
        .selectFrom('payments')
        .select((eb) => [
          'merchant_id',
          eb.fn.sum<string | number>('amount_bdt_minor').as('gross'),
          eb.fn.sum<string | number>('fee_minor').as('fees'),
          eb.fn.sum<string | number>('emi_charge_minor').as('emi'),
          eb.fn.countAll<string | number>().as('n'),
        ])
        .where('status', '=', 'approved')
        .where('txn_at', '>=', start)
        .where('txn_at', '<', end)
        .groupBy('merchant_id');
      let rq = k
        .selectFrom('refunds')
        .select((eb) => [
          'merchant_id',
          eb.fn.sum<string | number>('amount_minor').as('total'),
          eb.fn.countAll<string | number>().as('n'),
        ])
        .where('status', '=', 'succeeded')
        .where('completed_at', '>=', start)
        .where('completed_at', '<', end)
        .groupBy('merchant_id');
      if (merchantId !== undefined) {
        pq = pq.where('merchant_id', '=', merchantId);
        rq = rq.where('merchant_id', '=', merchantId);
      }
      const [pays, refs] = await Promise.all([pq.execute(), rq.execute()]);
      const out = new Map<string, DayTotals>();
      const entry = (id: string): DayTotals => {
        let e = out.get(id);
        if (!e) {
          e = {
            merchantId: id,
            grossMinor: 0n,
            feesMinor: 0n,
            emiMinor: 0n,
            paymentCount: 0,
            refundsMinor: 0n,
            refundCount: 0,
          };
          out.set(id, e);
        }
        return e;
      };
      for (const r of pays) {
        const e = entry(r.merchant_id);
        e.grossMinor = big(r.gross);
        e.feesMinor = big(r.fees);
        e.emiMinor = big(r.emi);
        e.paymentCount = Number(r.n);
      }
      for (const r of refs) {
        const e = entry(r.merchant_id);
        e.refundsMinor = big(r.total);
        e.refundCount = Number(r.n);
      }
      return [...out.values()].sort((a, b) => (a.merchantId < b.merchantId ? -1 : 1));
    },

    /**
     * Records a batch and its settlement transfer in one transaction. The (merchant_id, date) unique
     * index makes a second run (or a concurrent one) insert nothing: returns false then.
     */
    async insert(b: SettlementBatch): Promise<boolean> {
      return k.transaction().execute(async (trx) => {
        const r = await trx
          .insertInto('settlement_batches')
          .values({
            id: b.id,
            merchant_id: b.merchantId,
            date: b.date,
            currency: b.currency,
            gross_minor: b.grossMinor,
            fees_minor: b.feesMinor,
            emi_minor: b.emiMinor,
            refunds_minor: b.refundsMinor,
            net_minor: b.netMinor,
            payment_count: b.paymentCount,
            refund_count: b.refundCount,
            created_at: b.createdAt,
          })
          .onConflict((oc) => oc.columns(['merchant_id', 'date']).doNothing())
          .executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
        await postTransfer(trx, settlementTransfer(b), b.createdAt);
        return true;
      });
    },

    async byId(id: string): Promise<SettlementBatch | undefined> {
      const r = await k.selectFrom('settlement_batches').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toBatch(r);
    },

    /** Newest day first; keyset pagination on (date, id). */
    async page(merchantId: string | undefined, cursor: string | undefined, limit: number): Promise<BatchPage> {
      let q = k.selectFrom('settlement_batches').selectAll();
      if (merchantId !== undefined) q = q.where('merchant_id', '=', merchantId);
      const c = decodeCursor(cursor);
      if (c)
        q = q.where((eb) => eb.or([eb('date', '<', c.date), eb.and([eb('date', '=', c.date), eb('id', '<', c.id)])]));
      const rows = await q
        .orderBy('date', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const items = rows.slice(0, limit).map(toBatch);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    },

    /** All batches (verify walks them). */
    async all(): Promise<SettlementBatch[]> {
      const rows = await k.selectFrom('settlement_batches').selectAll().orderBy('date').orderBy('id').execute();
      return rows.map(toBatch);
    },

    /** A page of a merchant's payments approved in [start, end), by id after `afterId`. */
    async paymentsIn(
      merchantId: string,
      start: number,
      end: number,
      afterId: string,
      limit: number,
    ): Promise<Payment[]> {
      const rows = await k
        .selectFrom('payments')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .where('status', '=', 'approved')
        .where('txn_at', '>=', start)
        .where('txn_at', '<', end)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toPayment);
    },

    /** A page of a merchant's refunds that succeeded in [start, end), by id after `afterId`. */
    async refundsIn(merchantId: string, start: number, end: number, afterId: string, limit: number): Promise<Refund[]> {
      const rows = await k
        .selectFrom('refunds')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .where('status', '=', 'succeeded')
        .where('completed_at', '>=', start)
        .where('completed_at', '<', end)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toRefund);
    },
  };
}

export type SettlementRepo = ReturnType<typeof createSettlementRepo>;
