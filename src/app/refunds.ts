import { AcquirerTimeoutError, withTimeout, type Acquirer, type RefundResult } from '../acquirers/port.js';
import { WmxError } from '../domain/errors.js';
import { newId, TOKEN_RE } from '../domain/ids.js';
import { refundableOf } from '../domain/ledger.js';
import type { Merchant } from '../domain/merchant.js';
import { formatMinor } from '../domain/money.js';
import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import type { Refund, RefundRepo } from '../store/refunds.js';
import type { Actor, AuditLog } from './audit.js';

export type { Refund, RefundStatus } from '../store/refunds.js';

export interface RefundsDeps {
  payments: Pick<PaymentRepo, 'byToken'>;
  refunds: RefundRepo;
  merchantById(id: string): Promise<Merchant | undefined>;
  /** The connector that took the payment (compose.ts's acquirerFor). */
  acquirerFor(merchant: Merchant): Acquirer | undefined;
  audit: Pick<AuditLog, 'record'>;
  bankTimeoutMs: number;
  now: () => number;
}

/**
 * Refunds, full or partial, several per payment, up to its merchant_amount_bdt (the EMI surcharge
 * is the customer's fee to the gateway and is not refundable), in BDT minor units.
 *
 * Three steps, so that no bank call ever runs inside a database transaction:
 * 1. reserve (one transaction): insert the refund `pending` only if it fits in what is left;
 * 2. ask the acquirer, with a timeout;
 * 3. complete (one transaction): `succeeded` + the payment's refunded total + the ledger transfer,
 *    or `failed` with nothing posted. A bank that does not answer in time is a failure: the
 *    sandbox bank, like the payment path (pay.ts), treats an abandoned call as never made.
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

  async function askBank(acquirer: Acquirer, p: Payment, refund: Refund): Promise<RefundResult> {
    try {
      return await withTimeout(deps.bankTimeoutMs, (signal) =>
        acquirer.refund({ paymentId: p.id, authCode: p.authCode ?? '', amountMinor: refund.amountMinor }, signal),
      );
    } catch (e) {
      return { outcome: 'failed', reason: e instanceof AcquirerTimeoutError ? 'Bank timeout' : 'Bank error' };
    }
  }

  return {
    /** amountMinor null = everything still refundable. Throws WmxError: '2009' unknown token or another merchant's, '4002' not approved, '4001' exceeds refundable, '2005' zero or negative. */
    async create(merchantId: string, token: string, amountMinor: bigint | null, actor: Actor): Promise<Refund> {
      const p = await paymentOf(merchantId, token);
      if (amountMinor !== null && amountMinor <= 0n) {
        throw new WmxError('2005', 'Invalid amount: must be greater than 0', 'amount');
      }
      if (p.status !== 'approved' || p.authCode === null) throw new WmxError('4002');
      const merchant = await deps.merchantById(p.merchantId);
      const acquirer = merchant && deps.acquirerFor(merchant);
      if (!acquirer) throw new WmxError('4003', 'No acquirer can refund this payment');

      const reserved = await deps.refunds.reserve({
        id: newId('rfd'),
        paymentId: p.id,
        amountMinor,
        refundableMinor: refundableOf(p),
        now: deps.now(),
      });
      if (!reserved.ok) {
        if (reserved.why === 'not_approved') throw new WmxError('4002');
        const left = reserved.refundableMinor > 0n ? reserved.refundableMinor : 0n;
        throw new WmxError(
          '4001',
          `Refund amount exceeds what is refundable (${formatMinor(left)} BDT left)`,
          'amount',
        );
      }
      const pending = reserved.refund;

      const answer = await askBank(acquirer, p, pending);
      const done =
        answer.outcome === 'succeeded'
          ? await deps.refunds.succeed(pending, deps.now())
          : await deps.refunds.fail(pending.id, answer.reason, deps.now());
      // undefined: someone else completed it meanwhile (an operator's reconciliation); report that.
      const refund = done ?? (await deps.refunds.byId(pending.id)) ?? pending;

      await audit(actor, refund.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed', p.merchantId, {
        refund_id: refund.id,
        token: p.token,
        amount_bdt: formatMinor(refund.amountMinor),
        ...(refund.reason ? { reason: refund.reason } : {}),
      });
      return refund;
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
