import { sql, type Kysely } from 'kysely';
import { EMI_SURCHARGE, FEE_REVENUE, PROMOTIONS } from '../domain/ledger.js';
import type { Database } from './schema.js';

/**
 * The ledger's invariants as queries that return only the rows breaking them (at most LIMIT each),
 * so verifying a large ledger reads sums, not every posting. Plain SQL both dialects understand.
 */
const LIMIT = 100;

type Num = string | number | bigint | null;
const n = (v: Num): bigint => BigInt(v ?? 0);

export function createLedgerChecks(k: Kysely<Database>) {
  const rows = async <T>(q: ReturnType<typeof sql<T>>): Promise<T[]> => (await q.execute(k)).rows;

  return {
    async counts(): Promise<{
      transfers: number;
      postings: number;
      approved: number;
      refunds: number;
      batches: number;
    }> {
      const r = await rows<{ t: Num; p: Num; a: Num; r: Num; b: Num }>(sql`
        select (select count(*) from ledger_transfers) as t, (select count(*) from ledger_postings) as p,
          (select count(*) from payments where status = 'approved') as a,
          (select count(*) from refunds where status = 'succeeded') as r,
          (select count(*) from settlement_batches) as b`);
      const c = r[0];
      return {
        transfers: Number(c?.t ?? 0),
        postings: Number(c?.p ?? 0),
        approved: Number(c?.a ?? 0),
        refunds: Number(c?.r ?? 0),
        batches: Number(c?.b ?? 0),
      };
    },

    /** Transfers whose postings do not sum to zero, or that have a single posting. */
    async unbalanced(): Promise<{ id: string; sum: bigint; legs: number }[]> {
      const r = await rows<{ id: string; s: Num; c: Num }>(sql`
        select transfer_id as id, sum(amount_minor) as s, count(*) as c from ledger_postings
        group by transfer_id having sum(amount_minor) <> 0 or count(*) = 1 limit ${LIMIT}`);
      return r.map((x) => ({ id: x.id, sum: n(x.s), legs: Number(x.c) }));
    },

    /** Postings whose merchant or currency differ from their transfer's, or with no transfer. */
    async mismatchedPostings(): Promise<{ id: string; transferId: string }[]> {
      return rows<{ id: string; transferId: string }>(sql`
        select p.id as "id", p.transfer_id as "transferId" from ledger_postings p
        left join ledger_transfers t on t.id = p.transfer_id
        where t.id is null or p.merchant_id <> t.merchant_id or p.currency <> t.currency limit ${LIMIT}`);
    },

    /** Distinct (account, merchant) pairs, to check every account name against the chart. */
    async accounts(): Promise<{ account: string; merchantId: string }[]> {
      return rows<{ account: string; merchantId: string }>(sql`
        select distinct account as "account", merchant_id as "merchantId" from ledger_postings`);
    },

    /** Merchant payable accounts with a debit balance (the gateway would owe less than nothing). */
    async negativePayables(): Promise<{ merchantId: string; currency: string; balance: bigint }[]> {
      const r = await rows<{ m: string; c: string; s: Num }>(sql`
        select merchant_id as m, currency as c, sum(amount_minor) as s from ledger_postings
        where account like 'merchant:%:payable' group by merchant_id, currency having sum(amount_minor) > 0 limit ${LIMIT}`);
      return r.map((x) => ({ merchantId: x.m, currency: x.c, balance: -n(x.s) }));
    },

    /** Payments whose succeeded (or succeeded + reserved) refunds exceed the captured amount, or disagree with refunded_minor. */
    async overRefunded(): Promise<
      { paymentId: string; captured: bigint; succeeded: bigint; reserved: bigint; column: bigint }[]
    > {
      const r = await rows<{ id: string; cap: Num; col: Num; ok: Num; res: Num }>(sql`
        select p.id as id, p.amount_bdt_minor as cap, p.refunded_minor as col,
          sum(case when r.status = 'succeeded' then r.amount_minor else 0 end) as ok,
          sum(case when r.status in ('succeeded', 'pending') then r.amount_minor else 0 end) as res
        from payments p join refunds r on r.payment_id = p.id
        group by p.id, p.amount_bdt_minor, p.refunded_minor
        having sum(case when r.status in ('succeeded', 'pending') then r.amount_minor else 0 end) > p.amount_bdt_minor
          or sum(case when r.status = 'succeeded' then r.amount_minor else 0 end) <> p.refunded_minor
        limit ${LIMIT}`);
      const orphans = await rows<{ id: string; cap: Num; col: Num }>(sql`
        select id, amount_bdt_minor as cap, refunded_minor as col from payments p
        where refunded_minor <> 0 and not exists (select 1 from refunds r where r.payment_id = p.id) limit ${LIMIT}`);
      return [
        ...r.map((x) => ({
          paymentId: x.id,
          captured: n(x.cap),
          succeeded: n(x.ok),
          reserved: n(x.res),
          column: n(x.col),
        })),
        ...orphans.map((x) => ({ paymentId: x.id, captured: n(x.cap), succeeded: 0n, reserved: 0n, column: n(x.col) })),
      ];
    },

    /** Refunds of payments that are not approved. */
    async refundsOfUnapproved(): Promise<{ refundId: string; status: string }[]> {
      return rows<{ refundId: string; status: string }>(sql`
        select r.id as "refundId", p.status as "status" from refunds r join payments p on p.id = r.payment_id
        where p.status <> 'approved' limit ${LIMIT}`);
    },

    /** Approved payments without exactly one payment transfer; other payments with any. */
    async paymentTransferCounts(): Promise<{ paymentId: string; status: string; transfers: number }[]> {
      const r = await rows<{ id: string; st: string; c: Num }>(sql`
        select p.id as id, p.status as st, count(t.id) as c from payments p
        left join ledger_transfers t on t.payment_id = p.id and t.kind = 'payment'
        where p.status = 'approved' or exists (select 1 from ledger_transfers x where x.payment_id = p.id and x.kind = 'payment')
        group by p.id, p.status
        having (p.status = 'approved' and count(t.id) <> 1) or (p.status <> 'approved' and count(t.id) > 0)
        limit ${LIMIT}`);
      const orphans = await rows<{ id: string }>(sql`
        select t.id as id from ledger_transfers t left join payments p on p.id = t.payment_id
        where t.kind in ('payment', 'refund') and p.id is null limit ${LIMIT}`);
      return [
        ...r.map((x) => ({ paymentId: x.id, status: x.st, transfers: Number(x.c) })),
        ...orphans.map((x) => ({ paymentId: `(transfer ${x.id} names no payment)`, status: 'missing', transfers: 1 })),
      ];
    },

    /** Payment transfers whose legs differ from the payment's amounts (bank, payable, fee, EMI, discount). */
    async paymentAmountMismatches(): Promise<{ paymentId: string; transferId: string }[]> {
      const leg = (pattern: string) => sql`sum(case when l.account like ${pattern} then l.amount_minor else 0 end)`;
      const transit = leg('merchant:%:in_transit');
      const payable = leg('merchant:%:payable');
      const fee = leg(FEE_REVENUE);
      const emi = leg(EMI_SURCHARGE);
      const promo = leg(PROMOTIONS);
      return rows<{ paymentId: string; transferId: string }>(sql`
        select p.id as "paymentId", t.id as "transferId" from ledger_transfers t
        join payments p on p.id = t.payment_id join ledger_postings l on l.transfer_id = t.id
        where t.kind = 'payment'
        group by p.id, t.id, p.bank_amount_minor, p.amount_bdt_minor, p.fee_minor, p.emi_charge_minor, p.discount_minor
        having ${transit} <> p.bank_amount_minor or ${payable} <> -(p.amount_bdt_minor - p.fee_minor)
          or ${fee} <> -p.fee_minor or ${emi} <> -p.emi_charge_minor or ${promo} <> p.discount_minor
        limit ${LIMIT}`);
    },

    /** Succeeded refunds without exactly one refund transfer of their amount; other refunds with any. */
    async refundTransferMismatches(): Promise<
      { refundId: string; status: string; transfers: number; posted: bigint; amount: bigint }[]
    > {
      const r = await rows<{ id: string; st: string; c: Num; posted: Num; amt: Num }>(sql`
        select r.id as id, r.status as st, r.amount_minor as amt, count(distinct t.id) as c,
          sum(case when l.amount_minor > 0 then l.amount_minor else 0 end) as posted
        from refunds r
        left join ledger_transfers t on t.refund_id = r.id and t.kind = 'refund'
        left join ledger_postings l on l.transfer_id = t.id
        group by r.id, r.status, r.amount_minor
        having (r.status = 'succeeded' and (count(distinct t.id) <> 1
                 or sum(case when l.amount_minor > 0 then l.amount_minor else 0 end) <> r.amount_minor))
          or (r.status <> 'succeeded' and count(distinct t.id) > 0)
        limit ${LIMIT}`);
      return r.map((x) => ({
        refundId: x.id,
        status: x.st,
        transfers: Number(x.c),
        posted: n(x.posted),
        amount: n(x.amt),
      }));
    },

    /** Per settlement transfer: its batch id and the sum it posted to each account. */
    async settlementLegs(): Promise<
      { transferId: string; settlementId: string | null; key: string; account: string; sum: bigint }[]
    > {
      const r = await rows<{ tid: string; sid: string | null; k: string; a: string | null; s: Num }>(sql`
        select t.id as tid, t.settlement_id as sid, t.idempotency_key as k, l.account as a, sum(l.amount_minor) as s
        from ledger_transfers t left join ledger_postings l on l.transfer_id = t.id
        where t.kind = 'settlement' group by t.id, t.settlement_id, t.idempotency_key, l.account`);
      return r.map((x) => ({ transferId: x.tid, settlementId: x.sid, key: x.k, account: x.a ?? '', sum: n(x.s) }));
    },
  };
}

export type LedgerChecks = ReturnType<typeof createLedgerChecks>;
