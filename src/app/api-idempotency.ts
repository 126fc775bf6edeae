import type { IdempotencyStore } from '../store/api-idempotency.js';

/** A response as sent: kept byte for byte so a replay is identical to the first answer. */
export interface StoredResponse {
  status: number;
  body: string;
}

export type IdempotentOutcome =
  | { kind: 'fresh'; response: StoredResponse }
  | { kind: 'replay'; response: StoredResponse }
  /** The key was used for a different request. */
  | { kind: 'conflict' }
  /** Another request with this key is still running after the wait. */
  | { kind: 'in_progress' };

export interface IdempotencyDeps {
  store: IdempotencyStore;
  /** The gateway clock, for the rows' created_at. */
  now(): number;
  /** How long a second request waits for the first one's answer. */
  waitMs?: number;
  /** An in-progress row older than this was abandoned (a crash): a new request may take it over. */
  staleMs?: number;
  /** Keys are remembered this long; after that the key may be used afresh. */
  ttlMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Idempotency-Key semantics for the JSON API's POSTs. The key's row is inserted before the work
 * starts, so the database's UNIQUE constraint picks exactly one request to act; the others poll for
 * its stored answer. Definite answers (2xx, 4xx) are stored and replayed; a failure without a
 * definite answer (5xx, a thrown error) gives the key back so a retry can run again.
 */
export function createApiIdempotency(deps: IdempotencyDeps) {
  const waitMs = deps.waitMs ?? 10_000;
  const staleMs = deps.staleMs ?? 5 * 60_000;
  const ttlMs = deps.ttlMs ?? 24 * 60 * 60_000;

  async function execute(
    merchantId: string,
    key: string,
    work: () => Promise<StoredResponse>,
  ): Promise<IdempotentOutcome> {
    let response: StoredResponse;
    try {
      response = await work();
    } catch (err) {
      await deps.store.release(merchantId, key).catch(() => undefined);
      throw err;
    }
    if (response.status >= 500) await deps.store.release(merchantId, key);
    else await deps.store.complete(merchantId, key, response.status, response.body);
    return { kind: 'fresh', response };
  }

  return {
    async run(
      merchantId: string,
      key: string,
      requestHash: string,
      work: () => Promise<StoredResponse>,
    ): Promise<IdempotentOutcome> {
      // Real time for the wait, whatever clock the gateway runs on (tests freeze theirs).
      const deadline = Date.now() + waitMs;
      let pause = 10;
      for (;;) {
        if (await deps.store.claim(merchantId, key, requestHash, deps.now())) return execute(merchantId, key, work);
        const rec = await deps.store.get(merchantId, key);
        if (rec) {
          const age = deps.now() - rec.createdAt;
          if (age >= ttlMs || (rec.status === 'in_progress' && age >= staleMs)) {
            if (await deps.store.takeOver(merchantId, key, rec.createdAt, requestHash, deps.now()))
              return execute(merchantId, key, work);
            continue;
          }
          if (rec.requestHash !== requestHash) return { kind: 'conflict' };
          if (rec.status === 'done' && rec.responseStatus !== null && rec.responseBody !== null) {
            return { kind: 'replay', response: { status: rec.responseStatus, body: rec.responseBody } };
          }
        }
        // Either still running, or released a moment ago (then the next claim may win).
        if (Date.now() >= deadline) return { kind: 'in_progress' };
        await sleep(pause);
        pause = Math.min(pause * 2, 200);
      }
    },
  };
}

export type ApiIdempotency = ReturnType<typeof createApiIdempotency>;
