import { WmxError, fieldMissing } from '../domain/errors.js';
import { TOKEN_RE } from '../domain/ids.js';
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

export function createCheckPayment(deps: CheckPaymentDeps) {
  const now = deps.now ?? Date.now;
  /** afterAuth: the wire adapter's per-merchant rate limit, applied once the merchant is known. */
  return async function checkPayment(f: Fields, afterAuth?: (merchant: Merchant) => void): Promise<PaymentRecordView> {
    const merchant = await deps.auth.authenticate(f);
    afterAuth?.(merchant);
    const token = f.token?.trim();
    if (!token) throw fieldMissing('token');
    const view = TOKEN_RE.test(token) ? await deps.payments.recordView(token) : undefined;
    // Another merchant's token is answered exactly like an unknown one.
    if (!view || view.merchantId !== merchant.id) throw new WmxError('2009', undefined, 'token');
    const t = now();
    if (view.status !== 'pending' || t < view.expiresAt) return view;
    // Past its expiry and still pending: the rare slow path expires it (on the full row).
    const p = await deps.payments.byToken(token);
    return p ? expireIfDue(deps.payments, p, t) : view;
  };
}
