import type { Merchant } from '../domain/merchant.js';
import type { Payment } from '../domain/payment.js';
import { maskBankLogin, maskCard, maskWallet } from '../domain/card.js';
import {
  BANK_TIMEOUT_REASON,
  methodOfKey,
  type AuthorizeResult,
  type CallContext,
  type Connector,
  type Instrument,
  type InstrumentInfo,
  type MethodKey,
  type RedirectTarget,
} from '../acquirers/port.js';
import { cardCodes, ibankingCodes, walletCodes } from '../acquirers/codes.js';
import type { ConnectorRouter, Offer } from '../acquirers/router.js';
import type { PaymentRepo } from '../store/payments.js';
import {
  attemptOf,
  bankAmountWith,
  keyOf,
  placeholderInfoFor,
  readAttemptState,
  upstreamOf,
  type AttemptState,
  type EmiChoice,
} from './attempt.js';
import type { ConnectorCalls } from './connector-calls.js';
import { expireIfDue } from './expire.js';
import type { Settle } from './settle.js';

export const MAX_ATTEMPTS = 3;

export interface PayDeps {
  payments: PaymentRepo;
  merchantById(id: string): Promise<Merchant | undefined>;
  router: Pick<ConnectorRouter, 'routeFor' | 'offered' | 'connector'>;
  calls: ConnectorCalls;
  settle: Settle;
  publicUrl: string;
  now: () => number;
  /** When a payment sent to an upstream's page is first asked about, if nothing comes back. */
  redirectCheckMs: number;
}

export type { EmiChoice } from './attempt.js';
/** @deprecated name kept for the pages: the attempt state is what an open challenge keeps. */
export type ChallengeState = AttemptState;
export { bankAmountWith } from './attempt.js';

/** What the page shows next. */
export type PayResult =
  | { kind: 'final'; payment: Payment }
  | { kind: 'challenge'; payment: Payment }
  | { kind: 'retry'; payment: Payment; field: 'pin' | 'password' | 'otp'; message: string; attemptsLeft: number }
  /** Send the browser to the upstream's page. */
  | { kind: 'redirect'; payment: Payment; target: RedirectTarget }
  /** Someone else is asking the bank now, or the answer is being confirmed: the page waits. */
  | { kind: 'busy'; payment: Payment }
  | { kind: 'unavailable'; payment: Payment }
  /** The upstream could not start the payment (nothing charged): the customer may try again. */
  | { kind: 'try_again'; payment: Payment; message: string }
  /** The chosen method needs the instrument on our page (a card form, a wallet PIN). */
  | { kind: 'needs_instrument'; payment: Payment };

/**
 * Paying on our page: take the lease, ask the connector the method routes to (with a deadline),
 * write exactly one outcome, or send the browser to the upstream with its reference recorded first.
 * A second request for the same token while the bank is asked gets `busy`; after the outcome it
 * gets `final`.
 */
export function createPay(deps: PayDeps) {
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
    connector: Connector,
    st: AttemptState,
    call: (ctx: CallContext) => Promise<AuthorizeResult>,
  ): Promise<PayResult> {
    const leaseUntil = claimed.processingUntil as number; // set by claim()
    const ran = await deps.calls.run(connector, { paymentId: claimed.id }, call);
    let result: AuthorizeResult;
    if (ran.ok) result = ran.value;
    else if (ran.timeout && connector.capabilities.timeoutIsDecline) {
      // The sandbox bank promises that a call it did not answer in time charged nothing.
      result = { outcome: 'declined', info: st.info, reason: BANK_TIMEOUT_REASON };
    } else {
      // No answer from a real rail: it may have acted. Ask it, never guess (the reconciler does).
      const p = await deps.settle.keepPending(claimed, {
        outcome: 'pending',
        reason: ran.timeout ? 'no answer in time' : 'call failed',
      });
      return p.status === 'pending' ? { kind: 'busy', payment: p } : { kind: 'final', payment: p };
    }

    const finalOf = async (p: Payment): Promise<PayResult> =>
      p.status === 'pending' ? { kind: 'busy', payment: p } : { kind: 'final', payment: p };

    switch (result.outcome) {
      case 'approved':
      case 'declined':
      case 'cancelled':
        return finalOf(await deps.settle.finish(claimed, merchant, st, result, connector));
      case 'pending':
        return finalOf(await deps.settle.keepPending(claimed, result));
      case 'redirect': {
        const state: AttemptState = { ...st, redirect: result.redirect };
        const p = await deps.payments.release(claimed.token, leaseUntil, {
          upstreamState: 'redirected',
          upstreamRef: result.upstream.ref,
          upstreamData: { ...claimed.upstreamData, ...result.upstream.data },
          challengeInfo: deps.settle.stateText(state),
          reconcileAt: deps.now() + deps.redirectCheckMs,
          reconcileAttempts: 0,
        });
        return p ? { kind: 'redirect', payment: p, target: result.redirect } : current(claimed.token, claimed);
      }
      case 'unavailable': {
        const p = await deps.payments.release(claimed.token, leaseUntil, {
          upstreamState: null,
          reconcileAt: null,
          reconcileAttempts: 0,
        });
        return p ? { kind: 'try_again', payment: p, message: result.reason } : current(claimed.token, claimed);
      }
      case 'challenge': {
        const state: AttemptState = { ...st, info: result.info, hint: result.challenge.hint };
        const p = await deps.payments.release(claimed.token, leaseUntil, {
          challengeRef: result.challenge.ref,
          challengeInfo: deps.settle.stateText(state),
          attempts: claimed.attempts,
          upstreamState: null,
          reconcileAt: null,
        });
        return p ? { kind: 'challenge', payment: p } : current(claimed.token, claimed);
      }
      case 'retry': {
        const attempts = claimed.attempts + 1;
        if (attempts >= MAX_ATTEMPTS) {
          const why = result.field === 'otp' ? 'Declined: authentication failed' : 'Declined: too many wrong attempts';
          const final = { outcome: 'declined', info: result.info, reason: why } as const;
          return finalOf(await deps.settle.finish(claimed, merchant, st, final, connector));
        }
        const p = await deps.payments.release(claimed.token, leaseUntil, {
          challengeRef: result.field === 'otp' ? claimed.challengeRef : null,
          challengeInfo: result.field === 'otp' ? claimed.challengeInfo : null,
          attempts,
          upstreamState: null,
          reconcileAt: null,
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

  /** The payment, its merchant and the connector `key` routes to; or what the page shows instead. */
  async function begin(
    token: string,
    key: MethodKey,
  ): Promise<{ p: Payment; merchant: Merchant; connector: Connector } | PayResult | undefined> {
    const p = await load(token);
    if (!p) return undefined;
    if (p.status !== 'pending') return { kind: 'final', payment: p };
    if (p.upstreamState !== null) return { kind: 'busy', payment: p };
    const merchant = await deps.merchantById(p.merchantId);
    // A suspended merchant takes no money (it could not even confirm it: check-payment answers 2002).
    if (!merchant || merchant.status !== 'active') return { kind: 'unavailable', payment: p };
    const offer = (await deps.router.offered(merchant, bankAmountWith(p, null))).find((o) => o.key === key);
    if (!offer) return { kind: 'unavailable', payment: p };
    return { p, merchant, connector: offer.connector };
  }

  return {
    /**
     * Customer chose a method (and, where our page collects it, gave the instrument).
     * undefined: unknown token.
     */
    async submit(
      token: string,
      key: MethodKey,
      instrument: Instrument | null,
      emi: EmiChoice | null,
      pageExtra: string | null,
      lang?: string,
    ): Promise<PayResult | undefined> {
      const b = await begin(token, key);
      if (!b || 'kind' in b) return b;
      const { connector, merchant } = b;
      const collects = connector.capabilities.collectsInstrument;
      // A redirect connector never sees card data, whatever the form posted.
      const ins = collects ? instrument : null;
      if (collects && !ins) return { kind: 'needs_instrument', payment: b.p };
      const st: AttemptState = {
        method: methodOfKey(key),
        key,
        info: ins ? placeholderInfo(ins, connector.displayName) : placeholderInfoFor(key, connector.displayName),
        hint: '',
        emi: ins?.kind === 'card' && merchant.emiAllowed ? emi : null,
        extra: pageExtra,
        ...(lang ? { lang } : {}),
      };
      // One write takes the lease and records where the payment is going, so a process killed while
      // the upstream answers leaves a payment the reconciler asks about, never one payable again.
      const claimed = await deps.payments.claim(token, deps.now(), deps.calls.leaseMsOf(connector), {
        connectorId: connector.id,
        state: collects ? 'authorizing' : 'creating',
        // A reference that is ours (SSLCommerz's tran_id) is known before the upstream answers.
        ref: connector.capabilities.referenceIsOurs ? b.p.refId : null,
        info: deps.settle.stateText(st),
      });
      if (!claimed) return current(token, b.p);
      const attempt = attemptOf(claimed, merchant, st, deps.publicUrl, connector.id, ins ?? undefined);
      return conclude(claimed, merchant, connector, st, (ctx) => connector.authorize(attempt, ctx));
    },

    /** Customer answered the one-time-password step. */
    async verify(token: string, otp: string, pageExtra: string | null): Promise<PayResult | undefined> {
      const p = await load(token);
      if (!p) return undefined;
      if (p.status !== 'pending') return { kind: 'final', payment: p };
      const st = readAttemptState(p.challengeInfo);
      if (!p.challengeRef || !st) return { kind: 'busy', payment: p };
      const b = await begin(token, keyOf(st));
      if (!b || 'kind' in b) return b;
      // The challenge belongs to the connector that opened it, whatever the routes say now.
      const connector = (p.connectorId && (await deps.router.connector(p.connectorId))) || b.connector;
      if (!connector.completeChallenge) return { kind: 'unavailable', payment: p };
      const claimed = await deps.payments.claim(token, deps.now(), deps.calls.leaseMsOf(connector), {
        connectorId: connector.id,
        state: 'authorizing',
      });
      if (!claimed || !claimed.challengeRef) return current(token, p);
      const ref = claimed.challengeRef;
      const state: AttemptState = { ...st, extra: st.extra ?? pageExtra };
      return conclude(claimed, b.merchant, connector, state, (ctx) => connector.completeChallenge!(ref, otp, ctx));
    },

    /** The methods this payment can be paid with now (what the page offers). */
    async offers(p: Payment, merchant: Merchant): Promise<Offer[]> {
      return deps.router.offered(merchant, bankAmountWith(p, null));
    },

    load,
    upstreamOf,
  };
}

export type Pay = ReturnType<typeof createPay>;

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
