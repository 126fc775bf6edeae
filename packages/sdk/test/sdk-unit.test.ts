/**
 * The SDK without a gateway: its wire encoding, retries and timeouts against a fake fetch, webhook
 * signatures against node:crypto, and the package itself (builds without Node types, imports by its
 * name in plain Node, no Node-only APIs in its source).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import {
  signPayload,
  verifyWebhook,
  WebhookSignatureError,
  WmxClient,
  WmxConnectionError,
  WmxError,
  WmxResponseError,
  type FetchLike,
} from '../src/index.js';
import { nodeSignature, order } from './helpers.js';

const SDK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(SDK_DIR, '../..');

const CREDS = {
  baseUrl: 'https://gw.test/',
  wmxId: 'WMX0123456789abc',
  accessAppKey: 'a'.repeat(40),
  username: 'shop_0123456789',
  password: 'pässwörd with spaces+/=',
  apiKey: 'sk_test',
  signingSecret: 'whsec_test',
};

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

/** A fetch double: answers each request with the next of `answers` (the last repeats). */
function fakeFetch(answers: ((req: Seen) => Response | Promise<Response>)[]) {
  const seen: Seen[] = [];
  const f: FetchLike = async (url, init) => {
    const req = {
      url,
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: String(init.body ?? ''),
    };
    seen.push(req);
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    return answer(req);
  };
  return { f, seen };
}

const json =
  (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const SERVER = json({
  selectedServer: true,
  url: 'https://init.gw.test/init-payment-process',
  bank_payment_url: 'https://pay.gw.test/bank-payment-process/',
});

describe('@wmx-gateway/sdk unit', () => {
  it('sends init with the exact legacy fields, form-urlencoded, to the URL check-server names', async () => {
    const { f, seen } = fakeFetch([SERVER, json({ statusCode: '1000', statusMsg: 'Success', token: 'ab'.repeat(20) })]);
    const client = new WmxClient({ ...CREDS, fetch: f });
    const r = await client.initPayment(
      order({
        orderId: 'A-1',
        amount: '99.5',
        currency: 'usd',
        callbackUrl: 'https://shop.example/cb?o=A-1',
        customer: { name: 'রহিম', email: 'r@example.com', phone: '017', address: 'Road 1', postcode: '1207' },
        shipping: { name: 'R', postcode: '1000' },
        emi: { period: 6, bank: 'dbbl' },
        extraJson: { note: 'x' },
        refId: 'ref-A-1',
        pageExtra: 'u1',
      }),
    );
    assert.equal(seen[0]!.url, 'https://gw.test/check-server');
    const init = seen[1]!;
    assert.equal(init.url, 'https://init.gw.test/init-payment-process');
    assert.equal(init.method, 'POST');
    assert.match(init.headers.get('content-type') ?? '', /^application\/x-www-form-urlencoded/);
    const fields = Object.fromEntries(new URLSearchParams(init.body));
    assert.deepEqual(fields, {
      wmx_id: CREDS.wmxId,
      access_app_key: CREDS.accessAppKey,
      authorization: 'Basic ' + Buffer.from(`${CREDS.username}:${CREDS.password}`, 'utf8').toString('base64'),
      merchant_order_id: 'A-1',
      merchant_ref_id: 'ref-A-1',
      app_name: 'shop.example',
      cart_info: `${CREDS.wmxId},shop.example,shop.example`,
      customer_name: 'রহিম',
      customer_email: 'r@example.com',
      customer_phone: '017',
      customer_add: 'Road 1',
      customer_postcode: '1207',
      shipping_name: 'R',
      shipping_postCode: '1000',
      product_desc: fields.product_desc,
      amount: '99.50',
      currency: 'USD',
      options: Buffer.from('s=shop.example,i=').toString('base64'),
      callback_url: 'https://shop.example/cb?o=A-1',
      extra_json: '{"note":"x","emi_period":6,"emi_selected_bank":"dbbl"}',
    });
    assert.deepEqual(r, {
      token: 'ab'.repeat(20),
      paymentUrl: `https://pay.gw.test/bank-payment-process/${'ab'.repeat(20)}/u1`,
      refId: 'ref-A-1',
      orderId: 'A-1',
      amount: '99.50',
      currency: 'USD',
    });
    const fresh = fakeFetch([SERVER, json({ statusCode: '1000', statusMsg: 'Success', token: 'cd'.repeat(20) })]);
    const generated = await new WmxClient({ ...CREDS, fetch: fresh.f }).initPayment(order());
    assert.match(generated.refId, /^[0-9a-f]{13}$/);
    assert.equal(new URLSearchParams(fresh.seen[1]!.body).get('merchant_ref_id'), generated.refId);
  });

  it('retries what is safe to retry, and only that', async () => {
    const unavailable = () => new Response('<h1>502</h1>', { status: 502, headers: { 'retry-after': '0' } });
    const ok = json({ data: [], next_cursor: null });
    const three = fakeFetch([unavailable, unavailable, ok]);
    await new WmxClient({ ...CREDS, fetch: three.f }).payments.list();
    assert.equal(three.seen.length, 3, 'two retries by default');

    const none = fakeFetch([unavailable, ok]);
    await assert.rejects(new WmxClient({ ...CREDS, fetch: none.f, maxRetries: 0 }).payments.list(), (e: unknown) => {
      assert.ok(e instanceof Error && e.name === 'WmxApiError');
      return true;
    });
    assert.equal(none.seen.length, 1);

    const down: FetchLike = async () => {
      throw new TypeError('fetch failed');
    };
    let deletes = 0;
    const counted: FetchLike = (u, i) => (deletes++, down(u, i));
    await assert.rejects(
      new WmxClient({ ...CREDS, fetch: counted }).webhookEndpoints.delete('whe_1'),
      WmxConnectionError,
    );
    assert.equal(deletes, 1, 'a DELETE is never repeated');

    const limited = fakeFetch([
      json({ statusCode: '2010', statusMsg: 'Too many requests' }, 200, { 'retry-after': '60' }),
    ]);
    await assert.rejects(new WmxClient({ ...CREDS, fetch: limited.f }).checkPayment('t'), (e: unknown) => {
      assert.ok(e instanceof WmxError);
      assert.equal(e.code, '2010');
      assert.equal(e.retryAfterSec, 60);
      return true;
    });
    assert.equal(limited.seen.length, 1, 'a Retry-After beyond 10 s is left to the caller');

    const auth = fakeFetch([json({ statusCode: '2001', statusMsg: 'Authentication failed' })]);
    await assert.rejects(new WmxClient({ ...CREDS, fetch: auth.f }).checkPayment('t'), WmxError);
    assert.equal(auth.seen.length, 1, 'a business error is not retried');
  });

  it('times out a request that hangs', async () => {
    const hang: FetchLike = (_u, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const client = new WmxClient({ ...CREDS, fetch: hang, timeoutMs: 50, maxRetries: 0 });
    // AbortSignal.timeout's timer does not keep Node alive (a real socket would).
    const alive = setTimeout(() => undefined, 5_000);
    try {
      await assert.rejects(client.checkServer(), (e: unknown) => e instanceof WmxConnectionError && e.timedOut);
    } finally {
      clearTimeout(alive);
    }
  });

  it('refuses answers that break the protocol instead of guessing', async () => {
    const record = json({ statusCode: 1000, token: 't', wmx_id: CREDS.wmxId, merchant_req_amount: 10 });
    await assert.rejects(new WmxClient({ ...CREDS, fetch: fakeFetch([record]).f }).checkPayment('t'), WmxResponseError);
    const html = () => new Response('<html>', { status: 200 });
    await assert.rejects(new WmxClient({ ...CREDS, fetch: fakeFetch([html]).f }).checkPayment('t'), WmxResponseError);
  });

  it('validates its options and keeps secrets out of logs', () => {
    assert.throws(() => new WmxClient({ ...CREDS, wmxId: '' }), TypeError);
    assert.throws(() => new WmxClient({ ...CREDS, baseUrl: 'ftp://x' }), TypeError);
    assert.throws(() => new WmxClient({ ...CREDS, baseUrl: 'not a url' }), TypeError);
    const client = new WmxClient(CREDS);
    assert.equal(client.baseUrl, 'https://gw.test');
    const shown = inspect(client, { depth: 5 }) + JSON.stringify(client);
    for (const secret of [CREDS.password, CREDS.accessAppKey, CREDS.apiKey, CREDS.signingSecret])
      assert.ok(!shown.includes(secret), `${secret} is not shown`);
  });

  it('signs and verifies webhooks as node:crypto does, with several v1 during a rotation', async () => {
    const body = '{"id":"evt_1","type":"payment.succeeded","created":1767225600,"data":{"token":"x"}}';
    const t = 1767225600;
    assert.equal(await signPayload('whsec_a', body, t), nodeSignature('whsec_a', body, t));
    const now = t * 1000;
    const event = await verifyWebhook(body, nodeSignature('whsec_a', body, t), 'whsec_a', { now });
    assert.equal(event.id, 'evt_1');
    const rotated = `t=${t}, v1=${nodeSignature('whsec_old', body, t).split('v1=')[1]}, v1=${nodeSignature('whsec_a', body, t).split('v1=')[1]}`;
    assert.equal((await verifyWebhook(body, rotated, 'whsec_a', { now: new Date(now) })).id, 'evt_1');
    await assert.rejects(
      verifyWebhook(body, rotated, 'whsec_other', { now }),
      (e: unknown) => e instanceof WebhookSignatureError && e.reason === 'bad_signature',
    );
    const notEvent = '[1,2]';
    await assert.rejects(
      verifyWebhook(notEvent, nodeSignature('whsec_a', notEvent, t), 'whsec_a', { now }),
      (e: unknown) => e instanceof WebhookSignatureError && e.reason === 'malformed_body',
    );
  });

  it('uses no Node-only API in its source', () => {
    const dir = path.join(SDK_DIR, 'src');
    for (const file of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      assert.doesNotMatch(text, /from ['"]node:|\brequire\(|\bBuffer\b|(?<![-\w])process\.\w/, file);
      for (const m of text.matchAll(/from '([^']+)'/g))
        assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${file} imports ${m[1]}`);
    }
  });

  it('builds against the DOM library alone (no Node types) and imports by its package name in plain Node', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-sdk-build-'));
    try {
      const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
      execFileSync(process.execPath, [
        tsc,
        '-p',
        path.join(SDK_DIR, 'tsconfig.json'),
        '--outDir',
        path.join(tmp, 'dist'),
      ]);
      const pkg = JSON.parse(fs.readFileSync(path.join(SDK_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(pkg.files, ['dist']);
      assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
      fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify(pkg));
      assert.ok(fs.existsSync(path.join(tmp, 'dist/index.d.ts')));
      // A self-reference resolves through "exports", as an installed package would.
      fs.writeFileSync(
        path.join(tmp, 'check.mjs'),
        `import { WmxClient, signPayload, verifyWebhook } from '@wmx-gateway/sdk';
const body = '{"id":"evt_1","type":"payment.failed","created":1,"data":{}}';
const e = await verifyWebhook(body, await signPayload('s', body), 's');
new WmxClient({ baseUrl: 'https://x.test', wmxId: 'w', accessAppKey: 'k', username: 'u', password: 'p' });
console.log(e.type);`,
      );
      const out = execFileSync(process.execPath, ['check.mjs'], { cwd: tmp, encoding: 'utf8' });
      assert.equal(out.trim(), 'payment.failed');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
