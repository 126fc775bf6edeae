import type { Kysely } from 'kysely';
import type { UpstreamCall } from '../acquirers/port.js';
import { newId } from '../domain/ids.js';
import type { Database } from './schema.js';

export interface UpstreamCallRow extends UpstreamCall {
  id: string;
  connectorId: string;
  paymentId: string | null;
  refundId: string | null;
}

/** The log of every call made to an upstream, for the payment detail pages. */
export function createUpstreamCallRepo(k: Kysely<Database>) {
  return {
    async insert(
      scope: { connectorId: string; paymentId: string | null; refundId: string | null },
      calls: readonly UpstreamCall[],
    ): Promise<void> {
      if (calls.length === 0) return;
      await k
        .insertInto('upstream_calls')
        .values(
          calls.map((c) => ({
            id: newId('upc'),
            connector_id: scope.connectorId,
            payment_id: scope.paymentId,
            refund_id: scope.refundId,
            operation: c.operation.slice(0, 64),
            started_at: c.startedAt,
            latency_ms: Math.max(0, Math.round(c.latencyMs)),
            outcome: c.outcome,
            http_status: c.httpStatus,
            code: c.code === null ? null : c.code.slice(0, 64),
            message: c.message === null ? null : c.message.slice(0, 300),
          })),
        )
        .execute();
    },
    /** Every call about a payment (its refunds' included), oldest first. */
    async forPayment(paymentId: string, limit = 200): Promise<UpstreamCallRow[]> {
      const rows = await k
        .selectFrom('upstream_calls')
        .selectAll()
        .where('payment_id', '=', paymentId)
        .orderBy('started_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        connectorId: r.connector_id,
        paymentId: r.payment_id,
        refundId: r.refund_id,
        operation: r.operation,
        startedAt: Number(r.started_at),
        latencyMs: Number(r.latency_ms),
        outcome: r.outcome as UpstreamCall['outcome'], // the column only ever holds these values
        httpStatus: r.http_status === null ? null : Number(r.http_status),
        code: r.code,
        message: r.message,
      }));
    },
  };
}

export type UpstreamCallRepo = ReturnType<typeof createUpstreamCallRepo>;
