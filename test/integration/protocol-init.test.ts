/**
 * PROTOCOL.md section 4: POST /init-payment-process — the success shape, every error code a request
 * can earn (2001–2008), the field rules, and idempotency on merchant_ref_id.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { basicAuth, credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import { assertError, assertInitOk, assertRecord, postUrlencoded, type WireResponse } from './protocol-helpers.js';

const ref = () => crypto.randomBytes(7).toString('hex').slice(0, 13);

for (const dialect of dialects()) {
  describe(`protocol: init-payment-process (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let other: IssuedCredentials;
    let sandbox: IssuedCredentials;

    const init = (m: IssuedCredentials, overrides: Record<string, string | undefined> = {}): Promise<WireResponse> =>
      postUrlencoded(`${t.url}/init-payment-process`, initFields(m, overrides));
    const check = async (m: IssuedCredentials, token: string) =>
      assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(m), token }));

    before(async () => {
      t = await startGateway(dialect);
      c = await t.createMerchant({
        name: 'Test Shop',
        domains: ['shop.test', 'https://Other-Shop.COM.bd/path'],
      });
      other = await t.createMerchant({ name: 'Other Shop', domains: ['other.test'] });
      sandbox = await t.createMerchant({ name: 'Sandbox Shop', domains: [], sandbox: true });
    });
    after(() => t?.close());

    describe('success', () => {
      it('answers exactly {"statusCode":"1000","statusMsg":"Success","token":<40 lowercase hex>}', async () => {
        const res = await init(c);
        const token = assertInitOk(res);
        assert.match(res.text, /"statusCode":"1000"/); // a string on the wire, not a number
        assert.equal(res.text, JSON.stringify({ statusCode: '1000', statusMsg: 'Success', token }));
        const again = assertInitOk(await init(c));
        assert.notEqual(again, token, 'each payment gets a fresh token');
      });

      it('Bangla text and 64-character (not byte) limits: 64 Bangla letters fit merchant_order_id', async () => {
        const orderId = 'ক'.repeat(64);
        const token = assertInitOk(await init(c, { merchant_order_id: orderId, customer_name: 'রহিম' }));
        assert.equal((await check(c, token)).merchant_order_id, orderId);
      });
    });

    describe('2001 authentication failed — one answer for every cause', () => {
      it('unknown wmx_id, wrong app key, wrong user, wrong password, junk authorization: same 2001, no field', async () => {
        const causes: Record<string, Record<string, string>> = {
          'unknown wmx_id': { wmx_id: 'WMX' + crypto.randomBytes(7).toString('hex').slice(0, 13) },
          'malformed wmx_id': { wmx_id: 'nobody' },
          'another merchant’s wmx_id': { wmx_id: other.wmx_id },
          'wrong access_app_key': { access_app_key: crypto.randomBytes(20).toString('hex') },
          'wrong username': {
            authorization: basicAuth({ username: 'testshop_0000000000', password: c.password }),
          },
          'wrong password': {
            authorization: basicAuth({ username: c.username, password: c.password + 'x' }),
          },
          'other merchant’s username and password': { authorization: basicAuth(other) },
          'not Basic': { authorization: `Bearer ${c.password}` },
          'not base64': { authorization: 'Basic !!!not-base64!!!' },
          'no colon': { authorization: 'Basic ' + Buffer.from(c.username + c.password).toString('base64') },
        };
        const messages = new Set<string>();
        for (const [cause, overrides] of Object.entries(causes)) {
          const res = await init(c, overrides);
          assertError(res, '2001');
          messages.add(res.json.statusMsg as string);
          assert.equal(messages.size, 1, `${cause} answered differently: ${res.text}`);
        }
      });
    });

    describe('2002 merchant not active', () => {
      it('a suspended merchant gets 2002 (and 2001 still wins for wrong credentials); re-activation restores it', async () => {
        const m = await t.createMerchant({ name: 'Paused Shop' });
        assertInitOk(await init(m)); // warm the auth cache: suspension must still apply at once
        await t.gw.merchantAdmin.setStatus(m.wmx_id, 'suspended');
        assertError(await init(m), '2002');
        assertError(
          await init(m, {
            authorization: basicAuth({ username: m.username, password: 'wrong-password-000000' }),
          }),
          '2001',
        );
        await t.gw.merchantAdmin.setStatus(m.wmx_id, 'pending');
        assertError(await init(m), '2002');
        await t.gw.merchantAdmin.setStatus(m.wmx_id, 'active');
        assertInitOk(await init(m));
      });
    });

    describe('2003 required field missing', () => {
      const required = [
        'wmx_id',
        'access_app_key',
        'authorization',
        'merchant_order_id',
        'customer_name',
        'customer_email',
        'customer_phone',
        'product_desc',
        'amount',
        'currency',
        'callback_url',
      ];
      for (const field of required) {
        it(`${field}: absent, empty → 2003 with "field":"${field}"`, async () => {
          assertError(await init(c, { [field]: undefined }), '2003', field);
          assertError(await init(c, { [field]: '' }), '2003', field);
        });
      }

      it('optional fields may be absent: only the required ones sent → 1000', async () => {
        const f = initFields(c);
        const minimal: Record<string, string> = {};
        for (const k of required) minimal[k] = f[k] as string;
        assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, minimal));
      });
    });

    describe('2004 field invalid', () => {
      const boundaries: [string, number][] = [
        ['merchant_order_id', 64],
        ['merchant_ref_id', 64],
        ['app_name', 255],
        ['product_desc', 4096],
      ];
      for (const [field, max] of boundaries) {
        it(`${field}: ${max} characters accepted, ${max + 1} → 2004`, async () => {
          assertInitOk(await init(c, { [field]: 'a'.repeat(max) }));
          assertError(await init(c, { [field]: 'a'.repeat(max + 1) }), '2004', field);
        });
      }

      it('every other text field has a length limit too (5000 characters → 2004 naming the field)', async () => {
        const long = 'a'.repeat(5000);
        const cases: Record<string, string> = {
          customer_name: long,
          customer_email: `${long}@example.com`,
          customer_phone: long,
          customer_add: long,
          customer_city: long,
          customer_country: long,
          customer_postcode: long,
          shipping_name: long,
          shipping_add: long,
          shipping_city: long,
          shipping_country: long,
          shipping_postCode: long,
          callback_url: `https://shop.test/${long}`,
          extra_json: JSON.stringify({ note: long }),
        };
        for (const [field, value] of Object.entries(cases))
          assertError(await init(c, { [field]: value }), '2004', field);
      });

      it('customer_email must look like an email', async () => {
        for (const bad of [
          'not-an-email',
          'rahim@',
          '@example.com',
          'rahim@example',
          'rahim @example.com',
          'a@b@c.com',
        ]) {
          assertError(await init(c, { customer_email: bad }), '2004', 'customer_email');
        }
        for (const good of ['first.last+tag@sub.example.com.bd', 'RAHIM@EXAMPLE.COM'])
          assertInitOk(await init(c, { customer_email: good }));
      });

      it('callback_url must be an absolute http(s) URL', async () => {
        for (const bad of [
          'not a url',
          '/callback',
          'shop.test/callback',
          'ftp://shop.test/callback',
          'javascript:alert(1)',
          'mailto:owner@shop.test',
          'data:text/html,hi',
          'https://user:pass@shop.test/callback',
        ]) {
          assertError(await init(c, { callback_url: bad }), '2004', 'callback_url');
          assertError(await init(sandbox, { callback_url: bad }), '2004', 'callback_url');
        }
      });
    });

    describe('2005 amount invalid', () => {
      const bad = [
        '0',
        '0.00',
        '-1',
        '-0.01',
        'abc',
        '10.005',
        '1e3',
        'NaN',
        'Infinity',
        '1'.repeat(30),
        '10,5',
        '10 BDT',
        '0x10',
        '١٠',
      ];
      for (const amount of bad) {
        it(`amount ${JSON.stringify(amount)} → 2005 with "field":"amount"`, async () => {
          assertError(await init(c, { amount }), '2005', 'amount');
        });
      }

      it('above the merchant maximum (1,000,000,000.00 BDT by default) → 2005; the maximum itself is accepted', async () => {
        assertError(await init(c, { amount: '1000000000.01' }), '2005', 'amount');
        assertError(await init(c, { amount: '10000000000' }), '2005', 'amount');
        const token = assertInitOk(await init(c, { amount: '1000000000.00' }));
        assert.equal((await check(c, token)).merchant_req_amount, '1000000000.00');
      });

      it('the limit applies to the BDT value: a USD amount that converts above it → 2005', async () => {
        assertError(await init(c, { amount: '100000000', currency: 'USD' }), '2005', 'amount');
      });
    });

    describe('2006 currency', () => {
      it('an unknown currency → 2006 with "field":"currency"', async () => {
        assertError(await init(c, { currency: 'XYZ' }), '2006', 'currency');
        assertError(await init(c, { currency: 'TAKA' }), '2006', 'currency');
      });

      it('currency is case-insensitive and echoed upper case', async () => {
        const usd = assertInitOk(await init(c, { currency: 'usd' }));
        assert.equal((await check(c, usd)).merchant_currency, 'USD');
        const bdt = assertInitOk(await init(c, { currency: 'Bdt' }));
        assert.equal((await check(c, bdt)).merchant_currency, 'BDT');
      });
    });

    describe('2007 callback_url host', () => {
      it('a live merchant may only call back to its registered domains: not to a subdomain of one', async () => {
        for (const url of [
          'https://evil.test/callback',
          'https://shop.test.evil.test/callback',
          'https://evilshop.test/callback',
          'https://pay.shop.test/callback', // a subdomain is another host
          'https://www.shop.test/callback',
          'https://other.test/callback', // another merchant's domain
          'http://127.0.0.1/callback',
        ]) {
          assertError(await init(c, { callback_url: url }), '2007', 'callback_url');
        }
        for (const url of [
          'https://shop.test/callback?order=1001&x=1',
          'http://shop.test/callback',
          'https://SHOP.TEST.:8443/wc-api/WC_Walletmix?order=1',
          'https://other-shop.com.bd/cb', // second domain, registered as a URL with upper case
        ]) {
          assertInitOk(await init(c, { callback_url: url }));
        }
      });

      it('a sandbox merchant may use any host', async () => {
        for (const url of [
          'https://anything.example/cb',
          'http://127.0.0.1:8080/callback',
          'http://localhost/cb?a=1',
        ]) {
          assertInitOk(await init(sandbox, { callback_url: url }));
        }
      });
    });

    describe('idempotency on merchant_ref_id', () => {
      it('the same merchant_ref_id with identical fields returns the same token; different fields → 2008', async () => {
        const r = ref();
        const first = assertInitOk(await init(c, { merchant_ref_id: r }));
        assert.equal(assertInitOk(await init(c, { merchant_ref_id: r })), first);
        assertError(await init(c, { merchant_ref_id: r, amount: '11' }), '2008', 'merchant_ref_id');
        assertError(
          await init(c, { merchant_ref_id: r, customer_email: 'someone@example.com' }),
          '2008',
          'merchant_ref_id',
        );
        assertError(await init(c, { merchant_ref_id: r, merchant_order_id: '1002' }), '2008', 'merchant_ref_id');
        assertError(
          await init(c, { merchant_ref_id: r, callback_url: 'https://shop.test/other' }),
          '2008',
          'merchant_ref_id',
        );
        // The failed attempts changed nothing.
        assert.equal(assertInitOk(await init(c, { merchant_ref_id: r })), first);
        const rows = await t.gw.db.kysely
          .selectFrom('payments')
          .select('token')
          .where('merchant_ref_id', '=', r)
          .execute();
        assert.deepEqual(
          rows.map((x) => x.token),
          [first],
        );
      });

      it('merchant_ref_id is scoped to the merchant: another merchant may reuse it', async () => {
        const r = ref();
        const mine = assertInitOk(await init(c, { merchant_ref_id: r }));
        const theirs = assertInitOk(await init(other, { merchant_ref_id: r, callback_url: 'https://other.test/cb' }));
        assert.notEqual(mine, theirs);
        assert.equal((await check(other, theirs)).merchant_ref_id, r);
      });

      it('10 concurrent identical inits create one payment and all get its token', async () => {
        const r = ref();
        const fields = initFields(c, { merchant_ref_id: r });
        const results = await Promise.all(
          Array.from({ length: 10 }, () => postUrlencoded(`${t.url}/init-payment-process`, fields)),
        );
        const tokens = new Set(results.map(assertInitOk));
        assert.equal(tokens.size, 1);
        const rows = await t.gw.db.kysely
          .selectFrom('payments')
          .select('token')
          .where('merchant_ref_id', '=', r)
          .execute();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]?.token, [...tokens][0]);
      });

      it('10 concurrent inits with different refs create 10 payments', async () => {
        const refs = Array.from({ length: 10 }, ref);
        const results = await Promise.all(refs.map((r) => init(c, { merchant_ref_id: r })));
        const tokens = new Set(results.map(assertInitOk));
        assert.equal(tokens.size, 10);
        const rows = await t.gw.db.kysely
          .selectFrom('payments')
          .select('token')
          .where('merchant_ref_id', 'in', refs)
          .execute();
        assert.equal(rows.length, 10);
      });

      it('without merchant_ref_id a 13-hex one is generated, echoed by check-payment, and each init is a new payment', async () => {
        const a = assertInitOk(await init(c, { merchant_ref_id: undefined }));
        const b = assertInitOk(await init(c, { merchant_ref_id: undefined }));
        assert.notEqual(a, b);
        const ra = (await check(c, a)).merchant_ref_id;
        const rb = (await check(c, b)).merchant_ref_id;
        assert.match(ra as string, /^[0-9a-f]{13}$/);
        assert.match(rb as string, /^[0-9a-f]{13}$/);
        assert.notEqual(ra, rb);
      });
    });

    describe('fields that are never rejected', () => {
      it('cart_info junk is stored as text, never validated', async () => {
        for (const cart_info of [
          '',
          ',,,',
          'junk',
          '<script>alert(1)</script>',
          '{"not":"csv"}',
          'বাংলা,দোকান',
          'x'.repeat(3000),
          'a\u0000b',
        ]) {
          const token = assertInitOk(await init(c, { cart_info }));
          const row = await t.gw.db.kysely
            .selectFrom('payments')
            .select('cart_info')
            .where('token', '=', token)
            .executeTakeFirstOrThrow();
          assert.equal(row.cart_info, cart_info.replaceAll('\u0000', ''));
        }
        assertInitOk(await init(c, { cart_info: undefined }));
      });

      it('malformed options are never rejected; well-formed ones are decoded', async () => {
        for (const options of [
          '',
          '%%%',
          'not base64!!',
          '====',
          'Zm9v',
          '//79/A==',
          Buffer.from('i=1').toString('base64'),
          'a'.repeat(3000),
        ]) {
          assertInitOk(await init(c, { options }));
        }
        assertInitOk(await init(c, { options: undefined }));
        const token = assertInitOk(
          await init(c, { options: Buffer.from('s=shop.test,i=203.0.113.9').toString('base64') }),
        );
        const row = await t.gw.db.kysely
          .selectFrom('payments')
          .select('options_decoded')
          .where('token', '=', token)
          .executeTakeFirstOrThrow();
        assert.equal(row.options_decoded, 's=shop.test,i=203.0.113.9');
      });

      it('extra_json is kept exactly as received (check-payment returns the same string), null when not sent', async () => {
        for (const extra_json of [
          '[]',
          '',
          '{"emi_period":"6","emi_selected_bank":"dbbl"}',
          '  { "a" : "বাংলা", "b": [1, 2.50, null] }  ',
          '{"x":"a+b c&d=e%20"}',
          'not json at all {',
          '"a json string"',
        ]) {
          const token = assertInitOk(await init(c, { extra_json }));
          assert.equal((await check(c, token)).extra_json, extra_json);
        }
        const none = assertInitOk(await init(c, { extra_json: undefined }));
        assert.equal((await check(c, none)).extra_json, null);
      });
    });

    it('error answers never carry a token', async () => {
      const res = await init(c, { amount: '-5' });
      assertError(res, '2005', 'amount');
      assert.doesNotMatch(res.text, /"token"/);
      assert.doesNotMatch(res.text, /[0-9a-f]{40}/);
    });
  });

  describe(`protocol: init idempotency window (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      c = await t.createMerchant();
    });
    after(() => t?.close());

    const init = (fields: Record<string, string>) => postUrlencoded(`${t.url}/init-payment-process`, fields);
    const check = (token: string) => postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token });
    const pay = async (token: string, card: string) => {
      const res = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams({ method: 'card', card_number: card, expiry: '12/39', cvv: '123', card_name: 'X' }),
        redirect: 'manual',
      });
      await res.text();
    };

    it('a retry with identical fields within 24 h gets the same token back once the payment is paid', async () => {
      const fields = initFields(c, { merchant_ref_id: ref() });
      const first = assertInitOk(await init(fields));
      await pay(first, '4111111111111111');
      assert.equal(assertRecord(await check(first)).txn_status, '1000');
      t.clock.advance(23 * 3_600_000 + 59 * 60_000);
      assert.equal(assertInitOk(await init(fields)), first);
      assertError(await init({ ...fields, amount: '10.01' }), '2008', 'merchant_ref_id');
      // Past the window, the paid reference is never taken again.
      t.clock.advance(2 * 60_000);
      assertError(await init(fields), '2008', 'merchant_ref_id');
    });

    it('after a decline the same merchant_ref_id starts a new payment; the declined token keeps its answer', async () => {
      const fields = initFields(c, { merchant_ref_id: ref() });
      const first = assertInitOk(await init(fields));
      await pay(first, '4000000000009995');
      const again = assertInitOk(await init(fields));
      assert.notEqual(again, first);
      assert.equal(assertRecord(await check(first)).txn_status, '1001');
      const fresh = assertRecord(await check(again));
      assert.equal(fresh.txn_status, null);
      assert.equal(fresh.merchant_ref_id, fields.merchant_ref_id);
      // The new one is live: a retry gets it back, other fields are 2008 again, and it can be paid.
      assert.equal(assertInitOk(await init(fields)), again);
      assertError(await init({ ...fields, amount: '10.01' }), '2008', 'merchant_ref_id');
      await pay(again, '4111111111111111');
      assert.equal(assertRecord(await check(again)).txn_status, '1000');
    });

    it('after a cancellation the same merchant_ref_id starts a new payment, with changed fields too', async () => {
      const fields = initFields(c, { merchant_ref_id: ref() });
      const first = assertInitOk(await init(fields));
      const res = await fetch(`${t.url}/bank-payment-process/${first}/cancel`, { method: 'POST', redirect: 'manual' });
      await res.text();
      assert.equal(assertRecord(await check(first)).txn_status, '1009');
      const again = assertInitOk(await init({ ...fields, amount: '12.50' }));
      assert.notEqual(again, first);
      assert.equal(assertRecord(await check(again)).merchant_req_amount, '12.50');
    });

    it('after expiry the same merchant_ref_id starts a new payment at once, before the sweeper has run', async () => {
      const fields = initFields(c, { merchant_ref_id: ref() });
      const first = assertInitOk(await init(fields));
      t.clock.advance(31 * 60_000); // past the 30-minute time to live; nothing has looked at it
      const again = assertInitOk(await init(fields));
      assert.notEqual(again, first);
      const old = assertRecord(await check(first));
      assert.equal(old.txn_status, '1009');
      assert.equal(old.txn_details, 'Expired');
      assert.equal(assertRecord(await check(again)).txn_status, null);
    });
  });
}
