/**
 * The operator's rails: adding, changing, enabling and disabling connectors, routing payment
 * methods to them (for every merchant or one), and testing one with a single harmless upstream
 * call. Secrets are sealed with the server secret as they arrive and never shown or logged again;
 * every change goes to the audit log without them. Used by the admin console and `wmx connector`.
 */
import { METHOD_KEYS, isMethodKey, type MethodKey } from '../acquirers/port.js';
import { CONNECTOR_KINDS } from '../acquirers/registry.js';
import type { ConnectorRouter } from '../acquirers/router.js';
import {
  DEFAULT_SCOPE,
  type ConnectorRepo,
  type ConnectorEnvironment,
  type ConnectorRow,
  type RouteRow,
} from '../store/connectors.js';
import type { Actor, AuditLog } from './audit.js';
import type { ConnectorCalls } from './connector-calls.js';
import type { Sealer } from './crypto.js';

export interface ConnectorSummary {
  id: string;
  kind: string;
  label: string;
  environment: ConnectorEnvironment;
  enabled: boolean;
  /** The settings, as entered (no secret among them). */
  config: Readonly<Record<string, string>>;
  /** Which secrets are set (names only). */
  secretsSet: string[];
  updatedAt: number;
}

export type AdminResult = { ok: true } | { ok: false; message: string };

export interface NewConnector {
  id: string;
  kind: string;
  environment: ConnectorEnvironment;
  /** Every field by name (settings and secrets); the kind says which is which. */
  fields: Readonly<Record<string, string>>;
}

export interface ConnectorsAdminDeps {
  repo: ConnectorRepo;
  sealer: Sealer;
  router: Pick<ConnectorRouter, 'connector' | 'invalidate'>;
  /** Connectors or routes changed: every instance reloads them (change-feed.ts). */
  changed?: () => Promise<void>;
  calls: Pick<ConnectorCalls, 'run'>;
  audit: Pick<AuditLog, 'record'>;
  merchantExists(id: string): Promise<boolean>;
  now: () => number;
}

const ID_RE = /^[a-z0-9][a-z0-9-]{1,39}$/;

function urlProblem(v: string): string | undefined {
  if (v === '') return undefined;
  try {
    const u = new URL(v);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
    if (u.username || u.password || u.search || u.hash) return 'must not carry credentials, a query or a fragment';
    return undefined;
  } catch {
    return 'must be an absolute URL';
  }
}

export function createConnectorsAdmin(deps: ConnectorsAdminDeps) {
  const summary = (r: ConnectorRow): ConnectorSummary => {
    const kind = CONNECTOR_KINDS[r.kind];
    let secretsSet: string[];
    try {
      secretsSet = r.secretsSealed ? Object.keys(JSON.parse(deps.sealer.open(r.secretsSealed)) as object) : [];
    } catch {
      secretsSet = ['(sealed with another server secret)'];
    }
    return {
      id: r.id,
      kind: r.kind,
      label: kind?.label ?? r.kind,
      environment: r.environment,
      enabled: r.enabled,
      config: r.config,
      secretsSet,
      updatedAt: r.updatedAt,
    };
  };

  /** Splits fields into settings and secrets per the kind; every problem at once. */
  function split(kindName: string, fields: Readonly<Record<string, string>>, partial: boolean) {
    const kind = CONNECTOR_KINDS[kindName];
    const problems: string[] = [];
    const config: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    if (!kind) {
      problems.push(`unknown kind "${kindName}" (known: ${Object.keys(CONNECTOR_KINDS).join(', ')})`);
      return { problems, config, secrets };
    }
    for (const f of kind.fields) {
      const v = (fields[f.name] ?? '').trim();
      if (v === '') {
        if (f.required && !partial) problems.push(`${f.name} (${f.label}) is required`);
        continue;
      }
      if (v.length > 500 || [...v].some((ch) => ch.charCodeAt(0) < 0x20))
        problems.push(`${f.name} is too long or has control characters`);
      if (f.name === 'base_url') {
        const why = urlProblem(v);
        if (why) problems.push(`base_url ${why}`);
      }
      (f.secret ? secrets : config)[f.name] = f.name === 'base_url' ? v.replace(/\/+$/, '') : v;
    }
    const known = new Set(kind.fields.map((f) => f.name));
    for (const k of Object.keys(fields)) if (!known.has(k)) problems.push(`${k} is not a setting of ${kindName}`);
    return { problems, config, secrets };
  }

  async function changed(actor: Actor, action: string, detail: Record<string, unknown>) {
    if (deps.changed) await deps.changed();
    else deps.router.invalidate();
    await deps.audit.record(actor, action, null, detail);
  }

  return {
    async list(): Promise<ConnectorSummary[]> {
      return (await deps.repo.list()).map(summary);
    },
    routes: (): Promise<RouteRow[]> => deps.repo.routes(),

    async add(c: NewConnector, actor: Actor): Promise<AdminResult> {
      const problems: string[] = [];
      if (!ID_RE.test(c.id)) problems.push('the id must be 2-40 lowercase letters, digits or dashes');
      if (c.environment !== 'sandbox' && c.environment !== 'live') problems.push('environment must be sandbox or live');
      if (c.kind === 'sandbox' && c.environment === 'live') problems.push('the sandbox bank cannot be live');
      const s = split(c.kind, c.fields, false);
      problems.push(...s.problems);
      if (problems.length > 0) return { ok: false, message: problems.join('; ') };
      const sealed = Object.keys(s.secrets).length > 0 ? deps.sealer.seal(JSON.stringify(s.secrets)) : null;
      const inserted = await deps.repo.insert(
        { id: c.id, kind: c.kind, environment: c.environment, config: s.config, secretsSealed: sealed, enabled: true },
        deps.now(),
      );
      if (!inserted) return { ok: false, message: `a connector named ${c.id} exists already` };
      await changed(actor, 'connector.added', {
        connector: c.id,
        kind: c.kind,
        environment: c.environment,
        config: s.config,
      });
      return { ok: true };
    },

    /** Changes settings and replaces the secrets given (an empty one keeps the stored value). */
    async update(id: string, fields: Readonly<Record<string, string>>, actor: Actor): Promise<AdminResult> {
      const row = (await deps.repo.list()).find((r) => r.id === id);
      if (!row) return { ok: false, message: `no connector named ${id}` };
      const s = split(row.kind, fields, true);
      if (s.problems.length > 0) return { ok: false, message: s.problems.join('; ') };
      let old: Record<string, string> = {};
      try {
        old = row.secretsSealed ? (JSON.parse(deps.sealer.open(row.secretsSealed)) as Record<string, string>) : {};
      } catch {
        // sealed with another server secret: replaced by what is given now
      }
      const secrets = { ...old, ...s.secrets };
      const config = { ...row.config, ...s.config };
      // An emptied base URL goes back to the upstream's own.
      if ('base_url' in fields && (fields.base_url ?? '').trim() === '') delete config.base_url;
      await deps.repo.update(
        id,
        { config, secretsSealed: Object.keys(secrets).length > 0 ? deps.sealer.seal(JSON.stringify(secrets)) : null },
        deps.now(),
      );
      await changed(actor, 'connector.updated', { connector: id, config, secrets_changed: Object.keys(s.secrets) });
      return { ok: true };
    },

    async setEnabled(id: string, enabled: boolean, actor: Actor): Promise<AdminResult> {
      if (!(await deps.repo.update(id, { enabled }, deps.now())))
        return { ok: false, message: `no connector named ${id}` };
      await changed(actor, enabled ? 'connector.enabled' : 'connector.disabled', { connector: id });
      return { ok: true };
    },

    /** Routes `method` to `connectorId` for every merchant (scope '*') or one; null removes the route. */
    async route(scope: string, method: string, connectorId: string | null, actor: Actor): Promise<AdminResult> {
      if (!isMethodKey(method)) return { ok: false, message: `method must be one of ${METHOD_KEYS.join(', ')}` };
      if (scope !== DEFAULT_SCOPE && !(await deps.merchantExists(scope)))
        return { ok: false, message: `no merchant ${scope}` };
      if (connectorId !== null) {
        const row = (await deps.repo.list()).find((r) => r.id === connectorId);
        if (!row) return { ok: false, message: `no connector named ${connectorId}` };
        // Routed to a disabled connector, the method would not be offered at all: say so, change nothing.
        if (!row.enabled)
          return {
            ok: false,
            message: `${connectorId} is disabled, so ${method} would not be offered through it; enable it first (Enable in the console, or wmx connector enable ${connectorId}). Nothing was changed.`,
          };
        const c = await deps.router.connector(connectorId);
        if (c && !c.capabilities.methods.includes(method as MethodKey)) {
          return { ok: false, message: `${connectorId} (${row.kind}) does not take ${method}` };
        }
      }
      await deps.repo.setRoute(scope, method, connectorId, deps.now());
      await changed(actor, connectorId ? 'connector.routed' : 'connector.unrouted', {
        scope,
        method,
        connector: connectorId,
      });
      return { ok: true };
    },

    /** One harmless call to the upstream (a token grant, a query), in plain words. */
    async test(id: string): Promise<{ ok: true; detail: string } | { ok: false; message: string }> {
      deps.router.invalidate();
      const c = await deps.router.connector(id);
      if (!c)
        return { ok: false, message: `no usable connector named ${id} (unknown, or its secrets cannot be opened)` };
      const r = await deps.calls.run(c, { paymentId: null }, (ctx) => c.test(ctx));
      if (r.ok) return r.value;
      return {
        ok: false,
        message: r.timeout ? `${c.displayName} did not answer in time` : `the test failed: ${String(r.error)}`,
      };
    },
  };
}

export type ConnectorsAdmin = ReturnType<typeof createConnectorsAdmin>;
