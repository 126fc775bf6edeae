import type { Kysely, Selectable } from 'kysely';
import { refundTransfer } from '../domain/ledger.js';
import { bindIdempotencyKey, type IdempotencyBinding } from './api-idempotency.js';
import type { Db } from './db.js';
import { postTransfer } from './ledger.js';
import { parseUpstreamData } from './payments.js';
import type { Database, RefundsTable } from './schema.js';

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface Refund {
  id: string /* rfd_… */;
  paymentId: string;
  token: string;
  merchantId: string;
  amountMinor: bigint;
  currency: 'BDT';
  status: RefundStatus;
  reason: string | null;
  createdAt: number;
  completedAt: number | null;
  /** The connector asked to refund (the payment's); null for refunds made before connectors. */
  connectorId: string | null;
  /** The refund's id at the upstream, once it gave one. */
  upstreamRef: string | null;
  upstreamData: Readonly<Record<string, string>>;
  /** When the reconciler asks the upstream for this refund's status next; null when final. */
  reconcileAt: number | null;
  reconcileAttempts: number;
}

export function toRefund(r: Selectable<RefundsTable>): Refund {
  return {
    id: r.id,
    paymentId: r.payment_id,
    token: r.token,
    merchantId: r.merchant_id,
    amountMinor: BigInt(r.amount_minor),
    currency: 'BDT',
    status: r.status as RefundStatus, // the column only ever holds RefundStatus values
    reason: r.reason,
    createdAt: Number(r.created_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at),
    connectorId: r.connector_id,
    upstreamRef: r.upstream_ref,
    upstreamData: parseUpstreamData(r.upstream_data),
    reconcileAt: r.reconcile_at === null ? null : Number(r.reconcile_at),
    reconcileAttempts: Number(r.reconcile_attempts ?? 0),
  };
}

const dataText = (d: Readonly<Record<string, string>> | undefined): string | null =>
  d && Object.keys(d).length > 0 ? JSON.stringify(d) : null;

/** Why a reservation was refused: the caller turns it into the coded error. */
export type ReserveResult =
  | { ok: true; refund: Refund }
  | { ok: false; why: 'not_approved' }
  | { ok: false; why: 'exceeds'; refundableMinor: bigint }
  /** The Idempotency-Key was already written by another request (see `idempotency`). */
  | { ok: false; why: 'key_taken' };

type Refused = Exclude<ReserveResult, { ok: true }>;

/** Carries a refusal out of reserve()'s transaction, rolling back the key written in it. */
class ReserveRefused extends Error {
  constructor(readonly result: Refused) {
    super(`refund refused: ${result.why}`);
    this.name = 'ReserveRefused';
  }
}

function refuse(result: Refused): never {
  throw new ReserveRefused(result);
}

/** Writes the refund's webhook event inside the transaction that completes it (see PaymentOutbox). */
export interface RefundOutbox {
  refundFinal(trx: Kysely<Database>, r: Refund): Promise<void>;
}

export function createRefundRepo(db: Db, outbox?: RefundOutbox) {
  const k: Kysely<Database> = db.kysely;

  return {
    /**
     * Reserves a refund: inserts it `pending` only if the payment is approved and pending +
     * succeeded refunds + this one stay within `refundableMinor`. On PostgreSQL the payment row is
     * locked FOR UPDATE first, so concurrent reservations against one payment queue up and each sees
     * the ones before it; SQLite runs one transaction at a time on its single connection.
     * `amountMinor` null reserves everything still refundable. `reconcileAt`: when the reconciler
     * asks the connector about it should the answer never be recorded (a killed process).
     * `idempotency`: the request's Idempotency-Key, written first in the same transaction and
     * naming this refund, so that a crash leaves the refund and its key together or neither; when
     * another request holds the key, nothing is reserved (`key_taken`). A refused reservation
     * writes nothing, the key neither.
     */
    async reserve(r: {
      id: string;
      paymentId: string;
      amountMinor: bigint | null;
      refundableMinor: bigint;
      connectorId: string;
      reconcileAt: number;
      now: number;
      idempotency?: IdempotencyBinding;
    }): Promise<ReserveResult> {
      return k
        .transaction()
        .execute(async (trx): Promise<ReserveResult> => {
          // The key first: on PostgreSQL a concurrent request with the same key waits here for this
          // one to end, then sees the key taken, before it could be refused as exceeding the refundable.
          if (r.idempotency && !(await bindIdempotencyKey(trx, r.idempotency, r.id)))
            refuse({ ok: false, why: 'key_taken' });
          let q = trx.selectFrom('payments').select(['status', 'token', 'merchant_id']).where('id', '=', r.paymentId);
          if (db.dialect === 'postgres') q = q.forUpdate();
          else {
            // Another process (the wmx CLI) may share the SQLite file: write first, so this transaction
            // holds the write lock (waiting out busy_timeout) before it reads, instead of failing with
            // SQLITE_BUSY when it upgrades a read snapshot another writer has moved past.
            await trx
              .updateTable('payments')
              .set((eb) => ({ refunded_minor: eb.ref('refunded_minor') }))
              .where('id', '=', r.paymentId)
              .execute();
          }
          const p = await q.executeTakeFirst();
          if (!p || p.status !== 'approved') refuse({ ok: false, why: 'not_approved' });
          const used = await trx
            .selectFrom('refunds')
            .select((eb) => eb.fn.sum<string | number>('amount_minor').as('total'))
            .where('payment_id', '=', r.paymentId)
            .where('status', 'in', ['pending', 'succeeded'])
            .executeTakeFirst();
          const left = r.refundableMinor - BigInt(used?.total ?? 0);
          const amount = r.amountMinor ?? left;
          if (amount <= 0n || amount > left) refuse({ ok: false, why: 'exceeds', refundableMinor: left });
          const row = await trx
            .insertInto('refunds')
            .values({
              id: r.id,
              payment_id: r.paymentId,
              token: p.token,
              merchant_id: p.merchant_id,
              amount_minor: amount,
              currency: 'BDT',
              status: 'pending',
              reason: null,
              created_at: r.now,
              completed_at: null,
              connector_id: r.connectorId,
              upstream_ref: null,
              upstream_data: null,
              reconcile_at: r.reconcileAt,
              reconcile_attempts: 0,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          return { ok: true, refund: toRefund(row) };
        })
        .catch((e: unknown) => {
          if (e instanceof ReserveRefused) return e.result;
          throw e;
        });
    },

    /**
     * pending → succeeded, the payment's refunded total and the refund's ledger transfer in one
     * transaction. The payment row is written first (the same lock order as reserve()), and the
     * status guard makes a second completion a no-op. undefined: not pending any more.
     */
    async succeed(
      refund: Refund,
      now: number,
      upstream?: { ref: string; data: Readonly<Record<string, string>> },
    ): Promise<Refund | undefined> {
      return k
        .transaction()
        .execute(async (trx) => {
          await trx
            .updateTable('payments')
            .set((eb) => ({ refunded_minor: eb('refunded_minor', '+', refund.amountMinor) }))
            .where('id', '=', refund.paymentId)
            .execute();
          const row = await trx
            .updateTable('refunds')
            .set({
              status: 'succeeded',
              completed_at: now,
              reason: null,
              reconcile_at: null,
              ...(upstream ? { upstream_ref: upstream.ref, upstream_data: dataText(upstream.data) } : {}),
            })
            .where('id', '=', refund.id)
            .where('status', '=', 'pending')
            .returningAll()
            .executeTakeFirst();
          // Throwing rolls the payment's total back with it.
          if (!row) throw new RefundNotPendingError(refund.id);
          await postTransfer(trx, refundTransfer(refund), now);
          const done = toRefund(row);
          if (outbox) await outbox.refundFinal(trx, done);
          return done;
        })
        .catch((e: unknown) => {
          if (e instanceof RefundNotPendingError) return undefined;
          throw e;
        });
    },

    /** pending → failed (with its event); nothing is posted (no money moved). undefined: not pending any more. */
    async fail(refundId: string, reason: string, now: number): Promise<Refund | undefined> {
      return k.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('refunds')
          .set({ status: 'failed', completed_at: now, reason, reconcile_at: null })
          .where('id', '=', refundId)
          .where('status', '=', 'pending')
          .returningAll()
          .executeTakeFirst();
        const done = row && toRefund(row);
        if (done && outbox) await outbox.refundFinal(trx, done);
        return done;
      });
    },

    /** The upstream accepted the refund without a final answer: keep it pending and ask again at `reconcileAt`. */
    async stillPending(
      refundId: string,
      patch: {
        upstream?: { ref: string; data: Readonly<Record<string, string>> };
        reconcileAt: number;
        attempts: number;
      },
    ): Promise<Refund | undefined> {
      const row = await k
        .updateTable('refunds')
        .set({
          reconcile_at: patch.reconcileAt,
          reconcile_attempts: patch.attempts,
          ...(patch.upstream ? { upstream_ref: patch.upstream.ref, upstream_data: dataText(patch.upstream.data) } : {}),
        })
        .where('id', '=', refundId)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row && toRefund(row);
    },

    /** Pending refunds the reconciler owes a look (refunds_reconcile_idx), the longest due first. */
    async dueReconcile(now: number, limit: number): Promise<Refund[]> {
      const rows = await k
        .selectFrom('refunds')
        .selectAll()
        .where('reconcile_at', '<=', now)
        .where('status', '=', 'pending')
        .orderBy('reconcile_at')
        .limit(limit)
        .execute();
      return rows.map(toRefund);
    },

    async byId(id: string): Promise<Refund | undefined> {
      const row = await k.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRefund(row);
    },

    async forPayment(paymentId: string): Promise<Refund[]> {
      const rows = await k
        .selectFrom('refunds')
        .selectAll()
        .where('payment_id', '=', paymentId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toRefund);
    },

    async sumFor(paymentId: string, statuses: RefundStatus[]): Promise<bigint> {
      const r = await k
        .selectFrom('refunds')
        .select((eb) => eb.fn.sum<string | number>('amount_minor').as('total'))
        .where('payment_id', '=', paymentId)
        .where('status', 'in', statuses)
        .executeTakeFirst();
      return BigInt(r?.total ?? 0);
    },

    /** Reserved but not yet answered by the bank, for a merchant's balance. */
    async pendingTotal(merchantId: string): Promise<bigint> {
      const r = await k
        .selectFrom('refunds')
        .select((eb) => eb.fn.sum<string | number>('amount_minor').as('total'))
        .where('merchant_id', '=', merchantId)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return BigInt(r?.total ?? 0);
    },
  };
}

export type RefundRepo = ReturnType<typeof createRefundRepo>;

class RefundNotPendingError extends Error {
  constructor(id: string) {
    super(`refund ${id} is not pending`);
    this.name = 'RefundNotPendingError';
  }
}
