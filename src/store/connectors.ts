import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export type ConnectorEnvironment = 'sandbox' | 'live';

/** A configured connector as stored: its settings in the clear, its secrets sealed. */
export interface ConnectorRow {
  id: string;
  kind: string;
  environment: ConnectorEnvironment;
  config: Readonly<Record<string, string>>;
  secretsSealed: string | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface RouteRow {
  /** '*' for every merchant, else a merchant id. */
  scope: string;
  method: string;
  connectorId: string;
}

/** The scope of the default routes (every merchant without an override). */
export const DEFAULT_SCOPE = '*';

function parseConfig(text: string): Record<string, string> {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

export function createConnectorRepo(k: Kysely<Database>) {
  return {
    async list(): Promise<ConnectorRow[]> {
      const rows = await k.selectFrom('connectors').selectAll().orderBy('id').execute();
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        environment: r.environment === 'live' ? 'live' : 'sandbox',
        config: parseConfig(r.config),
        secretsSealed: r.secrets_sealed,
        enabled: Number(r.enabled) === 1,
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
      }));
    },
    /** Inserts a new connector; false when the id is taken. */
    async insert(c: Omit<ConnectorRow, 'createdAt' | 'updatedAt'>, now: number): Promise<boolean> {
      const r = await k
        .insertInto('connectors')
        .values({
          id: c.id,
          kind: c.kind,
          environment: c.environment,
          config: JSON.stringify(c.config),
          secrets_sealed: c.secretsSealed,
          enabled: c.enabled ? 1 : 0,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    /** Changes what is given; false when no such connector. */
    async update(
      id: string,
      patch: Partial<Pick<ConnectorRow, 'config' | 'secretsSealed' | 'enabled' | 'environment'>>,
      now: number,
    ): Promise<boolean> {
      const r = await k
        .updateTable('connectors')
        .set({
          updated_at: now,
          ...(patch.config !== undefined ? { config: JSON.stringify(patch.config) } : {}),
          ...(patch.secretsSealed !== undefined ? { secrets_sealed: patch.secretsSealed } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled ? 1 : 0 } : {}),
          ...(patch.environment !== undefined ? { environment: patch.environment } : {}),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async routes(): Promise<RouteRow[]> {
      const rows = await k.selectFrom('connector_routes').selectAll().orderBy('scope').orderBy('method').execute();
      return rows.map((r) => ({ scope: r.scope, method: r.method, connectorId: r.connector_id }));
    },
    /** Routes `method` for `scope` to a connector; null removes the route. */
    async setRoute(scope: string, method: string, connectorId: string | null, now: number): Promise<void> {
      if (connectorId === null) {
        await k.deleteFrom('connector_routes').where('scope', '=', scope).where('method', '=', method).execute();
        return;
      }
      await k
        .insertInto('connector_routes')
        .values({ scope, method, connector_id: connectorId, updated_at: now })
        .onConflict((oc) => oc.columns(['scope', 'method']).doUpdateSet({ connector_id: connectorId, updated_at: now }))
        .execute();
    },
  };
}

export type ConnectorRepo = ReturnType<typeof createConnectorRepo>;
