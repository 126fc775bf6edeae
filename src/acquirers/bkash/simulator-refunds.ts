/**
 * Refund and refund status (v1): one path, told apart by whether the body has an `amount` (notes §8.1,
 * §8.2; S1 refund()/refundStatus(), S5 TBRefund).
 */
import type { FastifyReply } from 'fastify';
import { bkashError } from './simulator-errors.js';
import { bkashTime, parseAmount, type SimPayment, type SimRefund, type SimulatorState } from './simulator-state.js';
import { fail, MAX_TEXT, ok, str, type Body } from './simulator-wire.js';

export function createRefundHandlers(state: SimulatorState) {
  const { now } = state.opts;
  const paymentOf = (b: Body) => state.payments.get(str(b.paymentID) ?? '');
  const refundAnswer = (p: SimPayment, r: SimRefund) => ({
    originalTrxID: p.trxID,
    refundTrxID: r.refundTrxID,
    transactionStatus: 'Completed',
    amount: r.amount,
    currency: p.currency,
    charge: '0.00',
    completedTime: r.completedTime,
  });

  async function refund(b: Body, reply: FastifyReply) {
    if (b.paymentID === undefined || b.trxID === undefined) return fail(reply, bkashError('2065'));
    const p = paymentOf(b);
    if (!p) return fail(reply, bkashError('2002'));
    if (!p.trxID) return fail(reply, bkashError('2127'));
    if (b.trxID !== p.trxID) return fail(reply, bkashError('2077'));
    const sku = b.sku ?? '';
    const reason = b.reason ?? '';
    if (typeof sku !== 'string' || sku.length > MAX_TEXT) return fail(reply, bkashError('2075'));
    if (typeof reason !== 'string' || reason.length > MAX_TEXT) return fail(reply, bkashError('2076'));
    if (p.knob === 'refund_refused') return fail(reply, bkashError('2074'));
    // Partial refunds "up to 10 times" until fully refunded (§8.3, S10); the code for an 11th is
    // undocumented, so the generic "cannot be reversed".
    if (p.refunds.length >= 10) return fail(reply, bkashError('2074'));
    const amount = parseAmount(b.amount);
    const refunded = p.refunds.reduce((sum, r) => sum + r.minor, 0n);
    if (!amount || refunded + amount.minor > p.minor) return fail(reply, bkashError('2072'));
    const r = {
      refundTrxID: state.newTrxID(),
      amount: amount.text,
      minor: amount.minor,
      sku,
      reason,
      completedTime: bkashTime(now()),
    };
    p.refunds.push(r);
    if (p.knob === 'refund_hang') await state.hang(reply.raw);
    return ok(reply, refundAnswer(p, r));
  }

  async function status(b: Body, reply: FastifyReply) {
    if (b.paymentID === undefined || b.trxID === undefined) return fail(reply, bkashError('2065'));
    const p = paymentOf(b);
    if (p?.trxID && b.trxID !== p.trxID) return fail(reply, bkashError('2077'));
    // "get status if the transaction is already refunded otherwise invalid payment id will return" (S1).
    const latest = p?.refunds.at(-1);
    if (!p || !latest) return fail(reply, bkashError('2002'));
    return ok(reply, refundAnswer(p, latest));
  }

  return { refund, status };
}
