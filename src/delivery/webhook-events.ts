import type { Kysely } from 'kysely';
import { newId } from '../domain/ids.js';
import type { Payment, PaymentStatus } from '../domain/payment.js';
import { refundView } from '../http/api/views.js';
import { toCheckPaymentRecord } from '../http/legacy/wire.js';
import { toPayment, type PaymentOutbox } from '../store/payments.js';
import type { Refund, RefundOutbox } from '../store/refunds.js';
import type { Database } from '../store/schema.js';
import { insertEvent } from '../store/webhooks.js';

export const WEBHOOK_EVENT_TYPES = [
  'payment.succeeded',
  'payment.failed',
  'payment.cancelled',
  'payment.expired',
  'refund.succeeded',
  'refund.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const PAYMENT_EVENT: Partial<Record<PaymentStatus, WebhookEventType>> = {
  approved: 'payment.succeeded',
  declined: 'payment.failed',
  cancelled: 'payment.cancelled',
  expired: 'payment.expired',
};

/** The body is built once, stored, and sent byte for byte on every attempt (the signature covers it). */
function body(id: string, type: WebhookEventType, createdMs: number, data: unknown): string {
  return JSON.stringify({ id, type, created: Math.floor(createdMs / 1000), data });
}

/**
 * The outbox writers the payment and refund stores call inside their final transactions. The event
 * data is the check-payment record a merchant would read at that moment, so a webhook and a poll agree.
 */
export function createWebhookOutbox(deps: {
  formatTime: (ms: number) => string;
  now: () => number;
}): PaymentOutbox & RefundOutbox {
  const write = async (trx: Kysely<Database>, merchantId: string, type: WebhookEventType, data: unknown) => {
    const id = newId('evt');
    const createdAt = deps.now();
    await insertEvent(trx, { id, merchantId, type, payload: body(id, type, createdAt, data), createdAt });
  };
  return {
    async paymentFinal(trx: Kysely<Database>, p: Payment): Promise<void> {
      const type = PAYMENT_EVENT[p.status];
      if (type) await write(trx, p.merchantId, type, toCheckPaymentRecord(p, deps.formatTime));
    },
    async refundFinal(trx: Kysely<Database>, r: Refund): Promise<void> {
      // Read inside the transaction: the payment's refunded total already includes this refund.
      const row = await trx.selectFrom('payments').selectAll().where('id', '=', r.paymentId).executeTakeFirst();
      const payment = row ? toCheckPaymentRecord(toPayment(row), deps.formatTime) : null;
      const type = r.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed';
      await write(trx, r.merchantId, type, { ...refundView(r), payment });
    },
  };
}
