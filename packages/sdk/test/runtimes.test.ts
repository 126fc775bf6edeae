/**
 * The built SDK under each runtime it promises: Node.js, Bun and Deno (their npm packages, devDependencies
 * here), each running the same script against a real gateway: check-server, init, check-payment,
 * handleCallback on a genuine and on a forged callback, verifyWebhook on a genuine and a tampered
 * body, and the JSON API. A runtime whose binary is missing is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway, type TestGateway } from '../../../test/support/harness.js';
import type { IssuedCredentials } from '../../../src/app/merchant-admin.js';

const SDK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(SDK_DIR, '../..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

/** The script each runtime runs: plain ESM on the SDK's built files; its answers as one JSON line. */
const RUNNER = `
import { WmxClient, verifyWebhook, WebhookSignatureError } from './dist/index.js';
const cfg = JSON.parse(CONFIG_JSON);
const wmx = new WmxClient(cfg.client);
const out = {};
const server = await wmx.checkServer();
out.selectedServer = server.selectedServer;
const started = await wmx.initPayment({
  orderId: 'RT-' + cfg.runtime,
  amount: '123.45',
  currency: 'BDT',
  callbackUrl: 'https://shop.test/callback',
  customer: { name: 'Runtime Tester', email: 'rt@example.com', phone: '01712345678' },
  productDesc: 'runtime check',
});
out.tokenOk = /^[0-9a-f]{40}$/.test(started.token);
out.paymentUrl = started.paymentUrl;
const rec = await wmx.checkPayment(started.token);
out.pendingStatus = rec.txn_status;
const genuine = await wmx.handleCallback(cfg.genuine.fields, cfg.genuine.expected);
out.genuine = { ok: genuine.ok, status: genuine.status };
const forged = await wmx.handleCallback(
  { merchant_txn_data: JSON.stringify({ ...JSON.parse(cfg.genuine.fields.merchant_txn_data), token: started.token }) },
  { orderId: 'RT-' + cfg.runtime, amount: '123.45', currency: 'BDT', token: started.token },
);
out.forged = { ok: forged.ok, reason: forged.reason };
const ev = await verifyWebhook(cfg.webhook.body, cfg.webhook.header, cfg.client.signingSecret);
out.webhookType = ev.type;
try {
  await verifyWebhook(cfg.webhook.body.replace('"type"', '"typo"'), cfg.webhook.header, cfg.client.signingSecret);
  out.tampered = 'accepted';
} catch (e) {
  out.tampered = e instanceof WebhookSignatureError ? e.reason : String(e);
}
const got = await wmx.payments.get(started.token);
out.apiStatus = got.status;
console.log(JSON.stringify(out));
`;

function runtimes(): { name: string; argv: (file: string) => [string, string[]] | undefined; skip?: string }[] {
  const has = (b: string) => fs.existsSync(path.join(BIN, b));
  return [
    { name: 'node', argv: (f) => [process.execPath, [f]] },
    has('bun')
      ? { name: 'bun', argv: (f) => [path.join(BIN, 'bun'), ['run', f]] }
      : { name: 'bun', argv: () => undefined, skip: 'the bun package is not installed' },
    has('deno')
      ? { name: 'deno', argv: (f) => [path.join(BIN, 'deno'), ['run', '--allow-net', '--no-prompt', f]] }
      : { name: 'deno', argv: () => undefined, skip: 'the deno package is not installed' },
  ];
}

describe('the built SDK on Node.js, Bun and Deno', () => {
  let t: TestGateway;
  let c: IssuedCredentials;
  let dir: string;
  let genuine: { fields: Record<string, string>; expected: Record<string, string> };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-sdk-runtimes-'));
    execFileSync(process.execPath, [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(SDK_DIR, 'tsconfig.json'),
      '--outDir',
      path.join(dir, 'dist'),
    ]);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    t = await startGateway('sqlite');
    c = await t.createMerchant({ sandbox: true });
    const res = await fetch(`${t.url}/api/v1/sandbox/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'succeeded', amount: '77.00', order_id: 'RT-PAID' }),
    });
    const made = (await res.json()) as {
      payment: { token: string };
      callback: { merchant_txn_data: string; wmx_signature: string };
    };
    assert.equal(res.status, 201);
    genuine = {
      fields: { merchant_txn_data: made.callback.merchant_txn_data, wmx_signature: made.callback.wmx_signature },
      expected: { orderId: 'RT-PAID', amount: '77.00', currency: 'BDT', token: made.payment.token },
    };
  });
  after(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const rt of runtimes()) {
    it(`${rt.name}: payments, callbacks, webhooks and the JSON API`, { skip: rt.skip ?? false }, async () => {
      const body = JSON.stringify({ id: 'evt_rt', type: 'payment.succeeded', created: 1, data: { token: 'x' } });
      const ts = Math.floor(Date.now() / 1000);
      const header = `t=${ts},v1=${crypto.createHmac('sha256', c.signing_secret).update(`${ts}.${body}`).digest('hex')}`;
      const cfg = {
        runtime: rt.name,
        client: {
          baseUrl: t.url,
          wmxId: c.wmx_id,
          accessAppKey: c.access_app_key,
          username: c.username,
          password: c.password,
          apiKey: c.api_key,
          signingSecret: c.signing_secret,
        },
        genuine,
        webhook: { body, header },
      };
      const file = path.join(dir, `run-${rt.name}.mjs`);
      fs.writeFileSync(file, `const CONFIG_JSON = ${JSON.stringify(JSON.stringify(cfg))};\n${RUNNER}`);
      const [cmd, args] = rt.argv(file)!;
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          cmd,
          args,
          { cwd: dir, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
          (err, out, errOut) =>
            err ? reject(new Error(`${rt.name} failed: ${err.message}\n${errOut}`)) : resolve(out),
        ),
      );
      const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      assert.deepEqual(r, {
        selectedServer: true,
        tokenOk: true,
        paymentUrl: r.paymentUrl,
        pendingStatus: null,
        genuine: { ok: true, status: 'paid' },
        forged: { ok: false, reason: 'missing_signature' },
        webhookType: 'payment.succeeded',
        tampered: 'bad_signature',
        apiStatus: 'pending',
      });
      assert.match(String(r.paymentUrl), new RegExp(`^${t.url}/bank-payment-process/[0-9a-f]{40}$`));
    });
  }
});
