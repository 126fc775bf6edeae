/**
 * The example shop (examples/shop) end to end over HTTP against a real gateway, on every dialect:
 * checkout → the hosted page paid by its form → the callback the gateway makes the browser send →
 * the order is paid once; webhooks verified and deduplicated; forged callbacks and webhooks refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../../src/app/merchant-admin.js';
import { dialects, startGateway, type TestGateway } from '../../../test/support/harness.js';
import { startShop, type Order, type Shop } from '../../../examples/shop/shop.js';
import { clientFor, finishOnPage, nodeSignature, type CallbackForm } from './helpers.js';

for (const dialect of dialects()) {
  describe(`example shop (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let shop: Shop;

    before(async () => {
      t = await startGateway(dialect);
      c = await t.createMerchant({ sandbox: true, name: 'Tea and Jamdani' });
      shop = await startShop({
        baseUrl: t.url,
        wmxId: c.wmx_id,
        appKey: c.access_app_key,
        username: c.username,
        password: c.password,
        apiKey: c.api_key,
        signingSecret: c.signing_secret,
        port: 0,
      });
      await clientFor(t.url, c).webhookEndpoints.create(`${shop.url}/webhooks`);
    });
    after(async () => {
      await shop.close();
      await t.close();
    });

    /** Checks out a product as a browser would; the order and where the shop sent the customer. */
    async function checkout(product = 'tea'): Promise<{ order: Order; paymentUrl: string }> {
      const res = await fetch(`${shop.url}/checkout`, {
        method: 'POST',
        body: new URLSearchParams({ product, name: 'Karim', email: 'karim@example.com', phone: '01711111111' }),
        redirect: 'manual',
      });
      await res.text();
      assert.equal(res.status, 303);
      const paymentUrl = res.headers.get('location') ?? '';
      const token = /\/bank-payment-process\/([0-9a-f]{40})$/.exec(paymentUrl)?.[1];
      assert.ok(paymentUrl.startsWith(`${t.url}/bank-payment-process/`) && token, paymentUrl);
      const order = [...shop.orders.values()].find((o) => o.token === token);
      assert.ok(order);
      assert.equal(order.status, 'awaiting_payment');
      return { order, paymentUrl };
    }

    /** The browser's self-submitting POST of the result form to the shop. */
    async function postCallback(form: CallbackForm | { action: string; fields: Record<string, string> }) {
      const res = await fetch(form.action, {
        method: 'POST',
        body: new URLSearchParams(form.fields),
        redirect: 'manual',
      });
      return { status: res.status, text: await res.text() };
    }

    const orderJson = async (id: string) => (await (await fetch(`${shop.url}/orders/${id}.json`)).json()) as Order;

    it('shows the products', async () => {
      const res = await fetch(shop.url);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /Sylhet tea, 500 g/);
      assert.match(html, /<form method="post" action="\/checkout">/);
    });

    it('checkout, payment on the hosted page, callback: the order is paid once, replays and webhooks change nothing', async () => {
      const { order, paymentUrl } = await checkout('jamdani');
      const form = await finishOnPage(paymentUrl, 'pay');
      assert.equal(form.action, `${shop.url}/callback?order=${order.id}`);

      const back = await postCallback(form);
      assert.equal(back.status, 200);
      assert.match(back.text, /Payment received/);
      let o = await orderJson(order.id);
      assert.equal(o.status, 'paid');
      assert.equal(o.paidVia, 'callback');
      assert.equal(o.amount, '2750.50');
      assert.equal(o.fulfilments, 1);

      // Back button, a double submit: the same answer, no second fulfilment.
      assert.match((await postCallback(form)).text, /Payment received/);
      // The webhook arrives too; then a redelivery of the same event.
      await t.gw.webhooks.worker.runOnce();
      o = await orderJson(order.id);
      assert.deepEqual(o.events, ['payment.succeeded']);
      const eventId = [...shop.webhooks.seen].at(-1)!;
      const [delivery] = await t.gw.webhooks.repo.deliveriesOfEvent(eventId);
      assert.ok(delivery);
      const merchant = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      assert.ok(await t.gw.webhooks.redeliver(merchant.id, delivery.id));
      const duplicates = shop.webhooks.duplicates;
      await t.gw.webhooks.worker.runOnce();
      assert.equal(shop.webhooks.duplicates, duplicates + 1, 'the redelivery was recognised by its event id');
      o = await orderJson(order.id);
      assert.deepEqual(o.events, ['payment.succeeded']);
      assert.equal(o.fulfilments, 1);
      const html = await (await fetch(`${shop.url}/orders/${order.id}`)).text();
      assert.match(html, /Status: <strong>paid<\/strong>/);
    });

    it('an order whose customer never comes back is paid by the webhook', async () => {
      const { order, paymentUrl } = await checkout();
      const form = await finishOnPage(paymentUrl, 'pay'); // the browser closes before posting it
      assert.equal((await orderJson(order.id)).status, 'awaiting_payment');
      await t.gw.webhooks.worker.runOnce();
      const o = await orderJson(order.id);
      assert.equal(o.status, 'paid');
      assert.equal(o.paidVia, 'webhook');
      assert.match((await postCallback(form)).text, /Payment received/);
      assert.equal((await orderJson(order.id)).fulfilments, 1);
    });

    it('a forged "paid" callback for an unpaid order is refused and the order stays unpaid', async () => {
      const { order } = await checkout();
      const claim = JSON.stringify({
        token: order.token,
        txn_status: '1000',
        merchant_order_id: order.id,
        merchant_ref_id: `ref-${order.id}`,
        amount: order.amount,
        currency: 'BDT',
        wmx_id: c.wmx_id,
      });
      const action = `${shop.url}/callback?order=${order.id}`;
      const unsigned = await postCallback({ action, fields: { merchant_txn_data: claim } });
      assert.equal(unsigned.status, 400);
      assert.match(unsigned.text, /Payment not confirmed/);
      // Even signed with the real secret (leaked, say), check-payment says it is not paid.
      const signed = await postCallback({
        action,
        fields: { merchant_txn_data: claim, wmx_signature: nodeSignature(c.signing_secret, claim) },
      });
      assert.equal(signed.status, 200);
      assert.match(signed.text, /Payment not finished yet/);
      // Another order's genuine paid callback, replayed against this order.
      const paid = await checkout();
      const genuine = await finishOnPage(paid.paymentUrl, 'pay');
      const misdirected = await postCallback({ action, fields: genuine.fields });
      assert.equal(misdirected.status, 400);
      const o = await orderJson(order.id);
      assert.equal(o.status, 'awaiting_payment');
      assert.equal(o.fulfilments, 0);
    });

    it('refuses forged webhooks, and shows a declined payment as declined', async () => {
      const { order, paymentUrl } = await checkout();
      const body = JSON.stringify({
        id: 'evt_forged1',
        type: 'payment.succeeded',
        created: Math.floor(Date.now() / 1000),
        data: { token: order.token, merchant_order_id: order.id, txn_status: '1000' },
      });
      for (const signature of [nodeSignature('whsec_wrong', body), 'garbage']) {
        const res = await fetch(`${shop.url}/webhooks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'wmx-signature': signature },
          body,
        });
        assert.equal(res.status, 400);
      }
      assert.equal((await orderJson(order.id)).status, 'awaiting_payment');

      const form = await finishOnPage(paymentUrl, 'pay', { card_number: '4000000000000002' });
      const back = await postCallback(form);
      assert.equal(back.status, 200);
      assert.match(back.text, /Payment declined/);
      assert.equal((await orderJson(order.id)).status, 'declined');
    });
  });
}
