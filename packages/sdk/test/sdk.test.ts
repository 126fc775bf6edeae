/**
 * The SDK against a real gateway on an ephemeral port, on every dialect: the legacy protocol,
 * handleCallback with the callback the gateway really sends and with forged ones, webhooks as
 * delivered, and the JSON API (refunds with idempotent retries, events, error mapping).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../../src/app/merchant-admin.js';
import { dialects, startGateway, type TestGateway } from '../../../test/support/harness.js';
import { storedRefunds } from '../../../test/support/api-client.js';
import {
  verifyWebhook,
  WebhookSignatureError,
  WmxApiError,
  WmxError,
  type CallbackVerdict,
  type InitPaymentResult,
  type WmxClient,
} from '../src/index.js';
import {
  clientFor,
  DECLINED_CARD,
  finishOnPage,
  nodeSignature,
  order,
  startRawSink,
  type CallbackForm,
} from './helpers.js';

/** Asserts a verdict's ok/status/reason (the parts a shop acts on). */
function assertVerdict(v: CallbackVerdict, status: string, reason?: string) {
  assert.equal(
    v.status,
    status,
    `verdict ${JSON.stringify({ status: v.status, reason: 'reason' in v ? v.reason : undefined })}`,
  );
  assert.equal(v.ok, status === 'paid');
  if (reason !== undefined) assert.equal(!v.ok && v.reason, reason);
}

for (const dialect of dialects()) {
  describe(`@wmx-gateway/sdk against the gateway (${dialect})`, () => {
    let t: TestGateway;
    let a: IssuedCredentials;
    let b: IssuedCredentials;
    let shop: WmxClient;
    let other: WmxClient;
    let sink: Awaited<ReturnType<typeof startRawSink>>;

    before(async () => {
      t = await startGateway(dialect);
      a = await t.createMerchant({ sandbox: true, name: 'SDK Shop' });
      b = await t.createMerchant({ sandbox: true, name: 'Other Shop' });
      shop = clientFor(t.url, a);
      other = clientFor(t.url, b);
      sink = await startRawSink();
    });
    after(async () => {
      await t.close();
      await sink.close();
    });

    /** A payment of `order()` paid on the hosted page, with the callback the gateway sent. */
    async function paid(overrides: Parameters<typeof order>[0] = {}, client = shop) {
      const init = await client.initPayment(order(overrides));
      const callback = await finishOnPage(init.paymentUrl, 'pay');
      return { init, callback };
    }

    describe('legacy protocol', () => {
      it('checkServer tells where init goes and the payment page base; maintenance makes initPayment refuse', async () => {
        assert.deepEqual(await shop.checkServer(), {
          selectedServer: true,
          url: `${t.url}/init-payment-process`,
          bank_payment_url: `${t.url}/bank-payment-process`,
        });
        await t.gw.referenceRepo.setSetting('maintenance_message', 'Upgrading the bank link');
        await t.gw.reference.refresh();
        try {
          assert.deepEqual(await shop.checkServer(), { selectedServer: false, statusMsg: 'Upgrading the bank link' });
          await assert.rejects(shop.initPayment(order()), (e: unknown) => {
            assert.ok(e instanceof WmxError);
            assert.equal(e.code, '3001');
            assert.match(e.message, /Upgrading the bank link/);
            return true;
          });
        } finally {
          await t.gw.referenceRepo.deleteSetting('maintenance_message');
          await t.gw.reference.refresh();
        }
      });

      it('initPayment gives the token and the payment page URL; checkPayment follows the payment to paid', async () => {
        const init = await shop.initPayment(order({ amount: '100.5' }));
        assert.match(init.token, /^[0-9a-f]{40}$/);
        assert.equal(init.paymentUrl, `${t.url}/bank-payment-process/${init.token}`);
        assert.equal(init.amount, '100.50');
        assert.equal(init.currency, 'BDT');
        const page = await fetch(init.paymentUrl);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /SDK Shop/);

        const before = await shop.checkPayment(init.token);
        assert.equal(before.statusCode, 1008);
        assert.equal(before.txn_status, null);
        assert.equal(before.merchant_req_amount, '100.50');
        assert.equal(before.merchant_order_id, init.orderId);
        assert.equal(before.merchant_ref_id, init.refId);
        assert.equal(before.wmx_id, a.wmx_id);
        for (const [k, v] of Object.entries(before))
          if (k !== 'statusCode') assert.ok(v === null || typeof v === 'string', `${k} is a string or null`);

        await finishOnPage(init.paymentUrl, 'pay');
        const after = await shop.checkPayment(init.token);
        assert.equal(after.statusCode, 1000);
        assert.equal(after.txn_status, '1000');
        assert.equal(after.card_details, '411111******1111');
        assert.equal(after.bank_amount_bdt, '100.50');
      });

      it('takes integer minor units, refuses float amounts before sending anything, and retries init safely', async () => {
        const minor = await shop.initPayment(order({ amount: undefined, amountMinor: 12345 }));
        assert.equal((await shop.checkPayment(minor.token)).merchant_req_amount, '123.45');

        let calls = 0;
        const counting = clientFor(t.url, a, { fetch: (u, i) => (calls++, fetch(u, i)) });
        await assert.rejects(counting.initPayment(order({ amount: 10.5 as unknown as string })), TypeError);
        await assert.rejects(counting.initPayment(order({ amount: '10.001' })), TypeError);
        await assert.rejects(counting.initPayment(order({ amount: undefined, amountMinor: 10.5 })), TypeError);
        assert.equal(calls, 0, 'nothing reached the gateway');

        const same = order({ refId: 'ref-retry-1' });
        const first = await shop.initPayment(same);
        const again = await shop.initPayment(same);
        assert.equal(again.token, first.token, 'the same merchant_ref_id and fields: the same payment');
      });

      it('maps legacy errors to WmxError with their code', async () => {
        const wrong = clientFor(t.url, { ...a, password: 'not-the-password-at-all' });
        await assert.rejects(wrong.initPayment(order()), (e: unknown) => e instanceof WmxError && e.code === '2001');
        await assert.rejects(
          wrong.checkPayment('0'.repeat(40)),
          (e: unknown) => e instanceof WmxError && e.code === '2001',
        );
        await assert.rejects(
          shop.checkPayment('0'.repeat(40)),
          (e: unknown) => e instanceof WmxError && e.code === '2009',
        );
        await assert.rejects(
          shop.initPayment(order({ currency: 'XYZ' })),
          (e: unknown) => e instanceof WmxError && e.code === '2006' && e.field === 'currency',
        );
        const { init } = await paid({}, other);
        await assert.rejects(shop.checkPayment(init.token), (e: unknown) => e instanceof WmxError && e.code === '2009');
      });

      it('pageExtra goes on the payment page URL and comes back as username', async () => {
        const init = await shop.initPayment(order({ pageExtra: 'alice01' }));
        assert.equal(init.paymentUrl, `${t.url}/bank-payment-process/${init.token}/alice01`);
        const callback = await finishOnPage(init.paymentUrl, 'pay');
        const v = await shop.handleCallback(callback.fields, init);
        assertVerdict(v, 'paid');
        assert.equal(v.ok && v.callback.username, 'alice01');
      });
    });

    describe('handleCallback', () => {
      let genuine: { init: InitPaymentResult; callback: CallbackForm };
      before(async () => {
        genuine = await paid({ amount: '250.50' });
      });

      it('a genuine callback of a paid order is paid, in every body form, and again on a replay', async () => {
        const { init, callback } = genuine;
        assert.equal(callback.action, `https://shop.test/callback?order=${init.orderId}`);
        const v = await shop.handleCallback(callback.fields, init);
        assertVerdict(v, 'paid');
        assert.ok(v.ok);
        assert.equal(v.record.token, init.token);
        assert.equal(v.record.txn_status, '1000');
        assert.equal(v.callback.merchant_order_id, init.orderId);
        const form = new URLSearchParams(callback.fields);
        assertVerdict(await shop.handleCallback(form, init), 'paid');
        assertVerdict(await shop.handleCallback(form.toString(), init), 'paid');
        // Express's extended parser hands repeated keys over as arrays.
        const arrays = {
          merchant_txn_data: [callback.fields.merchant_txn_data],
          wmx_signature: [callback.fields.wmx_signature],
        };
        assertVerdict(await shop.handleCallback(arrays, init), 'paid');
      });

      it('compares amounts exactly as decimals, never as floats or strings', async () => {
        const { init, callback } = genuine;
        const e = { orderId: init.orderId, currency: 'bdt', token: init.token };
        assertVerdict(await shop.handleCallback(callback.fields, { ...e, amount: '250.5' }), 'paid');
        assertVerdict(await shop.handleCallback(callback.fields, { ...e, amountMinor: 25050n }), 'paid');
        assertVerdict(
          await shop.handleCallback(callback.fields, { ...e, amount: '250.49' }),
          'rejected',
          'amount_mismatch',
        );
        assertVerdict(
          await shop.handleCallback(callback.fields, { ...e, amount: '25.05' }),
          'rejected',
          'amount_mismatch',
        );
        await assert.rejects(
          shop.handleCallback(callback.fields, { ...e, amount: 250.5 as unknown as string }),
          TypeError,
        );
      });

      it('refuses a callback for another order, currency or token', async () => {
        const { init, callback } = genuine;
        assertVerdict(
          await shop.handleCallback(callback.fields, { ...init, orderId: 'ord-other' }),
          'rejected',
          'order_mismatch',
        );
        assertVerdict(
          await shop.handleCallback(callback.fields, { ...init, currency: 'USD' }),
          'rejected',
          'currency_mismatch',
        );
        const unpaid = await shop.initPayment(order());
        assertVerdict(await shop.handleCallback(callback.fields, unpaid), 'rejected', 'token_mismatch');
        // Without the stored token, the order id still binds it.
        const { token: _t, ...noToken } = unpaid;
        assertVerdict(await shop.handleCallback(callback.fields, noToken), 'rejected', 'order_mismatch');
      });

      it('an unpaid order claimed paid by a correctly signed forgery is not paid (check-payment decides)', async () => {
        const init = await shop.initPayment(order());
        const claim = JSON.stringify({
          token: init.token,
          txn_status: '1000',
          merchant_order_id: init.orderId,
          merchant_ref_id: init.refId,
          amount: init.amount,
          currency: 'BDT',
          wmx_id: a.wmx_id,
        });
        const forged = { merchant_txn_data: claim, wmx_signature: nodeSignature(a.signing_secret, claim) };
        const v = await shop.handleCallback(forged, init);
        assertVerdict(v, 'pending', 'not_paid');
        assert.equal(!v.ok && v.record?.txn_status, null);
        // Unsigned, with signatures relaxed: still not paid.
        const relaxed = await shop.handleCallback({ merchant_txn_data: claim }, init, { requireSignature: false });
        assertVerdict(relaxed, 'pending', 'not_paid');
      });

      it('checks wmx_signature: tampered, missing, another merchant’s and stale signatures are refused', async () => {
        const { init, callback } = genuine;
        const tampered = callback.fields.merchant_txn_data!.replace('"250.50"', '"2.50"');
        assert.notEqual(tampered, callback.fields.merchant_txn_data);
        assertVerdict(
          await shop.handleCallback({ ...callback.fields, merchant_txn_data: tampered }, init),
          'rejected',
          'bad_signature',
        );
        assertVerdict(
          await shop.handleCallback({ ...callback.fields, wmx_signature: 'garbage' }, init),
          'rejected',
          'bad_signature',
        );
        assertVerdict(
          await shop.handleCallback({ merchant_txn_data: callback.fields.merchant_txn_data }, init),
          'rejected',
          'missing_signature',
        );
        // Relaxed: the missing signature is tolerated, check-payment still decides.
        assertVerdict(
          await shop.handleCallback({ merchant_txn_data: callback.fields.merchant_txn_data }, init, {
            requireSignature: false,
          }),
          'paid',
        );
        const hourLater = Date.now() + 3_600_000;
        assertVerdict(
          await shop.handleCallback(callback.fields, init, { now: hourLater }),
          'rejected',
          'stale_signature',
        );
        assertVerdict(await shop.handleCallback(callback.fields, init, { now: hourLater, toleranceSec: 7200 }), 'paid');

        // Another merchant's genuine paid callback, posted to this shop.
        const theirs = await paid({}, other);
        assertVerdict(await shop.handleCallback(theirs.callback.fields, theirs.init), 'rejected', 'bad_signature');
        const noSecret = clientFor(t.url, a, { signingSecret: undefined });
        assertVerdict(await noSecret.handleCallback(theirs.callback.fields, theirs.init), 'rejected', 'unknown_token');
        assertVerdict(
          await noSecret.handleCallback(theirs.callback.fields, { ...theirs.init, token: init.token }),
          'rejected',
          'token_mismatch',
        );
      });

      it('a record of another merchant (a gateway answer not for this wmx_id) is refused', async () => {
        const { init, callback } = genuine;
        // A proxy or misconfigured gateway answering for someone else: the record's wmx_id differs.
        const lying = clientFor(t.url, a, {
          fetch: async (u, i) => {
            const res = await fetch(u, i);
            if (!u.endsWith('/check-payment')) return res;
            const json = (await res.json()) as Record<string, unknown>;
            return new Response(JSON.stringify({ ...json, wmx_id: b.wmx_id }), { headers: res.headers });
          },
        });
        assertVerdict(await lying.handleCallback(callback.fields, init), 'rejected', 'merchant_mismatch');
      });

      it('declined and cancelled payments come back as such', async () => {
        const declined = await shop.initPayment(order());
        const dc = await finishOnPage(declined.paymentUrl, 'pay', { card_number: DECLINED_CARD });
        assertVerdict(await shop.handleCallback(dc.fields, declined), 'declined', 'not_paid');
        const cancelled = await shop.initPayment(order());
        const cc = await finishOnPage(cancelled.paymentUrl, 'cancel');
        const v = await shop.handleCallback(cc.fields, cancelled);
        assertVerdict(v, 'cancelled', 'not_paid');
        assert.equal(v.callback?.txn_status, '1009');
      });

      it('a body without the protocol JSON is malformed', async () => {
        const { init } = genuine;
        for (const body of [{}, { merchant_txn_data: 'not json' }, { merchant_txn_data: '{"token":"abc"}' }, 'x=1'])
          assertVerdict(await shop.handleCallback(body, init), 'rejected', 'malformed');
      });
    });

    describe('webhooks and the JSON API', () => {
      let endpointId: string;
      before(async () => {
        const ep = await shop.webhookEndpoints.create(sink.url);
        endpointId = ep.id;
        assert.match(ep.id, /^whe_/);
        assert.equal(ep.url, sink.url);
      });

      it('verifyWebhook accepts a real delivery and refuses tampered, wrongly keyed, stale and malformed ones', async () => {
        sink.received.length = 0;
        const { init } = await paid();
        assert.ok((await t.gw.webhooks.worker.runOnce()) >= 1);
        const delivery = sink.received.find((d) => d.raw.toString('utf8').includes(init.token));
        assert.ok(delivery, 'the payment.succeeded delivery arrived');
        const header = delivery.headers['wmx-signature'];

        const event = await verifyWebhook(delivery.raw.toString('utf8'), header, a.signing_secret);
        assert.equal(event.type, 'payment.succeeded');
        assert.equal(event.id, delivery.headers['wmx-event-id']);
        assert.ok(
          event.type === 'payment.succeeded' && event.data.token === init.token && event.data.txn_status === '1000',
        );
        assert.deepEqual(await shop.verifyWebhook(new Uint8Array(delivery.raw), header), event, 'bytes verify too');

        const rejects = (p: Promise<unknown>, reason: string) =>
          assert.rejects(p, (e: unknown) => e instanceof WebhookSignatureError && e.reason === reason);
        const raw = delivery.raw.toString('utf8');
        await rejects(verifyWebhook(raw.replace('"1000"', '"1001"'), header, a.signing_secret), 'bad_signature');
        await rejects(verifyWebhook(raw, header, b.signing_secret), 'bad_signature');
        const ts = Number(/t=(\d+)/.exec(String(header))?.[1]);
        await rejects(verifyWebhook(raw, header, a.signing_secret, { now: (ts + 301) * 1000 }), 'stale_timestamp');
        await rejects(verifyWebhook(raw, header, a.signing_secret, { now: (ts - 301) * 1000 }), 'stale_timestamp');
        await verifyWebhook(raw, header, a.signing_secret, { now: (ts + 299) * 1000 });
        for (const bad of [undefined, '', 'v1=abc', `t=${ts}`, `t=${ts},v1=zz`, 'sha256=deadbeef'])
          await rejects(verifyWebhook(raw, bad, a.signing_secret), 'malformed_header');

        // The events API lists the same event, exactly as delivered.
        const listed = await shop.events.list({ type: 'payment.succeeded' });
        assert.ok(listed.data.some((e) => e.id === event.id));
        assert.ok(listed.data.every((e) => e.type === 'payment.succeeded'));
        assert.deepEqual(await shop.events.get(event.id), event);
        await assert.rejects(shop.events.get('evt_nope'), (e: unknown) => e instanceof WmxApiError && e.status === 404);
      });

      it('payments: get, list with filters and cursor pagination', async () => {
        const { init } = await paid({ amount: '77.00' });
        const p = await shop.payments.get(init.token);
        assert.equal(p.status, 'approved');
        assert.equal(p.amount, '77.00');
        assert.equal(p.merchant_order_id, init.orderId);
        const byOrder = await shop.payments.list({ q: init.orderId });
        assert.deepEqual(
          byOrder.data.map((x) => x.token),
          [init.token],
        );
        const pageOne = await shop.payments.list({ status: 'approved', limit: 1 });
        assert.equal(pageOne.data.length, 1);
        assert.ok(pageOne.next_cursor, 'more than one approved payment: a next page');
        const all: string[] = [];
        for await (const x of shop.payments.iterate({ status: 'approved', limit: 2 })) all.push(x.token);
        assert.ok(all.includes(init.token));
        assert.equal(new Set(all).size, all.length, 'no payment twice across pages');
        assert.ok(all.length >= 3);
        await assert.rejects(
          shop.payments.get('f'.repeat(40)),
          (e: unknown) => e instanceof WmxApiError && e.status === 404,
        );
      });

      it('refunds: the same Idempotency-Key gives the same refund; a lost answer is retried with the same key', async () => {
        const { init } = await paid({ amount: '100.00' });
        const first = await shop.refunds.create(init.token, { amount: '40', idempotencyKey: 'refund-1' });
        assert.equal(first.status, 'succeeded');
        assert.equal(first.amount, '40.00');
        const again = await shop.refunds.create(init.token, { amount: '40.00', idempotencyKey: 'refund-1' });
        assert.deepEqual(again, first, 'the same refund comes back');
        assert.equal((await storedRefunds(t, init.token)).length, 1, 'only one refund exists');
        await assert.rejects(
          shop.refunds.create(init.token, { amount: '41.00', idempotencyKey: 'refund-1' }),
          (e: unknown) => e instanceof WmxApiError && e.status === 409 && e.code === 'idempotency_conflict',
        );

        // The first answer is lost on the way back: the SDK retries with the key it generated.
        const keys: string[] = [];
        let lost = false;
        const flaky = clientFor(t.url, a, {
          fetch: async (u, i) => {
            const res = await fetch(u, i);
            if (i.method === 'POST') keys.push(new Headers(i.headers).get('idempotency-key') ?? '');
            if (i.method === 'POST' && !lost) {
              lost = true;
              await res.text();
              throw new TypeError('fetch failed: socket hang up');
            }
            return res;
          },
        });
        const retried = await flaky.refunds.create(init.token, { amount: '30.00' });
        assert.equal(keys.length, 2);
        assert.equal(keys[0], keys[1], 'the retry carried the same Idempotency-Key');
        assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
        assert.equal(retried.amount, '30.00');
        assert.equal((await storedRefunds(t, init.token)).length, 2, 'the retry made no second refund');
        assert.deepEqual(await shop.refunds.get(retried.id), retried);
        assert.equal((await shop.payments.get(init.token)).refunded_bdt, '70.00');
        await assert.rejects(
          shop.refunds.create(init.token, { amount: '30.01' }),
          (e: unknown) => e instanceof WmxApiError && e.status === 422 && e.code === 'refund_exceeds_refundable',
        );

        // The refund's webhook event, verified.
        sink.received.length = 0;
        await t.gw.webhooks.worker.runOnce();
        const events = await Promise.all(
          sink.received.map((d) => verifyWebhook(d.raw, d.headers['wmx-signature'], a.signing_secret)),
        );
        const refunded = events.filter((e) => e.type === 'refund.succeeded');
        assert.deepEqual(
          refunded.map((e) => e.type === 'refund.succeeded' && e.data.id).sort(),
          [first.id, retried.id].sort(),
        );
        assert.ok(refunded.every((e) => e.type === 'refund.succeeded' && e.data.payment?.token === init.token));
      });

      it('maps API errors: a bad API key is WmxApiError 401; no API key is a TypeError', async () => {
        const bad = clientFor(t.url, a, { apiKey: 'sk_not-a-real-key' });
        await assert.rejects(bad.payments.list(), (e: unknown) => {
          assert.ok(e instanceof WmxApiError);
          assert.equal(e.status, 401);
          assert.equal(e.code, 'unauthenticated');
          return true;
        });
        await assert.rejects(clientFor(t.url, a, { apiKey: undefined }).payments.list(), TypeError);
        const balance = await shop.getBalance();
        assert.equal(balance.currency, 'BDT');
        assert.match(balance.available, /^\d+\.\d{2}$/);
        assert.deepEqual((await shop.listSettlements()).data, []);
        const removed = await shop.webhookEndpoints.delete(endpointId);
        assert.equal(removed.enabled, false);
        assert.deepEqual(
          (await shop.webhookEndpoints.list()).filter((e) => e.enabled),
          [],
        );
      });
    });
  });
}
