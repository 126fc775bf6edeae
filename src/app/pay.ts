import { EMI_RATES_BPS } from '../domain/emi.js';
import type { Merchant } from '../domain/merchant.js';
import { percentOf } from '../domain/money.js';
import type { Payment, PaymentMethod } from '../domain/payment.js';
import { maskBankLogin, maskCard, maskWallet } from '../domain/card.js';
import {
  AcquirerTimeoutError,
  BANK_TIMEOUT_REASON,
  withTimeout,
  type Acquirer,
  type AuthorizeResult,
  type Instrument,
  type InstrumentInfo,
} from '../acquirers/port.js';
import { cardCodes, ibankingCodes, walletCodes } from '../acquirers/codes.js';
import type { PaymentRepo } from '../store/payments.js';
import { expireIfDue } from './expire.js';

export const MAX_ATTEMPTS = 3;

export interface PayDeps {
  payments: PaymentRepo;
  merchantById(id: string): Promise<Merchant | undefined>;
  /** The connector that serves this merchant; undefined when none can (a live merchant without one). */
  acquirerFor(merchant: Merchant): Acquirer | undefined;
  bankTimeoutMs: number;
  now: () => number;
}

export interface EmiChoice {
  period: number;
  bank: string;
}

/** What the page shows next. */
export type PayResult =
  | { kind: 'final'; payment: Payment }
  | { kind: 'challenge'; payment: Payment }
  | { kind: 'retry'; payment: Payment; field: 'pin' | 'password' | 'otp'; message: string; attemptsLeft: number }
  | { kind: 'busy'; payment: Payment }
  | { kind: 'unavailable'; payment: Payment };

/** Kept with an open challenge, so the final outcome knows the instrument without the bank repeating it. */
export interface ChallengeState {
  method: PaymentMethod;
  info: InstrumentInfo;
  hint: string;
  emi: EmiChoice | null;
}

const methodOf = (i: Instrument): PaymentMethod => i.kind;

/**
 * Paying: take the lease, ask the bank (with a timeout), write exactly one outcome. A second request
 * for the same token while the bank is asked gets `busy`; after the outcome it gets `final`.
 */
export function createPay(deps: PayDeps) {
  const lease = deps.bankTimeoutMs + 5_000;

  async function load(token: string): Promise<Payment | undefined> {
    const p = await deps.payments.byToken(token);
    return p && expireIfDue(deps.payments, p, deps.now());
  }

  async function current(token: string, fallback: Payment): Promise<PayResult> {
    const p = (await deps.payments.byToken(token)) ?? fallback;
    return p.status === 'pending' ? { kind: 'busy', payment: p } : { kind: 'final', payment: p };
  }

  async function conclude(
    claimed: Payment,
    merchant: Merchant,
    st: ChallengeState,
    call: (signal: AbortSignal) => Promise<AuthorizeResult>,
    pageExtra: string | null,
  ): Promise<PayResult> {
    const leaseUntil = claimed.processingUntil as number; // set by claim()
    let result: AuthorizeResult;
    try {
      result = await withTimeout(deps.bankTimeoutMs, call);
    } catch (e) {
      if (!(e instanceof AcquirerTimeoutError)) {
        await deps.payments.release(claimed.token, leaseUntil, claimed);
        throw e;
      }
      result = { outcome: 'declined', info: st.info, reason: BANK_TIMEOUT_REASON };
    }

    const finish = async (
      status: 'approved' | 'declined',
      details: string,
      info: InstrumentInfo,
      authCode: string | null,
    ) => {
      const amountBdt = claimed.amountBdtMinor;
      const emiBps = st.emi ? (EMI_RATES_BPS[st.emi.period] ?? 0) : 0;
      const emiCharge = percentOf(amountBdt, emiBps);
      const feeBps = merchant.feesBps[st.method];
      const done = await deps.payments.finalize(
        claimed.token,
        {
          status,
          txnDetails: details,
          method: st.method,
          cardDetails: info.masked,
          isForeign: info.isForeign,
          paymentCard: info.label,
          cardCode: info.cardCode,
          feeBps,
          feeMinor: percentOf(amountBdt, feeBps),
          emiPeriod: st.emi?.period ?? null,
          emiBank: st.emi?.bank ?? null,
          emiBps,
          emiChargeMinor: emiCharge,
          bankAmountMinor: amountBdt + emiCharge - claimed.discountMinor,
          authCode,
          txnAt: deps.now(),
          pageExtra,
        },
        { leaseUntil },
      );
      return done ? ({ kind: 'final', payment: done } as const) : current(claimed.token, claimed);
    };

    switch (result.outcome) {
      case 'approved':
        return finish('approved', 'Approved', result.info, result.authCode);
      case 'declined':
        return finish('declined', result.reason, result.info, null);
      case 'challenge': {
        const state: ChallengeState = { ...st, info: result.info, hint: result.challenge.hint };
        const p = await deps.payments.release(claimed.token, leaseUntil, {
          challengeRef: result.challenge.ref,
          challengeInfo: JSON.stringify(state),
          attempts: claimed.attempts,
        });
        return p ? { kind: 'challenge', payment: p } : current(claimed.token, claimed);
      }
      case 'retry': {
        const attempts = claimed.attempts + 1;
        if (attempts >= MAX_ATTEMPTS) {
          const why = result.field === 'otp' ? 'Declined: authentication failed' : 'Declined: too many wrong attempts';
          return finish('declined', why, result.info, null);
        }
        const p = await deps.payments.release(claimed.token, leaseUntil, {
          challengeRef: result.field === 'otp' ? claimed.challengeRef : null,
          challengeInfo: result.field === 'otp' ? claimed.challengeInfo : null,
          attempts,
        });
        if (!p) return current(claimed.token, claimed);
        return {
          kind: 'retry',
          payment: p,
          field: result.field,
          message: result.message,
          attemptsLeft: MAX_ATTEMPTS - attempts,
        };
      }
    }
  }

  async function begin(
    token: string,
  ): Promise<{ p: Payment; merchant: Merchant; acquirer: Acquirer } | PayResult | undefined> {
    const p = await load(token);
    if (!p) return undefined;
    if (p.status !== 'pending') return { kind: 'final', payment: p };
    const merchant = await deps.merchantById(p.merchantId);
    // A suspended merchant takes no money (it could not even confirm it: check-payment answers 2002).
    const acquirer = merchant?.status === 'active' ? deps.acquirerFor(merchant) : undefined;
    if (!merchant || !acquirer) return { kind: 'unavailable', payment: p };
    return { p, merchant, acquirer };
  }

  return {
    /** Customer submitted an instrument. undefined: unknown token. */
    async submit(
      token: string,
      instrument: Instrument,
      emi: EmiChoice | null,
      pageExtra: string | null,
    ): Promise<PayResult | undefined> {
      const b = await begin(token);
      if (!b || 'kind' in b) return b;
      const claimed = await deps.payments.claim(token, deps.now(), lease);
      if (!claimed) return current(token, b.p);
      const st: ChallengeState = {
        method: methodOf(instrument),
        info: placeholderInfo(instrument, b.acquirer.name),
        hint: '',
        emi: instrument.kind === 'card' && b.merchant.emiAllowed ? emi : null,
      };
      return conclude(
        claimed,
        b.merchant,
        st,
        (signal) =>
          b.acquirer.authorize(
            { paymentId: claimed.id, amountMinor: bankAmountWith(claimed, st.emi), currency: 'BDT', instrument },
            signal,
          ),
        pageExtra,
      );
    },

    /** Customer answered the one-time-password step. */
    async verify(token: string, otp: string, pageExtra: string | null): Promise<PayResult | undefined> {
      const b = await begin(token);
      if (!b || 'kind' in b) return b;
      if (!b.p.challengeRef || !b.p.challengeInfo) return { kind: 'busy', payment: b.p };
      const claimed = await deps.payments.claim(token, deps.now(), lease);
      if (!claimed || !claimed.challengeRef || !claimed.challengeInfo) return current(token, b.p);
      const st = JSON.parse(claimed.challengeInfo) as ChallengeState; // written by conclude() above
      const ref = claimed.challengeRef;
      return conclude(claimed, b.merchant, st, (signal) => b.acquirer.completeChallenge(ref, otp, signal), pageExtra);
    },

    load,
  };
}

/** What the customer is charged in BDT with an EMI choice: the surcharge on top, the discount off. */
export function bankAmountWith(p: Payment, emi: EmiChoice | null): bigint {
  const bps = emi ? (EMI_RATES_BPS[emi.period] ?? 0) : 0;
  return p.amountBdtMinor + percentOf(p.amountBdtMinor, bps) - p.discountMinor;
}

/** What we know of an instrument before the bank answers (used if it never does). */
function placeholderInfo(i: Instrument, bankName: string): InstrumentInfo {
  switch (i.kind) {
    case 'card':
      return { ...cardCodes(i.brand, bankName), masked: maskCard(i.digits), isForeign: false };
    case 'mobile_wallet':
      return { ...walletCodes(i.provider), masked: maskWallet(i.walletNumber), isForeign: false };
    case 'internet_banking':
      return { ...ibankingCodes(bankName), masked: maskBankLogin(i.username), isForeign: false };
  }
}
