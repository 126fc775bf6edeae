/**
 * The store's side of readiness and metrics: a trivial query, the newest applied migration, and the
 * aggregates a scrape shows (payments by status and method, the webhook queue).
 */
import { DEFAULT_MIGRATION_TABLE, sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface PaymentCount {
  status: string;
  /** null until the customer chose a method. */
  method: string | null;
  count: number;
}

export interface WebhookQueue {
  /** Deliveries not yet delivered or given up (due, scheduled for a retry, or being sent). */
  waiting: number;
  /** created_at of the oldest of them (epoch ms), null when none wait. */
  oldestCreatedAt: number | null;
}

export function createOpsStats(k: Kysely<Database>) {
  return {
    /** Resolves when the database answers. */
    async ping(): Promise<void> {
      await sql`select 1`.execute(k);
    },

    /** The newest migration recorded in the database (Kysely's bookkeeping table), null if none. */
    async newestAppliedMigration(): Promise<string | null> {
      // The table is found through the connection's search path on PostgreSQL, as migrateToLatest uses.
      const r = await sql<{ name: string | null }>`select max(name) as name from ${sql.table(
        DEFAULT_MIGRATION_TABLE,
      )}`.execute(k);
      return r.rows[0]?.name ?? null;
    },

    /** A full scan of payments: callers cache it (metrics read it at most every few seconds). */
    async paymentCounts(): Promise<PaymentCount[]> {
      const rows = await k
        .selectFrom('payments')
        .select(['status', 'method', (eb) => eb.fn.countAll<string | number | bigint>().as('n')])
        .groupBy(['status', 'method'])
        .execute();
      return rows.map((r) => ({ status: r.status, method: r.method, count: Number(r.n) }));
    },

    async webhookQueue(): Promise<WebhookQueue> {
      const r = await k
        .selectFrom('webhook_deliveries')
        .select([
          (eb) => eb.fn.countAll<string | number | bigint>().as('n'),
          (eb) => eb.fn.min('created_at').as('oldest'),
        ])
        .where('status', '=', 'pending')
        .executeTakeFirst();
      const oldest = r?.oldest;
      return {
        waiting: Number(r?.n ?? 0),
        oldestCreatedAt: oldest === null || oldest === undefined ? null : Number(oldest),
      };
    },
  };
}

export type OpsStats = ReturnType<typeof createOpsStats>;
