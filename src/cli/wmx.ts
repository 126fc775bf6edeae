#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createGateway, type Gateway } from '../compose.js';
import { resolveSecret } from '../bootstrap.js';
import { WmxError } from '../domain/errors.js';
import { formatMinor, formatRate, parseRate } from '../domain/money.js';
import { CLI_ACTOR } from '../app/audit.js';
import { MONEY_USAGE, MoneyUsageError, runMoneyCommand } from './money-commands.js';
import { CONNECTOR_USAGE, ConnectorUsageError, runConnectorCommand } from './connector-commands.js';
import { runSimulator } from './simulate.js';
import { BackupRefused, backupSqlite, formatBackup } from './backup.js';
import { runDevkitCommand } from './devkit/commands.js';
import { DevkitUsageError, GatewayApiError } from './devkit/gateway-api.js';

const USAGE = `Usage: wmx <command>

  merchant create --name NAME --domain HOST [--domain HOST…] [--sandbox] [--no-emi] [--json]
  merchant list [--json]
  merchant rotate <wmx_id> [--json]
  merchant suspend <wmx_id>
  merchant activate <wmx_id>
  rates list
  rates set <CURRENCY> <BDT per unit>
  maintenance on [--message TEXT] | maintenance off
  admin create --email EMAIL --password PASSWORD [--name NAME]
  audit verify [--json]     (walks the audit hash chain; exits 1 on an edited or deleted row)
  migrate
  backup FILE [--force] [--json]    consistent copy of the SQLite database while the gateway runs
                                    (a temporary name, renamed when whole; exits 2 on PostgreSQL: use pg_dump)
${MONEY_USAGE}
${CONNECTOR_USAGE}
  simulate bkash|sslcommerz [--port N] [--host H]   run an upstream's simulator (no database needed)

Developer kit (over HTTP to a running gateway, with a merchant's API key; no database needed):
  listen --forward-to URL [--events TYPE,…] [--session ID] [--json]
                            forward the merchant's webhook events to URL (e.g. on your laptop)
  trigger EVENT [--amount 100.00] [--currency BDT] [--json]
                            make a real sandbox payment (and refund) that sends EVENT:
                            payment.succeeded|failed|cancelled|expired, refund.succeeded|failed
  doctor --callback-url URL [--token T] [--json]
                            post forged and genuine callbacks to your callback handler and report
                            whether your shop would ship an unpaid order
  They take --gateway URL (else WMX_GATEWAY_URL, WMX_PUBLIC_URL, http://127.0.0.1:$PORT) and
  --api-key KEY (else WMX_API_KEY, else the sandbox demo merchant's file in the data folder).

Uses the same environment as the server (WMX_DATABASE_URL, WMX_SECRET, WMX_MODE…).`;

class UsageError extends Error {}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      domain: { type: 'string', multiple: true },
      sandbox: { type: 'boolean' },
      'no-emi': { type: 'boolean' },
      json: { type: 'boolean' },
      message: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      date: { type: 'string' },
      kind: { type: 'string' },
      env: { type: 'string' },
      set: { type: 'string', multiple: true },
      'secret-file': { type: 'string' },
      merchant: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      force: { type: 'boolean' },
      gateway: { type: 'string' },
      'api-key': { type: 'string' },
      'forward-to': { type: 'string' },
      events: { type: 'string' },
      session: { type: 'string' },
      amount: { type: 'string' },
      currency: { type: 'string' },
      'callback-url': { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (positionals[0] === 'simulate') {
    const which = positionals[1];
    if (which !== 'bkash' && which !== 'sslcommerz') throw new UsageError('simulate needs bkash or sslcommerz');
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new UsageError('--port must be 0-65535');
    }
    return runSimulator(which, {
      ...(port !== undefined ? { port } : {}),
      ...(values.host ? { host: values.host } : {}),
    });
  }
  const devkit = await runDevkitCommand(positionals, values);
  if (devkit !== undefined) return devkit;
  if (positionals[0] === 'backup') {
    // Not through createGateway: a backup must not migrate, or write anything to, the source.
    const [, file, ...rest] = positionals;
    if (!file || rest.length > 0) throw new UsageError('backup needs one FILE to write');
    const r = await backupSqlite(loadConfig().databaseUrl, file, { force: values.force ?? false });
    process.stdout.write((values.json ? JSON.stringify(r) : formatBackup(r).join('\n')) + '\n');
    return 0;
  }
  const config: Config = loadConfig();
  const gw = await createGateway(config, { secret: resolveSecret(config), pgPoolSize: 2 });
  try {
    return await dispatch(gw, positionals, values);
  } finally {
    await gw.close();
  }
}

type Values = {
  kind?: string;
  env?: string;
  set?: string[];
  'secret-file'?: string;
  merchant?: string;
  date?: string;
  email?: string;
  password?: string;
  name?: string;
  domain?: string[];
  sandbox?: boolean;
  'no-emi'?: boolean;
  json?: boolean;
  message?: string;
};

async function dispatch(gw: Gateway, pos: string[], v: Values): Promise<number> {
  const [group, verb, arg] = pos;
  const print = (s: string) => process.stdout.write(s + '\n');
  try {
    const code = await runMoneyCommand(gw, pos, v, print);
    if (code !== undefined) return code;
    const c = await runConnectorCommand(gw, pos, v, print);
    if (c !== undefined) return c;
  } catch (e) {
    if (e instanceof MoneyUsageError || e instanceof ConnectorUsageError) throw new UsageError(e.message);
    throw e;
  }
  switch (`${group} ${verb ?? ''}`.trim()) {
    case 'migrate':
      print('Database is at the latest migration.');
      return 0;
    case 'audit verify': {
      const r = await gw.audit.verify();
      if (v.json) print(JSON.stringify(r));
      else if (r.ok) {
        print(
          r.rows === 0
            ? 'Audit log is empty; nothing to verify.'
            : `Audit log OK: ${r.rows} records, seq ${r.firstSeq}–${r.lastSeq}, chain intact. Head hash ${r.headHash}`,
        );
      } else {
        print(`Audit log FAILED verification (${r.rows} records read):`);
        for (const p of r.problems) print(`  ${p.message}`);
      }
      return r.ok ? 0 : 1;
    }
    case 'merchant create': {
      if (!v.name) throw new UsageError('merchant create needs --name');
      const { merchant, credentials } = await gw.merchantAdmin.create({
        name: v.name,
        domains: v.domain ?? [],
        sandbox: v.sandbox ?? false,
        emiAllowed: !v['no-emi'],
      });
      await gw.audit.record(CLI_ACTOR, 'merchant.created', merchant.id, {
        name: merchant.name,
        sandbox: merchant.sandbox,
        domains: merchant.domains,
      });
      if (v.json) print(JSON.stringify(credentials));
      else {
        print(`Merchant "${merchant.name}" created (${merchant.sandbox ? 'sandbox' : 'live'}, active).`);
        print('These secrets are shown once; store them now:');
        for (const [k, val] of Object.entries(credentials)) print(`  ${k.padEnd(15)} ${val}`);
      }
      return 0;
    }
    case 'merchant list': {
      const list = await gw.merchantAdmin.list();
      if (v.json) {
        print(
          JSON.stringify(
            list.map((m) => ({
              wmx_id: m.wmxId,
              name: m.name,
              status: m.status,
              sandbox: m.sandbox,
              domains: m.domains,
              username: m.username,
              created_at: new Date(m.createdAt).toISOString(),
            })),
          ),
        );
      } else {
        if (list.length === 0) print('No merchants.');
        for (const m of list) {
          print(
            `${m.wmxId}  ${m.status.padEnd(9)} ${(m.sandbox ? 'sandbox' : 'live').padEnd(7)} ${m.name}  [${m.domains.join(', ')}]  ` +
              `limits ${formatMinor(m.minAmountMinor)}–${formatMinor(m.maxAmountMinor)} BDT`,
          );
        }
      }
      return 0;
    }
    case 'merchant rotate': {
      if (!arg) throw new UsageError('merchant rotate needs a wmx_id');
      const creds = await gw.merchantAdmin.rotate(arg);
      await gw.audit.record(CLI_ACTOR, 'credentials.rotated', (await gw.merchants.byWmxId(arg))?.id ?? null);
      if (v.json) print(JSON.stringify(creds));
      else {
        print(`New credentials for ${arg} (the old ones no longer work; shown once):`);
        for (const [k, val] of Object.entries(creds)) print(`  ${k.padEnd(15)} ${val}`);
      }
      return 0;
    }
    case 'merchant suspend':
    case 'merchant activate': {
      if (!arg) throw new UsageError(`merchant ${verb} needs a wmx_id`);
      const m = await gw.merchantAdmin.setStatus(arg, verb === 'suspend' ? 'suspended' : 'active');
      await gw.audit.record(CLI_ACTOR, verb === 'suspend' ? 'merchant.suspended' : 'merchant.reactivated', m.id);
      print(`${m.wmxId} is now ${m.status}.`);
      return 0;
    }
    case 'rates list': {
      const rates = await gw.referenceRepo.rates();
      for (const [c, r] of [...rates].sort()) print(`${c}  ${formatRate(r)}`);
      return 0;
    }
    case 'rates set': {
      const currency = arg?.toUpperCase();
      const rate = pos[3] === undefined ? undefined : parseRate(pos[3]);
      if (!currency || !/^[A-Z]{3}$/.test(currency) || rate === undefined) {
        throw new UsageError('rates set needs a 3-letter currency and a positive rate with at most 6 decimals');
      }
      if (currency === 'BDT' && rate !== 1_000_000n)
        throw new UsageError('BDT is the settlement currency; its rate is 1');
      await gw.onboarding.setRate(currency, rate, CLI_ACTOR);
      print(`${currency} = ${formatRate(rate)} BDT (new payments lock this rate at init).`);
      return 0;
    }
    case 'admin create': {
      if (!v.email || !v.password) throw new UsageError('admin create needs --email and --password');
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email)) throw new UsageError('--email is not an email address');
      if (v.password.length < 12) throw new UsageError('--password must be at least 12 characters');
      if (await gw.accounts.findByEmail('admin', v.email))
        throw new UsageError(`an admin with email ${v.email} exists`);
      const u = await gw.accounts.createUser({
        kind: 'admin',
        email: v.email,
        password: v.password,
        name: v.name ?? v.email,
        merchantId: null,
        role: 'admin',
      });
      await gw.audit.record(CLI_ACTOR, 'admin.created', null, { email: u.email });
      print(`Admin ${u.email} created; log in at /admin.`);
      return 0;
    }
    case 'maintenance on':
      await gw.onboarding.setMaintenance(v.message ?? 'Scheduled maintenance', CLI_ACTOR);
      print('Maintenance mode is on: check-server answers selectedServer:false and init answers 3001.');
      return 0;
    case 'maintenance off':
      await gw.onboarding.setMaintenance(null, CLI_ACTOR);
      print('Maintenance mode is off.');
      return 0;
    default:
      throw new UsageError(`unknown command: ${pos.join(' ')}`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof BackupRefused) {
      process.stderr.write(`wmx backup: ${e.message}\n`);
      process.exit(2);
    }
    if (e instanceof DevkitUsageError) {
      process.stderr.write(`wmx: ${e.message}\n`);
      process.exit(2);
    }
    if (e instanceof GatewayApiError) {
      process.stderr.write(`wmx: the gateway answered ${e.status} ${e.code}: ${e.message}\n`);
      process.exit(1);
    }
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${e instanceof UsageError ? '\n' + USAGE + '\n' : ''}`);
      process.exit(2);
    }
    if (e instanceof WmxError || (e instanceof Error && e.name === 'TypeError' && 'code' in e)) {
      process.stderr.write(`wmx: ${e.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`wmx: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
