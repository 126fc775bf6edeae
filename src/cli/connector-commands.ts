import fs from 'node:fs';
import type { Gateway } from '../compose.js';
import { CLI_ACTOR } from '../app/audit.js';
import { METHOD_KEYS } from '../acquirers/port.js';
import { CONNECTOR_KINDS } from '../acquirers/registry.js';
import { DEFAULT_SCOPE } from '../store/connectors.js';

export const CONNECTOR_USAGE = `  connector list [--json]           the configured rails (settings; secrets by name only) and the routes
  connector add <id> --kind bkash|sslcommerz|sandbox --env sandbox|live [--set name=value…] [--secret-file FILE]
  connector set <id> [--set name=value…] [--secret-file FILE]   change settings or secrets
  connector test <id>               one harmless call to the upstream (a token grant, a query), in plain words
  connector disable <id> | connector enable <id>
  connector route <method> <id|none> [--merchant WMX_ID]   methods: ${METHOD_KEYS.join(', ')}
  reconcile                         ask the upstreams about every payment and refund due now`;

/** Bad usage of a connector command; wmx prints it with the usage text. */
export class ConnectorUsageError extends Error {}

type Print = (line: string) => void;

export interface ConnectorValues {
  kind?: string | undefined;
  env?: string | undefined;
  set?: string[] | undefined;
  'secret-file'?: string | undefined;
  merchant?: string | undefined;
  json?: boolean | undefined;
}

/**
 * `name=value` pairs from --set and from a secret file (one pair per line, or a JSON object): a
 * file keeps secrets out of the shell history and the process list.
 */
function fieldsOf(v: ConnectorValues): Record<string, string> {
  const out: Record<string, string> = {};
  const pair = (text: string, where: string) => {
    const i = text.indexOf('=');
    if (i <= 0) throw new ConnectorUsageError(`${where}: expected name=value, got "${text}"`);
    out[text.slice(0, i).trim()] = text.slice(i + 1).trim();
  };
  if (v['secret-file']) {
    const text = fs.readFileSync(v['secret-file'], 'utf8');
    if (text.trim().startsWith('{')) {
      const obj = JSON.parse(text) as Record<string, unknown>; // a JSON object of strings, checked below
      for (const [k, x] of Object.entries(obj)) {
        if (typeof x !== 'string') throw new ConnectorUsageError(`${v['secret-file']}: ${k} must be a string`);
        out[k] = x;
      }
    } else {
      for (const line of text.split(/\r?\n/))
        if (line.trim() && !line.trim().startsWith('#')) pair(line, v['secret-file']);
    }
  }
  for (const s of v.set ?? []) pair(s, '--set');
  return out;
}

/** `wmx connector …` and `wmx reconcile`. Returns the exit code, or undefined for other commands. */
export async function runConnectorCommand(
  gw: Gateway,
  pos: string[],
  v: ConnectorValues,
  print: Print,
): Promise<number | undefined> {
  const [group, verb, id, fourth] = pos;
  if (group === 'reconcile') {
    const n = await gw.reconciler.drain();
    print(n === 0 ? 'Nothing was due.' : `Asked the upstreams about ${n} payments and refunds.`);
    return 0;
  }
  if (group !== 'connector') return undefined;
  const result = (r: { ok: true } | { ok: false; message: string }, done: string) => {
    if (!r.ok) throw new ConnectorUsageError(r.message);
    print(done);
    return 0;
  };
  switch (verb) {
    case 'list': {
      const [list, routes] = await Promise.all([gw.connectors.list(), gw.connectors.routes()]);
      // A merchant's override is stored under its internal id; the operator knows it by its WMX id.
      const wmxIds = new Map<string, string>();
      for (const r of routes)
        if (r.scope !== DEFAULT_SCOPE && !wmxIds.has(r.scope))
          wmxIds.set(r.scope, (await gw.merchants.byId(r.scope))?.wmxId ?? r.scope);
      if (v.json) {
        const shown = routes.map((r) => (r.scope === DEFAULT_SCOPE ? r : { ...r, wmxId: wmxIds.get(r.scope) }));
        print(JSON.stringify({ connectors: list, routes: shown }));
        return 0;
      }
      for (const c of list) {
        const settings = Object.entries(c.config).map(([k, x]) => `${k}=${x}`);
        print(
          `${c.id.padEnd(16)} ${c.kind.padEnd(10)} ${c.environment.padEnd(7)} ${c.enabled ? 'enabled ' : 'disabled'} ` +
            `${settings.join(' ')}${c.secretsSet.length ? `  secrets: ${c.secretsSet.join(', ')}` : ''}`,
        );
      }
      print(routes.length === 0 ? 'No routes: sandbox merchants pay on the Sandbox Bank.' : 'Routes:');
      for (const r of routes)
        print(
          `  ${r.scope === DEFAULT_SCOPE ? 'every merchant' : wmxIds.get(r.scope)}: ${r.method} → ${r.connectorId}`,
        );
      return 0;
    }
    case 'add': {
      if (!id || !v.kind || !v.env) throw new ConnectorUsageError('connector add needs an id, --kind and --env');
      if (v.env !== 'sandbox' && v.env !== 'live') throw new ConnectorUsageError('--env must be sandbox or live');
      if (!CONNECTOR_KINDS[v.kind])
        throw new ConnectorUsageError(`--kind must be one of ${Object.keys(CONNECTOR_KINDS).join(', ')}`);
      const r = await gw.connectors.add({ id, kind: v.kind, environment: v.env, fields: fieldsOf(v) }, CLI_ACTOR);
      return result(
        r,
        `Connector ${id} (${v.kind}, ${v.env}) added; its secrets are sealed and will not be shown again. Try it: wmx connector test ${id}`,
      );
    }
    case 'set': {
      if (!id) throw new ConnectorUsageError('connector set needs an id');
      return result(await gw.connectors.update(id, fieldsOf(v), CLI_ACTOR), `Connector ${id} updated.`);
    }
    case 'disable':
    case 'enable': {
      if (!id) throw new ConnectorUsageError(`connector ${verb} needs an id`);
      const r = await gw.connectors.setEnabled(id, verb === 'enable', CLI_ACTOR);
      return result(
        r,
        verb === 'enable'
          ? `Connector ${id} enabled.`
          : `Connector ${id} disabled: it takes no new payments; those it took are still confirmed and refunded through it.`,
      );
    }
    case 'test': {
      if (!id) throw new ConnectorUsageError('connector test needs an id');
      const r = await gw.connectors.test(id);
      print(r.ok ? `OK: ${r.detail}` : `FAILED: ${r.message}`);
      return r.ok ? 0 : 1;
    }
    case 'route': {
      if (!id || !fourth) throw new ConnectorUsageError('connector route needs a method and a connector id (or none)');
      let scope = DEFAULT_SCOPE;
      if (v.merchant) {
        const m = await gw.merchants.byWmxId(v.merchant);
        if (!m) throw new ConnectorUsageError(`no merchant ${v.merchant}`);
        scope = m.id;
      }
      const target = fourth === 'none' ? null : fourth;
      const who = v.merchant ? `for ${v.merchant}` : 'for every merchant';
      return result(
        await gw.connectors.route(scope, id, target, CLI_ACTOR),
        target ? `${id} now goes to ${target} ${who}.` : `${id} has no route ${who} any more.`,
      );
    }
    default:
      throw new ConnectorUsageError(`unknown command: ${pos.join(' ')}`);
  }
}
