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
  payments: Pick<PaymentRepo, 'expireDue'>;
  now: () => number;
  /** How often the running sweeper looks for overdue payments. */
  intervalMs?: number;
  /**
   * How many payments one transaction expires at most. 50: with 5,000 overdue, 200 per batch let
   * requests wait up to ~80 ms on SQLite (a batch blocks the event loop ~45 ms) and ~160-210 ms on
   * PostgreSQL (a longer transaction holding a pooled connection and its rows' locks); 50 halved
   * both for a sweep ~10 % slower.
   */
  batchSize?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

/**
 * Between two batches the event loop runs free for as long as the batch took: a request needs
 * several turns of the loop (its socket, its commit's sync on the thread pool, its answer), and a
 * single setImmediate between 30 ms batches still let one wait through many of them.
 */
const MAX_REST_MS = 1_000;
const rest = (ms: number) => new Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

/**
 * Expires pending payments past their time to live without waiting for anyone to look at them, so
 * that `payment.expired` reaches webhook receivers and the JSON API lists them as expired within
 * `intervalMs`. A backlog (thousands overdue after a stop) goes in batches: one transaction and one
 * set-based UPDATE per `batchSize` payments, with their events, and a rest between batches as long
 * as the batch took, so the sweep takes at most about half of the event loop. On SQLite every
 * statement runs on the event loop: when each payment had a transaction of its own (an fsync each)
 * and only a timer came between passes of 200, a sweep of ~4,300 stalled an init-payment for 698 ms.
 * The UPDATE is guarded like finalize(), so a payment being paid, a lookup expiring it or a second
 * instance sweeping at once never loses or doubles an expiry or its event.
 */
export function createExpirySweeper(deps: ExpirySweeperDeps) {
  const intervalMs = deps.intervalMs ?? 5_000;
  const batchSize = deps.batchSize ?? 50;

  /** One batch (one transaction); resolves with how many payments it expired. */
  async function runOnce(): Promise<number> {
    return (await deps.payments.expireDue(deps.now(), batchSize)).length;
  }

  /** Batches until none is full (or the sweeper stops), yielding between them; how many expired. */
  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const started = Date.now();
      const n = await runOnce();
      total += n;
      if (n < batchSize || poller.stopped()) return total;
      await rest(Math.min(Date.now() - started, MAX_REST_MS));
    }
  }

  const poller = createPoller({
    pass: async () => {
      await drain();
      return false;
    },
    intervalMs,
    onError: (e) => deps.log?.('expiry sweep failed', { err: String(e) }),
  });

  return {
    runOnce,
    drain,
    start: poller.start,
    stop: poller.stop,
  };
}

export type ExpirySweeper = ReturnType<typeof createExpirySweeper>;
