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
 * are refreshed in the background (stale-while-revalidate): edits made by the CLI or by another
 * process are seen within `ttlMs`; edits made through this process call `refresh()` at once.
 */
export function createReferenceCache(repo: ReferenceRepo, ttlMs = 1_000) {
  let state: GatewayState = { rates: new Map(), emiBanks: [], maintenance: undefined };
  let loadedAt = 0;
  let refreshing: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const [rates, emiBanks, maintenance] = await Promise.all([
      repo.rates(),
      repo.emiBanks(),
      repo.getSetting(MAINTENANCE_KEY),
    ]);
    state = { rates, emiBanks, maintenance };
    loadedAt = Date.now();
  }

  function current(): GatewayState {
    if (Date.now() - loadedAt > ttlMs && !refreshing) {
      refreshing = refresh()
        .catch(() => undefined) // keep serving the last good state; the next call retries
        .finally(() => (refreshing = undefined));
    }
    return state;
  }

  return { refresh, current };
}

export type ReferenceCache = ReturnType<typeof createReferenceCache>;
