/**
 * `wmx doctor --callback-url URL`: app/doctor.ts run from the merchant's machine (so URL may be on
 * localhost), its sandbox payments made over the JSON API's test helpers with the merchant's key.
 */
import {
  formatDoctorReport,
  runDoctorChecks,
  type DoctorFixtures,
  type DoctorPayment,
  type DoctorReport,
} from '../../app/doctor.js';
import { callApi, GatewayApiError, type DevkitTarget } from './gateway-api.js';

interface SandboxAnswer {
  payment: {
    token: string;
    merchant_order_id: string;
    merchant_ref_id: string;
    amount: string;
    currency: string;
    status: string;
  };
  wmx_id: string;
  callback_url: string;
  callback: { url: string; merchant_txn_data: string; wmx_signature: string } | null;
}

const toDoctorPayment = (a: SandboxAnswer): DoctorPayment => ({
  token: a.payment.token,
  wmxId: a.wmx_id,
  orderId: a.payment.merchant_order_id,
  refId: a.payment.merchant_ref_id,
  amount: a.payment.amount,
  currency: a.payment.currency,
  status: a.payment.status,
  callbackUrl: a.callback_url,
  callback: a.callback && { merchant_txn_data: a.callback.merchant_txn_data, wmx_signature: a.callback.wmx_signature },
});

/** The doctor's fixtures over HTTP (the gateway's /api/v1/sandbox test helpers). */
export function httpDoctorFixtures(t: DevkitTarget): DoctorFixtures {
  return {
    async shopPending(callbackUrl, token) {
      const q = new URLSearchParams({ callback_url: callbackUrl, ...(token ? { token } : {}) });
      try {
        return toDoctorPayment(await callApi<SandboxAnswer>(t, 'GET', `/sandbox/payments/pending?${q}`));
      } catch (e) {
        if (e instanceof GatewayApiError && e.status === 404 && !token) return undefined;
        throw e;
      }
    },
    async create(i) {
      const body = {
        outcome: i.outcome,
        callback_url: i.callbackUrl,
        ...(i.orderId ? { order_id: i.orderId } : {}),
        ...(i.amount ? { amount: i.amount } : {}),
        ...(i.currency ? { currency: i.currency } : {}),
        ...(i.otherMerchant ? { other_merchant: true } : {}),
      };
      return toDoctorPayment(await callApi<SandboxAnswer>(t, 'POST', '/sandbox/payments', body));
    },
    async pay(token, outcome) {
      return toDoctorPayment(await callApi<SandboxAnswer>(t, 'POST', `/sandbox/payments/${token}/pay`, { outcome }));
    },
  };
}

/** Exit codes: 0 safe, 1 unsafe (would ship an unpaid order), 3 inconclusive. */
export const DOCTOR_EXIT: Record<DoctorReport['verdict'], number> = { safe: 0, unsafe: 1, inconclusive: 3 };

export async function runDoctor(
  t: DevkitTarget,
  o: { callbackUrl: string; token?: string; json: boolean; out: (s: string) => void },
): Promise<number> {
  const report = await runDoctorChecks(httpDoctorFixtures(t), { callbackUrl: o.callbackUrl, token: o.token });
  if (o.json) o.out(JSON.stringify(report));
  else for (const line of formatDoctorReport(report)) o.out(line);
  return DOCTOR_EXIT[report.verdict];
}
