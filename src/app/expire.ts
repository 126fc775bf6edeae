import { createPoller } from './poller.js';
import type { Payment } from '../domain/payment.js';
import type { PaymentOutcome, PaymentRepo } from '../store/payments.js';

/** The outcome fields of a payment that ends without reaching the bank (cancelled, expired). */
export function endedWithoutPayment(
  p: Payment,
  status: 'cancelled' | 'expired',
  txnDetails: string,
  now: number,
  pageExtra: string | null = p.pageExtra,
): PaymentOutcome {
  return {
    status,
    txnDetails,
    method: null,
    cardDetails: null,
    isForeign: false,
    paymentCard: null,
    cardCode: null,
    feeBps: p.feeBps,
    feeMinor: p.feeMinor,
    emiPeriod: p.emiPeriod,
    emiBank: p.emiBank,
    emiBps: p.emiBps,
    emiChargeMinor: p.emiChargeMinor,
    bankAmountMinor: p.bankAmountMinor,
    authCode: null,
    txnAt: now,
    pageExtra,
  };
}

/**
 * A pending payment past its expiry becomes `expired` the first time anyone looks at it. The
 * transition is the same atomic "pending → final" step as a payment, and it waits while a bank call
 * holds the lease, so it can never overwrite an approval.
 */
export async function expireIfDue(
  payments: Pick<PaymentRepo, 'finalize' | 'byToken'>,
  p: Payment,
  now: number,
): Promise<Payment> {
  // A payment at an upstream is expired by the reconciler, once the upstream says it was not paid.
  if (p.status !== 'pending' || now < p.expiresAt || p.upstreamState !== null) return p;
  const expired = await payments.finalize(p.token, endedWithoutPayment(p, 'expired', 'Expired', now), {
    unclaimedAt: now,
  });
  return expired ?? (await payments.byToken(p.token)) ?? p;
}

export interface ExpirySweeperDeps {
  payments: Pick<PaymentRepo, 'finalize' | 'byToken' | 'duePending'>;
  now: () => number;
  /** How often the running sweeper looks for overdue payments. */
  intervalMs?: number;
  /** How many one pass expires at most (it goes again at once when it found that many). */
  batchSize?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

/**
 * Expires pending payments past their time to live without waiting for anyone to look at them, so
 * that `payment.expired` reaches webhook receivers and the JSON API lists them as expired within
 * `intervalMs`. Each payment takes the same guarded step as a lookup would (expireIfDue), so a
 * payment being paid, a second gateway process or a concurrent lookup never loses or doubles it.
 */
export function createExpirySweeper(deps: ExpirySweeperDeps) {
  const intervalMs = deps.intervalMs ?? 5_000;
  const batchSize = deps.batchSize ?? 200;

  /**
   * One pass; resolves with how many payments it expired. One whose bank call is still running
   * (it holds the lease) is left for a later pass, and does not count: a full batch of those must
   * not make the loop spin.
   */
  async function runOnce(): Promise<number> {
    const t = deps.now();
    const due = await deps.payments.duePending(t, batchSize);
    let expired = 0;
    for (const p of due) if ((await expireIfDue(deps.payments, p, t)).status === 'expired') expired++;
    return expired;
  }

  const poller = createPoller({
    pass: async () => (await runOnce()) >= batchSize,
    intervalMs,
    onError: (e) => deps.log?.('expiry sweep failed', { err: String(e) }),
  });

  return { runOnce, start: poller.start, stop: poller.stop };
}

export type ExpirySweeper = ReturnType<typeof createExpirySweeper>;
