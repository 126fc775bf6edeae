/**
 * The dashboard's Callback doctor (/dashboard/doctor): the gateway itself posts forged and genuine
 * callbacks to a sandbox merchant's handler and shows the report; a live merchant, a viewer and a
 * bad URL are refused with nothing posted or paid.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { consoleLogin, unescapeHtml, type ConsoleClient } from '../support/console.js';
import { trustingHandler, verifyingHandler, type HandlerServer } from '../support/callback-handlers.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';

const PASSWORD = 'a long dashboard passphrase';

for (const dialect of dialects()) {
  describe(`dashboard: Callback doctor (${dialect})`, () => {
    let t: TestGateway;
    let creds: IssuedCredentials;
    let owner: ConsoleClient;
    let viewer: ConsoleClient;
    let liveOwner: ConsoleClient;

    async function userFor(sandbox: boolean, role: 'owner' | 'viewer', tag: string) {
      const made = await t.gw.merchantAdmin.create({ name: `Doctor ${tag}`, domains: ['shop.test'], sandbox });
      const email = `${tag}@doctor.test`;
      await t.gw.accounts.createUser({
        kind: 'merchant',
        email,
        password: PASSWORD,
        name: tag,
        merchantId: made.merchant.id,
        role,
      });
      return { creds: made.credentials, client: await consoleLogin(t, 'merchant', email, PASSWORD) };
    }

    before(async () => {
      t = await startGateway(dialect);
      const o = await userFor(true, 'owner', 'owner');
      creds = o.creds;
      owner = o.client;
      viewer = (await userFor(true, 'viewer', 'viewer')).client;
      liveOwner = (await userFor(false, 'owner', 'live')).client;
    });
    after(async () => {
      await t.close();
    });

    async function startOrder(h: HandlerServer, orderId: string): Promise<void> {
      const r = await initPayment(t, creds, { merchant_order_id: orderId, amount: '500.00', callback_url: h.url });
      assert.equal(r.json.statusCode, '1000', r.text);
      h.orders.set(orderId, {
        orderId,
        amount: '500.00',
        currency: 'BDT',
        token: r.json.token as string,
        paid: false,
        shipped: 0,
      });
    }
    const rowOf = (page: string, id: string) =>
      new RegExp(`<tr id="check-${id}" class="doctor-(\\w+)">`).exec(page)?.[1];

    it('shows a trusting handler as unsafe, each forgery a Fail with what to fix', async () => {
      const h = await trustingHandler();
      try {
        await startOrder(h, 'D-1');
        const page = await owner.get('/dashboard/doctor');
        assert.equal(page.status, 200);
        assert.match(page.text, /<h1>Callback doctor<\/h1>/);
        const r = await owner.submit('/dashboard/doctor', '/dashboard/doctor', { callback_url: h.url, token: '' });
        assert.equal(r.status, 200, r.text);
        const text = unescapeHtml(r.text);
        assert.match(text, /UNSAFE: your handler accepted 5 forged or unpaid callbacks/);
        for (const id of ['unpaid_token', 'unsigned', 'other_merchant', 'changed_amount', 'other_order'])
          assert.equal(rowOf(r.text, id), 'fail', id);
        assert.equal(rowOf(r.text, 'genuine_paid'), 'pass');
        assert.match(text, /Never trust merchant_txn_data/);
        assert.ok(h.shipments() >= 6);
      } finally {
        await h.close();
      }
    });

    it('shows a verifying handler as safe, and it shipped once', async () => {
      const h = await verifyingHandler({
        gatewayUrl: t.url,
        wmxId: creds.wmx_id,
        accessAppKey: creds.access_app_key,
        username: creds.username,
        password: creds.password,
      });
      try {
        await startOrder(h, 'D-2');
        const r = await owner.submit('/dashboard/doctor', '/dashboard/doctor', { callback_url: h.url, token: '' });
        assert.equal(r.status, 200, r.text);
        assert.match(unescapeHtml(r.text), /SAFE: your handler refused every forgery and accepted the genuine payment/);
        assert.doesNotMatch(r.text, /class="doctor-fail"/);
        assert.equal(h.shipments(), 1);
      } finally {
        await h.close();
      }
    });

    it('refuses a viewer, a live merchant and a bad URL or token, posting nothing', async () => {
      const h = await trustingHandler();
      try {
        const before = (await t.gw.paymentSearch.page({}, undefined, 200)).payments.length;
        const v = await viewer.get('/dashboard/doctor');
        assert.equal(v.status, 200);
        assert.match(v.text, /Your role \(viewer\) can read this page only/);
        assert.doesNotMatch(v.text, /Run the doctor/);
        const csrf = await viewer.csrf('/dashboard/webhooks');
        const vr = await viewer.post('/dashboard/doctor', { callback_url: h.url, _csrf: csrf });
        assert.equal(vr.status, 403);
        const live = await liveOwner.get('/dashboard/doctor');
        assert.match(unescapeHtml(live.text), /runs for sandbox merchants only/);
        const lr = await liveOwner.post('/dashboard/doctor', {
          callback_url: h.url,
          _csrf: await liveOwner.csrf('/dashboard/webhooks'),
        });
        assert.equal(lr.status, 409);
        const bad = await owner.submit('/dashboard/doctor', '/dashboard/doctor', {
          callback_url: 'ftp://x',
          token: '',
        });
        assert.equal(bad.status, 422);
        assert.match(bad.text, /must start with http/);
        const badToken = await owner.submit('/dashboard/doctor', '/dashboard/doctor', {
          callback_url: h.url,
          token: 'xyz',
        });
        assert.equal(badToken.status, 422);
        const unknown = await owner.submit('/dashboard/doctor', '/dashboard/doctor', {
          callback_url: h.url,
          token: 'a'.repeat(40),
        });
        assert.equal(unknown.status, 404);
        const noCsrf = await owner.post('/dashboard/doctor', { callback_url: h.url });
        assert.equal(noCsrf.status, 403);
        assert.equal(h.shipments(), 0);
        assert.equal((await t.gw.paymentSearch.page({}, undefined, 200)).payments.length, before);
      } finally {
        await h.close();
      }
    });
  });
}
