import { formatBps, formatMinor, formatRate } from '../../domain/money.js';
import { txnStatusOf, type Payment } from '../../domain/payment.js';

/** Domain objects → the API's JSON. Money leaves as decimal strings, times as ISO 8601 UTC. */

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function paymentView(p: Payment, refundedMinor: bigint) {
  return {
    token: p.token,
    ref_id: p.refId,
    merchant_order_id: p.merchantOrderId,
    merchant_ref_id: p.merchantRefId,
    status: p.status,
    txn_status: txnStatusOf(p.status),
    txn_details: p.txnDetails,
    currency: p.currency,
    amount: formatMinor(p.amountMinor),
    conversion_rate: formatRate(p.rateScaled),
    amount_bdt: formatMinor(p.amountBdtMinor),
    fee_percent: formatBps(p.feeBps),
    fee_bdt: formatMinor(p.feeMinor),
    emi_months: p.emiPeriod,
    emi_bank: p.emiBank,
    emi_percent: formatBps(p.emiBps),
    emi_charge_bdt: formatMinor(p.emiChargeMinor),
    discount_bdt: formatMinor(p.discountMinor),
    charged_bdt: formatMinor(p.bankAmountMinor),
    refunded_bdt: formatMinor(refundedMinor),
    method: p.method,
    // Stored masked already (first 6 + last 4): the full number never reaches the database.
    card_details: p.cardDetails,
    payment_card: p.paymentCard,
    is_foreign: p.isForeign,
    customer: { name: p.customerName, email: p.customerEmail, phone: p.customerPhone },
    created_at: iso(p.initAt),
    completed_at: isoOrNull(p.txnAt),
    expires_at: iso(p.expiresAt),
  };
}

/** What the refunds use case returns (src/app/refunds.ts), as far as the API shows it. */
export interface RefundLike {
  id: string;
  token: string;
  amountMinor: bigint;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed';
  reason: string | null;
  createdAt: number;
  completedAt: number | null;
}

export function refundView(r: RefundLike) {
  return {
    id: r.id,
    payment_token: r.token,
    amount: formatMinor(r.amountMinor),
    currency: 'BDT' as const,
    status: r.status,
    reason: r.reason,
    created_at: iso(r.createdAt),
    completed_at: isoOrNull(r.completedAt),
  };
}

export interface BalanceLike {
  available_minor: bigint;
  pending_refunds_minor: bigint;
  settled_minor: bigint;
  fees_minor: bigint;
}

export function balanceView(b: BalanceLike) {
  return {
    currency: 'BDT' as const,
    available: formatMinor(BigInt(b.available_minor)),
    pending_refunds: formatMinor(BigInt(b.pending_refunds_minor)),
    settled: formatMinor(BigInt(b.settled_minor)),
    fees: formatMinor(BigInt(b.fees_minor)),
  };
}

export interface SettlementLike {
  id: string;
  date: string;
  grossMinor: bigint;
  feesMinor: bigint;
  emiMinor: bigint;
  refundsMinor: bigint;
  netMinor: bigint;
  paymentCount: number;
  createdAt: number;
}

export function settlementView(s: SettlementLike) {
  return {
    id: s.id,
    date: s.date,
    currency: 'BDT' as const,
    gross: formatMinor(s.grossMinor),
    fees: formatMinor(s.feesMinor),
    emi: formatMinor(s.emiMinor),
    refunds: formatMinor(s.refundsMinor),
    net: formatMinor(s.netMinor),
    payment_count: s.paymentCount,
    created_at: iso(s.createdAt),
  };
}
