import { WmxError, fieldMissing } from '../domain/errors.js';
import { TOKEN_RE } from '../domain/ids.js';
import { andThen, type MaybePromise } from '../domain/maybe-promise.js';
import type { Merchant } from '../domain/merchant.js';
import type { PaymentRecordView } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import type { Authenticator } from './authenticate.js';
import type { Fields } from './init-payment.js';
import { expireIfDue } from './expire.js';

export interface CheckPaymentDeps {
  auth: Authenticator;
  payments: Pick<PaymentRepo, 'recordView' | 'byToken' | 'finalize'>;
  now?: () => number;
}

/**
 * The check-payment use case. Synchronous end to end when the merchant and the caller's
 * credentials are cached and the store answers synchronously (SQLite): the hottest endpoint then
 * makes no promise at all. Errors are thrown then, and rejected otherwise.
 */
export function createCheckPayment(deps: CheckPaymentDeps) {
  const now = deps.now ?? Date.now;

  function forMerchant(merchant: Merchant, f: Fields, afterAuth?: (merchant: Merchant) => MaybePromise<void>) {
    return andThen(afterAuth?.(merchant), () => forToken(merchant, f));
  }

  function forToken(merchant: Merchant, f: Fields) {
    const token = f.token?.trim();
    if (!token) throw fieldMissing('token');
    if (!TOKEN_RE.test(token)) throw notFound();
    return andThen(deps.payments.recordView(token), (view) => current(merchant, token, view));
  }

  function current(merchant: Merchant, token: string, view: PaymentRecordView | undefined) {
    // Another merchant's token is answered exactly like an unknown one.
    if (!view || view.merchantId !== merchant.id) throw notFound();
    const t = now();
    if (view.status !== 'pending' || t < view.expiresAt) return view;
    return expireNow(token, view, t);
  }

  /** Past its expiry and still pending: the rare slow path expires it (on the full row). */
  async function expireNow(token: string, view: PaymentRecordView, t: number): Promise<PaymentRecordView> {
    const p = await deps.payments.byToken(token);
    return p ? expireIfDue(deps.payments, p, t) : view;
  }

  /** afterAuth: the wire adapter's per-merchant rate limit, applied once the merchant is known. */
  return function checkPayment(
    f: Fields,
    afterAuth?: (merchant: Merchant) => MaybePromise<void>,
  ): MaybePromise<PaymentRecordView> {
    return andThen(deps.auth.authenticate(f), (merchant) => forMerchant(merchant, f, afterAuth));
  };
}

const notFound = () => new WmxError('2009', undefined, 'token');
