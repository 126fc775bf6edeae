/**
 * Changes seen by every instance at once. What the hot paths cache (a merchant's credentials and
 * status, API keys, rates and maintenance, connectors and routes) is dropped by topic:
 *
 * - on the instance that made the change, before `publish` returns (so an old secret never works
 *   there once a rotation has returned);
 * - on every other instance (other gateway processes, and for a change made with the CLI, all of
 *   them) when it reads the change's row, woken by PostgreSQL's NOTIFY or SQLite's data_version
 *   (src/store/changes.ts): milliseconds on PostgreSQL, about `pollMs` on SQLite.
 *
 * The caches keep their short TTLs as a backstop for an edit made behind the gateway's back.
 */
import crypto from 'node:crypto';
import type { ChangeStore, ChangeWatch } from '../store/changes.js';

export type ChangeTopic = 'merchant' | 'reference' | 'connectors';
type Handler = (key: string) => void | Promise<void>;

const PRUNE_EVERY_MS = 10 * 60_000;
const KEEP_MS = 60 * 60_000;

export function createChangeFeed(deps: {
  store: ChangeStore;
  now: () => number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}) {
  const origin = `ins_${crypto.randomBytes(8).toString('hex')}`;
  const handlers = new Map<ChangeTopic, Handler[]>();
  let last = 0;
  let watch: ChangeWatch | undefined;
  let reading: Promise<void> | undefined;
  let again = false;
  let prunedAt = 0;
  let applied = 0;

  async function dispatch(topic: string, key: string): Promise<void> {
    for (const h of handlers.get(topic as ChangeTopic) ?? []) {
      try {
        await h(key);
      } catch (e) {
        deps.log?.('change feed: a handler failed', { topic, key, err: String(e) });
      }
    }
  }

  async function readNew(): Promise<void> {
    for (;;) {
      const rows = await deps.store.since(last);
      for (const r of rows) {
        last = r.seq;
        if (r.origin === origin) continue; // applied when it was published
        applied++;
        await dispatch(r.topic, r.key);
      }
      if (rows.length < 1_000) break;
    }
    const t = deps.now();
    if (t - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = t;
      await deps.store.prune(t - KEEP_MS);
    }
  }

  /** One read at a time; a wake during a read makes one more read after it. */
  function wake(): void {
    if (reading) {
      again = true;
      return;
    }
    reading = readNew()
      .catch((e: unknown) => deps.log?.('change feed: reading changes failed', { err: String(e) }))
      .finally(() => {
        reading = undefined;
        if (again && watch) {
          again = false;
          wake();
        }
      });
  }

  return {
    /** This instance's id (also the webhook lease owner, see instances.ts). */
    origin,
    on(topic: ChangeTopic, h: Handler): void {
      handlers.set(topic, [...(handlers.get(topic) ?? []), h]);
    },
    /** Applies a change here at once, then tells every other instance. Call after it committed. */
    async publish(topic: ChangeTopic, key = ''): Promise<void> {
      await dispatch(topic, key);
      await deps.store.publish(topic, key, origin, deps.now());
    },
    /** Starts listening for other processes' changes (servers; a CLI command only publishes). */
    async start(): Promise<void> {
      if (watch) return;
      last = await deps.store.latest();
      prunedAt = deps.now();
      watch = await deps.store.watch(wake);
    },
    async stop(): Promise<void> {
      const w = watch;
      watch = undefined;
      await w?.stop();
      await reading;
    },
    /** How many changes made elsewhere were applied here (tests, metrics). */
    get applied(): number {
      return applied;
    },
  };
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>;
