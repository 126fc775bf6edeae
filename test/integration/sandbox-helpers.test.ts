/**
 * The sandbox test helpers over HTTP (/api/v1/sandbox/...) and `wmx trigger` on top of them: real
 * sandbox payments in each final state (the row, check-payment over the legacy wire, the webhook
 * event, the genuine callback fields, the ledger), the inputs honoured or refused without a trace,
 * another merchant's token, refunds that fail, live merchants refused, Idempotency-Key, paying a
 * pending payment the shop started, and finding the shop's pending payment for a callback URL.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { loadContract, type Contract } from '../support/openapi-contract.js';
import { apiClient, type Api, type ApiCall } from '../support/api-client.js';
import { inheritedEnv, runWmx } from '../support/cli.js';
import { signatureValid } from '../support/signatures.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/delivery/webhook-events.js';
import {
  SSLCOMMERZ_SIMULATOR_DEFAULT_STORE as SSL_STORE,
  startSslcommerzSimulator,
} from '../../src/acquirers/sslcommerz/simulator.js';
import { addConnector } from '../support/rails.js';

const STATUS_OF = {
  succeeded: 'approved',
  failed: 'declined',
  cancelled: 'cancelled',
  expired: 'expired',
  pending: 'pending',
} as const;
const TXN_STATUS_OF = { succeeded: '1000', failed: '1001', cancelled: '1009', expired: '1009', pending: null } as const;
const EVENT_OF = {
  succeeded: 'payment.succeeded',
  failed: 'payment.failed',
  cancelled: 'payment.cancelled',
  expired: 'payment.expired',
  pending: undefined,
} as const;
const OUTCOMES = Object.keys(STATUS_OF) as (keyof typeof STATUS_OF)[];

interface EventJson {
  id: string;
  type: string;
  data: { token?: string; id?: string; status?: string; payment?: { token?: string } };
}

for (const dialect of dialects()) {
  describe(`sandbox test helpers (${dialect})`, () => {
    let t: TestGateway;
    let contract: Contract;
    let api: Api;
    let a: IssuedCredentials;
    let b: IssuedCredentials;
    let live: IssuedCredentials;

    before(async () => {
      t = await startGateway(dialect);
      contract = await loadContract(t.url);
      api = apiClient(t, contract);
      a = await t.createMerchant({ name: 'Helper Shop A', sandbox: true });
      b = await t.createMerchant({ name: 'Helper Shop B', sandbox: true });
      live = await t.createMerchant({ name: 'Live Shop', sandbox: false, domains: ['shop.example.com'] });
    });
    after(async () => {
      // The ledger stays consistent through everything the helpers did.
      const report = await t.gw.ledgerVerify();
      await t.close();
      assert.equal(report.ok, true, JSON.stringify(report));
    });

    const sandboxPay = (key: string, body: unknown, extra: Partial<ApiCall> = {}) =>
      api('POST', '/api/v1/sandbox/payments', { key, body, ...extra });

    /** Every payment of the key's merchant, through the JSON API. */
    async function paymentsOf(key: string): Promise<string[]> {
      const tokens: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await api('GET', `/api/v1/payments?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { key });
        assert.equal(r.status, 200, r.text);
        tokens.push(...(r.json.data as { token: string }[]).map((p) => p.token));
        cursor = r.json.next_cursor as string | null;
      } while (cursor !== null);
      return tokens;
    }

    /** Every event of the key's merchant, newest first. */
    async function eventsOf(key: string): Promise<EventJson[]> {
      const out: EventJson[] = [];
      let cursor: string | null = null;
      do {
        const r = await api('GET', `/api/v1/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { key });
        assert.equal(r.status, 200, r.text);
        out.push(...(r.json.data as EventJson[]));
        cursor = r.json.next_cursor as string | null;
      } while (cursor !== null);
      return out;
    }

    const eventsOfToken = async (key: string, token: string) =>
      (await eventsOf(key)).filter((e) => e.data.token === token || e.data.payment?.token === token);

    /** Payments in the whole database (a refusal must not leave one on any merchant). */
    const allPayments = async () =>
      Number(
        (
          await t.gw.db.kysely
            .selectFrom('payments')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    /** Checks the callback fields against the payment and the signing secret. */
    function assertCallback(
      r: { json: { payment: Record<string, unknown>; callback: Record<string, string> | null } },
      secret: string,
      wmxId: string,
    ) {
      const cb = r.json.callback;
      assert.ok(cb, 'a final payment has its callback');
      assert.ok(signatureValid(secret, cb.wmx_signature!, cb.merchant_txn_data!), 'wmx_signature verifies');
      assert.ok(!signatureValid(`${secret}x`, cb.wmx_signature!, cb.merchant_txn_data!));
      const p = r.json.payment;
      const data = JSON.parse(cb.merchant_txn_data!) as Record<string, string>;
      assert.equal(data.token, p.token);
      assert.equal(data.txn_status, p.txn_status);
      assert.equal(data.merchant_order_id, p.merchant_order_id);
      assert.equal(data.merchant_ref_id, p.merchant_ref_id);
      assert.equal(data.amount, p.amount);
      assert.equal(data.currency, p.currency);
      assert.equal(data.wmx_id, wmxId);
      for (const v of Object.values(data)) assert.equal(typeof v, 'string', 'every value of merchant_txn_data is text');
    }

    it('makes a real payment for each outcome: status, check-payment, one event, genuine callback', async () => {
      for (const outcome of OUTCOMES) {
        const before = (await paymentsOf(a.api_key)).length;
        const r = await sandboxPay(a.api_key, { outcome });
        assert.equal(r.status, 201, `${outcome}: ${r.text}`);
        const p = r.json.payment as Record<string, string | null>;
        const token = p.token!;
        assert.equal(p.status, STATUS_OF[outcome], outcome);
        assert.equal(p.txn_status, TXN_STATUS_OF[outcome], outcome);
        assert.equal(r.json.wmx_id, a.wmx_id);
        assert.equal(r.json.payment_url, `${t.url}/bank-payment-process/${token}`);
        assert.equal((await paymentsOf(a.api_key)).length, before + 1, 'one payment more');
        // The JSON API and the legacy wire tell the same story.
        const viaApi = await api('GET', `/api/v1/payments/${token}`, { key: a.api_key });
        assert.equal(viaApi.json.status, STATUS_OF[outcome]);
        const record = await checkPayment(t, a, token);
        assert.equal(record.status, 200, record.text);
        assert.equal(record.json.token, token);
        assert.equal(record.json.txn_status ?? null, TXN_STATUS_OF[outcome], `${outcome}: ${record.text}`);
        // Exactly one webhook event, of the outcome's type (none while pending).
        const events = await eventsOfToken(a.api_key, token);
        const want = EVENT_OF[outcome];
        assert.deepEqual(
          events.map((e) => e.type),
          want ? [want] : [],
          outcome,
        );
        if (outcome === 'pending') {
          assert.equal(r.json.callback, null);
        } else {
          assertCallback(r, a.signing_secret, a.wmx_id);
          assert.equal(r.json.callback.url, `${t.url}/demo/callback`);
          const data = JSON.parse(r.json.callback.merchant_txn_data as string) as Record<string, string>;
          assert.equal(data.txn_status, record.json.txn_status, 'the callback agrees with check-payment');
        }
      }
      const report = await t.gw.ledgerVerify();
      assert.equal(report.ok, true, JSON.stringify(report));
    });

    it('honours amount, currency, order_id and callback_url', async () => {
      const r = await sandboxPay(a.api_key, {
        outcome: 'succeeded',
        amount: '250.50',
        currency: 'USD',
        order_id: 'ORD-77',
        callback_url: 'https://shop.example/cb?order=77',
      });
      assert.equal(r.status, 201, r.text);
      const p = r.json.payment;
      assert.equal(p.amount, '250.50');
      assert.equal(p.currency, 'USD');
      assert.equal(p.amount_bdt, '30686.25', 'at the sandbox rate of 122.50');
      assert.equal(p.merchant_order_id, 'ORD-77');
      assert.equal(r.json.callback.url, 'https://shop.example/cb?order=77');
      assert.equal(r.json.callback_url, 'https://shop.example/cb?order=77');
      assertCallback(r, a.signing_secret, a.wmx_id);
      const stored = await t.gw.payments.byToken(p.token as string);
      assert.equal(stored?.callbackUrl, 'https://shop.example/cb?order=77');
      assert.equal(stored?.merchantOrderId, 'ORD-77');
      const record = await checkPayment(t, a, p.token as string);
      assert.equal(record.json.merchant_order_id, 'ORD-77');
      assert.equal(record.json.txn_status, '1000');
      // The defaults: 100.00 BDT and an order id of its own.
      const d = await sandboxPay(a.api_key, { outcome: 'pending' });
      assert.equal(d.json.payment.amount, '100.00');
      assert.equal(d.json.payment.currency, 'BDT');
      assert.match(d.json.payment.merchant_order_id as string, /^test-[0-9a-f]+$/);
    });

    it('refuses bad input with a coded 400 and makes no payment', async () => {
      const cases: [unknown, string][] = [
        [{ outcome: 'succeeded', amount: 'abc' }, 'invalid_request'],
        [{ outcome: 'succeeded', amount: '-5' }, 'invalid_request'],
        [{ outcome: 'succeeded', currency: 'XYZ' }, 'currency_not_supported'],
        [{ outcome: 'succeeded', currency: 'DOLLARS' }, 'invalid_request'],
        [{ outcome: 'succeeded', order_id: 'o'.repeat(65) }, 'invalid_request'],
        [{ outcome: 'succeeded', order_id: '' }, 'invalid_request'],
        [{ outcome: 'refunded' }, 'invalid_request'],
        [{}, 'invalid_request'],
        [{ outcome: 'succeeded', extra: 1 }, 'invalid_request'],
        [{ outcome: 'succeeded', refunds_fail: 'yes' }, 'invalid_request'],
        // Not coerced: money is text, flags are booleans, one outcome is not a list of them.
        [{ outcome: 'succeeded', amount: 5 }, 'invalid_request'],
        [{ outcome: 'succeeded', other_merchant: 1 }, 'invalid_request'],
        [{ outcome: 'succeeded', refunds_fail: 'true' }, 'invalid_request'],
        [{ outcome: ['succeeded'] }, 'invalid_request'],
        [['succeeded'], 'invalid_request'],
      ];
      const mine = (await paymentsOf(a.api_key)).length;
      const total = await allPayments();
      for (const [body, code] of cases) {
        const r = await sandboxPay(a.api_key, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.json.error.code, code, JSON.stringify(body));
        assert.equal(typeof r.json.error.message, 'string');
      }
      const notJson = await api('POST', '/api/v1/sandbox/payments', {
        key: a.api_key,
        rawBody: 'outcome=succeeded',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(notJson.status, 415, notJson.text);
      const payExtra = await api('POST', `/api/v1/sandbox/payments/${'0'.repeat(40)}/pay`, {
        key: a.api_key,
        body: { outcome: 'succeeded', amount: '1.00' },
      });
      assert.equal(payExtra.status, 400, payExtra.text);
      assert.equal(payExtra.json.error.field, 'amount');
      const noKey = await sandboxPay(null as unknown as string, { outcome: 'succeeded' });
      assert.equal(noKey.status, 401);
      assert.equal((await paymentsOf(a.api_key)).length, mine, 'no payment of the caller');
      assert.equal(await allPayments(), total, 'no payment at all');
    });

    it('other_merchant: a payment of another (shared) sandbox merchant, a token that is not the caller’s', async () => {
      const mine = (await paymentsOf(a.api_key)).length;
      const first = await sandboxPay(a.api_key, { outcome: 'succeeded', other_merchant: true });
      assert.equal(first.status, 201, first.text);
      const second = await sandboxPay(a.api_key, { outcome: 'pending', other_merchant: true });
      assert.equal(second.status, 201, second.text);
      const third = await sandboxPay(b.api_key, { outcome: 'failed', other_merchant: true });
      assert.equal(third.status, 201, third.text);
      const otherId = first.json.wmx_id as string;
      assert.notEqual(otherId, a.wmx_id);
      assert.notEqual(otherId, b.wmx_id);
      assert.equal(second.json.wmx_id, otherId, 'the same other merchant each time');
      assert.equal(third.json.wmx_id, otherId, 'whoever asks');
      const token = first.json.payment.token as string;
      assert.equal((await t.gw.payments.byToken(token))?.wmxId, otherId);
      // Not the caller's: the API does not show it, check-payment with the caller's credentials refuses it.
      const got = await api('GET', `/api/v1/payments/${token}`, { key: a.api_key });
      assert.equal(got.status, 404);
      assert.equal(got.json.error.code, 'not_found');
      assert.equal((await paymentsOf(a.api_key)).length, mine);
      const record = await checkPayment(t, a, token);
      assert.notEqual(record.json.txn_status, '1000', record.text);
      assert.notEqual(record.json.token, token, record.text);
      assert.deepEqual(await eventsOfToken(a.api_key, token), []);
      // Genuine for the other merchant, not for the caller.
      const cb = first.json.callback as { merchant_txn_data: string; wmx_signature: string };
      assert.ok(!signatureValid(a.signing_secret, cb.wmx_signature, cb.merchant_txn_data));
      const other = (await t.gw.merchants.byWmxId(otherId))!;
      assertCallback(first, t.gw.signingSecretOf(other), otherId);
      assert.equal(other.sandbox, true);
      assert.equal(
        (await t.gw.merchants.list()).filter((m) => m.name === other.name).length,
        1,
        'one other merchant in all',
      );
    });

    it('refunds_fail: approved, and its refund fails (a normal one succeeds)', async () => {
      const bad = await sandboxPay(a.api_key, { outcome: 'succeeded', refunds_fail: true, amount: '40.00' });
      assert.equal(bad.status, 201, bad.text);
      assert.equal(bad.json.payment.status, 'approved');
      const good = await sandboxPay(a.api_key, { outcome: 'succeeded', amount: '40.00' });
      const refund = (token: string) => api('POST', `/api/v1/payments/${token}/refunds`, { key: a.api_key, body: {} });
      const failed = await refund(bad.json.payment.token as string);
      assert.equal(failed.status, 201, failed.text);
      assert.equal(failed.json.status, 'failed');
      const ok = await refund(good.json.payment.token as string);
      assert.equal(ok.json.status, 'succeeded', ok.text);
      const types = (await eventsOfToken(a.api_key, bad.json.payment.token as string)).map((e) => e.type);
      assert.deepEqual(types.sort(), ['payment.succeeded', 'refund.failed']);
    });

    it('refuses a live merchant’s key with 403 sandbox_only, creating nothing', async () => {
      const total = await allPayments();
      for (const body of [
        { outcome: 'succeeded' },
        { outcome: 'pending' },
        { outcome: 'succeeded', other_merchant: true },
      ]) {
        const r = await sandboxPay(live.api_key, body);
        assert.equal(r.status, 403, r.text);
        assert.equal(r.json.error.code, 'sandbox_only');
      }
      const pending = await api(
        'GET',
        `/api/v1/sandbox/payments/pending?callback_url=${encodeURIComponent('https://shop.example.com/cb')}`,
        {
          key: live.api_key,
        },
      );
      assert.equal(pending.status, 403);
      assert.equal(pending.json.error.code, 'sandbox_only');
      // Not even its own pending payment can be paid by the helper.
      const init = await initPayment(t, live, {
        callback_url: 'https://shop.example.com/cb',
        app_name: 'shop.example.com',
      });
      assert.equal(init.json.statusCode, '1000', init.text);
      const token = init.json.token as string;
      const pay = await api('POST', `/api/v1/sandbox/payments/${token}/pay`, {
        key: live.api_key,
        body: { outcome: 'succeeded' },
      });
      assert.equal(pay.status, 403);
      assert.equal(pay.json.error.code, 'sandbox_only');
      assert.equal((await t.gw.payments.byToken(token))?.status, 'pending');
      assert.equal(await allPayments(), total + 1, 'only the live shop’s own init');
      assert.deepEqual(await eventsOf(live.api_key), []);
    });

    it('during maintenance makes no payment, as init-payment-process makes none (503 maintenance)', async () => {
      const actor = { kind: 'cli' as const, id: 'test', ip: '127.0.0.1' };
      await t.gw.onboarding.setMaintenance('Upgrading', actor);
      try {
        const wire = await initPayment(t, a);
        assert.equal(wire.json.statusCode, '3001', wire.text);
        const total = await allPayments();
        const r = await sandboxPay(a.api_key, { outcome: 'succeeded' });
        assert.equal(r.status, 503, r.text);
        assert.equal(r.json.error.code, 'maintenance');
        assert.equal(r.headers.get('retry-after'), '60');
        assert.equal(await allPayments(), total);
      } finally {
        await t.gw.onboarding.setMaintenance(null, actor);
      }
    });

    it('Idempotency-Key: the same key and body answer the same payment; another body is a 409', async () => {
      const key = `idem-${crypto.randomUUID()}`;
      const headers = { 'idempotency-key': key };
      const mine = (await paymentsOf(a.api_key)).length;
      const first = await sandboxPay(a.api_key, { outcome: 'succeeded', amount: '12.00' }, { headers });
      assert.equal(first.status, 201, first.text);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      const again = await sandboxPay(a.api_key, { amount: '12.00', outcome: 'succeeded' }, { headers });
      assert.equal(again.status, 201, again.text);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.json.payment.token, first.json.payment.token);
      assert.equal(again.text, first.text, 'the first answer, byte for byte');
      assert.equal((await paymentsOf(a.api_key)).length, mine + 1, 'one payment');
      const other = await sandboxPay(a.api_key, { outcome: 'succeeded', amount: '13.00' }, { headers });
      assert.equal(other.status, 409, other.text);
      assert.equal(other.json.error.code, 'idempotency_conflict');
      assert.equal((await paymentsOf(a.api_key)).length, mine + 1);
      // The key is the caller's: another merchant using it makes its own payment.
      const theirs = await sandboxPay(b.api_key, { outcome: 'succeeded', amount: '12.00' }, { headers });
      assert.equal(theirs.status, 201);
      assert.equal(theirs.headers.get('idempotent-replayed'), null);
      assert.notEqual(theirs.json.payment.token, first.json.payment.token);
    });

    it('pays a pending payment the shop started on the wire; twice is 409; not another merchant’s', async () => {
      const started = async (overrides: Record<string, string> = {}) => {
        const r = await initPayment(t, a, overrides);
        assert.equal(r.json.statusCode, '1000', r.text);
        return r.json.token as string;
      };
      const token = await started({ amount: '75.25' });
      const pay = (key: string, tok: string, body: unknown = { outcome: 'succeeded' }) =>
        api('POST', `/api/v1/sandbox/payments/${tok}/pay`, { key, body });

      // Another merchant's key and an unknown token: 404, nothing paid.
      const foreign = await pay(b.api_key, token);
      assert.equal(foreign.status, 404, foreign.text);
      assert.equal(foreign.json.error.code, 'not_found');
      const unknown = await pay(a.api_key, '0'.repeat(40));
      assert.equal(unknown.status, 404);
      assert.equal((await t.gw.payments.byToken(token))?.status, 'pending');
      const badOutcome = await pay(a.api_key, token, { outcome: 'expired' });
      assert.equal(badOutcome.status, 400);

      const r = await pay(a.api_key, token);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.payment.token, token);
      assert.equal(r.json.payment.status, 'approved');
      assert.equal(r.json.payment.amount, '75.25');
      assert.equal(r.json.callback.url, 'https://shop.test/callback?order=1001');
      assertCallback(r, a.signing_secret, a.wmx_id);
      assert.equal((await checkPayment(t, a, token)).json.txn_status, '1000');
      assert.deepEqual(
        (await eventsOfToken(a.api_key, token)).map((e) => e.type),
        ['payment.succeeded'],
      );

      const twice = await pay(a.api_key, token, { outcome: 'failed' });
      assert.equal(twice.status, 409, twice.text);
      assert.equal(twice.json.error.code, 'payment_not_pending');
      assert.equal((await t.gw.payments.byToken(token))?.status, 'approved');
      assert.equal((await eventsOfToken(a.api_key, token)).length, 1, 'no second event');

      // The other outcomes a customer can reach.
      const declined = await pay(a.api_key, await started(), { outcome: 'failed' });
      assert.equal(declined.json.payment.status, 'declined');
      const cancelled = await pay(a.api_key, await started(), { outcome: 'cancelled' });
      assert.equal(cancelled.json.payment.status, 'cancelled');
      assertCallback(cancelled, a.signing_secret, a.wmx_id);
      // A helper payment made pending is payable too.
      const helper = await sandboxPay(a.api_key, { outcome: 'pending' });
      const paid = await pay(a.api_key, helper.json.payment.token as string);
      assert.equal(paid.json.payment.status, 'approved');
      // …but not one of the other merchant's.
      const others = await sandboxPay(a.api_key, { outcome: 'pending', other_merchant: true });
      assert.equal((await pay(a.api_key, others.json.payment.token as string)).status, 404);
    });

    it('finds the newest payable pending payment for a callback URL (query aside), or the one named by token', async () => {
      const c = await t.createMerchant({ name: 'Finder Shop', sandbox: true });
      const d = await t.createMerchant({ name: 'Finder Shop 2', sandbox: true });
      const find = (query: string, key = c.api_key) => api('GET', `/api/v1/sandbox/payments/pending?${query}`, { key });
      const cb = (u: string) => `callback_url=${encodeURIComponent(u)}`;
      const init = async (m: IssuedCredentials, callback_url: string) => {
        const r = await initPayment(t, m, { callback_url });
        assert.equal(r.json.statusCode, '1000', r.text);
        return r.json.token as string;
      };
      const older = await init(c, 'https://shop.test/cb?order=1');
      const newer = await init(c, 'https://shop.test/cb?order=2');
      await init(c, 'https://shop.test/elsewhere?order=3');
      await init(d, 'https://shop.test/cb?order=4'); // another merchant's, newest of all
      // Newer than both, but final: never chosen.
      await sandboxPay(c.api_key, { outcome: 'expired', callback_url: 'https://shop.test/cb?order=5' });
      await sandboxPay(c.api_key, { outcome: 'succeeded', callback_url: 'https://shop.test/cb?order=6' });

      const r = await find(cb('https://shop.test/cb'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.payment.token, newer);
      assert.equal(r.json.callback_url, 'https://shop.test/cb?order=2', 'its own callback URL, query and all');
      assert.equal(r.json.payment.status, 'pending');
      assert.equal(r.json.callback, null);
      assert.equal(r.json.wmx_id, c.wmx_id);
      assert.equal((await find(cb('https://shop.test/cb?order=999#x'))).json.payment.token, newer, 'query aside');
      assert.equal((await find(cb('https://shop.test/cb'), d.api_key)).json.payment.token !== newer, true);

      // Once the newer one is paid, the older one is the answer; once both are, none.
      await api('POST', `/api/v1/sandbox/payments/${newer}/pay`, { key: c.api_key, body: { outcome: 'succeeded' } });
      assert.equal((await find(cb('https://shop.test/cb'))).json.payment.token, older);
      await fetch(`${t.url}/bank-payment-process/${older}/cancel`, { method: 'POST', body: new URLSearchParams() });
      assert.equal((await t.gw.payments.byToken(older))?.status, 'cancelled');
      const none = await find(cb('https://shop.test/cb'));
      assert.equal(none.status, 404, none.text);
      assert.equal(none.json.error.code, 'not_found');
      assert.equal((await find(cb('https://nobody.test/cb'))).status, 404);
      assert.equal((await find(cb('https://shop.test/c'))).status, 404, 'another path is another URL');

      // By token: that one, whatever its callback URL; 409 when it is not payable; 404 when not ours.
      const third = await init(c, 'https://shop.test/third');
      const named = await find(`${cb('https://whatever.test/')}&token=${third}`);
      assert.equal(named.status, 200, named.text);
      assert.equal(named.json.payment.token, third);
      const paidOne = await find(`${cb('https://shop.test/cb')}&token=${newer}`);
      assert.equal(paidOne.status, 409, paidOne.text);
      assert.equal(paidOne.json.error.code, 'payment_not_pending');
      const theirs = await init(d, 'https://shop.test/cb');
      assert.equal((await find(`${cb('https://shop.test/cb')}&token=${theirs}`)).status, 404);
      assert.equal((await find(`${cb('https://shop.test/cb')}&token=${'0'.repeat(40)}`)).status, 404);
      assert.equal((await find('')).status, 400, 'callback_url is required');
    });

    describe('wmx trigger', () => {
      const EVENTS = WEBHOOK_EVENT_TYPES;
      const trigger = (event: string, key: string, ...more: string[]) =>
        runWmx(['trigger', event, '--gateway', t.url, '--api-key', key, ...more], inheritedEnv());

      it('makes each of the six events for real and prints its id', async () => {
        const c = await t.createMerchant({ name: 'Trigger Shop', sandbox: true });
        const runs = await Promise.all(EVENTS.map((e) => trigger(e, c.api_key)));
        for (const [i, r] of runs.entries()) {
          const event = EVENTS[i]!;
          assert.equal(r.code, 0, `${event}: ${r.stdout}${r.stderr}`);
          const id = /\bevent (evt_[A-Za-z0-9]+)/.exec(r.stdout)?.[1];
          assert.ok(id, `${event} printed its event id: ${r.stdout}`);
          const got = await api('GET', `/api/v1/events/${id}`, { key: c.api_key });
          assert.equal(got.status, 200, got.text);
          assert.equal(got.json.type, event);
          if (event.startsWith('refund.'))
            assert.equal(got.json.data.status, event === 'refund.failed' ? 'failed' : 'succeeded');
        }
        const all = await eventsOf(c.api_key);
        // A refund event needs an approved payment first: three payment.succeeded in all.
        for (const event of EVENTS)
          assert.equal(
            all.filter((e) => e.type === event).length,
            event === 'payment.succeeded' ? 3 : 1,
            `${event} events in all`,
          );
        assert.equal((await paymentsOf(c.api_key)).length, 6);
      });

      it('--json prints one JSON object with ok:true', async () => {
        const c = await t.createMerchant({ name: 'Trigger Json Shop', sandbox: true });
        const r = await trigger('refund.failed', c.api_key, '--json', '--amount', '33.00');
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        assert.equal(lines.length, 1, r.stdout);
        const out = JSON.parse(lines[0]!) as {
          ok: boolean;
          event: string;
          event_id: string;
          payment: { token: string; amount: string };
          refund: { status: string };
        };
        assert.equal(out.ok, true);
        assert.equal(out.event, 'refund.failed');
        assert.equal(out.payment.amount, '33.00');
        assert.equal(out.refund.status, 'failed');
        const got = await api('GET', `/api/v1/events/${out.event_id}`, { key: c.api_key });
        assert.equal(got.json.type, 'refund.failed');
      });

      it('refuses an unknown event (exit 2), a wrong key (exit 1) and a live merchant (exit 1), creating nothing', async () => {
        const c = await t.createMerchant({ name: 'Trigger Refusals', sandbox: true });
        const total = await allPayments();
        const [unknown, wrongKey, liveKey] = await Promise.all([
          trigger('payment.bogus', c.api_key),
          trigger('payment.succeeded', `${c.api_key}x`),
          trigger('payment.succeeded', live.api_key),
        ]);
        assert.equal(unknown.code, 2, unknown.stderr);
        assert.match(unknown.stderr, /payment\.succeeded/, 'names the events it knows');
        assert.equal(wrongKey.code, 1, wrongKey.stderr);
        assert.match(wrongKey.stderr, /401|unauthenticated/i);
        assert.equal(liveKey.code, 1, liveKey.stderr);
        assert.match(liveKey.stderr, /sandbox/i);
        for (const r of [unknown, wrongKey, liveKey]) assert.doesNotMatch(r.stderr, /at .*\.(ts|js):\d+/, 'no stack');
        assert.equal(await allPayments(), total);
        assert.deepEqual(await eventsOf(c.api_key), []);
      });
    });
  });
}

for (const dialect of dialects()) {
  describe(`sandbox test helpers: payments past their expiry (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
    });
    after(() => t.close());

    it('a pending payment past its expiry is neither found nor payable; a newer one is found', async () => {
      const c = await t.createMerchant({ name: 'Slow Shop', sandbox: true });
      const api = apiClient(t, await loadContract(t.url));
      const cb = `callback_url=${encodeURIComponent('https://shop.test/cb')}`;
      const find = (q = '') => api('GET', `/api/v1/sandbox/payments/pending?${cb}${q}`, { key: c.api_key });
      const init = async () => {
        const r = await initPayment(t, c, { callback_url: 'https://shop.test/cb?order=1' });
        assert.equal(r.json.statusCode, '1000', r.text);
        return r.json.token as string;
      };
      const old = await init();
      assert.equal((await find()).json.payment.token, old);
      t.clock.advance(31 * 60_000); // past the 30-minute time to live; nobody looked at it
      assert.equal((await t.gw.payments.byToken(old))?.status, 'pending', 'still pending in the database');
      const none = await find();
      assert.equal(none.status, 404, none.text);
      const named = await find(`&token=${old}`);
      assert.equal(named.status, 409, named.text);
      assert.equal(named.json.error.code, 'payment_not_pending');
      const fresh = await init();
      assert.equal((await find()).json.payment.token, fresh);
      // Paying the overdue one expires it instead (with its event), as the hosted page would.
      const pay = await api('POST', `/api/v1/sandbox/payments/${old}/pay`, {
        key: c.api_key,
        body: { outcome: 'succeeded' },
      });
      assert.equal(pay.status, 409, pay.text);
      assert.equal(pay.json.error.code, 'payment_not_pending');
      assert.match(pay.json.error.message, /expired/);
      assert.equal((await t.gw.payments.byToken(old))?.status, 'expired');
      const events = await t.gw.webhooks.events((await t.gw.merchants.byWmxId(c.wmx_id))!.id);
      assert.deepEqual(
        events.map((e) => e.type),
        ['payment.expired'],
      );
    });
  });
  describe(`sandbox test helpers: cards routed to an upstream's own page (${dialect})`, () => {
    let t: TestGateway;
    let sim: Awaited<ReturnType<typeof startSslcommerzSimulator>>;
    before(async () => {
      sim = await startSslcommerzSimulator();
      t = await startGateway(dialect);
      await addConnector(t, {
        id: 'sslcz',
        kind: 'sslcommerz',
        fields: { base_url: sim.url, store_id: SSL_STORE.storeId, store_passwd: SSL_STORE.storePasswd },
        methods: ['card'],
      });
    });
    after(async () => {
      await t.close();
      await sim.close();
    });

    it('answers 409 sandbox_route_redirects and sends nothing upstream: the payment stays payable', async () => {
      const c = await t.createMerchant({ sandbox: true });
      const res = await fetch(`${t.url}/api/v1/sandbox/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.api_key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ outcome: 'succeeded' }),
      });
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, 409, JSON.stringify(body));
      assert.equal(body.error.code, 'sandbox_route_redirects');
      const token = /payment ([0-9a-f]{40})/.exec(body.error.message)?.[1];
      assert.ok(token, body.error.message);
      const p = await t.gw.payments.byToken(token);
      assert.equal(p?.status, 'pending');
      assert.equal(p?.upstreamState, null, 'never sent to SSLCommerz');
      assert.equal(p?.connectorId, null);
    });
  });
}
