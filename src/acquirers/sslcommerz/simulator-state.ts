/**
 * The SSLCommerz simulator's books, in memory: sessions (one per session API call), what each paid,
 * its IPN attempts, validations and refunds, plus the id, time and amount formats SSLCommerz uses
 * (research notes §2.2, §3, §7).
 */
import { randomHex, randomString } from '../../domain/ids.js';
import { formatMinor } from '../../domain/money.js';
import type { Gateway, InstrumentInfo } from './simulator-catalog.js';

export interface SslcommerzSimulatorStore {
  storeId: string;
  storePasswd: string;
}

/** Invented, in the shape of a self-registered sandbox store (`<name><hex>`, password `<store_id>@ssl`, notes §10). */
export const SSLCOMMERZ_SIMULATOR_DEFAULT_STORE: SslcommerzSimulatorStore = Object.freeze({
  storeId: 'wmxsim0000000001',
  storePasswd: 'wmxsim0000000001@ssl',
});

/**
 * Per-request behaviours, picked by the cents of total_amount so parallel tests never share a switch.
 * See KNOBS in simulator.ts's header for what each does.
 */
export type Knob =
  | 'no-ipn'
  | 'no-return'
  | 'duplicate-ipn'
  | 'validation-hangs'
  | 'refund-refused'
  | 'amount-mismatch'
  | 'refund-cancelled'
  | 'ipn-after-return';

const KNOB_BY_CENTS: Readonly<Record<string, Knob>> = {
  '81': 'no-ipn',
  '82': 'no-return',
  '83': 'duplicate-ipn',
  '85': 'validation-hangs',
  '86': 'refund-refused',
  '87': 'amount-mismatch',
  '88': 'refund-cancelled',
  '89': 'ipn-after-return',
};

export const knobOf = (minor: bigint): Knob | undefined => KNOB_BY_CENTS[(minor % 100n).toString().padStart(2, '0')];

/** Statuses a session can be in. UNATTEMPTED (closed without choosing) is documented but never produced here. */
export type SessionStatus = 'PENDING' | 'VALID' | 'VALIDATED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
export type OutcomeStatus = 'VALID' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

export interface Outcome {
  status: OutcomeStatus;
  error: string;
  instrument: InstrumentInfo | undefined;
  valId: string;
  bankTranId: string;
  at: number;
  /** The signed fields of the IPN and the browser return. */
  fields: Record<string, string>;
  /** success_url, fail_url or cancel_url. */
  action: string;
}

export interface IpnAttempt {
  attempt: number;
  at: number;
  /** The merchant's HTTP status, or null when the connection failed. */
  statusCode: number | null;
  error?: string;
}

export interface Refund {
  refundRefId: string;
  sessionkey: string;
  bankTranId: string;
  tranId: string;
  amountMinor: bigint;
  remarks: string;
  /** refund_trans_id, else refe_id: what makes a repeated initiate idempotent. */
  merchantRef: string | undefined;
  initiatedAt: number;
}

/** A step of the hosted page waiting for the customer (OTP after a card, for instance). */
export type PendingStep = { kind: 'otp'; instrument: InstrumentInfo; wrongOtps: number };

export interface Session {
  sessionkey: string;
  tranId: string;
  createdAt: number;
  /** total_amount exactly as the merchant sent it (echoed as `amount` for BDT, notes §3). */
  totalAmountText: string;
  /** What the transaction records, in currency_type: total_amount, less 1.00 under `amount-mismatch`. */
  currencyMinor: bigint;
  currencyType: string;
  /** currency_rate, 4 decimals. */
  rate: string;
  /** The same in BDT (`amount`), the currency SSLCommerz settles in. */
  bdtMinor: bigint;
  successUrl: string;
  failUrl: string;
  cancelUrl: string;
  ipnUrl: string | undefined;
  values: { value_a: string; value_b: string; value_c: string; value_d: string };
  customer: { name: string; email: string; phone: string };
  gateways: Gateway[];
  allowedBins: string[] | undefined;
  knob: Knob | undefined;
  outcome: Outcome | undefined;
  pending: PendingStep | undefined;
  validations: number;
  validatedAt: number | undefined;
  ipn: IpnAttempt[];
  refunds: Refund[];
}

export interface SimulatorStats {
  session: number;
  validation: number;
  queryByTranId: number;
  queryBySession: number;
  refund: number;
  refundQuery: number;
  ipnSent: number;
  ipnFailed: number;
}

export interface SimulatorBooks {
  sessions: Map<string, Session>;
  byTranId: Map<string, Session[]>;
  byValId: Map<string, Session>;
  byBankTranId: Map<string, Session>;
  refunds: Map<string, Refund>;
  /** refund_trans_id / refe_id → refund, so a repeated initiate finds the first. */
  refundsByMerchantRef: Map<string, Refund>;
  stats: SimulatorStats;
}

export function createBooks(): SimulatorBooks {
  return {
    sessions: new Map(),
    byTranId: new Map(),
    byValId: new Map(),
    byBankTranId: new Map(),
    refunds: new Map(),
    refundsByMerchantRef: new Map(),
    stats: {
      session: 0,
      validation: 0,
      queryByTranId: 0,
      queryBySession: 0,
      refund: 0,
      refundQuery: 0,
      ipnSent: 0,
      ipnFailed: 0,
    },
  };
}

export function addSession(books: SimulatorBooks, s: Session): void {
  books.sessions.set(s.sessionkey, s);
  const list = books.byTranId.get(s.tranId);
  if (list) list.push(s);
  else books.byTranId.set(s.tranId, [s]);
}

/** The status the query APIs report; an unfinished session past its TTL is EXPIRED (never IPN'd: see simulator.ts). */
export function statusOf(s: Session, nowMs: number, ttlMs: number): SessionStatus {
  if (s.outcome === undefined) return nowMs - s.createdAt >= ttlMs ? 'EXPIRED' : 'PENDING';
  if (s.outcome.status === 'VALID' && s.validations > 0) return 'VALIDATED';
  return s.outcome.status;
}

// Bangladesh has kept UTC+6 all year since 2009, so a fixed offset is Asia/Dhaka.
const DHAKA_OFFSET_MS = 6 * 3600_000;

/** `YYYY-MM-DD HH:MM:SS` in Asia/Dhaka, PHP's date('Y-m-d H:i:s') as SSLCommerz posts it (notes §3). */
export const dhakaTime = (ms: number): string =>
  new Date(ms + DHAKA_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');

/** val_id / bank_tran_id: 27 characters, YYMMDDHHMMSS then 15 random alphanumerics (notes §3, inferred). */
export const newTimedId = (ms: number): string => dhakaTime(ms).replace(/\D/g, '').slice(2, 14) + randomString(15);

/** 32 upper-case hex (notes §2.2). */
export const newSessionKey = (): string => randomHex(16).toUpperCase();

/** 13 lower-case hex, like the doc example `59bd63fea5455` (a PHP uniqid(), notes §7.2). */
export const newRefundRefId = (): string => randomHex(7).slice(0, 13);

/** "10", "10.5", "10.50" → minor units; undefined unless a non-negative decimal of at most 2 places. */
export function parseDecimal2(text: string): bigint | undefined {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  return BigInt(m[1] as string) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
}

/** Rate "120.0000" → ten-thousandths (1_200_000). */
function rate4(rate: string): bigint {
  const m = /^(\d+)\.(\d{4})$/.exec(rate);
  return m ? BigInt(m[1] as string) * 10_000n + BigInt(m[2] as string) : 10_000n;
}

/** `amount × rate`, half up, in minor units. */
export const toBdt = (minor: bigint, rate: string): bigint => {
  const r = rate4(rate);
  return (minor * r + 5_000n) / 10_000n;
};

/** The `amount` field: the merchant's own text when it is what was recorded in BDT, else 2 decimals. */
export function amountText(s: Session): string {
  const sent = parseDecimal2(s.totalAmountText);
  return s.currencyType === 'BDT' && sent === s.bdtMinor ? s.totalAmountText : formatMinor(s.bdtMinor);
}

/**
 * store_amount: amount × 0.975 (the sandbox's 2.5 % fee), written as PHP prints a float, without
 * trailing zeros ("347.1", "97.5"), to catch parsers that assume two decimals (notes §3, §12.4).
 */
export function storeAmountText(bdtMinor: bigint): string {
  const minor = (bdtMinor * 975n + 500n) / 1000n;
  return formatMinor(minor).replace(/\.?0+$/, '');
}
