/**
 * The connector port: what the gateway asks of a bank, wallet or aggregator. Use cases talk to this
 * interface only; each connector (sandbox/, bkash/, sslcommerz/) is one implementation, a plain
 * factory over its configuration, an HTTP client and a clock that never touches the database.
 *
 * The flows follow the orchestrators' names (Hyperswitch: authorize → redirect | challenge →
 * complete-authorize; psync; refund → rsync; incoming webhooks):
 * - `authorize` starts a payment: approved, declined, challenge (an OTP step on our page), retry (a
 *   wrong PIN), **redirect** (send the browser to the upstream's page) or **pending** (the upstream
 *   has it, no final answer yet).
 * - `complete` reads the browser's return from the upstream; `inquire` asks the upstream for its
 *   authoritative status; both answer a `Settlement`.
 * - `refund` / `refundStatus`; `parseNotification` verifies a server-to-server notification.
 *
 * A decline is an outcome, not an error. An answer the connector could not get is `pending` (the
 * upstream may have acted) unless the connector knows nothing can have happened (`unavailable`).
 * Connectors throw only on programming errors and aborts.
 */
import type { CardBrand } from '../domain/card.js';
import type { PaymentMethod } from '../domain/payment.js';

export type WalletProvider = 'bkash' | 'nagad' | 'rocket';

/**
 * What the operator routes: cards, each wallet, internet banking. One key routes to one connector
 * (per merchant, with a default for all).
 */
export type MethodKey = 'card' | WalletProvider | 'internet_banking';
export const METHOD_KEYS: readonly MethodKey[] = ['card', 'bkash', 'nagad', 'rocket', 'internet_banking'];

export const methodOfKey = (k: MethodKey): PaymentMethod =>
  k === 'card' ? 'card' : k === 'internet_banking' ? 'internet_banking' : 'mobile_wallet';

export const isMethodKey = (v: unknown): v is MethodKey => METHOD_KEYS.includes(v as MethodKey);

export type Instrument =
  | {
      kind: 'card';
      digits: string;
      brand: CardBrand;
      expMonth: number;
      expYear: number;
      cvv: string;
      holder: string;
    }
  | { kind: 'mobile_wallet'; provider: WalletProvider; walletNumber: string; pin: string }
  | { kind: 'internet_banking'; bank: string; username: string; password: string };

/** What check-payment shows about the instrument: payment_card, card_code, card_details, is_foreign. */
export interface InstrumentInfo {
  /** payment_card, e.g. 'VISA-Sandbox Bank', 'BKASH-bKash'. */
  label: string;
  /** card_code from INSTRUMENT_CODES (codes.ts). */
  cardCode: string;
  /** card_details: a masked card or wallet number; null when there is nothing to mask. */
  masked: string | null;
  isForeign: boolean;
}

/** One call to an upstream, as the payment's detail page lists it. Never a secret or card data. */
export interface UpstreamCall {
  /** e.g. 'grant_token', 'create_payment', 'execute_payment', 'query_payment', 'validate', 'notification'. */
  operation: string;
  startedAt: number;
  latencyMs: number;
  /** ok: a usable answer (a decline included); failed: an upstream error answer; timeout / error: no answer; refused: we rejected what came in (a forged notification). */
  outcome: 'ok' | 'failed' | 'timeout' | 'error' | 'refused';
  httpStatus: number | null;
  /** The upstream's own status or error code ('0000', '2023', 'VALID'…). */
  code: string | null;
  /** The upstream's message or ours, short. */
  message: string | null;
}

/** Handed to every connector call: the deadline (as a signal) and where to log what it asked. */
export interface CallContext {
  signal: AbortSignal;
  record(call: UpstreamCall): void;
}

/** What the gateway keeps about a payment at an upstream: its id there and the connector's notes (never a secret). */
export interface UpstreamRef {
  ref: string;
  data: Readonly<Record<string, string>>;
}

/** A payment as the connector needs it. Amounts are BDT minor units; the gateway converted already. */
export interface PaymentAttempt {
  paymentId: string;
  token: string;
  /** Our 15-character reference (check-payment's ref_id): unique, used as the upstream's invoice / tran_id. */
  refId: string;
  merchantName: string;
  /** What the customer is charged, in BDT minor units. */
  amountMinor: bigint;
  currency: 'BDT';
  method: MethodKey;
  /** Only for connectors that collect the instrument on our page (collectsInstrument). */
  instrument?: Instrument;
  customer: {
    name: string;
    email: string;
    phone: string;
    address: string;
    city: string;
    postcode: string;
    country: string;
  };
  /** A short description of what is bought. */
  description: string;
  /** Where the upstream sends the customer's browser back (GET or POST); connectors may add a query. */
  returnUrl: string;
  /** Where the upstream posts its server-to-server notifications. */
  notifyUrl: string;
}

export interface OtpChallenge {
  kind: 'otp';
  /** Opaque to the gateway, which persists it and hands it back to completeChallenge. */
  ref: string;
  /** Customer-facing hint, e.g. where the code was sent. */
  hint: string;
}

export interface RedirectTarget {
  url: string;
  method: 'GET' | 'POST';
  /** Form fields for a POST (auto-submitted); empty for a GET. */
  fields: Readonly<Record<string, string>>;
}

/** The final outcomes every flow can reach. */
export type FinalOutcome =
  | {
      outcome: 'approved';
      info: InstrumentInfo;
      /** The upstream's transaction id (used for refunds): a bKash trxID, an SSLCommerz bank_tran_id. */
      authCode: string;
      /** What the upstream says it charged (BDT minor); the gateway refuses an approval that differs. */
      amountMinor?: bigint;
      /** Something the merchant must see (SSLCommerz risk_level 1); appended to txn_details. */
      note?: string;
      upstream?: UpstreamRef;
    }
  /** `reason` is the txn_details text, e.g. 'Declined: insufficient funds'. */
  | { outcome: 'declined'; info?: InstrumentInfo; reason: string; upstream?: UpstreamRef }
  | { outcome: 'cancelled'; reason: string; upstream?: UpstreamRef };

/**
 * What a return, a notification or an inquiry settles to:
 * - a final outcome;
 * - `pending`: the upstream may have acted but has not said (a timeout, an error answer): ask again;
 * - `open`: the upstream has it and the customer may still act there (nothing final, no money moved);
 * - `absent`: the upstream has no such payment (it never got there): nothing can have been charged;
 * - `expired`: the upstream ended it unpaid on its own clock: nothing was, or can now be, charged.
 */
export type Settlement =
  | FinalOutcome
  | { outcome: 'expired'; upstream?: UpstreamRef }
  | { outcome: 'pending'; reason: string; upstream?: UpstreamRef }
  | { outcome: 'open'; upstream?: UpstreamRef }
  | { outcome: 'absent' };

export type AuthorizeResult =
  | FinalOutcome
  | { outcome: 'challenge'; info: InstrumentInfo; challenge: OtpChallenge }
  /** Wrong PIN / login / OTP: the customer may try again; the gateway counts tries and declines after 3. */
  | { outcome: 'retry'; info: InstrumentInfo; field: 'pin' | 'password' | 'otp'; message: string }
  /** Send the browser to the upstream; the gateway records `upstream` before it does. */
  | { outcome: 'redirect'; upstream: UpstreamRef; redirect: RedirectTarget }
  | { outcome: 'pending'; reason: string; upstream: UpstreamRef }
  /** Nothing was started upstream (it refused or did not answer a create): the customer may try again. */
  | { outcome: 'unavailable'; reason: string };

export interface RefundAttempt {
  refundId: string;
  paymentId: string;
  /** The payment's upstream transaction id (FinalOutcome.authCode). */
  authCode: string;
  upstream: UpstreamRef | null;
  /** The payment's charged amount (BDT minor), for upstreams that want it. */
  paymentAmountMinor: bigint;
  amountMinor: bigint;
  reason: string;
  /** The refund's id at the upstream, once it gave one (refundStatus asks about it). */
  refundRef: string | null;
  /** The upstream ids of the payment's other refunds: a status answer about one of them is not about this one. */
  otherRefundRefs: readonly string[];
}

export type RefundResult =
  | { outcome: 'succeeded'; upstream?: UpstreamRef }
  | { outcome: 'failed'; reason: string }
  /** Accepted, not final (or no answer): the gateway asks refundStatus until it is. */
  | { outcome: 'pending'; reason: string; upstream?: UpstreamRef };

/** A notification the connector verified (a forged or unreadable one is refused). */
export type NotificationResult =
  | {
      ok: true;
      /** The payment's upstream reference (UpstreamRef.ref) the notification is about. */
      ref: string;
      /** What complete() reads: the notification's fields. */
      params: Readonly<Record<string, string>>;
      /** What the notification claims, for the log ('VALID', 'FAILED'…). */
      claim: string;
      /** The amount it says was paid (BDT minor), when it says one: another amount is refused. */
      amountMinor?: bigint;
    }
  /** `claimedRef`: the reference it names, unverified: only to file the refusal under that payment. */
  | { ok: false; reason: string; claimedRef?: string };

/** What a connector kind can take and how. */
export interface ConnectorCapabilities {
  methods: readonly MethodKey[];
  /** true: our page collects the instrument (card form, wallet PIN) and hands it to authorize. */
  collectsInstrument: boolean;
  /** Per-payment amount limits of the upstream (BDT minor); a method is not offered outside them. */
  minAmountMinor?: bigint;
  maxAmountMinor?: bigint;
  /**
   * How long after the gateway's own expiry the upstream may still complete a payment the customer
   * started there: the reconciler waits this long (and asks) before it expires such a payment.
   */
  settleWindowMs: number;
  /** A call to authorize that times out means the bank did nothing (the sandbox bank's promise). */
  timeoutIsDecline: boolean;
  /**
   * The upstream knows the payment by our reference (PaymentAttempt.refId, e.g. SSLCommerz's
   * tran_id): it is recorded before authorize runs, so the payment can be asked about even when
   * the process dies before the upstream answers.
   */
  referenceIsOurs?: boolean;
}

export interface Connector {
  /** The configured instance's id (e.g. 'bkash', 'sslcommerz-live'). */
  readonly id: string;
  readonly kind: string;
  /** Shown to customers: 'bKash', 'SSLCommerz', 'Sandbox Bank'. */
  readonly displayName: string;
  readonly capabilities: ConnectorCapabilities;
  authorize(attempt: PaymentAttempt, ctx: CallContext): Promise<AuthorizeResult>;
  /** Answers an OTP challenge (connectors that open one). */
  completeChallenge?(ref: string, otp: string, ctx: CallContext): Promise<AuthorizeResult>;
  /** The browser came back from the upstream with these query / form fields. */
  complete?(
    params: Readonly<Record<string, string>>,
    attempt: PaymentAttempt,
    upstream: UpstreamRef,
    ctx: CallContext,
  ): Promise<Settlement>;
  /** The upstream's authoritative status (psync); may also finish what the upstream's rules say to finish. */
  inquire(attempt: PaymentAttempt, upstream: UpstreamRef, ctx: CallContext): Promise<Settlement>;
  refund(req: RefundAttempt, ctx: CallContext): Promise<RefundResult>;
  refundStatus(req: RefundAttempt, ctx: CallContext): Promise<RefundResult>;
  /** A server-to-server notification (raw body, lower-case header names). */
  parseNotification?(rawBody: string, headers: Readonly<Record<string, string>>, ctx: CallContext): NotificationResult;
  /** One harmless call that proves the configuration works (e.g. a grant token). */
  test(ctx: CallContext): Promise<{ ok: true; detail: string } | { ok: false; message: string }>;
}

/** txn_details when the bank does not answer in time (PROTOCOL.md section 10). */
export const BANK_TIMEOUT_REASON = 'Bank timeout';

export class AcquirerTimeoutError extends Error {
  constructor(message = 'The bank did not answer in time') {
    super(message);
    this.name = 'AcquirerTimeoutError';
  }
}

/**
 * Runs an acquirer call with a timeout; on timeout aborts the signal and throws AcquirerTimeoutError.
 * The timer is always cleared, so nothing keeps the process alive once the call settles.
 */
export function withTimeout<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new AcquirerTimeoutError(`The bank did not answer within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
    let pending: Promise<T>;
    try {
      pending = call(controller.signal);
    } catch (err) {
      clearTimeout(timer);
      reject(err);
      return;
    }
    // After a timeout the call may still reject (with the abort reason); the promise is already settled.
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
