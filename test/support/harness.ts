import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/compose.js';
import { buildHttpApp } from '../../src/http/app.js';
import { ensureDemoMerchant, ensureSimulatorRails, type DemoMerchant } from '../../src/bootstrap.js';
import type { IssuedCredentials, NewMerchant } from '../../src/app/merchant-admin.js';
import { dropPgSchema, ensurePgSchema } from '../../src/store/db.js';

export type DialectName = 'sqlite' | 'postgres';

/** SQLite always; PostgreSQL when WMX_TEST_PG_URL is set (CI sets it). */
export function dialects(): DialectName[] {
  return process.env.WMX_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface TestGateway {
  url: string;
  gw: Gateway;
  app: FastifyInstance;
  dataDir: string;
  dialect: DialectName;
  /** Everything the gateway logged (JSON lines), for leak checks. */
  logs: string[];
  /** A controllable clock (ms since epoch); only used when started with fakeClock. */
  clock: { now: number; advance(ms: number): void };
  /** The sandbox demo merchant behind /demo; only when started with `demo: true`. */
  demoMerchant: DemoMerchant | undefined;
  createMerchant(opts?: Partial<NewMerchant>): Promise<IssuedCredentials>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  fakeClock?: boolean;
  /** Create the sandbox demo merchant (as main.ts does) and serve the demo shop at /demo. */
  demo?: boolean;
  /** The address to listen on (default 127.0.0.1; `::` for a dual-stack listener). `url` stays 127.0.0.1. */
  host?: string;
  /** How long a client may take to send one whole request (the gateway's default otherwise). */
  requestTimeoutMs?: number;
  /** Replaces fetch for the gateway's upstream calls (to lose or delay some). */
  fetch?: typeof fetch;
  /**
   * Mount the bKash and SSLCommerz simulators inside the gateway, as main.ts does in sandbox mode;
   * with `demo`, also configure them as connectors and route the demo merchant to them
   * (ensureSimulatorRails, after listening, as main.ts does).
   */
  simulators?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo; // listening on TCP, so an AddressInfo
      s.close(() => resolve(port));
    });
  });
}

/** Starts a gateway on an ephemeral port with a fresh database (a temp SQLite file or a PG schema). */
export async function startGateway(dialect: DialectName, opts: StartOptions = {}): Promise<TestGateway> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-test-'));
  let databaseUrl = `sqlite:${path.join(dataDir, 'wmx.db')}`;
  let pgSchema: string | undefined;
  const pgUrl = process.env.WMX_TEST_PG_URL;
  if (dialect === 'postgres') {
    if (!pgUrl) throw new Error('WMX_TEST_PG_URL is not set');
    pgSchema = `t_${crypto.randomBytes(6).toString('hex')}`;
    await ensurePgSchema(pgUrl, pgSchema);
    databaseUrl = pgUrl;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    PORT: String(port),
    WMX_DATABASE_URL: databaseUrl,
    WMX_DATA_DIR: dataDir,
    WMX_PUBLIC_URL: url,
    ...opts.env,
  });
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const secret = crypto.randomBytes(32).toString('base64url');
  const gw = await createGateway(config, {
    secret,
    backgroundCheckpoints: true, // as main.ts runs it
    ...(pgSchema ? { pgSchema, pgPoolSize: 4 } : {}),
    ...(opts.fakeClock ? { now: () => clock.now } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const demoMerchant = opts.demo ? (await ensureDemoMerchant(gw)).demo : undefined;
  const app = await buildHttpApp(gw, {
    logger: { level: 'info', stream },
    ...(demoMerchant ? { demoMerchant } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.simulators ? { simulators: true } : {}),
  });
  await app.listen({ port, host: opts.host ?? '127.0.0.1' });
  if (opts.simulators && demoMerchant) await ensureSimulatorRails(gw, url, demoMerchant.wmx_id);

  return {
    url,
    gw,
    app,
    dataDir,
    dialect,
    logs,
    clock,
    demoMerchant,
    async createMerchant(o: Partial<NewMerchant> = {}) {
      const { credentials } = await gw.merchantAdmin.create({
        name: o.name ?? 'Test Shop',
        domains: o.domains ?? ['shop.test'],
        sandbox: o.sandbox ?? false,
        emiAllowed: o.emiAllowed ?? true,
      });
      return credentials;
    },
    async close() {
      await app.close();
      await gw.close();
      if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `Basic base64(username:password)` as the official client builds it. */
export const basicAuth = (c: Pick<IssuedCredentials, 'username' | 'password'>): string =>
  'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');

/** The credential fields every legacy POST carries. */
export const credFields = (c: IssuedCredentials): Record<string, string> => ({
  wmx_id: c.wmx_id,
  access_app_key: c.access_app_key,
  authorization: basicAuth(c),
});

/** A complete, valid init request (override any field; pass undefined to drop one). */
export function initFields(
  c: IssuedCredentials,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const base: Record<string, string | undefined> = {
    ...credFields(c),
    merchant_order_id: '1001',
    merchant_ref_id: crypto.randomBytes(7).toString('hex').slice(0, 13),
    app_name: 'shop.test',
    cart_info: `${c.wmx_id},shop.test,Test Shop`,
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
    options: Buffer.from('s=shop.test,i=127.0.0.1').toString('base64'),
    callback_url: 'https://shop.test/callback?order=1001',
    extra_json: '[]',
    ...overrides,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v;
  return out;
}

/** POSTs fields urlencoded (the official PHP class's encoding) and returns status, headers and parsed JSON. */
export async function postForm(url: string, fields: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(fields) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

export async function initPayment(
  t: TestGateway,
  c: IssuedCredentials,
  overrides: Record<string, string | undefined> = {},
) {
  return postForm(`${t.url}/init-payment-process`, initFields(c, overrides));
}

export async function checkPayment(t: TestGateway, c: IssuedCredentials, token: string) {
  return postForm(`${t.url}/check-payment`, { ...credFields(c), token });
}
