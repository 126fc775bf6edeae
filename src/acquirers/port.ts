/**
 * The acquirer port: what the gateway asks of a bank or wallet connector. Use cases talk to this
 * interface only; the sandbox bank (sandbox-bank.ts) is one implementation.
 *
 * A decline is an outcome, not an error: connectors throw only when they could not get an answer
 * (network, timeout, a corrupt challenge reference).
 */
import type { CardBrand } from '../domain/card.js';
import type { PaymentMethod } from '../domain/payment.js';

export type WalletProvider = 'bkash' | 'nagad' | 'rocket';

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
  /** card_code from INSTRUMENT_CODES. */
  cardCode: string;
  /** card_details: a masked card or wallet number; null when there is nothing to mask. */
  masked: string | null;
  isForeign: boolean;
}

export interface AuthorizeRequest {
  paymentId: string;
  amountMinor: bigint;
  currency: 'BDT';
  instrument: Instrument;
}

export interface OtpChallenge {
  kind: 'otp';
  /** Opaque to the gateway, which persists it and hands it back to completeChallenge. */
  ref: string;
  /** Customer-facing hint, e.g. where the code was sent. */
  hint: string;
}

export type AuthorizeResult =
  | { outcome: 'approved'; info: InstrumentInfo; authCode: string }
  /** `reason` is the txn_details text, e.g. 'Declined: insufficient funds'. */
  | { outcome: 'declined'; info: InstrumentInfo; reason: string }
  | { outcome: 'challenge'; info: InstrumentInfo; challenge: OtpChallenge }
  /** Wrong PIN / login / OTP: the customer may try again; the gateway counts tries and declines after 3. */
  | { outcome: 'retry'; info: InstrumentInfo; field: 'pin' | 'password' | 'otp'; message: string };

export type RefundResult = { outcome: 'succeeded' } | { outcome: 'failed'; reason: string };

export interface RefundRequest {
  paymentId: string;
  authCode: string;
  amountMinor: bigint;
}

export interface Acquirer {
  readonly name: string;
  authorize(req: AuthorizeRequest, signal: AbortSignal): Promise<AuthorizeResult>;
  /** Answers an OTP challenge; returns approved, declined or retry. Stateless: everything needed is in `ref`. */
  completeChallenge(ref: string, otp: string, signal: AbortSignal): Promise<AuthorizeResult>;
  refund(req: RefundRequest, signal: AbortSignal): Promise<RefundResult>;
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
