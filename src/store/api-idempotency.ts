import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface IdempotencyRecord {
  requestHash: string;
  status: 'in_progress' | 'done';
  responseStatus: number | null;
  responseBody: string | null;
  createdAt: number;
}

/** The api_idempotency table: one row per (merchant, Idempotency-Key). */
export function createIdempotencyStore(db: Kysely<Database>) {
  const where = (merchantId: string, key: string) =>
    db.selectFrom('api_idempotency').selectAll().where('merchant_id', '=', merchantId).where('key', '=', key);

  return {
    /**
     * Takes the key for a new request. True when this caller inserted the row and so owns the work;
     * false when the key already exists (whoever holds it, the caller must read it).
     */
    async claim(merchantId: string, key: string, requestHash: string, now: number): Promise<boolean> {
      const r = await db
        .insertInto('api_idempotency')
        .values({
          merchant_id: merchantId,
          key,
          request_hash: requestHash,
          status: 'in_progress',
          response_status: null,
          response_body: null,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['merchant_id', 'key']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },

    async get(merchantId: string, key: string): Promise<IdempotencyRecord | undefined> {
      const r = await where(merchantId, key).executeTakeFirst();
      if (!r) return undefined;
      return {
        requestHash: r.request_hash,
        status: r.status === 'done' ? 'done' : 'in_progress',
        responseStatus: r.response_status === null ? null : Number(r.response_status),
        responseBody: r.response_body,
        createdAt: Number(r.created_at),
      };
    },

    /**
     * Hands an abandoned or expired row to a new request: compare-and-swap on created_at, so of two
     * requests taking over the same row only one succeeds.
     */
    async takeOver(
      merchantId: string,
      key: string,
      seenCreatedAt: number,
      requestHash: string,
      now: number,
    ): Promise<boolean> {
      const r = await db
        .updateTable('api_idempotency')
        .set({
          request_hash: requestHash,
          status: 'in_progress',
          response_status: null,
          response_body: null,
          created_at: now,
        })
        .where('merchant_id', '=', merchantId)
        .where('key', '=', key)
        .where('created_at', '=', seenCreatedAt)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async complete(merchantId: string, key: string, status: number, body: string): Promise<void> {
      await db
        .updateTable('api_idempotency')
        .set({ status: 'done', response_status: status, response_body: body })
        .where('merchant_id', '=', merchantId)
        .where('key', '=', key)
        .execute();
    },

    /** Gives the key back (the work failed without a definite answer): a retry may run it again. */
    async release(merchantId: string, key: string): Promise<void> {
      await db
        .deleteFrom('api_idempotency')
        .where('merchant_id', '=', merchantId)
        .where('key', '=', key)
        .where('status', '=', 'in_progress')
        .execute();
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
