import type { ReferenceRepo } from '../store/reference.js';

export const MAINTENANCE_KEY = 'maintenance_message';

export interface GatewayState {
  rates: Map<string, bigint>;
  emiBanks: { key: string; name: string }[];
  /** Why the gateway is in maintenance; undefined when it is open. */
  maintenance: string | undefined;
}

/**
 * Small reference tables held in memory so the hot endpoints make no extra round trip. Stale entries
 * are refreshed in the background (stale-while-revalidate), and, once `start()` is called, on a timer
 * as well. Edits made through any instance or the CLI are applied at once by the change feed
 * (change-feed.ts calls `refresh()`); the timer is the backstop for edits made behind its back.
 */
export function createReferenceCache(repo: ReferenceRepo, ttlMs = 1_000) {
  let state: GatewayState = { rates: new Map(), emiBanks: [], maintenance: undefined };
  let loadedAt = 0;
  let refreshing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  let reads = 0;
  async function refresh(): Promise<void> {
    const read = ++reads;
    const [rates, emiBanks, maintenance] = await Promise.all([
      repo.rates(),
      repo.emiBanks(),
      repo.getSetting(MAINTENANCE_KEY),
    ]);
    // A read that started before a later one (the one a change asked for) must not win.
    if (read !== reads) return;
    state = { rates, emiBanks, maintenance };
    loadedAt = Date.now();
  }

  function revalidate(): void {
    if (refreshing) return;
    refreshing = refresh()
      .catch(() => undefined) // keep serving the last good state; the next call retries
      .finally(() => (refreshing = undefined));
  }

  function current(): GatewayState {
    if (Date.now() - loadedAt > ttlMs) revalidate();
    return state;
  }

  return {
    refresh,
    current,
    /** Refreshes every `ttlMs` from now on (the timer does not keep the process alive). */
    start(): void {
      timer ??= setInterval(revalidate, ttlMs).unref();
    },
    /** Stops the timer and waits for a refresh in flight (before the database closes). */
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await refreshing;
    },
  };
}

export type ReferenceCache = ReturnType<typeof createReferenceCache>;
