import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';

/**
 * A pending payment past its expiry becomes `expired` the first time anyone looks at it. The
 * transition is the same atomic "pending → final" step as a payment, so it can never overwrite one.
 */
export async function expireIfDue(
  payments: Pick<PaymentRepo, 'finalize' | 'byToken'>,
  p: Payment,
  now: number,
): Promise<Payment> {
  if (p.status !== 'pending' || now < p.expiresAt) return p;
  const expired = await payments.finalize(p.token, {
    status: 'expired',
    txnDetails: 'Expired',
    method: null,
    cardDetails: null,
    isForeign: false,
    paymentCard: null,
    cardCode: null,
    feeBps: p.feeBps,
    feeMinor: p.feeMinor,
    txnAt: now,
    pageExtra: p.pageExtra,
  });
  return expired ?? (await payments.byToken(p.token)) ?? p;
}
