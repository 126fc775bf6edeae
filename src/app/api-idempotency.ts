import type { IdempotencyBinding, IdempotencyStore } from '../store/api-idempotency.js';

export type { IdempotencyBinding } from '../store/api-idempotency.js';

/** A response as sent: kept byte for byte so a replay is identical to the first answer. */
export interface StoredResponse {
  status: number;
  body: string;
}

/** The answer of work run under runBound: `resourceId` when the work wrote the key with what it created. */
export interface BoundResponse extends StoredResponse {
  resourceId?: string;
}

/**
 * Thrown by a use case whose transaction found the key already written (bindIdempotencyKey said
 * false): another request with the key got there first, and its record is answered instead.
 */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super('the Idempotency-Key was taken by a concurrent request');
    this.name = 'IdempotencyKeyTaken';
  }
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

/** Resolves true once `p` settles, false if `ms` pass first. */
const settlesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer));
};

/**
 * Idempotency-Key semantics for the JSON API's POSTs. run(): the key's row is inserted before the
 * work starts, so the database's UNIQUE constraint picks exactly one request to act; the others poll
 * for its stored answer. Definite answers (2xx, 4xx) are stored and replayed; a failure without a
 * definite answer (5xx, a thrown error) gives the key back so a retry can run again. A process
 * killed mid-work leaves the row in_progress until `staleMs`, and the work then runs again: fine
 * for the other POSTs (a webhook endpoint), not for a refund. runBound() (refunds): the use case writes the
 * key in the very transaction that creates the resource, so there is no window between the two.
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

  /** Bound requests running in this process, by merchant and key: a second one waits on the first. */
  const inFlight = new Map<string, { requestHash: string; done: Promise<void> }>();

  /**
   * One look at the key for runBound, holding its in-flight slot: an outcome, or undefined to look
   * again (the key changed hands meanwhile, or an old-style claim is still running).
   */
  async function boundOnce(
    merchantId: string,
    key: string,
    requestHash: string,
    work: (binding: IdempotencyBinding) => Promise<BoundResponse>,
    current: (resourceId: string) => Promise<StoredResponse | undefined>,
    deadline: number,
  ): Promise<IdempotentOutcome | undefined> {
    const rec = await deps.store.get(merchantId, key);
    if (rec) {
      const age = deps.now() - rec.createdAt;
      if (age >= ttlMs || (rec.status === 'in_progress' && age >= staleMs)) {
        await deps.store.forget(merchantId, key, rec.createdAt);
        return undefined;
      }
      if (rec.requestHash !== requestHash) return { kind: 'conflict' };
      if (rec.status === 'done' && rec.responseStatus !== null && rec.responseBody !== null) {
        return { kind: 'replay', response: { status: rec.responseStatus, body: rec.responseBody } };
      }
      if (rec.status === 'created' && rec.resourceId !== null) {
        // Created, never answered, and not running here: its process died between the commit and
        // the answer (or another instance is still waiting on the bank). The resource as it stands
        // is the answer, stored so that every later replay repeats it.
        const now = await current(rec.resourceId);
        if (!now) throw new Error(`idempotency key names ${rec.resourceId}, which does not exist`);
        await deps.store.answerCreated(merchantId, key, rec.resourceId, now.status, now.body, true);
        const stored = await deps.store.get(merchantId, key);
        const first =
          stored?.status === 'done' && stored.responseStatus !== null && stored.responseBody !== null
            ? { status: stored.responseStatus, body: stored.responseBody }
            : now;
        return { kind: 'replay', response: first };
      }
      // An old-style claim (in_progress) still running elsewhere: wait for its answer, as run() does.
      if (Date.now() >= deadline) return { kind: 'in_progress' };
      await sleep(50);
      return undefined;
    }
    let response: BoundResponse;
    try {
      response = await work({ merchantId, key, requestHash, at: deps.now() });
    } catch (err) {
      if (err instanceof IdempotencyKeyTaken) return undefined;
      throw err;
    }
    const { resourceId, ...sent } = response;
    if (resourceId !== undefined) {
      // The key is already written with the resource; the answer joins it. (A 5xx is not stored:
      // a retry then answers the resource as it stands.)
      if (sent.status < 500) await deps.store.answerCreated(merchantId, key, resourceId, sent.status, sent.body, false);
      return { kind: 'fresh', response: sent };
    }
    if (sent.status >= 500) return { kind: 'fresh', response: sent };
    // A definite answer that created nothing (a refusal): recorded unless the key was taken meanwhile.
    if (await deps.store.insertAnswer(merchantId, key, requestHash, deps.now(), sent.status, sent.body))
      return { kind: 'fresh', response: sent };
    return undefined;
  }

  return {
    /**
     * Idempotency for a POST whose use case writes the key itself, with the resource it creates,
     * in the transaction that creates it (bindIdempotencyKey with the binding handed to `work`):
     * whatever moment the process dies at, the resource and its key exist together or not at all.
     * A retry then answers the stored first answer; or, when the first request died before
     * answering, `current(resourceId)` (the resource as it now stands), stored in turn so every
     * later replay repeats it. Never 409 in_progress for a dead request: only while the first
     * request runs in this process past `waitMs`. Answers that create nothing (refusals) are stored
     * once made, as run() does; a failure before the commit leaves the key free.
     */
    async runBound(
      merchantId: string,
      key: string,
      requestHash: string,
      work: (binding: IdempotencyBinding) => Promise<BoundResponse>,
      current: (resourceId: string) => Promise<StoredResponse | undefined>,
    ): Promise<IdempotentOutcome> {
      const slot = `${merchantId}\n${key}`;
      const deadline = Date.now() + waitMs;
      for (;;) {
        const running = inFlight.get(slot);
        if (running) {
          if (running.requestHash !== requestHash) return { kind: 'conflict' };
          const left = deadline - Date.now();
          if (left <= 0 || !(await settlesWithin(running.done, left))) return { kind: 'in_progress' };
          continue;
        }
        let release = () => {};
        const done = new Promise<void>((r) => (release = r));
        inFlight.set(slot, { requestHash, done });
        try {
          const outcome = await boundOnce(merchantId, key, requestHash, work, current, deadline);
          if (outcome) return outcome;
        } finally {
          inFlight.delete(slot);
          release();
        }
      }
    },

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
