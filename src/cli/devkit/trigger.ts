/**
 * `wmx trigger EVENT`: makes a real sandbox payment (and, for refund events, a real refund through
 * the JSON API) that produces EVENT, with the merchant's API key over HTTP. The event is written in
 * the payment's (or refund's) own transaction like any customer's, so the merchant's webhook
 * endpoints and a running `wmx listen` receive it.
 */
import { WEBHOOK_EVENT_TYPES } from '../../delivery/webhook-events.js';
import { callApi, DevkitUsageError, type DevkitTarget } from './gateway-api.js';

/** Every event a webhook endpoint can receive can be triggered. */
export const TRIGGER_EVENTS = WEBHOOK_EVENT_TYPES;

interface SandboxPayment {
  payment: { token: string; status: string; merchant_order_id: string; amount: string; currency: string };
  payment_url: string;
}
interface Refund {
  id: string;
  status: string;
  amount: string;
  reason: string | null;
}
interface EventPage {
  data: { id: string; type: string; data: { token?: string; id?: string; payment?: { token?: string } } }[];
}

const PAYMENT_OUTCOME: Record<string, string> = {
  'payment.succeeded': 'succeeded',
  'payment.failed': 'failed',
  'payment.cancelled': 'cancelled',
  'payment.expired': 'expired',
};

export async function runTrigger(
  t: DevkitTarget,
  event: string,
  o: {
    amount?: string | undefined;
    currency?: string | undefined;
    json?: boolean | undefined;
    out: (s: string) => void;
  },
): Promise<number> {
  if (!(TRIGGER_EVENTS as readonly string[]).includes(event))
    throw new DevkitUsageError(`trigger needs one of: ${TRIGGER_EVENTS.join(', ')} (got ${event || 'nothing'})`);
  const isRefund = event.startsWith('refund.');
  const made = await callApi<SandboxPayment>(t, 'POST', '/sandbox/payments', {
    outcome: isRefund ? 'succeeded' : PAYMENT_OUTCOME[event],
    ...(o.amount ? { amount: o.amount } : {}),
    ...(o.currency ? { currency: o.currency } : {}),
    ...(event === 'refund.failed' ? { refunds_fail: true } : {}),
  });
  const p = made.payment;
  let refund: Refund | undefined;
  if (isRefund) refund = await callApi<Refund>(t, 'POST', `/payments/${p.token}/refunds`, {});
  // The event was written with the change: find it, to print its id.
  const page = await callApi<EventPage>(t, 'GET', `/events?type=${encodeURIComponent(event)}&limit=20`);
  const ev = page.data.find((e) =>
    refund ? e.data.id === refund.id : e.data.token === p.token || e.data.payment?.token === p.token,
  );
  const expected = event === 'refund.failed' ? 'failed' : 'succeeded';
  const ok = ev !== undefined && (!refund || refund.status === expected);
  if (o.json) {
    o.out(JSON.stringify({ event, event_id: ev?.id ?? null, payment: p, refund: refund ?? null, ok }));
  } else {
    o.out(`${event}: payment ${p.token} (order ${p.merchant_order_id}, ${p.amount} ${p.currency}) is ${p.status}`);
    if (refund)
      o.out(
        `  refund ${refund.id} of ${refund.amount} BDT is ${refund.status}${refund.reason ? ` (${refund.reason})` : ''}`,
      );
    o.out(
      ev
        ? `  event ${ev.id} sent to your webhook endpoints and to any running \`wmx listen\``
        : `  no ${event} event was written (the refund is ${refund?.status ?? 'unknown'}): see GET /api/v1/events`,
    );
  }
  return ok ? 0 : 1;
}
