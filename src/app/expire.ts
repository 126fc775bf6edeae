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
  if (p.status !== 'pending' || now < p.expiresAt) return p;
  const expired = await payments.finalize(p.token, endedWithoutPayment(p, 'expired', 'Expired', now), {
    unclaimedAt: now,
  });
  return expired ?? (await payments.byToken(p.token)) ?? p;
}
