import { addDays, dateInZone, dayBounds, isIsoDate } from '../domain/calendar.js';
import { WmxError } from '../domain/errors.js';
import { newSettlementId, settlementNet } from '../domain/ledger.js';
import { formatMinor } from '../domain/money.js';
import type { BatchPage, SettlementBatch, SettlementRepo } from '../store/settlements.js';
import type { Actor, AuditLog } from './audit.js';

export type { BatchPage, SettlementBatch } from '../store/settlements.js';

export interface SettlementsDeps {
  repo: SettlementRepo;
  audit: Pick<AuditLog, 'record'>;
  /** The gateway's IANA time zone: a batch covers one local day. */
  timezone: string;
  formatTime: (ms: number) => string;
  now: () => number;
}

export const CSV_HEADER =
  'type,token,refund_id,ref_id,merchant_order_id,merchant_ref_id,time,amount_bdt,fee_bdt,emi_charge_bdt,net_bdt';

/** One CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe (order ids come from merchants' sites). */
function cell(v: string): string {
  const t = /^[=+@\t\r]/.test(v) || /^-(?![\d.])/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(t) || t !== t.trim() ? `"${t.replace(/"/g, '""')}"` : t;
}

/**
 * Settlement: one batch per merchant and local day, gross (merchant_amount_bdt of the payments
 * approved that day) − fees − refunds (succeeded that day) = net, recorded with its ledger transfer
 * in one transaction. A day is settled once: the batch is unique per merchant and date and the
 * transfer is keyed `settlement:<merchant>:<date>`, so a rerun settles nothing twice. A merchant
 * with no approved payment and no succeeded refund that day gets no batch (nothing is skipped
 * silently: there is nothing to pay). Only days that are over can be settled, so no payment of the
 * day can arrive after its batch.
 */
export function createSettlements(deps: SettlementsDeps) {
  const today = (): string => dateInZone(deps.now(), deps.timezone);

  return {
    /** Yesterday in the gateway's time zone: what `wmx settle` settles by default. */
    defaultDate: (): string => addDays(today(), -1),

    /** Settles every merchant's `date`; returns the batches this call created (empty on a rerun). */
    async settle(date: string, actor: Actor): Promise<SettlementBatch[]> {
      if (!isIsoDate(date)) throw new WmxError('2004', 'Invalid field date: expected YYYY-MM-DD', 'date');
      if (date >= today()) {
        throw new WmxError('2004', `Invalid field date: ${date} is not over yet in ${deps.timezone}`, 'date');
      }
      const { start, end } = dayBounds(date, deps.timezone);
      const created: SettlementBatch[] = [];
      for (const t of await deps.repo.dayTotals(start, end)) {
        if (t.paymentCount === 0 && t.refundCount === 0) continue;
        const batch: SettlementBatch = {
          id: newSettlementId(),
          merchantId: t.merchantId,
          date,
          currency: 'BDT',
          grossMinor: t.grossMinor,
          feesMinor: t.feesMinor,
          emiMinor: t.emiMinor,
          refundsMinor: t.refundsMinor,
          netMinor: settlementNet(t),
          paymentCount: t.paymentCount,
          refundCount: t.refundCount,
          createdAt: deps.now(),
        };
        if (!(await deps.repo.insert(batch))) continue;
        created.push(batch);
        await deps.audit.record(actor, 'settlement.created', batch.merchantId, {
          settlement_id: batch.id,
          date,
          net_bdt: formatMinor(batch.netMinor),
        });
      }
      return created;
    },

    /** Batches, newest day first; only `merchantId`'s when given. limit 1–100 (default 50). */
    list(merchantId?: string, cursor?: string, limit = 50): Promise<BatchPage> {
      const n = Math.min(100, Math.max(1, Math.trunc(Number.isFinite(limit) ? limit : 50)));
      return deps.repo.page(merchantId, cursor, n);
    },

    /** One batch; when merchantId is given, another merchant's batch reads as absent. */
    async get(merchantId: string | undefined, id: string): Promise<SettlementBatch | undefined> {
      const b = await deps.repo.byId(id);
      return b && (merchantId === undefined || b.merchantId === merchantId) ? b : undefined;
    },

    /**
     * The batch's payments and refunds as CSV lines (header first, each line ending in CRLF). The net_bdt
     * column sums to the batch's net. Streamed a page at a time, so memory stays flat.
     */
    async *csv(batchId: string): AsyncGenerator<string> {
      const b = await deps.repo.byId(batchId);
      if (!b) throw new Error(`unknown settlement batch ${batchId}`);
      const { start, end } = dayBounds(b.date, deps.timezone);
      yield CSV_HEADER + '\r\n';
      const PAGE = 500;
      for (let after = ''; ;) {
        const rows = await deps.repo.paymentsIn(b.merchantId, start, end, after, PAGE);
        let chunk = '';
        for (const p of rows) {
          chunk +=
            [
              'payment',
              p.token,
              '',
              p.refId,
              cell(p.merchantOrderId),
              cell(p.merchantRefId),
              p.txnAt === null ? '' : deps.formatTime(p.txnAt),
              formatMinor(p.amountBdtMinor),
              formatMinor(p.feeMinor),
              formatMinor(p.emiChargeMinor),
              formatMinor(p.amountBdtMinor - p.feeMinor),
            ].join(',') + '\r\n';
        }
        if (chunk) yield chunk;
        const last = rows[rows.length - 1];
        if (!last || rows.length < PAGE) break;
        after = last.id;
      }
      for (let after = ''; ;) {
        const rows = await deps.repo.refundsIn(b.merchantId, start, end, after, PAGE);
        let chunk = '';
        for (const r of rows) {
          const minus = formatMinor(-r.amountMinor);
          chunk +=
            [
              'refund',
              r.token,
              r.id,
              '',
              '',
              '',
              r.completedAt === null ? '' : deps.formatTime(r.completedAt),
              minus,
              '0.00',
              '0.00',
              minus,
            ].join(',') + '\r\n';
        }
        if (chunk) yield chunk;
        const last = rows[rows.length - 1];
        if (!last || rows.length < PAGE) break;
        after = last.id;
      }
    },
  };
}

export type Settlements = ReturnType<typeof createSettlements>;
