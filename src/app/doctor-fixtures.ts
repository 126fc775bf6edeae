import type { Merchant } from '../domain/merchant.js';
import { formatMinor } from '../domain/money.js';
import type { DoctorFixtures, DoctorPayment } from './doctor.js';
import type { SandboxHelpers, SandboxPaymentResult } from './sandbox-helpers.js';

const toDoctorPayment = (r: SandboxPaymentResult): DoctorPayment => ({
  token: r.payment.token,
  wmxId: r.merchant.wmxId,
  orderId: r.payment.merchantOrderId,
  refId: r.payment.merchantRefId,
  amount: formatMinor(r.payment.amountMinor),
  currency: r.payment.currency,
  status: r.payment.status,
  callbackUrl: r.payment.callbackUrl,
  callback: r.callback && r.callback.fields,
});

/** The doctor's fixtures in process (the dashboard's Callback doctor), as the CLI gets them over HTTP. */
export function doctorFixturesFor(helpers: SandboxHelpers, m: Merchant, requestIp: string): DoctorFixtures {
  return {
    async shopPending(callbackUrl, token) {
      const r = await helpers.shopPending(m, callbackUrl, token);
      return r && toDoctorPayment(r);
    },
    async create(i) {
      return toDoctorPayment(await helpers.createPayment(m, i, requestIp));
    },
    async pay(token, outcome) {
      return toDoctorPayment(await helpers.payPending(m, token, outcome));
    },
  };
}
