/**
 * The router: which connector takes a payment method for a merchant. The operator routes each
 * method (card, each wallet, internet banking) to one connector, for every merchant ('*') and per
 * merchant (an override). A route counts only when its connector is enabled and of the merchant's
 * environment: a sandbox merchant (or any merchant in sandbox mode) never reaches a live rail, and
 * falls back to the built-in sandbox bank; a live merchant without a live route is offered nothing.
 *
 * Connectors and routes are read from the store and kept for `ttlMs` (a change made on any instance
 * flushes them at once, see change-feed.ts); instances are rebuilt when their row changes.
 */
import type { Merchant } from '../domain/merchant.js';
import { DEFAULT_SCOPE, type ConnectorRepo, type ConnectorRow, type RouteRow } from '../store/connectors.js';
import { METHOD_KEYS, type Connector, type MethodKey } from './port.js';
import { CONNECTOR_KINDS, type ConnectorDeps } from './registry.js';

export const SANDBOX_CONNECTOR_ID = 'sandbox';

export interface RouterDeps {
  repo: ConnectorRepo;
  /** Opens a row's sealed secrets (the server secret's sealer). */
  openSecrets(sealed: string): Record<string, string>;
  connectorDeps: ConnectorDeps;
  /** The gateway's mode: in sandbox mode every merchant is a sandbox merchant. */
  mode: 'sandbox' | 'live';
  ttlMs?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

export interface Offer {
  key: MethodKey;
  connector: Connector;
}

export function createConnectorRouter(deps: RouterDeps) {
  const ttlMs = deps.ttlMs ?? 2_000;
  let loaded: { at: number; rows: Map<string, ConnectorRow>; routes: RouteRow[] } | undefined;
  let loading: Promise<NonNullable<typeof loaded>> | undefined;
  let epoch = 0;
  const instances = new Map<string, { updatedAt: number; connector: Connector }>();

  async function state() {
    if (loaded && Date.now() - loaded.at < ttlMs) return loaded;
    loading ??= (async () => {
      const started = epoch;
      try {
        const [rows, routes] = await Promise.all([deps.repo.list(), deps.repo.routes()]);
        const read = { at: Date.now(), rows: new Map(rows.map((r) => [r.id, r])), routes };
        // Read before an invalidate(): good for the callers waiting now, not to be kept.
        if (started === epoch) loaded = read;
        return read;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  function instance(row: ConnectorRow): Connector | undefined {
    const kept = instances.get(row.id);
    if (kept && kept.updatedAt === row.updatedAt) return kept.connector;
    const kind = CONNECTOR_KINDS[row.kind];
    if (!kind) return undefined;
    let secrets: Record<string, string>;
    try {
      secrets = row.secretsSealed ? deps.openSecrets(row.secretsSealed) : {};
    } catch (e) {
      // Sealed with another server secret: the connector cannot work; say so once per change.
      deps.log?.('connector secrets cannot be opened', { connector: row.id, err: String(e) });
      return undefined;
    }
    const connector = kind.create(
      { id: row.id, environment: row.environment, config: row.config, secrets },
      deps.connectorDeps,
    );
    instances.set(row.id, { updatedAt: row.updatedAt, connector });
    return connector;
  }

  const environmentOf = (m: Merchant): 'sandbox' | 'live' =>
    deps.mode === 'sandbox' || m.sandbox ? 'sandbox' : 'live';

  async function routeFor(m: Merchant, key: MethodKey): Promise<Connector | undefined> {
    const s = await state();
    const usable = (id: string | undefined) => {
      const row = id === undefined ? undefined : s.rows.get(id);
      if (!row || !row.enabled || row.environment !== environmentOf(m)) return undefined;
      const c = instance(row);
      return c && c.capabilities.methods.includes(key) ? c : undefined;
    };
    const routed = (scope: string) => s.routes.find((r) => r.scope === scope && r.method === key)?.connectorId;
    const own = routed(m.id);
    const chosen = own !== undefined ? usable(own) : usable(routed(DEFAULT_SCOPE));
    if (chosen) return chosen;
    return environmentOf(m) === 'sandbox' ? usable(SANDBOX_CONNECTOR_ID) : undefined;
  }

  return {
    /** A connector by id, enabled or not: payments it took are still confirmed and refunded through it. */
    async connector(id: string): Promise<Connector | undefined> {
      const row = (await state()).rows.get(id);
      return row && instance(row);
    },
    routeFor,
    /** The methods a merchant's payment of `amountMinor` (BDT) can be paid with, in display order. */
    async offered(m: Merchant, amountMinor: bigint): Promise<Offer[]> {
      const out: Offer[] = [];
      for (const key of METHOD_KEYS) {
        const c = await routeFor(m, key);
        if (!c) continue;
        const { minAmountMinor: min, maxAmountMinor: max } = c.capabilities;
        if ((min !== undefined && amountMinor < min) || (max !== undefined && amountMinor > max)) continue;
        out.push({ key, connector: c });
      }
      return out;
    },
    /** Forget what was read (after a change made in this process). */
    invalidate(): void {
      epoch++;
      loaded = undefined;
      loading = undefined; // the next caller reads afresh
    },
  };
}

export type ConnectorRouter = ReturnType<typeof createConnectorRouter>;
