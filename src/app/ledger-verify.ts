import { dayBounds } from '../domain/calendar.js';
import { isKnownAccount, merchantAccount, settlementKey, settlementNet } from '../domain/ledger.js';
import { formatMinor } from '../domain/money.js';
import type { LedgerChecks } from '../store/ledger-checks.js';
import type { SettlementRepo } from '../store/settlements.js';

export interface LedgerReport {
  ok: boolean;
  /** One human line per breach. */
  breaches: string[];
  summary: {
    transfers: number;
    postings: number;
    approvedPayments: number;
    succeededRefunds: number;
    settlementBatches: number;
  };
}

const bdt = (m: bigint): string => `${formatMinor(m)} BDT`;

/**
 * Checks every ledger invariant (what `wmx ledger verify` runs):
 * - every transfer's postings sum to zero, postings agree with their transfer, accounts are on the chart;
 * - no merchant payable balance is negative;
 * - per payment, succeeded (and reserved) refunds ≤ captured, and refunded_minor equals the succeeded ones;
 * - every approved payment has exactly one payment transfer, matching its amounts; no other payment has one;
 * - every succeeded refund has exactly one refund transfer of its amount; no other refund has one;
 * - every settlement batch has exactly its transfer, with legs matching its totals, and its totals
 *   match the payments and refunds of its day; no settlement transfer lacks a batch.
 */
export function createLedgerVerify(deps: {
  checks: LedgerChecks;
  settlements: Pick<SettlementRepo, 'all' | 'dayTotals'>;
  timezone: string;
}) {
  const { checks } = deps;

  async function settlementBreaches(out: string[]): Promise<void> {
    const batches = await deps.settlements.all();
    const ids = new Set(batches.map((b) => b.id));
    // Legs come one row per (transfer, account): gather them per transfer, then per batch.
    const transfers = new Map<string, { settlementId: string | null; key: string; legs: Map<string, bigint> }>();
    for (const l of await checks.settlementLegs()) {
      const t = transfers.get(l.transferId) ?? {
        settlementId: l.settlementId,
        key: l.key,
        legs: new Map<string, bigint>(),
      };
      if (l.account !== '') t.legs.set(l.account, l.sum);
      transfers.set(l.transferId, t);
    }
    const byBatch = new Map<string, { key: string; legs: Map<string, bigint> }[]>();
    for (const [id, t] of transfers) {
      if (t.settlementId === null || !ids.has(t.settlementId)) {
        out.push(`settlement transfer ${id} (${t.key}) has no settlement batch`);
        continue;
      }
      byBatch.set(t.settlementId, [...(byBatch.get(t.settlementId) ?? []), t]);
    }
    // A day's totals are recomputed once per date for every merchant.
    const dayCache = new Map<string, Awaited<ReturnType<typeof deps.settlements.dayTotals>>>();
    for (const b of batches) {
      const what = `settlement ${b.id} (${b.merchantId} ${b.date})`;
      if (b.netMinor !== settlementNet(b))
        out.push(`${what}: net ${bdt(b.netMinor)} ≠ gross − fees − refunds ${bdt(settlementNet(b))}`);
      const transfers = byBatch.get(b.id) ?? [];
      if (transfers.length !== 1 || transfers[0]?.key !== settlementKey(b.merchantId, b.date)) {
        out.push(`${what}: expected one transfer ${settlementKey(b.merchantId, b.date)}, found ${transfers.length}`);
      }
      const got = transfers[0]?.legs ?? new Map<string, bigint>();
      const want: [string, bigint][] = [
        [merchantAccount(b.merchantId, 'payable'), b.grossMinor - b.feesMinor],
        [merchantAccount(b.merchantId, 'refunds'), -b.refundsMinor],
        [merchantAccount(b.merchantId, 'paid_out'), -b.netMinor],
      ];
      for (const [account, amount] of want) {
        const posted = got.get(account) ?? 0n;
        if (posted !== amount) out.push(`${what}: ${account} posted ${bdt(posted)}, batch says ${bdt(amount)}`);
      }
      for (const account of got.keys()) {
        if (!want.some(([a]) => a === account)) out.push(`${what}: unexpected posting to ${account}`);
      }
      let day = dayCache.get(b.date);
      if (!day) {
        const { start, end } = dayBounds(b.date, deps.timezone);
        day = await deps.settlements.dayTotals(start, end);
        dayCache.set(b.date, day);
      }
      const t = day.find((x) => x.merchantId === b.merchantId);
      const actual = {
        gross: t?.grossMinor ?? 0n,
        fees: t?.feesMinor ?? 0n,
        emi: t?.emiMinor ?? 0n,
        refunds: t?.refundsMinor ?? 0n,
        payments: t?.paymentCount ?? 0,
        refundCount: t?.refundCount ?? 0,
      };
      if (
        actual.gross !== b.grossMinor ||
        actual.fees !== b.feesMinor ||
        actual.emi !== b.emiMinor ||
        actual.refunds !== b.refundsMinor ||
        actual.payments !== b.paymentCount ||
        actual.refundCount !== b.refundCount
      ) {
        out.push(
          `${what}: batch totals (gross ${bdt(b.grossMinor)}, fees ${bdt(b.feesMinor)}, refunds ${bdt(b.refundsMinor)}, ${b.paymentCount} payments) ` +
            `differ from the day's (gross ${bdt(actual.gross)}, fees ${bdt(actual.fees)}, refunds ${bdt(actual.refunds)}, ${actual.payments} payments)`,
        );
      }
    }
  }

  return async function verify(): Promise<LedgerReport> {
    const out: string[] = [];
    for (const t of await checks.unbalanced()) {
      out.push(
        t.legs === 1
          ? `transfer ${t.id} has a single posting`
          : `transfer ${t.id} does not balance: postings sum to ${t.sum}`,
      );
    }
    for (const p of await checks.mismatchedPostings())
      out.push(`posting ${p.id} disagrees with its transfer ${p.transferId} (merchant, currency or missing)`);
    for (const a of await checks.accounts()) {
      if (!isKnownAccount(a.account, a.merchantId))
        out.push(`account ${a.account} (merchant ${a.merchantId}) is not on the chart of accounts`);
    }
    for (const p of await checks.negativePayables()) {
      out.push(`merchant ${p.merchantId} payable is negative: ${formatMinor(p.balance)} ${p.currency}`);
    }
    for (const p of await checks.overRefunded()) {
      if (p.succeeded > p.captured)
        out.push(`payment ${p.paymentId}: refunds succeeded ${bdt(p.succeeded)} > captured ${bdt(p.captured)}`);
      else if (p.reserved > p.captured)
        out.push(
          `payment ${p.paymentId}: refunds pending + succeeded ${bdt(p.reserved)} > captured ${bdt(p.captured)}`,
        );
      if (p.succeeded !== p.column)
        out.push(`payment ${p.paymentId}: refunded_minor ${bdt(p.column)} ≠ succeeded refunds ${bdt(p.succeeded)}`);
    }
    for (const r of await checks.refundsOfUnapproved())
      out.push(`refund ${r.refundId} belongs to a ${r.status} payment`);
    for (const p of await checks.paymentTransferCounts()) {
      out.push(
        p.status === 'approved'
          ? `approved payment ${p.paymentId} has ${p.transfers} payment transfers (expected 1)`
          : `${p.status} payment ${p.paymentId} has ${p.transfers} payment transfer(s) (expected none)`,
      );
    }
    for (const m of await checks.paymentAmountMismatches())
      out.push(`payment ${m.paymentId}: transfer ${m.transferId} does not match the payment's amounts`);
    for (const r of await checks.refundTransferMismatches()) {
      out.push(
        r.status === 'succeeded'
          ? `succeeded refund ${r.refundId}: ${r.transfers} refund transfer(s) posting ${bdt(r.posted)} (expected one of ${bdt(r.amount)})`
          : `${r.status} refund ${r.refundId} has ${r.transfers} refund transfer(s) (expected none)`,
      );
    }
    await settlementBreaches(out);
    const c = await checks.counts();
    return {
      ok: out.length === 0,
      breaches: out,
      summary: {
        transfers: c.transfers,
        postings: c.postings,
        approvedPayments: c.approved,
        succeededRefunds: c.refunds,
        settlementBatches: c.batches,
      },
    };
  };
}

export type LedgerVerify = ReturnType<typeof createLedgerVerify>;
