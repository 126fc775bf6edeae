import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import { endedWithoutPayment, expireIfDue } from './expire.js';
import type { UpstreamSync } from './upstream-sync.js';

/**
 * The customer pressed Cancel: a pending payment becomes cancelled (1009). It cannot cancel a
 * payment whose bank call is in flight, nor one that is already final; either way the caller gets
 * the payment as it now stands. A payment the customer took to an upstream's page is cancelled only
 * after the upstream says it holds nothing final (else its outcome is recorded instead).
 * undefined: unknown token.
 */
export function createCancelPayment(deps: {
  payments: PaymentRepo;
  sync: Pick<UpstreamSync, 'inquire'>;
  now: () => number;
}) {
  return async function cancelPayment(token: string, pageExtra: string | null): Promise<Payment | undefined> {
    const found = await deps.payments.byToken(token);
    if (!found) return undefined;
    const p = await expireIfDue(deps.payments, found, deps.now());
    if (p.status !== 'pending') return p;
    if (p.upstreamState !== null) {
      return (await deps.sync.inquire(p, { cancelIfOpen: true })) ?? (await deps.payments.byToken(token)) ?? p;
    }
    const now = deps.now();
    const cancelled = await deps.payments.finalize(
      token,
      endedWithoutPayment(p, 'cancelled', 'Cancelled by customer', now, pageExtra),
      { unclaimedAt: now },
    );
    return cancelled ?? (await deps.payments.byToken(token)) ?? p;
  };
}
