/**
 * Recording what an upstream said, exactly once. Every path that learns something about a payment
 * (our page's bank call, the browser's return, a notification, the reconciler, a cancel) holds the
 * payment's lease and hands the answer here:
 * - a final outcome finalises the payment under that lease (fees, EMI, ledger and webhook in one
 *   transaction: see PaymentRepo.finalize); an approval for another amount than asked is not one;
 * - `pending` (no answer, or an answer that settles nothing) keeps it pending, `confirming`, and
 *   asks the reconciler to look again after the next step of the backoff schedule;
 * - `open` / `absent` keep it pending where it stands until the upstream's window after expiry has
 *   passed, then expire it; `absent` for an attempt that never got a reference (killed while
 *   authorising or opening the session) makes it payable again, as nothing can have been charged.
 */
import { EMI_RATES_BPS } from '../domain/emi.js';
import type { Merchant } from '../domain/merchant.js';
import { formatMinor, percentOf } from '../domain/money.js';
import type { Payment, UpstreamState } from '../domain/payment.js';
import type { Connector, FinalOutcome, Settlement, UpstreamRef } from '../acquirers/port.js';
import type { PaymentRepo } from '../store/payments.js';
import { attemptStateText, bankAmountWith, type AttemptState } from './attempt.js';
import { endedWithoutPayment } from './expire.js';

export interface SettleDeps {
  payments: Pick<PaymentRepo, 'finalize' | 'release' | 'byToken'>;
  now: () => number;
  /** Waits between inquiries while an outcome is unknown; the last one repeats. */
  scheduleMs: readonly number[];
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

const mergeData = (p: Payment, u: UpstreamRef | undefined): Record<string, string> => ({
  ...p.upstreamData,
  ...(u?.data ?? {}),
});

export function createSettle(deps: SettleDeps) {
  const backoff = (attempts: number) => deps.scheduleMs[Math.min(attempts, deps.scheduleMs.length - 1)] ?? 60_000;

  /** The current state of a payment whose lease was lost to another writer. */
  const current = async (p: Payment) => (await deps.payments.byToken(p.token)) ?? p;

  /** Finalises with a final outcome under the lease; the payment as it now stands. */
  async function finish(
    claimed: Payment,
    merchant: Merchant,
    st: AttemptState,
    final: FinalOutcome,
    connector: Connector,
  ): Promise<Payment> {
    const leaseUntil = claimed.processingUntil as number; // set by the claim that handed it here
    const upstream = final.upstream;
    const expected = bankAmountWith(claimed, st.emi);
    if (final.outcome === 'approved' && final.amountMinor !== undefined && final.amountMinor !== expected) {
      // Not the payment that was asked for: changes nothing, said loudly, asked about again.
      const note = `${connector.displayName} reports ${formatMinor(final.amountMinor)} BDT paid, ${formatMinor(expected)} BDT expected`;
      deps.log?.('upstream amount mismatch', { payment: claimed.id, connector: connector.id, note });
      return keepPending(claimed, { outcome: 'pending', reason: note, upstream }, { mismatch: note });
    }
    const now = deps.now();
    const amountBdt = claimed.amountBdtMinor;
    const emiBps = st.emi ? (EMI_RATES_BPS[st.emi.period] ?? 0) : 0;
    const emiCharge = percentOf(amountBdt, emiBps);
    const feeBps = merchant.feesBps[st.method];
    const info = final.outcome === 'cancelled' ? st.info : (final.info ?? st.info);
    const details = final.outcome === 'approved' ? (final.note ? `Approved; ${final.note}` : 'Approved') : final.reason;
    const status = final.outcome === 'approved' ? 'approved' : final.outcome === 'declined' ? 'declined' : 'cancelled';
    const done = await deps.payments.finalize(
      claimed.token,
      {
        status,
        txnDetails: details,
        method: status === 'cancelled' ? null : st.method,
        cardDetails: status === 'cancelled' ? null : info.masked,
        isForeign: status === 'cancelled' ? false : info.isForeign,
        paymentCard: status === 'cancelled' ? null : info.label,
        cardCode: status === 'cancelled' ? null : info.cardCode,
        feeBps,
        feeMinor: percentOf(amountBdt, feeBps),
        emiPeriod: st.emi?.period ?? null,
        emiBank: st.emi?.bank ?? null,
        emiBps,
        emiChargeMinor: emiCharge,
        bankAmountMinor: amountBdt + emiCharge - claimed.discountMinor,
        authCode: final.outcome === 'approved' ? final.authCode : null,
        txnAt: now,
        pageExtra: claimed.pageExtra ?? st.extra ?? null,
        connectorId: connector.id,
        ...(upstream?.ref ? { upstreamRef: upstream.ref } : {}),
        upstreamData: mergeData(claimed, upstream),
      },
      { leaseUntil },
    );
    return done ?? current(claimed);
  }

  /** Still pending: keep the lease's findings and ask again after the next backoff step. */
  async function keepPending(
    claimed: Payment,
    s: Extract<Settlement, { outcome: 'pending' }>,
    extra: Record<string, string> = {},
  ): Promise<Payment> {
    const leaseUntil = claimed.processingUntil as number; // set by the claim that handed it here
    const attempts = claimed.reconcileAttempts;
    const p = await deps.payments.release(claimed.token, leaseUntil, {
      upstreamState: 'confirming',
      ...(s.upstream?.ref ? { upstreamRef: s.upstream.ref } : {}),
      upstreamData: { ...mergeData(claimed, s.upstream), ...extra },
      reconcileAt: deps.now() + backoff(attempts),
      reconcileAttempts: attempts + 1,
    });
    return p ?? current(claimed);
  }

  /**
   * Records a settlement learnt under the lease. `st` is the attempt's state; `windowMs` how long
   * after expiry the upstream may still complete it.
   */
  async function apply(
    claimed: Payment,
    merchant: Merchant,
    st: AttemptState,
    s: Settlement,
    connector: Connector,
  ): Promise<Payment> {
    switch (s.outcome) {
      case 'approved':
      case 'declined':
      case 'cancelled':
        return finish(claimed, merchant, st, s, connector);
      case 'pending':
        return keepPending(claimed, s);
      case 'expired':
        return expire(claimed, st, connector, s.upstream);
      case 'open':
      case 'absent':
        return notThere(claimed, st, s, connector);
    }
  }

  async function notThere(
    claimed: Payment,
    st: AttemptState,
    s: Extract<Settlement, { outcome: 'open' | 'absent' }>,
    connector: Connector,
  ): Promise<Payment> {
    const leaseUntil = claimed.processingUntil as number; // set by the claim that handed it here
    const now = deps.now();
    const state = claimed.upstreamState;
    const neverStarted = state === 'authorizing' || state === 'creating';
    if (neverStarted) {
      // Killed before the customer was sent anywhere, and the upstream holds nothing final: payable
      // again, from the start (a session it opened was never shown to anyone).
      const p = await deps.payments.release(claimed.token, leaseUntil, {
        upstreamState: null,
        reconcileAt: null,
        reconcileAttempts: 0,
        challengeRef: null,
        challengeInfo: null,
      });
      return p ?? current(claimed);
    }
    const deadline = claimed.expiresAt + connector.capabilities.settleWindowMs;
    if (now >= deadline) return expire(claimed, st, connector, s.outcome === 'open' ? s.upstream : undefined);
    const attempts = claimed.reconcileAttempts;
    const keep: UpstreamState = state === 'confirming' ? 'confirming' : 'redirected';
    const p = await deps.payments.release(claimed.token, leaseUntil, {
      upstreamState: keep,
      upstreamData: mergeData(claimed, s.outcome === 'open' ? s.upstream : undefined),
      reconcileAt: Math.max(now + 1_000, Math.min(now + backoff(attempts), deadline)),
      reconcileAttempts: attempts + 1,
    });
    return p ?? current(claimed);
  }

  async function expire(claimed: Payment, st: AttemptState, connector: Connector, upstream?: UpstreamRef) {
    const done = await deps.payments.finalize(
      claimed.token,
      {
        ...endedWithoutPayment(claimed, 'expired', 'Expired', deps.now(), claimed.pageExtra ?? st.extra ?? null),
        connectorId: connector.id,
        upstreamData: mergeData(claimed, upstream),
      },
      { leaseUntil: claimed.processingUntil as number }, // set by the claim that handed it here
    );
    return done ?? current(claimed);
  }

  /** The state to keep with an attempt (challenge_info). */
  const stateText = attemptStateText;

  return { apply, finish, keepPending, backoff, stateText };
}

export type Settle = ReturnType<typeof createSettle>;
