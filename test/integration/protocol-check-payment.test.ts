/**
 * PROTOCOL.md section 7: POST /check-payment — the record (every field, its exact JSON type and
 * content before payment), time formatting, expiry, request_ip, and the error answers.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { basicAuth, credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import {
  assertError,
  assertInitOk,
  assertRecord,
  postUrlencoded,
  rawRequest,
  RECORD_FIELDS,
  TIME_RE,
  wallClock,
  type WireResponse,
} from './protocol-helpers.js';

const ref = () => crypto.randomBytes(7).toString('hex').slice(0, 13);

const CUSTOMER_AND_SHIPPING = {
  customer_name: 'রহিম উদ্দিন',
  customer_email: 'rahim@example.com',
  customer_phone: '+8801712345678',
  customer_add: 'House 1, Road 2, "Block" C',
  customer_city: 'Dhaka',
  customer_country: 'Bangladesh',
  customer_postcode: '1207',
  shipping_name: 'Karim',
  shipping_add: 'বাড়ি ৭, রোড ৩',
  shipping_city: 'Chattogram',
  shipping_country: 'Bangladesh',
  shipping_postCode: '4000',
};

for (const dialect of dialects()) {
  describe(`protocol: check-payment (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let other: IssuedCredentials;

    const init = async (
      m: IssuedCredentials,
      overrides: Record<string, string | undefined> = {},
      headers: Record<string, string> = {},
    ) =>
      assertInitOk(
        await rawRequest(`${t.url}/init-payment-process`, new URLSearchParams(initFields(m, overrides)).toString(), {
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        }),
      );
    const checkRaw = (fields: Record<string, string | undefined>): Promise<WireResponse> => {
      const f: Record<string, string> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) f[k] = v;
      return postUrlencoded(`${t.url}/check-payment`, f);
    };
    const check = async (m: IssuedCredentials, token: string) =>
      assertRecord(await checkRaw({ ...credFields(m), token }));

    before(async () => {
      t = await startGateway(dialect);
      c = await t.createMerchant({ name: 'Test Shop' });
      other = await t.createMerchant({ name: 'Other Shop', domains: ['other.test'] });
    });
    after(() => t?.close());

    it('a fresh payment: every field present with its exact type and content', async () => {
      const merchantRef = ref();
      const before = wallClock(Date.now());
      const token = await init(c, {
        merchant_ref_id: merchantRef,
        merchant_order_id: 'ORD-42/ß',
        amount: '48.78',
        extra_json: '[]',
      });
      const afterInit = wallClock(Date.now());
      const res = await checkRaw({ ...credFields(c), token });
      const r = assertRecord(res);

      assert.equal(r.wmx_id, c.wmx_id);
      assert.match(r.ref_id as string, /^[A-Za-z0-9]{15}$/);
      assert.equal(r.token, token);
      assert.equal(r.merchant_req_amount, '48.78');
      assert.equal(r.merchant_ref_id, merchantRef);
      assert.equal(r.merchant_order_id, 'ORD-42/ß');
      assert.equal(r.merchant_currency, 'BDT');
      assert.equal(r.conversion_rate, '1.00');
      assert.equal(r.merchant_amount_bdt, '48.78');
      assert.equal(r.service_ratio, '2.50');
      assert.equal(r.wmx_charge_bdt, '1.22'); // 48.78 × 2.5 % = 1.2195 → 1.22
      assert.equal(r.emi_ratio, '0.00');
      assert.equal(r.emi_charge, '0.00');
      assert.equal(r.discount_bdt, '0.00');
      assert.equal(r.bank_amount_bdt, '48.78');
      assert.equal(r.request_ip, '127.0.0.1');
      assert.equal(r.txn_status, null);
      assert.equal(typeof r.txn_details, 'string');
      assert.equal(r.extra_json, '[]');
      assert.equal(r.card_details, null);
      assert.equal(r.is_foreign, '0');
      assert.equal(r.txn_time, null);
      assert.equal(r.statusCode, 1008);
      assert.match(r.init_time as string, TIME_RE);
      // Asia/Dhaka (UTC+6) by default: between the wall-clock readings taken around the call.
      assert.ok(
        (r.init_time as string) >= before && (r.init_time as string) <= afterInit,
        `${r.init_time} not in [${before}, ${afterInit}]`,
      );
      // txn_status is a JSON null (not "null", not absent) and statusCode an unquoted number.
      assert.match(res.text, /"txn_status":null/);
      assert.match(res.text, /"statusCode":1008[,}]/);
    });

    it('every field is present even when optional inputs were not sent', async () => {
      const token = await init(c, {
        merchant_ref_id: undefined,
        extra_json: undefined,
        app_name: undefined,
        cart_info: undefined,
        options: undefined,
        customer_add: undefined,
        customer_city: undefined,
        customer_country: undefined,
        customer_postcode: undefined,
      });
      const r = await check(c, token);
      for (const f of RECORD_FIELDS) assert.ok(f in r, f);
      assert.equal(r.extra_json, null);
      assert.match(r.merchant_ref_id as string, /^[0-9a-f]{13}$/);
      assert.deepEqual(JSON.parse(r.customer_details as string), {
        customer_name: 'Rahim Uddin',
        customer_email: 'rahim@example.com',
        customer_phone: '01712345678',
      });
    });

    it('customer_details is a JSON string of the customer and shipping fields received', async () => {
      const token = await init(c, CUSTOMER_AND_SHIPPING);
      const r = await check(c, token);
      assert.equal(typeof r.customer_details, 'string');
      const details = JSON.parse(r.customer_details as string) as Record<string, unknown>;
      assert.deepEqual(details, CUSTOMER_AND_SHIPPING);
    });

    it('amounts are echoed with 2 decimals', async () => {
      for (const [amount, expected] of [
        ['10', '10.00'],
        ['10.5', '10.50'],
        ['0.01', '0.01'],
        ['1234567.8', '1234567.80'],
      ] as const) {
        const r = await check(c, await init(c, { amount }));
        assert.equal(r.merchant_req_amount, expected);
        assert.equal(r.merchant_amount_bdt, expected);
        assert.equal(r.bank_amount_bdt, expected);
      }
    });

    it('the official client verification passes for a BDT payment (apart from txn_status, not paid yet)', async () => {
      const amount = '250.00';
      const r = await check(c, await init(c, { amount, currency: 'BDT' }));
      assert.equal(r.wmx_id, c.wmx_id);
      assert.ok(Number(r.bank_amount_bdt) >= Number(amount));
      assert.equal(Number(r.merchant_amount_bdt), Number(amount));
      assert.ok(Number(r.merchant_req_amount) >= Number(amount));
      assert.equal(r.merchant_currency, 'BDT');
    });

    it('ref_id is stable for a payment and unique across payments; reading twice gives the same record', async () => {
      const token = await init(c);
      const a = await check(c, token);
      const b = await check(c, token);
      assert.deepEqual(a, b);
      const other2 = await check(c, await init(c));
      assert.notEqual(other2.ref_id, a.ref_id);
    });

    it('a burst of simultaneous checks (read together): each answer is its own token’s record, or 2009', async () => {
      const amounts = ['1.01', '2.02', '3.03', '4.04', '5.05', '6.06'];
      const tokens = await Promise.all(amounts.map((amount) => init(c, { amount })));
      const theirs = await init(other, { callback_url: 'https://other.test/cb' });
      const unknown = crypto.randomBytes(20).toString('hex');
      // Twice over, first and second reads mixed, plus one unknown and one other merchant's token.
      const asked = [...tokens, unknown, ...tokens.slice().reverse(), theirs];
      const answers = await Promise.all(asked.map((token) => checkRaw({ ...credFields(c), token })));
      answers.forEach((res, i) => {
        const token = asked[i]!;
        if (token === unknown || token === theirs) return assertError(res, '2009', 'token');
        const rec = assertRecord(res);
        assert.equal(rec.token, token);
        assert.equal(rec.merchant_req_amount, amounts[tokens.indexOf(token)]);
      });
    });

    it('request_ip ignores X-Forwarded-For when no proxy is trusted', async () => {
      const token = await init(c, {}, { 'x-forwarded-for': '203.0.113.7' });
      assert.equal((await check(c, token)).request_ip, '127.0.0.1');
    });

    describe('errors: HTTP 200, {"statusCode":"<code>","statusMsg":…}, no txn_status, no wmx_id', () => {
      it('2001 for unknown wmx_id, wrong app key, wrong user, wrong password — one message, same as init', async () => {
        const token = await init(c);
        const initAnswer = await postUrlencoded(
          `${t.url}/init-payment-process`,
          initFields(c, { access_app_key: 'f'.repeat(40) }),
        );
        assertError(initAnswer, '2001');
        for (const overrides of [
          { wmx_id: 'WMX' + crypto.randomBytes(7).toString('hex').slice(0, 13) },
          { wmx_id: other.wmx_id },
          { access_app_key: crypto.randomBytes(20).toString('hex') },
          { authorization: basicAuth({ username: 'testshop_1234567890', password: c.password }) },
          { authorization: basicAuth({ username: c.username, password: 'not-the-password-000' }) },
        ]) {
          const res = await checkRaw({ ...credFields(c), token, ...overrides });
          assertError(res, '2001');
          assert.equal(res.text, initAnswer.text);
        }
      });

      it('2002 for a suspended merchant', async () => {
        const m = await t.createMerchant({ name: 'Soon Suspended' });
        const token = await init(m);
        await check(m, token);
        await t.gw.merchantAdmin.setStatus(m.wmx_id, 'suspended');
        assertError(await checkRaw({ ...credFields(m), token }), '2002');
        await t.gw.merchantAdmin.setStatus(m.wmx_id, 'active');
        assert.equal((await check(m, token)).token, token);
      });

      for (const field of ['wmx_id', 'access_app_key', 'authorization', 'token']) {
        it(`2003 when ${field} is missing or empty`, async () => {
          const token = await init(c);
          assertError(await checkRaw({ ...credFields(c), token, [field]: undefined }), '2003', field);
          assertError(await checkRaw({ ...credFields(c), token, [field]: '' }), '2003', field);
        });
      }

      it('2009 for an unknown, a malformed, or another merchant’s token — byte-identical answers', async () => {
        const theirs = await init(other, { callback_url: 'https://other.test/cb' });
        const answers: string[] = [];
        for (const token of [
          crypto.randomBytes(20).toString('hex'),
          'abc',
          'z'.repeat(40),
          'a'.repeat(41),
          "' OR '1'='1",
          theirs,
        ]) {
          const res = await checkRaw({ ...credFields(c), token });
          assertError(res, '2009', 'token');
          answers.push(res.text);
        }
        assert.equal(new Set(answers).size, 1, answers.join('\n'));
        // The owner still sees it.
        assert.equal((await check(other, theirs)).token, theirs);
      });
    });
  });

  describe(`protocol: check-payment times and expiry, default zone Asia/Dhaka (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      c = await t.createMerchant();
    });
    after(() => t?.close());

    it('init_time is the init instant in Asia/Dhaka (UTC+6), across a date boundary', async () => {
      t.clock.now = Date.UTC(2024, 11, 31, 18, 30, 5); // 2025-01-01 00:30:05 in Dhaka
      const token = assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, initFields(c)));
      const r = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token }));
      assert.equal(r.init_time, '2025-01-01 00:30:05');
      assert.equal(r.txn_time, null);
    });

    it('an unpaid payment is still pending before its expiry and "1009" (expired) after it, with txn_time', async () => {
      const start = Date.UTC(2025, 5, 15, 8, 0, 0);
      t.clock.now = start;
      const token = assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, initFields(c)));
      t.clock.advance(29 * 60_000);
      const pending = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token }));
      assert.equal(pending.txn_status, null);
      assert.equal(pending.statusCode, 1008);

      t.clock.advance(2 * 60_000); // 31 minutes after init: past the default 30-minute expiry
      const expiredAt = t.clock.now;
      const r = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token }));
      assert.equal(r.txn_status, '1009');
      assert.equal(r.statusCode, 1008);
      assert.equal(r.txn_details, 'Expired');
      assert.equal(r.init_time, '2025-06-15 14:00:00');
      assert.equal(r.txn_time, wallClock(expiredAt));
      assert.equal(r.txn_time, '2025-06-15 14:31:00');
      assert.equal(r.card_details, null);
      assert.equal(r.merchant_amount_bdt, '10.00');

      // Final: reading again later changes nothing.
      t.clock.advance(3_600_000);
      assert.deepEqual(assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token })), r);
    });
  });

  describe(`protocol: check-payment with WMX_TIMEZONE=UTC behind a trusted proxy (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, {
        fakeClock: true,
        env: { WMX_TIMEZONE: 'UTC', WMX_TRUST_PROXY: 'true' },
      });
      c = await t.createMerchant();
    });
    after(() => t?.close());

    it('times follow the configured zone and request_ip honours the trusted proxy', async () => {
      t.clock.now = Date.UTC(2024, 11, 31, 18, 30, 5);
      const res = await rawRequest(`${t.url}/init-payment-process`, new URLSearchParams(initFields(c)).toString(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.7' },
      });
      const token = assertInitOk(res);
      const r = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token }));
      assert.equal(r.init_time, '2024-12-31 18:30:05');
      assert.equal(r.request_ip, '203.0.113.7');
    });
  });
}

for (const dialect of dialects()) {
  describe(`protocol: request_ip on a dual-stack listener (WMX_HOST=::) (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, { host: '::' });
      c = await t.createMerchant();
    });
    after(() => t?.close());

    it('an IPv4 caller is reported as IPv4 (127.0.0.1), not as ::ffff:127.0.0.1', async () => {
      const token = assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, initFields(c)));
      const r = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token }));
      assert.equal(r.request_ip, '127.0.0.1');
    });
  });
}
