/**
 * Every error the SDK throws extends WmxSdkError, so `catch (e) { if (e instanceof WmxSdkError) … }`
 * separates gateway trouble from bugs. Programming mistakes (a float amount, a missing API key) are
 * plain TypeErrors: they never succeed on a retry.
 */
export class WmxSdkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A business error of the legacy protocol (`init-payment-process`, `check-payment`): the gateway
 * answered `{"statusCode":"<code>","statusMsg":"…"}` with a code other than "1000". `code` is the
 * legacy code as a string: "2001" authentication failed, "2002" merchant not active, "2003" field
 * missing, "2004" field invalid, "2005" amount invalid, "2006" currency not supported, "2007"
 * callback_url not allowed, "2008" merchant_ref_id reused with other fields, "2009" token not found,
 * "2010" too many requests, "3001" maintenance (also thrown by initPayment when check-server says
 * `selectedServer: false`), "5000" internal error.
 */
export class WmxError extends WmxSdkError {
  /** The legacy statusCode, e.g. "2001". */
  readonly code: string;
  /** The request field at fault, when the gateway named one. */
  readonly field: string | undefined;
  /** On "5000": the gateway's request id, to quote to its operator. */
  readonly requestId: string | undefined;
  /** On "2010": seconds to wait before trying again (the Retry-After header). */
  readonly retryAfterSec: number | undefined;

  constructor(
    code: string,
    message: string,
    extra: { field?: string | undefined; requestId?: string | undefined; retryAfterSec?: number | undefined } = {},
  ) {
    super(message);
    this.code = code;
    this.field = extra.field;
    this.requestId = extra.requestId;
    this.retryAfterSec = extra.retryAfterSec;
  }
}

/**
 * An error answer of the JSON API (`{"error":{"code","message"}}`), with its HTTP status: 400
 * `invalid_request` / `invalid_amount`, 401 `unauthenticated`, 403 `forbidden`, 404 `not_found`,
 * 409 `idempotency_conflict` / `idempotency_in_progress`, 422 `refund_exceeds_refundable` /
 * `payment_not_refundable` / `invalid_webhook_url`, 429 `rate_limited`, 500 `internal_error`,
 * 503 `maintenance`. An answer without that shape (a proxy's 502 page) has code `unexpected_response`.
 */
export class WmxApiError extends WmxSdkError {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterSec: number | undefined;
  /** The Idempotency-Key the failed POST carried: send the same request with it to retry safely. */
  readonly idempotencyKey: string | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: {
      field?: string | undefined;
      requestId?: string | undefined;
      retryAfterSec?: number | undefined;
      idempotencyKey?: string | undefined;
    } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = extra.field;
    this.requestId = extra.requestId;
    this.retryAfterSec = extra.retryAfterSec;
    this.idempotencyKey = extra.idempotencyKey;
  }
}

/**
 * The gateway could not be reached, or did not answer within `timeoutMs` (after the SDK's own
 * retries). Whether the request took effect is unknown: retry it (POSTs with `idempotencyKey`).
 */
export class WmxConnectionError extends WmxSdkError {
  readonly timedOut: boolean;
  readonly idempotencyKey: string | undefined;
  constructor(message: string, extra: { cause: unknown; timedOut: boolean; idempotencyKey?: string | undefined }) {
    super(message, { cause: extra.cause });
    this.timedOut = extra.timedOut;
    this.idempotencyKey = extra.idempotencyKey;
  }
}

/**
 * The gateway answered something the protocol does not allow (not JSON, a check-payment record with
 * a field of the wrong type, …): not a business outcome, so nothing about the payment can be read
 * from it. `status` is the HTTP status, `body` the start of the answer.
 */
export class WmxResponseError extends WmxSdkError {
  readonly status: number;
  readonly body: string;
  constructor(message: string, status: number, body: string) {
    super(message);
    this.status = status;
    this.body = body.slice(0, 500);
  }
}

/** Why verifyWebhook refused a delivery. */
export type WebhookFailureReason =
  /** The Wmx-Signature header is missing or not `t=<unix seconds>,v1=<64 hex>`. */
  | 'malformed_header'
  /** The signature does not match the raw body and secret (tampered body, wrong secret). */
  | 'bad_signature'
  /** The signature is genuine but its timestamp is further from now than the tolerance (a replay). */
  | 'stale_timestamp'
  /** Genuine and fresh, but the body is not a JSON event `{id,type,created,data}`. */
  | 'malformed_body';

/** A webhook delivery that must not be believed; answer it with a 400. */
export class WebhookSignatureError extends WmxSdkError {
  readonly reason: WebhookFailureReason;
  constructor(reason: WebhookFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
