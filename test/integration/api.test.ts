/**
 * The merchant JSON API (/api/v1): Bearer authentication, the JSON error shape, payments (get, list
 * with every filter and cursor pagination). Every response is checked against the OpenAPI document.
 * Refunds, idempotency, balance and settlements: api-refunds.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';
import { loadContract } from '../support/openapi-contract.js';
import { apiClient, paidPayment, payWithCard, startPayment, type Api } from '../support/api-client.js';

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

for (const dialect of dialects()) {
  describe(`JSON API: auth and payments (${dialect})`, () => {
    let t: TestGateway;
    let api: Api;
    let a: IssuedCredentials;
    let b: IssuedCredentials;
    let paidToken: string;

    before(async () => {
      t = await startGateway(dialect);
      api = apiClient(t, await loadContract(t.url));
      a = await t.createMerchant({ name: 'Shop A', sandbox: true });
      b = await t.createMerchant({ name: 'Shop B', sandbox: true });
      paidToken = await paidPayment(t, a, '250.75', { merchant_order_id: 'A-1' });
    });
    after(() => t.close());

    it('refuses a missing, malformed or unknown key with 401 and the JSON error shape', async () => {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` },
        { authorization: 'Bearer' },
      ]) {
        const r = await api('GET', '/api/v1/payments', { key: null, headers });
        assert.equal(r.status, 401);
        assert.equal(r.json.error.code, 'unauthenticated');
        assert.equal(typeof r.json.error.message, 'string');
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
      const wrong = await api('GET', '/api/v1/payments', { key: `${a.api_key}x` });
      assert.equal(wrong.status, 401);
      assert.deepEqual(Object.keys(wrong.json), ['error']);
      // The scheme name is case-insensitive.
      const lower = await api('GET', '/api/v1/balance', {
        key: null,
        headers: { authorization: `bearer ${a.api_key}` },
      });
      assert.equal(lower.status, 200);
    });

    it('a NUL character anywhere in a request is a 400 (invalid_request, or a page) on both databases, never a 500', async () => {
      const cases: [string, string, unknown?][] = [
        ['GET', '/api/v1/payments/%00'],
        ['GET', '/api/v1/refunds/%00'],
        ['GET', '/api/v1/events/%00'],
        ['DELETE', '/api/v1/webhook-endpoints/%00'],
        ['GET', '/api/v1/payments?q=%00'],
        ['POST', '/api/v1/webhook-endpoints', { url: 'https://shop-a.example/hook\u0000' }],
        ['POST', `/api/v1/payments/${paidToken}/refunds`, { amount: '1.00', reason: 'a\u0000b' }],
      ];
      for (const [method, path, body] of cases) {
        const r = await api(method, path, { key: a.api_key, ...(body ? { body } : {}), unchecked: true });
        assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
        assert.equal(r.json.error.code, 'invalid_request');
      }
      // Nothing was refunded.
      const p = await api('GET', `/api/v1/payments/${paidToken}`, { key: a.api_key });
      assert.equal(p.json.refunded_bdt, '0.00');
      // Pages answer a 400 page for it too.
      for (const [path, body] of [
        ['/bank-payment-process/%00', undefined],
        ['/invite/%00', undefined],
        [`/bank-payment-process/${paidToken}/cancel`, 'reason=%00'],
        ['/login', 'email=%00&password=x'],
      ] as const) {
        const r = await fetch(`${t.url}${path}`, {
          redirect: 'manual',
          ...(body ? { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
        });
        assert.equal(r.status, 400, path);
        assert.match(r.headers.get('content-type') ?? '', /^text\/html/, path);
      }
    });

    it('answers 403 for a suspended merchant, at once (the key cache is flushed)', async () => {
      const c = await t.createMerchant({ name: 'Shop C', sandbox: true });
      assert.equal((await api('GET', '/api/v1/balance', { key: c.api_key })).status, 200);
      await t.gw.merchantAdmin.setStatus(c.wmx_id, 'suspended');
      const r = await api('GET', '/api/v1/balance', { key: c.api_key });
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'forbidden');
      await t.gw.merchantAdmin.setStatus(c.wmx_id, 'active');
      assert.equal((await api('GET', '/api/v1/balance', { key: c.api_key })).status, 200);
    });

    it('answers unknown API paths with a JSON 404, not HTML', async () => {
      const r = await api('GET', '/api/v1/nothing-here', { key: a.api_key, unchecked: true });
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, 'not_found');
    });

    it('gets a payment: amounts as decimal strings, masked card, ISO times, refunded amount', async () => {
      const r = await api('GET', `/api/v1/payments/${paidToken}`, { key: a.api_key });
      assert.equal(r.status, 200);
      const p = r.json;
      assert.equal(p.token, paidToken);
      assert.equal(p.merchant_order_id, 'A-1');
      assert.equal(p.status, 'approved');
      assert.equal(p.txn_status, '1000');
      assert.equal(p.currency, 'BDT');
      assert.equal(p.amount, '250.75');
      assert.equal(p.amount_bdt, '250.75');
      assert.equal(p.charged_bdt, '250.75');
      assert.equal(p.refunded_bdt, '0.00');
      assert.equal(p.method, 'card');
      assert.equal(p.card_details, '411111******1111');
      assert.match(p.created_at, ISO_RE);
      assert.match(p.completed_at, ISO_RE);
      assert.match(p.ref_id, /^[A-Za-z0-9]{15}$/);
      assert.ok(!r.text.includes('4111111111111111'), 'no full card number');
      // The same record check-payment gives, in the API's shape.
      const legacy = await t.gw.payments.byToken(paidToken);
      assert.equal(p.fee_bdt, (Number(legacy?.feeMinor) / 100).toFixed(2));
      // Upper-case hex names the same token.
      assert.equal(
        (await api('GET', `/api/v1/payments/${paidToken.toUpperCase()}`, { key: a.api_key })).json.token,
        paidToken,
      );
    });

    it("answers 404 for another merchant's token and for an unknown one, 400 for a malformed one", async () => {
      const other = await api('GET', `/api/v1/payments/${paidToken}`, { key: b.api_key });
      assert.equal(other.status, 404);
      assert.equal(other.json.error.code, 'not_found');
      const unknown = await api('GET', `/api/v1/payments/${'0'.repeat(40)}`, { key: a.api_key });
      assert.deepEqual(unknown.json, other.json, 'indistinguishable from an unknown token');
      const bad = await api('GET', '/api/v1/payments/not-a-token', { key: a.api_key });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.code, 'invalid_request');
    });

    it('answers an internal failure with 500, a request id and no detail; the detail goes to the log', async () => {
      const original = t.gw.balance;
      t.gw.balance = async () => {
        throw new Error('disk on fire at /secret/path');
      };
      try {
        const r = await api('GET', '/api/v1/balance', { key: a.api_key });
        assert.equal(r.status, 500);
        assert.equal(r.json.error.code, 'internal_error');
        assert.match(r.json.error.request_id, /\S/);
        assert.ok(r.json.error.message.includes(r.json.error.request_id));
        assert.ok(!r.text.includes('disk on fire') && !r.text.includes('at '), 'no message or stack leaks');
        assert.ok(
          t.logs.some((l) => l.includes('disk on fire')),
          'logged',
        );
      } finally {
        t.gw.balance = original;
      }
    });

    describe('listing 120 payments', () => {
      let m: IssuedCredentials;
      const tokens: string[] = [];
      const paid = new Set<string>();

      before(async () => {
        m = await t.createMerchant({ name: 'Busy Shop', sandbox: true });
        for (let i = 0; i < 120; i++) {
          tokens.push(
            await startPayment(t, m, {
              merchant_order_id: `ord-${i}`,
              amount: `${10 + i}.50`,
              product_desc: `item ${i}`,
            }),
          );
        }
        for (const i of [3, 30, 60, 90, 119]) {
          await payWithCard(t, tokens[i]!);
          paid.add(tokens[i]!);
        }
      });

      /** Every page of a query, following next_cursor. */
      async function all(query: string, limit: number) {
        const pages: number[] = [];
        const seen: { token: string; created_at: string }[] = [];
        let cursor: string | null = null;
        do {
          const q: string = `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
          const r = await api('GET', `/api/v1/payments?${q}`, { key: m.api_key });
          assert.equal(r.status, 200, r.text);
          pages.push(r.json.data.length);
          seen.push(...r.json.data);
          cursor = r.json.next_cursor;
        } while (cursor !== null && pages.length < 20);
        return { pages, tokens: seen.map((p) => p.token), items: seen };
      }

      it('pages through everything once, newest first', async () => {
        const r = await all('', 50);
        assert.deepEqual(r.pages, [50, 50, 20]);
        assert.equal(new Set(r.tokens).size, 120);
        assert.deepEqual(new Set(r.tokens), new Set(tokens));
        const times = r.items.map((p) => Date.parse(p.created_at));
        assert.deepEqual(
          times,
          [...times].sort((x, y) => y - x),
        );
        const first = await api('GET', '/api/v1/payments', { key: m.api_key });
        assert.equal(first.json.data.length, 20, 'default page size');
      });

      it('filters by status and method, with pagination', async () => {
        const approved = await all('status=approved', 2);
        assert.deepEqual(new Set(approved.tokens), paid);
        assert.deepEqual(approved.pages, [2, 2, 1]);
        const pending = await all('status=pending', 50);
        assert.deepEqual(pending.pages, [50, 50, 15]);
        assert.ok(pending.tokens.every((x) => !paid.has(x)));
        assert.deepEqual(new Set((await all('method=card', 100)).tokens), paid);
        assert.equal((await all('method=mobile_wallet', 100)).tokens.length, 0);
      });

      it('filters by BDT amount range and by q', async () => {
        const r = await all('min_amount=100&max_amount=109.50', 100);
        assert.deepEqual(new Set(r.tokens), new Set(tokens.slice(90, 100)));
        assert.deepEqual((await all('min_amount=129.5', 100)).tokens, [tokens[119]]);
        assert.deepEqual((await all('q=ord-7', 100)).tokens, [tokens[7]]);
        assert.deepEqual((await all(`q=${tokens[42]}`, 100)).tokens, [tokens[42]]);
      });

      it('filters by creation time: ISO dates, date-times and epoch seconds or milliseconds', async () => {
        const now = Date.now();
        const hourAgo = now - 3_600_000;
        assert.equal((await all(`created_from=${Math.floor(hourAgo / 1000)}`, 100)).tokens.length, 120);
        assert.equal((await all(`created_from=${hourAgo}`, 100)).tokens.length, 120);
        assert.equal((await all(`created_from=${new Date(hourAgo).toISOString()}`, 100)).tokens.length, 120);
        assert.equal((await all(`created_to=${new Date(hourAgo).toISOString()}`, 100)).tokens.length, 0);
        assert.equal((await all('created_to=2000-01-01', 100)).tokens.length, 0);
        const tomorrow = new Date(now + 2 * 86_400_000).toISOString().slice(0, 10);
        assert.equal((await all(`created_from=${tomorrow}`, 100)).tokens.length, 0);
        // A bare created_to date includes the whole of that day.
        const today = t.gw.formatTime(now).slice(0, 10);
        assert.equal((await all(`created_from=${today}&created_to=${today}`, 100)).tokens.length, 120);
      });

      it('rejects bad parameters with 400 invalid_request', async () => {
        for (const q of [
          'limit=0',
          'limit=101',
          'limit=x',
          'status=paid',
          'method=cash',
          'min_amount=1.234',
          'max_amount=-5',
          'created_from=yesterday',
          'created_to=2025-02-30',
          'cursor=bm90LWEtY3Vyc29y',
        ]) {
          const r = await api('GET', `/api/v1/payments?${q}`, { key: m.api_key });
          assert.equal(r.status, 400, `${q}: ${r.text}`);
          assert.equal(r.json.error.code, 'invalid_request', q);
        }
      });

      it("never lists another merchant's payments", async () => {
        const r = await api('GET', `/api/v1/payments?q=${tokens[5]}`, { key: a.api_key });
        assert.deepEqual(r.json.data, []);
      });
    });

    // Last: it leaves this client IP limited for failed authentications for the rest of the minute.
    it('limits failed authentications per client with 429 and Retry-After; good keys still work', async () => {
      let limited: Awaited<ReturnType<Api>> | undefined;
      for (let i = 0; i < 70 && !limited; i++) {
        const r = await api('GET', '/api/v1/balance', { key: `sk_guess${i}` });
        if (r.status === 429) limited = r;
        else assert.equal(r.status, 401);
      }
      assert.ok(limited, 'limited within 70 failures');
      assert.equal(limited.json.error.code, 'rate_limited');
      assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal((await api('GET', '/api/v1/balance', { key: a.api_key })).status, 200);
    });
  });
}
