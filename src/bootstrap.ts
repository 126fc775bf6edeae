import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import type { Gateway } from './compose.js';
import type { IssuedCredentials } from './app/merchant-admin.js';

/** Writes a file readable by its owner only, atomically. */
function writePrivateFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * The server secret: WMX_SECRET, or (sandbox only) one generated once and kept in the data folder.
 * Live mode without WMX_SECRET is refused earlier by loadConfig.
 */
export function resolveSecret(config: Config): string {
  if (config.secret !== undefined) return config.secret;
  const file = path.join(config.dataDir, 'secret');
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    if (s.length >= 32) return s;
  } catch {
    // not there yet
  }
  const s = crypto.randomBytes(32).toString('base64url');
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, s + '\n', { mode: 0o600, flag: 'wx' });
    return s;
  } catch {
    // Another process (the CLI, a second start) won the race: use what it wrote.
    return fs.readFileSync(file, 'utf8').trim();
  }
}

export const demoMerchantFile = (config: Config): string => path.join(config.dataDir, 'sandbox-merchant.json');

export interface DemoMerchant extends IssuedCredentials {
  name: string;
}

/**
 * In sandbox mode the first start creates a demo merchant and keeps its credentials in the data
 * folder (mode 0600). Returns them and whether they were just created (and so must be printed).
 */
export async function ensureDemoMerchant(gw: Gateway): Promise<{ demo: DemoMerchant; created: boolean; file: string }> {
  const file = demoMerchantFile(gw.config);
  try {
    const demo = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoMerchant; // our own file, written below
    if (await gw.merchants.byWmxId(demo.wmx_id)) return { demo, created: false, file };
  } catch {
    // missing or unreadable: create a new one
  }
  const name = 'Sandbox Demo Shop';
  const { credentials } = await gw.merchantAdmin.create({
    name,
    domains: ['127.0.0.1', 'localhost'],
    sandbox: true,
    emiAllowed: true,
  });
  const demo: DemoMerchant = { name, ...credentials };
  writePrivateFile(file, JSON.stringify(demo, null, 2) + '\n');
  return { demo, created: true, file };
}

export const sandboxAdminFile = (config: Config): string => path.join(config.dataDir, 'sandbox-admin.json');

/**
 * In sandbox mode the first start also makes an operator account for /admin and prints its
 * password once (kept, like the demo merchant, in an owner-only file in the data folder).
 */
export async function ensureSandboxAdmin(
  gw: Gateway,
): Promise<{ email: string; password: string; created: boolean; file: string }> {
  const file = sandboxAdminFile(gw.config);
  const email = 'admin@sandbox.local';
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { email: string; password: string }; // our own file
    if (await gw.accounts.findByEmail('admin', saved.email)) return { ...saved, created: false, file };
  } catch {
    // missing: create below
  }
  const existing = await gw.accounts.findByEmail('admin', email);
  const password = crypto.randomBytes(15).toString('base64url');
  if (existing) await gw.accounts.setPassword(existing.id, password);
  else
    await gw.accounts.createUser({
      kind: 'admin',
      email,
      password,
      name: 'Sandbox operator',
      merchantId: null,
      role: 'admin',
    });
  writePrivateFile(file, JSON.stringify({ email, password }, null, 2) + '\n');
  return { email, password, created: true, file };
}

/** Where the sandbox gateway mounts the upstream simulators (see buildHttpApp's `simulators`). */
export const SIMULATOR_PATHS = { bkash: '/simulators/bkash', sslcommerz: '/simulators/sslcommerz' } as const;

/**
 * Sandbox mode: the bKash and SSLCommerz simulators run inside the gateway (under
 * SIMULATOR_PATHS) and are configured as connectors, and the demo merchant pays bKash through the
 * bKash one and internet banking and Nagad through the SSLCommerz one, so a newcomer sees the whole
 * redirect flow after `npm start`. `apiBase`: where the gateway reaches itself (its listening
 * address, not the public URL, which may be a proxy it cannot call).
 */
export async function ensureSimulatorRails(gw: Gateway, apiBase: string, demoMerchantWmxId: string): Promise<void> {
  const { BKASH_SIMULATOR_DEFAULT_CREDENTIALS: b } = await import('./acquirers/bkash/simulator.js');
  const { SSLCOMMERZ_SIMULATOR_DEFAULT_STORE: s } = await import('./acquirers/sslcommerz/simulator.js');
  const wanted: { id: string; kind: string; fields: Record<string, string> }[] = [
    {
      id: 'bkash-sim',
      kind: 'bkash',
      fields: {
        base_url: `${apiBase}${SIMULATOR_PATHS.bkash}/v1.2.0-beta`,
        username: b.username,
        app_key: b.appKey,
        password: b.password,
        app_secret: b.appSecret,
      },
    },
    {
      id: 'sslcommerz-sim',
      kind: 'sslcommerz',
      fields: { base_url: `${apiBase}${SIMULATOR_PATHS.sslcommerz}`, store_id: s.storeId, store_passwd: s.storePasswd },
    },
  ];
  const existing = new Map((await gw.connectors.list()).map((c) => [c.id, c]));
  for (const w of wanted) {
    const have = existing.get(w.id);
    if (!have)
      await gw.connectors.add({ id: w.id, kind: w.kind, environment: 'sandbox', fields: w.fields }, SYSTEM_BOOT);
    else if (have.config.base_url !== w.fields.base_url) {
      await gw.connectors.update(w.id, { base_url: w.fields.base_url ?? '' }, SYSTEM_BOOT);
    }
  }
  const m = await gw.merchants.byWmxId(demoMerchantWmxId);
  if (!m) return;
  const routes = await gw.connectors.routes();
  const routed = (method: string) => routes.some((r) => r.scope === m.id && r.method === method);
  for (const [method, id] of [
    ['bkash', 'bkash-sim'],
    ['nagad', 'sslcommerz-sim'],
    ['internet_banking', 'sslcommerz-sim'],
  ] as const) {
    // Only once: an operator's later choice for the demo merchant stands.
    if (!routed(method)) await gw.connectors.route(m.id, method, id, SYSTEM_BOOT);
  }
}

const SYSTEM_BOOT = { kind: 'system', id: 'sandbox bootstrap', ip: '' } as const;
