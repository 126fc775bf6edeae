import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startChild, stopChild, tail, type Child } from './processes.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Server {
  child: Child;
  url: string;
}

/** The baseline: bench/hello-server.mjs in its own process, on a port the OS picks. */
export async function startHello(): Promise<Server> {
  const child = startChild('hello-world', [path.join(REPO_ROOT, 'bench', 'hello-server.mjs')], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', NODE_ENV: 'production' },
  });
  try {
    const m = await child.waitFor(/listening on port (\d+)/, 20_000);
    const url = `http://127.0.0.1:${m[1]}`;
    await expectOk(`${url}/`, '{"hello":"world"}', child);
    return { child, url };
  } catch (e) {
    await stopChild(child);
    throw e;
  }
}

/** What the sandbox writes to <data dir>/sandbox-merchant.json on first start. */
export interface DemoMerchant {
  wmx_id: string;
  access_app_key: string;
  username: string;
  password: string;
}

export interface GatewayServer extends Server {
  merchant: DemoMerchant;
}

export interface GatewayOptions {
  mainJs: string;
  dataDir: string;
  databaseUrl: string;
  /** Extra node flags for the child, e.g. --cpu-prof. */
  nodeArgs?: string[];
  name?: string;
  /** Environment set over the bench's own (e.g. rate limits); undefined removes a variable. */
  env?: Record<string, string | undefined>;
}

/** Starts dist/main.js the way an operator would, in sandbox mode, and reads the demo merchant. */
export async function startGateway(o: GatewayOptions): Promise<GatewayServer> {
  if (!fs.existsSync(o.mainJs)) throw new Error(`${o.mainJs} does not exist: run \`npm run build\` first`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    WMX_HOST: '127.0.0.1',
    WMX_DATABASE_URL: o.databaseUrl,
    WMX_DATA_DIR: o.dataDir,
    WMX_PUBLIC_URL: url,
    WMX_LOG_LEVEL: 'warn',
    WMX_MODE: 'sandbox',
    // The bench hammers one merchant on purpose to measure throughput: the per-merchant abuse
    // limits would measure themselves instead (the rows that measure them set o.env).
    WMX_RATE_INIT: 'off',
    WMX_RATE_CHECK: 'off',
  };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = startChild(o.name ?? 'gateway', [...(o.nodeArgs ?? []), o.mainJs], { cwd: REPO_ROOT, env });
  try {
    await child.waitFor(/listening on http:\/\//, 60_000);
    await expectOk(`${url}/check-server`, '"selectedServer":true', child);
    const file = path.join(o.dataDir, 'sandbox-merchant.json');
    const merchant = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoMerchant; // written by the gateway we started
    for (const k of ['wmx_id', 'access_app_key', 'username', 'password'] as const) {
      if (typeof merchant[k] !== 'string') throw new Error(`${file} has no ${k}`);
    }
    return { child, url, merchant };
  } catch (e) {
    await stopChild(child);
    throw e;
  }
}

async function expectOk(url: string, needle: string, child: Child): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`${child.name}: GET ${url} failed (${String(e)}):\n${tail(child.output())}`, {
      cause: e,
    });
  }
  const body = await res.text();
  if (res.status !== 200 || !body.includes(needle)) {
    throw new Error(`${child.name}: GET ${url} answered ${res.status} ${body.slice(0, 300)}`);
  }
}

/** A scratch database (createScratchDatabase). */
export interface ScratchDatabase {
  url: string;
  name: string;
  /** Process ids of the server's backends for this database and of its WAL writer, checkpointer and background writer. */
  backendPids(): Promise<number[]>;
  /** One statement on the scratch database, on a connection of its own. */
  query<R extends object>(text: string): Promise<R[]>;
  drop(): Promise<void>;
}

/**
 * A throw-away PostgreSQL database on the server named by `adminUrl`: the gateway has no schema
 * setting in its environment, so it gets a database of its own, dropped afterwards.
 */
export async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `bench_${crypto.randomBytes(5).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`create database "${name}"`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let monitor: pg.Client | undefined;
  let dropped = false;
  return {
    url: u.toString(),
    name,
    async backendPids() {
      if (!monitor) {
        monitor = new pg.Client({ connectionString: adminUrl });
        monitor.on('error', () => undefined); // a lost monitor only costs the CPU figure
        await monitor.connect();
      }
      const r = await monitor.query<{ pid: number }>(
        `select pid from pg_stat_activity
          where pid <> pg_backend_pid()
            and (datname = $1 or backend_type in ('walwriter', 'checkpointer', 'background writer'))`,
        [name],
      );
      return r.rows.map((row) => row.pid);
    },
    async query<R extends object>(text: string) {
      return (await withClient(u.toString(), (c) => c.query<R>(text))).rows;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await monitor?.end().catch(() => undefined);
      // WITH (FORCE) (PostgreSQL 13+) ends any session the gateway left behind.
      await withClient(adminUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/**
 * Whether a Redis server answers PING at `url` (with the password the URL carries): null when it
 * does, else why not. The gateway decides its limits in process while Redis is unreachable, so a
 * row "with Redis" measured without one would measure something else.
 */
export async function redisProblem(url: string, timeoutMs = 2_000): Promise<string | null> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined); // the connect() below reports it
  try {
    await r.connect();
    const pong = await r.ping();
    return pong === 'PONG' ? null : `PING answered ${pong}`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    r.disconnect();
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The credential fields every legacy POST carries. */
export function credentialFields(m: DemoMerchant): Record<string, string> {
  return {
    wmx_id: m.wmx_id,
    access_app_key: m.access_app_key,
    authorization: 'Basic ' + Buffer.from(`${m.username}:${m.password}`).toString('base64'),
  };
}

/**
 * Init bodies, urlencoded as the official PHP class sends them. The fixed part is encoded once;
 * each call appends a merchant_ref_id never used before (13 hex like the official class: a random
 * 5-hex run prefix + an 8-hex counter), so no request is an idempotent replay.
 */
export function initBodyFactory(m: DemoMerchant): () => string {
  const fixed = new URLSearchParams({
    ...credentialFields(m),
    merchant_order_id: '1001',
    app_name: '127.0.0.1',
    cart_info: `${m.wmx_id},127.0.0.1,Bench Shop`,
    customer_name: 'Rahim Uddin',
    customer_email: 'rahim@example.com',
    customer_phone: '01712345678',
    customer_add: 'House 1, Road 2',
    customer_city: 'Dhaka',
    customer_country: 'Bangladesh',
    customer_postcode: '1207',
    product_desc: '{2xItem A[5]=[10]}+{shipping rate:0}-{discount amount:0}=10.00',
    amount: '10',
    currency: 'BDT',
    options: Buffer.from('s=127.0.0.1,i=127.0.0.1').toString('base64'),
    callback_url: 'http://127.0.0.1/callback?order=1001',
    extra_json: '[]',
  }).toString();
  const prefix = crypto.randomBytes(3).toString('hex').slice(0, 5);
  let n = 0;
  return () => `${fixed}&merchant_ref_id=${prefix}${(n++).toString(16).padStart(8, '0')}`;
}

export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

/** Creates `size` payments (a few at a time) and returns their tokens, for check-payment. */
export async function createTokenPool(url: string, m: DemoMerchant, size: number, parallel = 8): Promise<string[]> {
  const nextBody = initBodyFactory(m);
  const tokens: string[] = [];
  const worker = async () => {
    while (tokens.length < size) {
      const res = await fetch(`${url}/init-payment-process`, {
        method: 'POST',
        headers: FORM_HEADERS,
        body: nextBody(),
      });
      const text = await res.text();
      const token = /"statusCode":"1000".*"token":"([0-9a-f]{40})"/.exec(text)?.[1];
      if (res.status !== 200 || token === undefined) {
        throw new Error(`init for the token pool failed: HTTP ${res.status} ${text.slice(0, 300)}`);
      }
      tokens.push(token);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return tokens.slice(0, size);
}
