/**
 * Abuse limits: a per-merchant token bucket on init and check-payment (2010 with Retry-After, HTTP
 * 200 as every legacy answer), spent only after authentication so one merchant cannot be starved by
 * another's traffic or by wrong credentials; a per-address limit on failed authentications; and a
 * per-address limit on wrong OTP tries on the payment page, across payments (a wait page with Retry-After).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import {
  basicAuth,
  checkPayment,
  credFields,
  dialects,
  initPayment,
  postForm,
  startGateway,
  type TestGateway,
} from '../support/harness.js';
import { postUrlencoded } from './protocol-helpers.js';
import { loadConfig } from '../../src/config.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function postPage(url: string, fields: Record<string, string>) {
  return fetch(url, { method: 'POST', redirect: 'follow', body: new URLSearchParams(fields) }).then(async (res) => ({
    status: res.status,
    headers: res.headers,
    text: await res.text(),
  }));
}

for (const dialect of dialects()) {
  describe(`abuse limits (${dialect})`, () => {
    let t: TestGateway;
    let a: IssuedCredentials;
    let b: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, {
        env: {
          WMX_RATE_INIT: '2/s,2',
          WMX_RATE_CHECK: '3/s,3',
          WMX_RATE_AUTH_FAIL: '5/m,5',
          WMX_RATE_PAY_TRIES: '4/m,4',
        },
      });
      a = await t.createMerchant({ name: 'Shop A', sandbox: true });
      b = await t.createMerchant({ name: 'Shop B', sandbox: true });
    });
    after(() => t.close());

    it('answers the third quick init with 2010 and Retry-After; another merchant is unaffected; it recovers', async () => {
      const first = await initPayment(t, a);
      const second = await initPayment(t, a);
      assert.equal(first.json.statusCode, '1000', first.text);
      assert.equal(second.json.statusCode, '1000', second.text);
      const third = await initPayment(t, a);
      assert.equal(third.status, 200);
      assert.deepEqual(third.json, { statusCode: '2010', statusMsg: 'Too many requests' });
      const retryAfter = Number(third.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);

      // Merchant B has a bucket of its own.
      assert.equal((await initPayment(t, b)).json.statusCode, '1000');
      // Wrong credentials naming merchant A do not spend A's bucket (they fail authentication first).
      await sleep(1100);
      const wrong = await initPayment(t, { ...a, password: 'not-the-password' });
      assert.equal(wrong.json.statusCode, '2001');
      assert.equal((await initPayment(t, a)).json.statusCode, '1000');
    });

    it('limits check-payment per merchant too', async () => {
      await sleep(1100);
      const token = (await initPayment(t, b)).json.token as string;
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await checkPayment(t, b, token));
      const codes = answers.map((a) => a.json.statusCode);
      // A record carries a numeric statusCode; an error a string one.
      assert.deepEqual(
        codes.slice(0, 3).map((c) => typeof c),
        ['number', 'number', 'number'],
      );
      assert.deepEqual(codes.slice(3), ['2010', '2010']);
      // Read off a limited answer itself: one more request could find the bucket refilled on a slow run.
      assert.ok(Number(answers[3]!.headers.get('retry-after')) >= 1);
    });

    it('answers 2010 to an address after repeated failed authentications, even with right credentials', async () => {
      // The previous test's wrong password already counted once against 127.0.0.1.
      const results: unknown[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await postForm(`${t.url}/check-payment`, {
          wmx_id: `WMX${'0'.repeat(12)}${i}`,
          access_app_key: 'f'.repeat(40),
          authorization: 'Basic ' + Buffer.from('nobody:nothing').toString('base64'),
          token: 'a'.repeat(40),
        });
        results.push(r.json.statusCode);
      }
      assert.deepEqual(results.slice(0, 4), ['2001', '2001', '2001', '2001']);
      assert.deepEqual(results.slice(4), ['2010', '2010']);
      await sleep(1100);
      const blocked = await initPayment(t, a);
      assert.equal(blocked.json.statusCode, '2010');
      assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    });

    it('limits wrong OTP tries per address across payments with a wait page, Retry-After and a way back', async () => {
      // A fresh gateway: the previous test left this address blocked from init.
      const t2 = await startGateway(dialect, { env: { WMX_RATE_PAY_TRIES: '3/m,3' } });
      try {
        const m = await t2.createMerchant({ sandbox: true });
        const otpCard = { method: 'card', card_number: '4000 0000 0000 3220', expiry: '12/39', cvv: '123' };
        const tokens: string[] = [];
        for (let i = 0; i < 3; i++) {
          const token = (await initPayment(t2, m)).json.token as string;
          const step = await postPage(`${t2.url}/bank-payment-process/${token}/pay`, {
            ...otpCard,
            card_name: 'Rahim Uddin',
          });
          assert.match(step.text, /One-time password/);
          tokens.push(token);
        }
        // Two wrong codes on the first payment, one on the second: three in all from this address.
        for (const token of [tokens[0], tokens[0], tokens[1]] as string[]) {
          const r = await postPage(`${t2.url}/bank-payment-process/${token}/verify`, { otp: '000000' });
          assert.equal(r.status, 200);
          assert.match(r.text, /(tries|try) left/);
        }
        // The third payment has tries left of its own, but this address has none.
        const limited = await postPage(`${t2.url}/bank-payment-process/${tokens[2]}/verify`, { otp: '123456' });
        // HTTP 200: WebView SDKs read an HTTP error on the page as a failed payment.
        assert.equal(limited.status, 200);
        assert.match(limited.text, /Too many attempts/);
        assert.match(
          limited.text,
          new RegExp(`<form method="post" action="/bank-payment-process/${tokens[2]}/cancel"`),
          'the customer can cancel and go back to the shop',
        );
        const retryAfter = Number(limited.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
        // Nothing was decided by the refused try: the payment is still pending.
        assert.equal((await t2.gw.payments.byToken(tokens[2] as string))?.status, 'pending');
      } finally {
        await t2.close();
      }
    });
  });
}

for (const dialect of dialects()) {
  describe(`failed-authentication limit by mode, defaults (${dialect})`, () => {
    const wrongAuth = (t: TestGateway, c: IssuedCredentials) =>
      postUrlencoded(`${t.url}/check-payment`, {
        ...credFields(c),
        authorization: basicAuth({ username: c.username, password: 'not-the-password' }),
        token: '0'.repeat(40),
      });

    it('sandbox mode: 40 wrong credentials in a row are each answered 2001 (a conformance suite is not cut off)', async () => {
      const t = await startGateway(dialect);
      try {
        const c = await t.createMerchant();
        const codes: unknown[] = [];
        for (let i = 0; i < 40; i++) codes.push((await wrongAuth(t, c)).json.statusCode);
        assert.deepEqual(new Set(codes), new Set(['2001']));
      } finally {
        await t.close();
      }
    });

    it('sandbox mode: 300 inits for one merchant in a burst all succeed (no per-merchant limit unless set)', async () => {
      const t = await startGateway(dialect);
      try {
        const c = await t.createMerchant();
        const codes: unknown[] = [];
        for (let round = 0; round < 30; round++) {
          const answers = await Promise.all(Array.from({ length: 10 }, () => initPayment(t, c)));
          codes.push(...answers.map((a) => a.json.statusCode));
        }
        assert.equal(codes.length, 300);
        assert.deepEqual(new Set(codes), new Set(['1000']));
      } finally {
        await t.close();
      }
    });

    it('the per-merchant limits are on by default in live mode only', () => {
      const live = loadConfig({ WMX_MODE: 'live', WMX_SECRET: 'x'.repeat(40) });
      assert.deepEqual(live.rateInit, { perSecond: 50, burst: 200 });
      assert.deepEqual(live.rateCheck, { perSecond: 100, burst: 400 });
      const sandbox = loadConfig({});
      assert.equal(sandbox.rateInit, null);
      assert.equal(sandbox.rateCheck, null);
      assert.deepEqual(loadConfig({ WMX_RATE_INIT: '5/s,10' }).rateInit, { perSecond: 5, burst: 10 });
    });

    it('live mode: the 21st wrong credentials within a minute from one address get 2010', async () => {
      const t = await startGateway(dialect, { env: { WMX_MODE: 'live', WMX_SECRET: 'x'.repeat(40) } });
      try {
        const c = await t.createMerchant();
        const codes: unknown[] = [];
        for (let i = 0; i < 21; i++) codes.push((await wrongAuth(t, c)).json.statusCode);
        assert.deepEqual(new Set(codes.slice(0, 20)), new Set(['2001']));
        assert.equal(codes[20], '2010');
      } finally {
        await t.close();
      }
    });
  });
}
