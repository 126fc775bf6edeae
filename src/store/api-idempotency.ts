import type { Insertable, Kysely } from 'kysely';
import type { ApiIdempotencyTable, Database } from './schema.js';

export interface IdempotencyRecord {
  requestHash: string;
  /** in_progress: claimed before the work; created: written with what the request created; done: answered. */
  status: 'in_progress' | 'created' | 'done';
  responseStatus: number | null;
  responseBody: string | null;
  createdAt: number;
  /** What the request created (a refund id), when its key was written in that transaction. */
  resourceId: string | null;
}

/** A request's key, to be written by the use case in the transaction that creates its resource. */
export interface IdempotencyBinding {
  merchantId: string;
  key: string;
  requestHash: string;
  /** created_at of the row. */
  at: number;
}

/**
 * Writes the key as `created` with the resource it names, inside the caller's transaction. False
 * when the key is already taken (on PostgreSQL after waiting for a concurrent transaction holding
 * it to end): the caller rolls back and answers what that request recorded.
 */
export async function bindIdempotencyKey(
  trx: Kysely<Database>,
  b: IdempotencyBinding,
  resourceId: string,
): Promise<boolean> {
  const r = await trx
    .insertInto('api_idempotency')
    .values({
      merchant_id: b.merchantId,
      key: b.key,
      request_hash: b.requestHash,
      status: 'created',
      response_status: null,
      response_body: null,
      created_at: b.at,
      resource_id: resourceId,
    })
    .onConflict((oc) => oc.columns(['merchant_id', 'key']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

const STATUSES = new Set<IdempotencyRecord['status']>(['in_progress', 'created', 'done']);

/** The api_idempotency table: one row per (merchant, Idempotency-Key). */
export function createIdempotencyStore(db: Kysely<Database>) {
  const where = (merchantId: string, key: string) =>
    db.selectFrom('api_idempotency').selectAll().where('merchant_id', '=', merchantId).where('key', '=', key);
  /** Inserts the key's row unless the key exists: true when this call inserted it. */
  const insertIfNew = async (row: Insertable<ApiIdempotencyTable>): Promise<boolean> => {
    const r = await db
      .insertInto('api_idempotency')
      .values(row)
      .onConflict((oc) => oc.columns(['merchant_id', 'key']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  };

  return {
    /**
     * Takes the key for a new request. True when this caller inserted the row and so owns the work;
     * false when the key already exists (whoever holds it, the caller must read it).
     */
    async claim(merchantId: string, key: string, requestHash: string, now: number): Promise<boolean> {
      return insertIfNew({
        merchant_id: merchantId,
        key,
        request_hash: requestHash,
        status: 'in_progress',
        response_status: null,
        response_body: null,
        created_at: now,
      });
    },

    async get(merchantId: string, key: string): Promise<IdempotencyRecord | undefined> {
      const r = await where(merchantId, key).executeTakeFirst();
      if (!r) return undefined;
      return {
        requestHash: r.request_hash,
        status: STATUSES.has(r.status as IdempotencyRecord['status'])
          ? (r.status as IdempotencyRecord['status']) // checked against the set just above
          : 'in_progress',
        responseStatus: r.response_status === null ? null : Number(r.response_status),
        responseBody: r.response_body,
        createdAt: Number(r.created_at),
        resourceId: r.resource_id,
      };
    },

    /**
     * Records a definite answer for a request that created nothing (a refusal): true when this
     * inserted it, false when the key was taken meanwhile (then that request's record stands).
     */
    async insertAnswer(
      merchantId: string,
      key: string,
      requestHash: string,
      now: number,
      status: number,
      body: string,
    ): Promise<boolean> {
      return insertIfNew({
        merchant_id: merchantId,
        key,
        request_hash: requestHash,
        status: 'done',
        response_status: status,
        response_body: body,
        created_at: now,
      });
    },

    /**
     * Stores the answer of a key written with `resourceId` (bindIdempotencyKey). `firstOnly`: only
     * while none is stored yet (a replay answering for a request that died before it answered), so
     * of two such replays the first one's answer stays.
     */
    async answerCreated(
      merchantId: string,
      key: string,
      resourceId: string,
      status: number,
      body: string,
      firstOnly: boolean,
    ): Promise<void> {
      let q = db
        .updateTable('api_idempotency')
        .set({ status: 'done', response_status: status, response_body: body })
        .where('merchant_id', '=', merchantId)
        .where('key', '=', key)
        .where('resource_id', '=', resourceId);
      if (firstOnly) q = q.where('status', '=', 'created');
      await q.execute();
    },

    /** Removes an expired or abandoned row, unless it changed since it was read (created_at). */
    async forget(merchantId: string, key: string, seenCreatedAt: number): Promise<void> {
      await db
        .deleteFrom('api_idempotency')
        .where('merchant_id', '=', merchantId)
        .where('key', '=', key)
        .where('created_at', '=', seenCreatedAt)
        .execute();
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
          resource_id: null,
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
