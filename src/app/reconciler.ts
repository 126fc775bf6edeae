/**
 * The reconciler: payments and refunds whose outcome an upstream holds and has not told us (no
 * answer in time, a return or notification that never came, a process killed mid-call) are asked
 * about with backoff until the answer is final, then recorded exactly once (settle.ts), their
 * ledger posted and their webhook sent by the same transaction. Each look takes the payment's
 * lease, so two reconcilers (two gateway processes) never ask about one payment at the same time.
 */
import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import type { RefundRepo } from '../store/refunds.js';
import { createPoller } from './poller.js';
import type { Refunds } from './refunds.js';
import type { UpstreamSync } from './upstream-sync.js';

export interface ReconcilerDeps {
  payments: Pick<PaymentRepo, 'dueReconcile' | 'byToken'>;
  refunds: Pick<RefundRepo, 'dueReconcile'>;
  sync: Pick<UpstreamSync, 'inquire'>;
  refundsApp: Pick<Refunds, 'reconcile'>;
  now: () => number;
  intervalMs?: number;
  batchSize?: number;
  /** How many upstream inquiries run at once. */
  concurrency?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

/** Runs `fn` over `items`, `limit` at a time, taking no new item once `stopped()` is true. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
  stopped: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !stopped()) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export function createReconciler(deps: ReconcilerDeps) {
  const intervalMs = deps.intervalMs ?? 1_000;
  const batchSize = deps.batchSize ?? 100;
  const concurrency = deps.concurrency ?? 8;

  const guarded = async (what: string, id: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      deps.log?.('reconcile failed', { what, id, err: String(e) });
    }
  };

  // Set by stop(): a pass in flight finishes the inquiries it began and starts no more (what it
  // leaves stays due, for this or another instance), so a shutdown is not held by a whole batch.
  const stopped = () => poller.stopped();

  /** One pass over what is due; resolves with how many payments and refunds it looked at. */
  async function runOnce(): Promise<number> {
    const t = deps.now();
    const [payments, refunds] = await Promise.all([
      deps.payments.dueReconcile(t, batchSize),
      deps.refunds.dueReconcile(t, batchSize),
    ]);
    await eachLimited(payments, concurrency, (p) => guarded('payment', p.id, () => deps.sync.inquire(p)), stopped);
    await eachLimited(
      refunds,
      concurrency,
      (r) => guarded('refund', r.id, () => deps.refundsApp.reconcile(r)),
      stopped,
    );
    return payments.length + refunds.length;
  }

  /** Runs passes until nothing is due at the (possibly advancing) clock; for tests and the CLI. */
  async function drain(maxPasses = 50): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxPasses; i++) {
      const n = await runOnce();
      total += n;
      if (n === 0) break;
    }
    return total;
  }

  /** A look at one payment now if it is due (the payment page asks while the customer waits). */
  async function nudge(p: Payment): Promise<Payment> {
    if (p.status !== 'pending' || p.upstreamState === null) return p;
    if (p.reconcileAt === null || p.reconcileAt > deps.now()) return p;
    return (await deps.sync.inquire(p)) ?? (await deps.payments.byToken(p.token)) ?? p;
  }

  const poller = createPoller({
    pass: async () => (await runOnce()) >= batchSize,
    intervalMs,
    onError: (e) => deps.log?.('reconcile pass failed', { err: String(e) }),
  });

  return {
    runOnce,
    drain,
    nudge,
    start: poller.start,
    stop: poller.stop,
    wake: poller.wake,
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
