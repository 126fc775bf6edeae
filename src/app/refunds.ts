import type { Connector, RefundAttempt, RefundResult } from '../acquirers/port.js';
import { SANDBOX_CONNECTOR_ID, type ConnectorRouter } from '../acquirers/router.js';
import type { ConnectorCalls } from './connector-calls.js';
import { IdempotencyKeyTaken, type IdempotencyBinding } from './api-idempotency.js';
import { WmxError } from '../domain/errors.js';
import { newId, TOKEN_RE } from '../domain/ids.js';
import { refundableOf } from '../domain/ledger.js';
import type { Merchant } from '../domain/merchant.js';
import { formatMinor } from '../domain/money.js';
import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import type { Refund, RefundRepo } from '../store/refunds.js';
import { SYSTEM_ACTOR, type Actor, type AuditLog } from './audit.js';

export type { Refund, RefundStatus } from '../store/refunds.js';

export interface RefundsDeps {
  payments: Pick<PaymentRepo, 'byToken'>;
  refunds: RefundRepo;
  merchantById(id: string): Promise<Merchant | undefined>;
  router: Pick<ConnectorRouter, 'connector'>;
  calls: ConnectorCalls;
  audit: Pick<AuditLog, 'record'>;
  now: () => number;
  /** Waits between refund status inquiries while a refund is pending at its upstream; the last repeats. */
  scheduleMs: readonly number[];
}

/**
 * Refunds, full or partial, several per payment, up to its merchant_amount_bdt (the EMI surcharge
 * is the customer's fee to the gateway and is not refundable), in BDT minor units.
 *
 * Three steps, so that no bank call ever runs inside a database transaction:
 * 1. reserve (one transaction): insert the refund `pending` only if it fits in what is left, with
 *    the connector that took the payment and a time for the reconciler to ask about it should this
 *    process die before step 3;
 * 2. ask the connector, with a deadline;
 * 3. complete (one transaction): `succeeded` + the payment's refunded total + the ledger transfer,
 *    or `failed` with nothing posted; or, when the upstream accepted it without a final answer or
 *    did not answer at all, leave it `pending` and let the reconciler ask its refund status (a
 *    refund is never called failed on a guess: the upstream may have paid it).
 * Reserved (pending) refunds count against the refundable amount, so concurrent requests can never
 * refund more than the payment took.
 */
export function createRefunds(deps: RefundsDeps) {
  // audit.record numbers entries with max(seq)+1 and retries on a clash; fifty refunds finishing
  // together would exhaust its retries, so this use case writes its entries one at a time.
  let auditChain: Promise<unknown> = Promise.resolve();
  const audit = (actor: Actor, action: string, merchantId: string, detail: Record<string, unknown>): Promise<void> => {
    const next = auditChain.then(() => deps.audit.record(actor, action, merchantId, detail));
    auditChain = next.catch(() => undefined);
    return next;
  };

  /** The payment behind a token, only when it is this merchant's (another's reads as unknown). */
  async function paymentOf(merchantId: string, token: string): Promise<Payment> {
    const t = token.trim();
    const p = TOKEN_RE.test(t) ? await deps.payments.byToken(t) : undefined;
    if (!p || p.merchantId !== merchantId) throw new WmxError('2009', undefined, 'token');
    return p;
  }

  const backoff = (attempts: number) => deps.scheduleMs[Math.min(attempts, deps.scheduleMs.length - 1)] ?? 60_000;

  async function attemptFor(p: Payment, refund: Refund): Promise<RefundAttempt> {
    const siblings = await deps.refunds.forPayment(p.id);
    return {
      refundId: refund.id,
      paymentId: p.id,
      authCode: p.authCode ?? '',
      upstream: p.upstreamRef ? { ref: p.upstreamRef, data: p.upstreamData } : null,
      paymentAmountMinor: p.bankAmountMinor,
      amountMinor: refund.amountMinor,
      reason: 'Refund requested by the merchant',
      refundRef: refund.upstreamRef,
      otherRefundRefs: siblings.filter((r) => r.id !== refund.id && r.upstreamRef).map((r) => r.upstreamRef as string),
    };
  }

  /** Writes what the connector said; the refund as it now stands. */
  async function record(refund: Refund, answer: RefundResult | undefined): Promise<Refund> {
    const now = deps.now();
    let done: Refund | undefined;
    if (answer?.outcome === 'succeeded') done = await deps.refunds.succeed(refund, now, answer.upstream);
    else if (answer?.outcome === 'failed') done = await deps.refunds.fail(refund.id, answer.reason, now);
    else {
      done = await deps.refunds.stillPending(refund.id, {
        ...(answer?.upstream ? { upstream: answer.upstream } : {}),
        reconcileAt: now + backoff(refund.reconcileAttempts),
        attempts: refund.reconcileAttempts + 1,
      });
    }
    // undefined: someone else completed it meanwhile (the reconciler, an operator); report that.
    return done ?? (await deps.refunds.byId(refund.id)) ?? refund;
  }

  async function ask(
    connector: Connector,
    p: Payment,
    refund: Refund,
    op: 'refund' | 'refundStatus',
  ): Promise<RefundResult | undefined> {
    const attempt = await attemptFor(p, refund);
    const ran = await deps.calls.run(connector, { paymentId: p.id, refundId: refund.id }, (ctx) =>
      op === 'refund' ? connector.refund(attempt, ctx) : connector.refundStatus(attempt, ctx),
    );
    return ran.ok ? ran.value : undefined;
  }

  const connectorOf = (p: Payment) => deps.router.connector(p.connectorId ?? SANDBOX_CONNECTOR_ID);

  const auditFinal = (actor: Actor, p: Payment, refund: Refund) =>
    refund.status === 'pending'
      ? Promise.resolve()
      : audit(actor, refund.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed', p.merchantId, {
          refund_id: refund.id,
          token: p.token,
          amount_bdt: formatMinor(refund.amountMinor),
          ...(refund.reason ? { reason: refund.reason } : {}),
        });

  return {
    /**
     * amountMinor null = everything still refundable. Throws WmxError: '2009' unknown token or
     * another merchant's, '4002' not approved, '4001' exceeds refundable, '2005' zero or negative.
     * `idempotency`: the request's Idempotency-Key, written in the transaction that reserves the
     * refund (see RefundRepo.reserve); IdempotencyKeyTaken when another request holds it.
     */
    async create(
      merchantId: string,
      token: string,
      amountMinor: bigint | null,
      actor: Actor,
      opts: { idempotency?: IdempotencyBinding } = {},
    ): Promise<Refund> {
      const p = await paymentOf(merchantId, token);
      if (amountMinor !== null && amountMinor <= 0n) {
        throw new WmxError('2005', 'Invalid amount: must be greater than 0', 'amount');
      }
      if (p.status !== 'approved' || p.authCode === null) throw new WmxError('4002');
      const connector = await connectorOf(p);
      if (!connector) throw new WmxError('4003', 'No connector can refund this payment');

      const now = deps.now();
      const reserved = await deps.refunds.reserve({
        id: newId('rfd'),
        paymentId: p.id,
        amountMinor,
        refundableMinor: refundableOf(p),
        connectorId: connector.id,
        reconcileAt: now + deps.calls.leaseMsOf(connector),
        now,
        ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
      });
      if (!reserved.ok) {
        if (reserved.why === 'key_taken') throw new IdempotencyKeyTaken();
        if (reserved.why === 'not_approved') throw new WmxError('4002');
        const left = reserved.refundableMinor > 0n ? reserved.refundableMinor : 0n;
        throw new WmxError(
          '4001',
          `Refund amount exceeds what is refundable (${formatMinor(left)} BDT left)`,
          'amount',
        );
      }
      const refund = await record(reserved.refund, await ask(connector, p, reserved.refund, 'refund'));
      await auditFinal(actor, p, refund);
      return refund;
    },

    /** The reconciler's look at a pending refund: ask its upstream, write what it says. */
    async reconcile(refund: Refund): Promise<Refund> {
      const p = await deps.payments.byToken(refund.token);
      const connector = p && (await deps.router.connector(refund.connectorId ?? SANDBOX_CONNECTOR_ID));
      if (!p || !connector) return record(refund, undefined);
      const done = await record(refund, await ask(connector, p, refund, 'refundStatus'));
      await auditFinal({ ...SYSTEM_ACTOR, id: 'reconciler' }, p, done);
      return done;
    },

    /** A refund of this merchant, or undefined (another merchant's reads as unknown). */
    async get(merchantId: string, refundId: string): Promise<Refund | undefined> {
      const r = await deps.refunds.byId(refundId);
      return r && r.merchantId === merchantId ? r : undefined;
    },

    /** Every refund of a payment, oldest first. Throws '2009' for an unknown or another merchant's token. */
    async listForPayment(merchantId: string, token: string): Promise<Refund[]> {
      const p = await paymentOf(merchantId, token);
      return deps.refunds.forPayment(p.id);
    },

    /** Total of the payment's succeeded refunds. */
    refundedMinor(paymentId: string): Promise<bigint> {
      return deps.refunds.sumFor(paymentId, ['succeeded']);
    },
  };
}

export type Refunds = ReturnType<typeof createRefunds>;
