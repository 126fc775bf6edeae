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
