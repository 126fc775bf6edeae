import { checkSignature, utf8 } from './crypto.js';
import { WebhookSignatureError } from './errors.js';
import type { PaymentEvent, RefundEvent, WebhookEvent } from './types.js';

export interface VerifyWebhookOptions {
  /** How far the signature's timestamp may be from now, either way, in seconds (default 300). */
  toleranceSec?: number;
  /** The current time (a Date, or ms since the epoch as Date.now() gives); default now. */
  now?: Date | number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A Node-style header value (`req.headers['wmx-signature']`) or a fetch `Headers.get()` result. */
export type SignatureHeader = string | readonly string[] | null | undefined;

/**
 * Verifies a webhook delivery and returns its event. `rawBody` must be the exact bytes received
 * (string or Uint8Array) — JSON re-serialised by a framework does not match. `header` is the
 * `Wmx-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`.
 * Throws WebhookSignatureError (`malformed_header`, `bad_signature`, `stale_timestamp`,
 * `malformed_body`); the comparison is constant-time (crypto.subtle.verify).
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array,
  header: SignatureHeader,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('verifyWebhook: the signing secret is required');
  const toleranceSec = options.toleranceSec ?? 300;
  if (typeof toleranceSec !== 'number' || Number.isNaN(toleranceSec) || toleranceSec < 0)
    throw new TypeError('verifyWebhook: toleranceSec must be a number ≥ 0');
  const nowMs =
    options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
  const value = typeof header === 'string' ? header : Array.isArray(header) ? header[0] : undefined;
  if (typeof value !== 'string' || value === '')
    throw new WebhookSignatureError('malformed_header', 'The Wmx-Signature header is missing');
  const bytes = typeof rawBody === 'string' ? utf8(rawBody) : rawBody;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('verifyWebhook: rawBody must be a string or a Uint8Array');

  const check = await checkSignature(secret, value, bytes, toleranceSec, nowMs);
  if (!check.ok) {
    const messages = {
      malformed_header: 'The Wmx-Signature header is not t=<unix seconds>,v1=<64 hex>',
      bad_signature: 'The signature does not match the body',
      stale_timestamp: `The signature is ${Math.round(Math.abs(nowMs / 1000 - (check.timestamp ?? 0)))} s from now (tolerance ${toleranceSec} s)`,
    } as const;
    throw new WebhookSignatureError(check.reason, messages[check.reason]);
  }

  let event: unknown;
  try {
    event = JSON.parse(typeof rawBody === 'string' ? rawBody : decoder.decode(bytes));
  } catch {
    throw new WebhookSignatureError('malformed_body', 'The body is not UTF-8 JSON');
  }
  const e = event as Record<string, unknown> | null;
  if (
    e === null ||
    typeof e !== 'object' ||
    Array.isArray(e) ||
    typeof e.id !== 'string' ||
    typeof e.type !== 'string' ||
    typeof e.created !== 'number' ||
    e.data === null ||
    typeof e.data !== 'object'
  )
    throw new WebhookSignatureError('malformed_body', 'The body is not an event {id, type, created, data}');
  return e as unknown as WebhookEvent;
}

/** A `payment.*` event: `data` is the check-payment record. */
export const isPaymentEvent = (event: WebhookEvent): event is PaymentEvent => event.type.startsWith('payment.');

/** A `refund.*` event: `data` is the refund, with the payment's record under `payment`. */
export const isRefundEvent = (event: WebhookEvent): event is RefundEvent => event.type.startsWith('refund.');
