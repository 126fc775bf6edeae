import { amountMinorOf, wireMinor, type Amount } from './money.js';
import type { CallbackData, CheckPaymentRecord } from './types.js';

/** The order as your shop stored it at checkout: what the payment must be for. */
export type ExpectedPayment = {
  /** Your order id (`merchant_order_id` sent at init). */
  orderId: string;
  /** The order currency ("BDT", "USD"; compared case-insensitively). */
  currency: string;
  /**
   * The token initPayment returned for this order. Strongly recommended: without it, a genuine
   * callback of another payment for the same order id, amount and currency would pass.
   */
  token?: string;
} & Amount;

/** How the payment ended, as check-payment reports it. */
export type PaymentOutcome = 'paid' | 'declined' | 'cancelled' | 'expired' | 'pending';

/** Why a record does not belong to the expected order (the order must not be touched). */
export type MismatchReason =
  /** The record (or the callback) names another token than the order's. */
  | 'token_mismatch'
  /** The record is another merchant's (`wmx_id`). */
  | 'merchant_mismatch'
  /** `merchant_order_id` is another order's. */
  | 'order_mismatch'
  /** `merchant_currency` differs from the order's currency. */
  | 'currency_mismatch'
  /** `merchant_req_amount` (and for BDT `merchant_amount_bdt`, `bank_amount_bdt`) differs from the order's amount. */
  | 'amount_mismatch';

/** The verdict on a check-payment record against the expected order. */
export type PaymentVerdict =
  /** The order is paid: fulfil it (once — the same verdict comes again on a replay). */
  | { ok: true; status: 'paid'; record: CheckPaymentRecord }
  /** The record is this order's, and it is not paid: show `status`; a pending one may still be paid. */
  | {
      ok: false;
      status: Exclude<PaymentOutcome, 'paid'>;
      reason: 'not_paid';
      message: string;
      record: CheckPaymentRecord;
    }
  /** The record is not this order's. */
  | { ok: false; status: 'rejected'; reason: MismatchReason; message: string; record: CheckPaymentRecord };

/** What check-payment's txn_status (and txn_details) say about the payment. */
export function outcomeOf(record: Pick<CheckPaymentRecord, 'txn_status' | 'txn_details'>): PaymentOutcome {
  switch (record.txn_status) {
    case '1000':
      return 'paid';
    case '1001':
      return 'declined';
    case '1009':
      return /expired/i.test(record.txn_details) ? 'expired' : 'cancelled';
    case null:
      return 'pending';
    default:
      // An unknown final code is never read as paid.
      return 'declined';
  }
}

/**
 * Compares an authoritative check-payment record (from checkPayment, or a verified webhook's
 * `data`) with the order you expect, exactly: token, merchant, order id, currency, amount in minor
 * units (never floats), then whether it is paid. Pure: no network.
 */
export function verifyPaymentRecord(
  record: CheckPaymentRecord,
  expected: ExpectedPayment,
  wmxId: string,
): PaymentVerdict {
  const expectedMinor = amountMinorOf(expected, 'expected');
  const reject = (reason: MismatchReason, message: string): PaymentVerdict => ({
    ok: false,
    status: 'rejected',
    reason,
    message,
    record,
  });
  if (expected.token !== undefined && record.token.toLowerCase() !== expected.token.toLowerCase())
    return reject('token_mismatch', `The payment is ${record.token}, not the order's ${expected.token}`);
  if (record.wmx_id !== wmxId) return reject('merchant_mismatch', `The payment belongs to ${record.wmx_id}`);
  if (record.merchant_order_id !== expected.orderId)
    return reject('order_mismatch', `The payment is for order ${record.merchant_order_id}, not ${expected.orderId}`);
  const currency = expected.currency.trim().toUpperCase();
  if (record.merchant_currency.toUpperCase() !== currency)
    return reject('currency_mismatch', `The payment is in ${record.merchant_currency}, not ${currency}`);
  const requested = wireMinor(record.merchant_req_amount);
  let amountOk = requested === expectedMinor;
  if (amountOk && currency === 'BDT') {
    // The official verification for BDT: the BDT amount equals it, and the customer paid at least it.
    const bdt = wireMinor(record.merchant_amount_bdt);
    const charged = wireMinor(record.bank_amount_bdt);
    amountOk = bdt === expectedMinor && charged !== undefined && charged >= expectedMinor;
  }
  if (!amountOk)
    return reject(
      'amount_mismatch',
      `The payment is for ${record.merchant_req_amount} ${record.merchant_currency}, not the order's amount`,
    );
  const outcome = outcomeOf(record);
  if (outcome === 'paid') return { ok: true, status: 'paid', record };
  return { ok: false, status: outcome, reason: 'not_paid', message: `Not paid: ${record.txn_details}`, record };
}

/** The POST body of a callback, in any form a web framework hands it over. */
export type CallbackBody =
  | string
  | URLSearchParams
  /** A parsed form: Express / Fastify `req.body` (a repeated key's array: its first value is read). */
  | Record<string, unknown>
  /** FormData, or anything else with `get(name)`. */
  | { get(name: string): unknown };

/** The first value of a field, as a string (repeated keys: the first, as the protocol says). */
function field(body: CallbackBody, name: string): string | undefined {
  let v: unknown;
  if (typeof body === 'string') v = new URLSearchParams(body).get(name);
  else if (body instanceof URLSearchParams) v = body.get(name);
  else if (typeof (body as { get?: unknown }).get === 'function') v = (body as { get(n: string): unknown }).get(name);
  else v = (body as Record<string, unknown>)[name];
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' ? v : undefined;
}

const CALLBACK_FIELDS = [
  'token',
  'txn_status',
  'merchant_order_id',
  'merchant_ref_id',
  'amount',
  'currency',
  'wmx_id',
] as const satisfies readonly (keyof CallbackData)[];

/**
 * Reads `merchant_txn_data` (the JSON string) and `wmx_signature` from a callback body. Undefined
 * data when it is missing, not JSON, or lacks one of its string fields.
 */
export function parseCallbackBody(body: CallbackBody): {
  raw: string | undefined;
  data: CallbackData | undefined;
  signature: string | undefined;
} {
  const usable = typeof body === 'string' || (typeof body === 'object' && body !== null);
  const raw = usable ? field(body, 'merchant_txn_data') : undefined;
  const signature = raw === undefined ? undefined : field(body, 'wmx_signature');
  if (raw === undefined) return { raw, data: undefined, signature };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { raw, data: undefined, signature };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { raw, data: undefined, signature };
  const o = parsed as Record<string, unknown>;
  for (const k of CALLBACK_FIELDS) if (typeof o[k] !== 'string') return { raw, data: undefined, signature };
  if (o.token === '') return { raw, data: undefined, signature };
  const data: CallbackData = {
    token: o.token as string,
    txn_status: o.txn_status as string,
    merchant_order_id: o.merchant_order_id as string,
    merchant_ref_id: o.merchant_ref_id as string,
    amount: o.amount as string,
    currency: o.currency as string,
    wmx_id: o.wmx_id as string,
  };
  if (typeof o.username === 'string') data.username = o.username;
  return { raw, data, signature };
}

/** Why handleCallback refused a callback before (or besides) looking at the payment. */
export type CallbackRejection =
  /** No `merchant_txn_data`, or it is not the JSON object of the protocol. */
  | 'malformed'
  /** A signing secret is configured and the callback carries no `wmx_signature`. */
  | 'missing_signature'
  /** `wmx_signature` does not match `merchant_txn_data` (tampered, or another merchant's secret), or is malformed. */
  | 'bad_signature'
  /** Genuine signature, older than the tolerance: a replayed or very late callback. */
  | 'stale_signature'
  /** check-payment does not know the token for this merchant ("2009"; another merchant's token answers so too). */
  | 'unknown_token'
  | MismatchReason;

/**
 * The verdict of handleCallback. Only `ok: true` (status `paid`) means: mark the order paid. Every
 * verdict with a record carries check-payment's record, never the callback's claims.
 */
export type CallbackVerdict =
  | { ok: true; status: 'paid'; record: CheckPaymentRecord; callback: CallbackData }
  | {
      ok: false;
      status: Exclude<PaymentOutcome, 'paid'>;
      reason: 'not_paid';
      message: string;
      record: CheckPaymentRecord;
      callback: CallbackData;
    }
  | {
      ok: false;
      status: 'rejected';
      reason: CallbackRejection;
      message: string;
      record?: CheckPaymentRecord;
      callback?: CallbackData;
    };
