/**
 * The JSON API's money endpoints: refunds (full, partial, over-refund, unpaid, another merchant's),
 * Idempotency-Key replays and races, balance and settlements. Every response is checked against the
 * OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';
import { loadContract } from '../support/openapi-contract.js';
import { apiClient, paidPayment, startPayment, storedRefunds, type Api } from '../support/api-client.js';

const toMinor = (s: string): bigint => BigInt(s.replace('.', ''));

for (const dialect of dialects()) {
  describe(`JSON API: refunds and idempotency (${dialect})`, () => {
    let t: TestGateway;
    let api: Api;
    let a: IssuedCredentials;
    let b: IssuedCredentials;

    before(async () => {
      t = await startGateway(dialect);
      api = apiClient(t, await loadContract(t.url));
      a = await t.createMerchant({ name: 'Shop A', sandbox: true });
      b = await t.createMerchant({ name: 'Shop B', sandbox: true });
    });
    after(() => t.close());

    const refund = (key: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
      api('POST', `/api/v1/payments/${token}/refunds`, { key, body, headers });

    it('refunds partially, then the rest; the payment shows what was refunded', async () => {
      const token = await paidPayment(t, a, '100.00');
      const part = await refund(a.api_key, token, { amount: '30.00' });
      assert.equal(part.status, 201, part.text);
      assert.equal(part.json.status, 'succeeded');
      assert.equal(part.json.amount, '30.00');
      assert.equal(part.json.currency, 'BDT');
      assert.equal(part.json.payment_token, token);
      assert.match(part.json.id, /^rfd_/);
      assert.equal(part.headers.get('idempotent-replayed'), null);

      const got = await api('GET', `/api/v1/refunds/${part.json.id}`, { key: a.api_key });
      assert.deepEqual(got.json, part.json);
      assert.equal((await api('GET', `/api/v1/payments/${token}`, { key: a.api_key })).json.refunded_bdt, '30.00');

      const over = await refund(a.api_key, token, { amount: '70.01' });
      assert.equal(over.status, 422);
      assert.equal(over.json.error.code, 'refund_exceeds_refundable');

      const rest = await refund(a.api_key, token, {});
      assert.equal(rest.status, 201);
      assert.equal(rest.json.amount, '70.00', 'an empty body refunds everything left');
      assert.equal((await api('GET', `/api/v1/payments/${token}`, { key: a.api_key })).json.refunded_bdt, '100.00');
      const none = await refund(a.api_key, token, {});
      assert.equal(none.status, 422);
      assert.equal(none.json.error.code, 'refund_exceeds_refundable');
      assert.equal((await storedRefunds(t, token)).filter((r) => r.status === 'succeeded').length, 2);
    });

    it('takes a bare POST (no body, no Content-Type) as a full refund', async () => {
      const token = await paidPayment(t, a, '12.34');
      const r = await api('POST', `/api/v1/payments/${token}/refunds`, { key: a.api_key });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.amount, '12.34');
    });

    it('refuses to refund an unpaid payment, and bad amounts', async () => {
      const pending = await startPayment(t, a);
      const r = await refund(a.api_key, pending, { amount: '1.00' });
      assert.equal(r.status, 422);
      assert.equal(r.json.error.code, 'payment_not_refundable');
      const token = await paidPayment(t, a, '50.00');
      // Every refused amount is the same answer: 400 invalid_amount on the amount field.
      for (const amount of ['abc', '1.234', '-1', '', '1e3', ' 5', '.5', '0.001', '99999999999999', '0.00']) {
        const bad = await refund(a.api_key, token, { amount });
        assert.equal(bad.status, 400, `${JSON.stringify(amount)}: ${bad.text}`);
        assert.equal(bad.json.error.code, 'invalid_amount', `${JSON.stringify(amount)}: ${bad.text}`);
        assert.equal(bad.json.error.field, 'amount');
      }
      const numeric = await refund(a.api_key, token, { amount: 5 });
      assert.equal(numeric.status, 400);
      assert.equal(numeric.json.error.code, 'invalid_request');
      assert.equal(numeric.json.error.field, 'amount');
      const extra = await refund(a.api_key, token, { amount: '1.00', currency: 'USD' });
      assert.equal(extra.status, 400, 'unknown body fields are refused');
      const text = await api('POST', `/api/v1/payments/${token}/refunds`, {
        key: a.api_key,
        rawBody: 'amount=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(text.status, 415);
      assert.equal(text.json.error.code, 'unsupported_media_type');
      const broken = await api('POST', `/api/v1/payments/${token}/refunds`, {
        key: a.api_key,
        rawBody: '{"amount":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(broken.status, 400);
      assert.equal(broken.json.error.code, 'invalid_request');
      assert.equal((await storedRefunds(t, token)).length, 0, 'nothing was refunded');
    });

    it("answers 404 for another merchant's payment and refund", async () => {
      const token = await paidPayment(t, a, '20.00');
      const r = await refund(b.api_key, token, {});
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, 'not_found');
      const mine = await refund(a.api_key, token, { amount: '1.00' });
      assert.equal((await api('GET', `/api/v1/refunds/${mine.json.id}`, { key: b.api_key })).status, 404);
      assert.equal((await api('GET', '/api/v1/refunds/rfd_doesnotexist', { key: a.api_key })).status, 404);
    });

    it('replays the first answer for the same key and body, with one refund made', async () => {
      const token = await paidPayment(t, a, '80.00');
      const headers = { 'idempotency-key': 'order-77-refund-1' };
      const first = await refund(a.api_key, token, { amount: '10.00' }, headers);
      assert.equal(first.status, 201);
      // The same body, spelt differently (whitespace): the same request.
      const again = await api('POST', `/api/v1/payments/${token}/refunds`, {
        key: a.api_key,
        rawBody: '{ "amount" : "10.00" }',
        headers: { ...headers, 'content-type': 'application/json' },
      });
      assert.equal(again.status, 201);
      assert.equal(again.text, first.text, 'byte for byte');
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal((await storedRefunds(t, token)).length, 1);

      const other = await refund(a.api_key, token, { amount: '11.00' }, headers);
      assert.equal(other.status, 409);
      assert.equal(other.json.error.code, 'idempotency_conflict');
      const otherPayment = await refund(a.api_key, await paidPayment(t, a, '5.00'), { amount: '10.00' }, headers);
      assert.equal(otherPayment.status, 409, 'the path is part of the request');
      assert.equal((await storedRefunds(t, token)).length, 1);

      // Keys belong to a merchant: another merchant's identical key is a different request.
      const theirs = await refund(b.api_key, await paidPayment(t, b, '10.00'), { amount: '10.00' }, headers);
      assert.equal(theirs.status, 201);
      assert.equal(theirs.headers.get('idempotent-replayed'), null);
    });

    it('replays stored error answers too', async () => {
      const token = await paidPayment(t, a, '10.00');
      const headers = { 'idempotency-key': 'too-much' };
      const first = await refund(a.api_key, token, { amount: '11.00' }, headers);
      assert.equal(first.status, 422);
      const again = await refund(a.api_key, token, { amount: '11.00' }, headers);
      assert.equal(again.status, 422);
      assert.equal(again.text, first.text);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      const bad = await refund(a.api_key, token, {}, { 'idempotency-key': 'x'.repeat(300) });
      assert.equal(bad.status, 400);
    });

    it('makes one refund of ten concurrent POSTs with one key', async () => {
      const token = await paidPayment(t, a, '60.00');
      const headers = { 'idempotency-key': 'race-1' };
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => refund(a.api_key, token, { amount: '25.00' }, headers)),
      );
      assert.deepEqual(
        answers.map((r) => r.status),
        Array(10).fill(201),
        answers.map((r) => r.text).join('\n'),
      );
      assert.equal(new Set(answers.map((r) => r.text)).size, 1, 'every answer is the first one');
      assert.equal(answers.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 9);
      const stored = await storedRefunds(t, token);
      assert.equal(stored.length, 1);
      assert.equal(BigInt(stored[0]!.amount_minor), 2500n);
    });

    it('never refunds more than was paid under concurrent requests with different keys', async () => {
      const token = await paidPayment(t, a, '100.00');
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          refund(a.api_key, token, { amount: '15.00' }, { 'idempotency-key': `many-${i}` }),
        ),
      );
      const ok = answers.filter((r) => r.status === 201);
      assert.equal(ok.length, 6, '6 × 15.00 fit in 100.00');
      assert.ok(answers.every((r) => r.status === 201 || r.json.error.code === 'refund_exceeds_refundable'));
      assert.equal((await api('GET', `/api/v1/payments/${token}`, { key: a.api_key })).json.refunded_bdt, '90.00');
    });
  });

  describe(`JSON API: balance and settlements (${dialect})`, () => {
    let t: TestGateway;
    let api: Api;
    let m: IssuedCredentials;

    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      api = apiClient(t, await loadContract(t.url));
      m = await t.createMerchant({ name: 'Settled Shop', sandbox: true });
    });
    after(() => t.close());

    it('lists daily batches with cursor pagination, and the balance agrees with them', async () => {
      const first = await api('GET', '/api/v1/settlements', { key: m.api_key });
      assert.deepEqual(first.json, { data: [], next_cursor: null });

      const days: string[] = [];
      let expectedNet = 0n;
      for (const amounts of [['100.00', '40.50'], ['75.25']]) {
        days.push(t.gw.formatTime(t.clock.now).slice(0, 10));
        for (const amount of amounts) {
          const token = await paidPayment(t, m, amount);
          const p = (await api('GET', `/api/v1/payments/${token}`, { key: m.api_key })).json;
          expectedNet += toMinor(p.amount_bdt) - toMinor(p.fee_bdt);
        }
        t.clock.advance(86_400_000);
      }
      const token = (await api('GET', '/api/v1/payments?status=approved&limit=1', { key: m.api_key })).json.data[0]
        .token;
      const r = await api('POST', `/api/v1/payments/${token}/refunds`, { key: m.api_key, body: { amount: '5.00' } });
      assert.equal(r.status, 201);
      expectedNet -= 500n;

      const before = (await api('GET', '/api/v1/balance', { key: m.api_key })).json;
      assert.equal(before.currency, 'BDT');
      assert.equal(toMinor(before.available) + toMinor(before.settled), expectedNet);

      for (const day of days) await t.gw.settlements.settle(day, CLI_ACTOR);
      const p1 = await api('GET', '/api/v1/settlements?limit=1', { key: m.api_key });
      assert.equal(p1.json.data.length, 1);
      assert.equal(p1.json.data[0].date, days[1], 'newest first');
      assert.notEqual(p1.json.next_cursor, null);
      const p2 = await api('GET', `/api/v1/settlements?limit=1&cursor=${p1.json.next_cursor}`, { key: m.api_key });
      assert.equal(p2.json.data[0].date, days[0]);
      assert.equal(p2.json.data[0].gross, '140.50');
      assert.equal(p2.json.data[0].payment_count, 2);
      const p3 =
        p2.json.next_cursor === null
          ? null
          : await api('GET', `/api/v1/settlements?limit=1&cursor=${p2.json.next_cursor}`, { key: m.api_key });
      assert.ok(p3 === null || (p3.json.data.length === 0 && p3.json.next_cursor === null));

      const after = (await api('GET', '/api/v1/balance', { key: m.api_key })).json;
      const settled = [...p1.json.data, ...p2.json.data].reduce(
        (s: bigint, x: { net: string }) => s + toMinor(x.net),
        0n,
      );
      assert.equal(toMinor(after.settled), settled);
      assert.equal(toMinor(after.available) + toMinor(after.settled), expectedNet);
      assert.equal((await api('GET', '/api/v1/settlements?cursor=bm9wZQ', { key: m.api_key })).status, 400);
    });
  });
}
