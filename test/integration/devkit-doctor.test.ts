/**
 * `wmx doctor --callback-url URL` run as the real CLI against a gateway on an ephemeral port, on
 * three callback handlers: one that trusts the callback (must be caught), one that verifies it with
 * check-payment (must pass), and the SDK's example shop (must pass). Whether the shop would have
 * shipped an unpaid order is also read from the handlers themselves (what they shipped).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { inheritedEnv, runWmx } from '../support/cli.js';
import { trustingHandler, verifyingHandler, type HandlerServer } from '../support/callback-handlers.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import type { DoctorReport } from '../../src/app/doctor.js';
import { startShop, type Shop } from '../../examples/shop/shop.js';

for (const dialect of dialects()) {
  describe(`wmx doctor (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    const env = inheritedEnv();
    before(async () => {
      t = await startGateway(dialect);
      c = await t.createMerchant({ sandbox: true });
    });
    after(async () => {
      await t.close();
    });

    const doctor = (callbackUrl: string, key = c.api_key, ...extra: string[]) =>
      runWmx(['doctor', '--callback-url', callbackUrl, '--gateway', t.url, '--api-key', key, ...extra], env);

    /** The shop starts an order as its checkout would: init with its own callback URL, stored. */
    async function startOrder(h: HandlerServer, orderId: string, amount: string): Promise<string> {
      const r = await initPayment(t, c, {
        merchant_order_id: orderId,
        amount,
        currency: 'BDT',
        callback_url: `${h.url}?order=${orderId}`,
      });
      assert.equal(r.json.statusCode, '1000', r.text);
      const token = r.json.token as string;
      h.orders.set(orderId, { orderId, amount, currency: 'BDT', token, paid: false, shipped: 0 });
      return token;
    }

    const byId = (r: DoctorReport) => new Map(r.checks.map((x) => [x.id, x]));

    it('catches a handler that trusts the callback: every forgery is named, exit 1', async () => {
      const h = await trustingHandler();
      try {
        const token = await startOrder(h, 'T-1001', '250.00');
        const run = await doctor(h.url, c.api_key, '--json');
        assert.equal(run.code, 1, run.stderr + run.stdout);
        const report = JSON.parse(run.stdout) as DoctorReport;
        assert.equal(report.verdict, 'unsafe');
        assert.deepEqual(report.order, {
          orderId: 'T-1001',
          amount: '250.00',
          currency: 'BDT',
          token,
          shopsOwn: true,
        });
        const checks = byId(report);
        for (const id of ['unpaid_token', 'unsigned', 'other_merchant', 'changed_amount', 'other_order']) {
          assert.equal(checks.get(id)?.result, 'fail', `${id}: ${JSON.stringify(checks.get(id))}`);
          assert.ok(checks.get(id)?.fix, `${id} says what to fix`);
        }
        assert.equal(checks.get('declined')?.result, 'pass');
        assert.equal(checks.get('genuine_paid')?.result, 'pass');
        assert.equal(checks.get('replay')?.result, 'warn');
        // What the doctor says is what happened: the shop shipped for forgeries, and again on the replay.
        assert.ok(h.shipments() >= 7, `shipped ${h.shipments()} times`);
        // The order's own payment is paid now (the genuine case), and check-payment says so.
        const p = await t.gw.payments.byToken(token);
        assert.equal(p?.status, 'approved');
      } finally {
        await h.close();
      }
    });

    it('passes a handler that asks check-payment and compares with its order: exit 0, shipped once', async () => {
      const h = await verifyingHandler({
        gatewayUrl: t.url,
        wmxId: c.wmx_id,
        accessAppKey: c.access_app_key,
        username: c.username,
        password: c.password,
      });
      try {
        await startOrder(h, 'V-2002', '99.99');
        const run = await doctor(h.url);
        assert.equal(run.code, 0, run.stderr + run.stdout);
        assert.match(run.stdout, /SAFE: your handler refused every forgery and accepted the genuine payment/);
        assert.doesNotMatch(run.stdout, /\bFAIL\b|\bWARN\b/);
        assert.match(run.stdout, /Order: V-2002 \(99\.99 BDT\), your shop's pending payment/);
        assert.equal(h.shipments(), 1, 'only the genuine payment was shipped');
        assert.equal(h.orders.get('V-2002')?.paid, true);
      } finally {
        await h.close();
      }
    });

    it('passes the SDK example shop (handleCallback), found by its callback URL with the order in the query', async () => {
      const shop: Shop = await startShop({
        baseUrl: t.url,
        wmxId: c.wmx_id,
        appKey: c.access_app_key,
        username: c.username,
        password: c.password,
        signingSecret: c.signing_secret,
        port: 0,
      });
      try {
        const res = await fetch(`${shop.url}/checkout`, {
          method: 'POST',
          body: new URLSearchParams({
            product: 'tea',
            name: 'Karim',
            email: 'karim@example.com',
            phone: '01711111111',
          }),
          redirect: 'manual',
        });
        await res.text();
        assert.equal(res.status, 303);
        const order = [...shop.orders.values()][0];
        assert.ok(order);
        const run = await doctor(`${shop.url}/callback`, c.api_key, '--json');
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const report = JSON.parse(run.stdout) as DoctorReport;
        assert.equal(report.verdict, 'safe', JSON.stringify(report.checks, null, 1));
        assert.equal(report.order.token, order.token);
        assert.equal(order.status, 'paid');
        assert.equal(order.fulfilments, 1);
      } finally {
        await shop.close();
      }
    });

    it('without an order of the shop it makes one: a trusting handler is still caught, a verifying one is inconclusive', async () => {
      const trusting = await trustingHandler();
      const verifying = await verifyingHandler({
        gatewayUrl: t.url,
        wmxId: c.wmx_id,
        accessAppKey: c.access_app_key,
        username: c.username,
        password: c.password,
      });
      try {
        const bad = await doctor(trusting.url);
        assert.equal(bad.code, 1, bad.stdout);
        assert.match(bad.stdout, /made by the doctor: your shop had no pending payment for this callback URL/);
        assert.match(bad.stdout, /UNSAFE/);
        const unsure = await doctor(verifying.url);
        assert.equal(unsure.code, 3, unsure.stdout);
        assert.match(unsure.stdout, /INCONCLUSIVE/);
        assert.match(unsure.stdout, /start a checkout on your shop without paying/);
        assert.equal(verifying.shipments(), 0);
      } finally {
        await trusting.close();
        await verifying.close();
      }
    });

    it('refuses what it cannot do, changing nothing: a live merchant, a paid --token, bad arguments', async () => {
      const h = await trustingHandler();
      try {
        const before = (await t.gw.paymentSearch.page({}, undefined, 100)).payments.length;
        const live = await t.createMerchant({ sandbox: false, domains: ['shop.example.com'] });
        const r1 = await doctor(h.url, live.api_key);
        assert.equal(r1.code, 1);
        assert.match(r1.stderr, /403 sandbox_only/);
        const r2 = await runWmx(['doctor', '--gateway', t.url, '--api-key', c.api_key], env);
        assert.equal(r2.code, 2);
        assert.match(r2.stderr, /--callback-url URL is required/);
        const r3 = await doctor('ftp://shop.example/cb');
        assert.equal(r3.code, 2);
        const r4 = await doctor(h.url, 'sk_wrong');
        assert.equal(r4.code, 1);
        assert.match(r4.stderr, /401/);
        assert.equal((await t.gw.paymentSearch.page({}, undefined, 100)).payments.length, before);
        assert.equal(h.shipments(), 0, 'nothing was posted to the handler');
        const unknown = await doctor(h.url, c.api_key, '--token', 'f'.repeat(40));
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /404/);
      } finally {
        await h.close();
      }
    });
  });
}
