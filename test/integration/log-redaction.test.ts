/**
 * Secrets never reach the logs (nor, on SQLite, the database files in clear): a realistic session —
 * merchant creation, legacy init and check-payment with credentials in urlencoded and JSON bodies, a
 * card payment, admin and merchant logins, JSON API calls with the Bearer key, a refund, some failed
 * logins and authentications — then every secret issued or typed during the run is searched for in
 * everything the gateway wrote.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { basicAuth, credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';

const ADMIN = { email: 'ops@gateway.test', password: 'adm1n-Pa55word-q7Zr', name: 'Ops' };
const OWNER = { email: 'owner@shop.test', password: 'owner-Pa55word-x4Kd', name: 'Owner' };
const CARD_NUMBER = '4111111111111111';
const CVV = '123';

/** A browser without JavaScript: a cookie jar and the CSRF token of the last page read. */
class Client {
  readonly cookies = new Map<string, string>();
  csrf = '';
  constructor(private readonly base: string) {}

  async request(p: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.base + p, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0] as string;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1).trim();
      if (value !== '') this.cookies.set(pair.slice(0, eq).trim(), value);
    }
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = (token[1] as string).replace(/&amp;/g, '&');
    return { status: res.status, text };
  }

  post(p: string, fields: Record<string, string>) {
    return this.request(p, { method: 'POST', body: new URLSearchParams({ _csrf: this.csrf, ...fields }) });
  }
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

for (const dialect of dialects()) {
  describe(`no secrets in logs (${dialect})`, () => {
    let t: TestGateway;
    let creds: IssuedCredentials;
    const secrets = new Map<string, string>();

    before(async () => {
      t = await startGateway(dialect);
    });
    after(() => t?.close());

    it('runs a realistic session', async () => {
      creds = await t.createMerchant({ name: 'Leak Test Shop', sandbox: true, domains: ['shop.test'] });
      const merchant = await t.gw.merchants.byWmxId(creds.wmx_id);
      assert.ok(merchant);
      await t.gw.accounts.createUser({ kind: 'admin', ...ADMIN, merchantId: null, role: 'admin' });
      await t.gw.accounts.createUser({ kind: 'merchant', ...OWNER, merchantId: merchant.id, role: 'owner' });

      // Legacy init: urlencoded, then JSON; check-payment both ways too.
      const form = await fetch(`${t.url}/init-payment-process`, {
        method: 'POST',
        body: new URLSearchParams(initFields(creds, { amount: '250' })),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
      assert.equal(form.statusCode, '1000');
      const token = form.token as string;
      const json = await postJson(`${t.url}/init-payment-process`, initFields(creds, { amount: '99' }));
      assert.equal(json.json.statusCode, '1000');
      // Wrong credentials and malformed requests too: error paths log differently.
      const wrong = await postJson(`${t.url}/init-payment-process`, initFields({ ...creds, password: 'x' }));
      assert.equal(wrong.json.statusCode, '2001');
      const broken = await fetch(`${t.url}/check-payment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"wmx_id":"${creds.wmx_id}","access_app_key":"${creds.access_app_key}",`,
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
      assert.equal(typeof broken.statusCode, 'string');

      // A misconfigured client: GET with the credentials in the query string. Told the method, nothing echoed.
      const query = new URLSearchParams({ ...credFields(creds), token }).toString();
      const misdirected = await fetch(`${t.url}/check-payment?${query}`);
      assert.equal(misdirected.status, 405);
      assert.equal(misdirected.headers.get('allow'), 'POST');
      const misText = await misdirected.text();
      assert.deepEqual(JSON.parse(misText), { statusCode: '2004', statusMsg: '/check-payment takes POST' });
      const unknown = await fetch(`${t.url}/no-such-page?password=${encodeURIComponent(creds.password)}&lang=bn`);
      assert.equal(unknown.status, 404);
      const unknownText = await unknown.text();
      assert.match(unknownText, /Route GET:\/no-such-page not found/);
      for (const text of [misText, unknownText]) {
        assert.ok(!text.includes(creds.password) && !text.includes(creds.access_app_key), text);
      }

      // The card payment on the hosted page (its 303 to the payment page followed, as a browser does).
      const paid = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams({
          method: 'card',
          card_number: CARD_NUMBER,
          expiry: '12/39',
          cvv: CVV,
          card_name: 'Rahim Uddin',
        }),
      });
      assert.match(await paid.text(), /Payment successful/);
      const checkForm = await fetch(`${t.url}/check-payment`, {
        method: 'POST',
        body: new URLSearchParams({ ...credFields(creds), token }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
      assert.equal(checkForm.txn_status, '1000');
      const checkJson = await postJson(`${t.url}/check-payment`, { ...credFields(creds), token });
      assert.equal(checkJson.json.txn_status, '1000');

      // Logins (one failed first), a page behind each session.
      const admin = new Client(t.url);
      await admin.request('/admin/login');
      assert.notEqual(
        (await admin.post('/admin/login', { email: ADMIN.email, password: 'wrong-password-1' })).status,
        303,
      );
      await admin.request('/admin/login');
      assert.equal((await admin.post('/admin/login', { email: ADMIN.email, password: ADMIN.password })).status, 303);
      assert.equal((await admin.request('/admin')).status, 200);
      const owner = new Client(t.url);
      await owner.request('/login');
      assert.equal((await owner.post('/login', { email: OWNER.email, password: OWNER.password })).status, 303);
      assert.equal((await owner.request('/dashboard')).status, 200);

      // The JSON API with the Bearer key: a list, a refund (no webhook endpoint registered), a bad key.
      const bearer = { authorization: `Bearer ${creds.api_key}` };
      const list = await fetch(`${t.url}/api/v1/payments`, { headers: bearer });
      assert.equal(list.status, 200);
      const refund = await postJson(
        `${t.url}/api/v1/payments/${token}/refunds`,
        { amount: '50.00' },
        {
          ...bearer,
          'idempotency-key': 'leak-test-1',
        },
      );
      assert.equal(refund.status, 201, JSON.stringify(refund.json));
      const badKey = await fetch(`${t.url}/api/v1/payments`, {
        headers: { authorization: `Bearer ${creds.api_key}x` },
      });
      assert.equal(badKey.status, 401);

      for (const [k, v] of Object.entries(creds)) if (k !== 'wmx_id' && k !== 'username') secrets.set(k, v);
      secrets.set('authorization (Basic)', basicAuth(creds));
      secrets.set('authorization base64', basicAuth(creds).slice('Basic '.length));
      secrets.set('admin password', ADMIN.password);
      secrets.set('owner password', OWNER.password);
      for (const [name, client] of [
        ['admin', admin],
        ['owner', owner],
      ] as const) {
        for (const [cookie, value] of client.cookies) {
          // Long enough to be a secret rather than a flag (session ids and CSRF tokens).
          if (value.length >= 16) secrets.set(`${name} cookie ${cookie}`, decodeURIComponent(value));
        }
      }
      secrets.set('card number', CARD_NUMBER);
      secrets.set('card number (grouped)', '4111 1111 1111 1111');
      assert.ok(
        [...secrets.keys()].some((k) => k.includes('wmx_session')),
        'sessions were issued',
      );
    });

    it('logged none of them', () => {
      assert.ok(t.logs.length > 10, 'the run was logged');
      const all = t.logs.join('');
      for (const [name, value] of secrets) assert.ok(!all.includes(value), `${name} appears in the logs`);
      // A bare "123" occurs in any log (ports, times): look for the CVV where it would be labelled.
      assert.doesNotMatch(all, /cvv\W{0,4}123/i, 'the CVV appears in the logs');
      assert.doesNotMatch(all, /api_key|access_app_key|signing_secret/i, 'a credential field name appears in the logs');
    });

    if (dialect === 'sqlite') {
      it('stored none of them in clear in the database files', () => {
        const files = fs.readdirSync(t.dataDir).filter((f) => f.startsWith('wmx.db'));
        assert.ok(files.length > 0);
        const bytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(t.dataDir, f))));
        for (const [name, value] of secrets) {
          if (name.includes('cookie')) continue; // session ids are stored hashed or not at all: checked below
          assert.equal(bytes.indexOf(value), -1, `${name} is stored in clear`);
        }
        for (const [name, value] of secrets) {
          if (name.includes('cookie')) assert.equal(bytes.indexOf(value), -1, `${name} is stored in clear`);
        }
        assert.equal(bytes.indexOf(`"cvv":"${CVV}"`), -1);
      });
    }
  });
}
