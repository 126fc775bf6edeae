import { formatMinor } from '../domain/money.js';
import { txnStatusOf, type Payment } from '../domain/payment.js';
import { hmacHex } from './crypto.js';

/**
 * The front-channel result (PROTOCOL.md section 6): `merchant_txn_data`, a JSON string whose values
 * are all strings, and our `wmx_signature` over it with the merchant's signing secret.
 */
export function callbackFields(
  p: Payment,
  signingSecret: string,
  nowMs: number,
  /** The extra path segment of the page now showing the result. Used only for an expired payment
   * that recorded none: expiry is noticed on load (or by check-payment), before any page's URL is known. */
  pageExtra: string | null = null,
): { merchant_txn_data: string; wmx_signature: string } {
  const data: Record<string, string> = {
    token: p.token,
    txn_status: txnStatusOf(p.status) ?? '',
    merchant_order_id: p.merchantOrderId,
    merchant_ref_id: p.merchantRefId,
    amount: formatMinor(p.amountMinor),
    currency: p.currency,
    wmx_id: p.wmxId,
  };
  const username = p.pageExtra ?? (p.status === 'expired' ? pageExtra : null);
  if (username !== null) data.username = username;
  const merchantTxnData = JSON.stringify(data);
  const t = Math.floor(nowMs / 1000);
  return { merchant_txn_data: merchantTxnData, wmx_signature: signPayload(signingSecret, t, merchantTxnData) };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + payload)>` — shared with webhooks. */
export function signPayload(secret: string, t: number, payload: string): string {
  return `t=${t},v1=${hmacHex(secret, `${t}.${payload}`)}`;
}
