/**
 * The double-entry ledger's chart of accounts and the one balanced transfer each money movement
 * posts. Pure: the store writes these drafts, the use cases decide when.
 *
 * Sign convention: a posting's amount is positive for a debit and negative for a credit, so every
 * transfer sums to zero and a balance is a plain sum of postings (never stored).
 *
 * Accounts (all amounts in BDT minor units; a posting row also carries merchant_id and currency, so
 * the gateway's own accounts can still be summed per merchant):
 *
 * | account                     | kind              | moved by                                              |
 * |-----------------------------|-------------------|-------------------------------------------------------|
 * | `merchant:<id>:in_transit`  | asset (debit)     | + bank_amount_bdt on approval; − a refund on success  |
 * | `merchant:<id>:payable`     | liability (credit)| − (merchant_amount_bdt − wmx_charge_bdt) on approval; |
 * |                             |                   | + the same amounts when their day is settled          |
 * | `merchant:<id>:refunds`     | contra-liability  | + a refund on success; − when its day is settled      |
 * | `merchant:<id>:paid_out`    | liability (credit)| − each settlement's net (handed to the payout run)    |
 * | `gateway:fee_revenue`       | income (credit)   | − wmx_charge_bdt on approval                          |
 * | `gateway:emi_surcharge`     | income (credit)   | − emi_charge on approval (paid by the customer)       |
 * | `gateway:promotions`        | expense (debit)   | + discount_bdt on approval (gateway-funded; 0 today)  |
 *
 * Why refunds have their own account instead of debiting payable directly: a refund may return the
 * whole merchant_amount_bdt while payable only ever received it net of the fee (the fee is not given
 * back), and a refund may come after its payment's day was settled. Debiting payable would drive it
 * negative in both cases; keeping refunds in a contra account lets payable stay a pure "owed for
 * unsettled payments" balance that can never go negative, and the settlement of the refund's day
 * deducts it (net = gross − fees − refunds, which may be negative: the merchant then owes that day).
 *
 * What the merchant is owed right now = −payable − refunds (see balance.ts); what was settled =
 * −paid_out. The EMI surcharge is the customer's, paid to the gateway: it is not refundable, so the
 * refundable amount of a payment is its merchant_amount_bdt.
 */
import { newId } from './ids.js';

export type TransferKind = 'payment' | 'refund' | 'settlement';

export const FEE_REVENUE = 'gateway:fee_revenue';
export const EMI_SURCHARGE = 'gateway:emi_surcharge';
export const PROMOTIONS = 'gateway:promotions';

export type MerchantAccountKind = 'in_transit' | 'payable' | 'refunds' | 'paid_out';
export const MERCHANT_ACCOUNT_KINDS: readonly MerchantAccountKind[] = ['in_transit', 'payable', 'refunds', 'paid_out'];
export const GATEWAY_ACCOUNTS: readonly string[] = [FEE_REVENUE, EMI_SURCHARGE, PROMOTIONS];

export const merchantAccount = (merchantId: string, kind: MerchantAccountKind): string =>
  `merchant:${merchantId}:${kind}`;

/** True when `account` is a valid account name for a posting of `merchantId`. */
export function isKnownAccount(account: string, merchantId: string): boolean {
  if (GATEWAY_ACCOUNTS.includes(account)) return true;
  return MERCHANT_ACCOUNT_KINDS.some((k) => account === merchantAccount(merchantId, k));
}

export interface PostingDraft {
  account: string;
  amountMinor: bigint;
}

export interface TransferDraft {
  /** Unique per operation: a retry of the same operation finds it and posts nothing. */
  idempotencyKey: string;
  kind: TransferKind;
  merchantId: string;
  currency: 'BDT';
  paymentId: string | null;
  refundId: string | null;
  settlementId: string | null;
  postings: PostingDraft[];
}

export class UnbalancedTransferError extends Error {
  constructor(key: string, sum: bigint) {
    super(`ledger transfer ${key} does not balance (sum ${sum})`);
    this.name = 'UnbalancedTransferError';
  }
}

// Time-ordered like every other id (newId): the ledger's inserts append to their indexes too.
export const newTransferId = (): string => newId('trf');
export const newPostingId = (): string => newId('pst');
export const newSettlementId = (): string => newId('stl');

export const paymentKey = (paymentId: string): string => `payment:${paymentId}`;
export const refundKey = (refundId: string): string => `refund:${refundId}`;
export const settlementKey = (merchantId: string, date: string): string => `settlement:${merchantId}:${date}`;

/** Zero legs say nothing; a transfer keeps only the accounts it moves. Throws unless it sums to zero. */
function finish(t: TransferDraft): TransferDraft {
  const postings = t.postings.filter((p) => p.amountMinor !== 0n);
  const sum = postings.reduce((s, p) => s + p.amountMinor, 0n);
  if (sum !== 0n) throw new UnbalancedTransferError(t.idempotencyKey, sum);
  return { ...t, postings };
}

export interface ApprovedPaymentAmounts {
  id: string;
  merchantId: string;
  amountBdtMinor: bigint;
  feeMinor: bigint;
  emiChargeMinor: bigint;
  discountMinor: bigint;
  bankAmountMinor: bigint;
}

/** An approval: what the customer was charged is split between the merchant, the fee and the EMI surcharge. */
export function paymentTransfer(p: ApprovedPaymentAmounts): TransferDraft {
  return finish({
    idempotencyKey: paymentKey(p.id),
    kind: 'payment',
    merchantId: p.merchantId,
    currency: 'BDT',
    paymentId: p.id,
    refundId: null,
    settlementId: null,
    postings: [
      { account: merchantAccount(p.merchantId, 'in_transit'), amountMinor: p.bankAmountMinor },
      { account: PROMOTIONS, amountMinor: p.discountMinor },
      { account: merchantAccount(p.merchantId, 'payable'), amountMinor: -(p.amountBdtMinor - p.feeMinor) },
      { account: FEE_REVENUE, amountMinor: -p.feeMinor },
      { account: EMI_SURCHARGE, amountMinor: -p.emiChargeMinor },
    ],
  });
}

/** A succeeded refund: the money leaves the funds held for the customer, charged to the merchant. */
export function refundTransfer(r: {
  id: string;
  paymentId: string;
  merchantId: string;
  amountMinor: bigint;
}): TransferDraft {
  return finish({
    idempotencyKey: refundKey(r.id),
    kind: 'refund',
    merchantId: r.merchantId,
    currency: 'BDT',
    paymentId: r.paymentId,
    refundId: r.id,
    settlementId: null,
    postings: [
      { account: merchantAccount(r.merchantId, 'refunds'), amountMinor: r.amountMinor },
      { account: merchantAccount(r.merchantId, 'in_transit'), amountMinor: -r.amountMinor },
    ],
  });
}

export interface SettlementAmounts {
  id: string;
  merchantId: string;
  date: string;
  grossMinor: bigint;
  feesMinor: bigint;
  refundsMinor: bigint;
}

/** net = gross − fees − refunds; negative when a day's refunds exceed its payments. */
export const settlementNet = (a: Pick<SettlementAmounts, 'grossMinor' | 'feesMinor' | 'refundsMinor'>): bigint =>
  a.grossMinor - a.feesMinor - a.refundsMinor;

/** A day's settlement: the day's payable and refunds are cleared into paid_out. */
export function settlementTransfer(s: SettlementAmounts): TransferDraft {
  return finish({
    idempotencyKey: settlementKey(s.merchantId, s.date),
    kind: 'settlement',
    merchantId: s.merchantId,
    currency: 'BDT',
    paymentId: null,
    refundId: null,
    settlementId: s.id,
    postings: [
      { account: merchantAccount(s.merchantId, 'payable'), amountMinor: s.grossMinor - s.feesMinor },
      { account: merchantAccount(s.merchantId, 'refunds'), amountMinor: -s.refundsMinor },
      { account: merchantAccount(s.merchantId, 'paid_out'), amountMinor: -settlementNet(s) },
    ],
  });
}

/** The refundable amount of an approved payment: its merchant_amount_bdt (the EMI surcharge is not refundable). */
export const refundableOf = (p: { amountBdtMinor: bigint }): bigint => p.amountBdtMinor;
