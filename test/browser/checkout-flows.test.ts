/**
 * The hosted checkout's flows in Chromium: the signed result callback (with the legacy extra path
 * segment), typos that are not outcomes, cancel, expiry on an injected clock, double submits and two
 * tabs racing on one token, re-sending a finished result, and the 404 page.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { startCallbackSink } from '../support/callback-sink.js';
import { checkPayment, dialects, startGateway, type TestGateway } from '../support/harness.js';
import {
  assertCallback,
  assertRecord,
  button,
  callbacksFor,
  field,
  fillCard,
  holdCallbacks,
  landsOnMerchant,
  newToken,
  openCheckout,
  payWithCard,
  resultText,
  FUTURE_EXPIRY,
  type Sink,
} from './helpers.js';

const VISA = { number: '4111 1111 1111 1111' };
const visaRecord = {
  txn_status: '1000',
  txn_details: 'Approved',
  card_details: '411111******1111',
  payment_card: 'VISA-Sandbox Bank',
  card_code: '1001',
  payment_method: '1',
  is_foreign: '0',
} as const;

describe('browser: checkout flows', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const dialect of dialects()) {
    describe(`checkout flows (${dialect})`, () => {
      let t: TestGateway;
      let sink: Sink;
      let c: IssuedCredentials;
      let ctx: BrowserContext;
      let page: Page;

      before(async () => {
        t = await startGateway(dialect, { fakeClock: true, env: { WMX_BANK_TIMEOUT: '3s' } });
        sink = await startCallbackSink();
        c = await t.createMerchant({ sandbox: true, emiAllowed: true, domains: ['shop.test'] });
      });
      after(async () => {
        await sink?.close();
        await t?.close();
      });
      beforeEach(async () => {
        ctx = await browser.newContext();
        page = await ctx.newPage();
      });
      afterEach(async () => {
        await ctx?.close();
      });

      async function paymentRows(token: string) {
        return t.gw.db.kysely
          .selectFrom('payments')
          .select(['status', 'auth_code', 'card_details', 'processing_until'])
          .where('token', '=', token)
          .execute();
      }

      it('posts the signed result with the extra path segment echoed as username', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token, 'someuser');
        // Typed as some customers do: Bangla digits, and the expiry year in full.
        const fullYear = `12/${new Date().getUTCFullYear() + 5}`;
        await fillCard(page, { number: '৪১১১ ১১১১ ১১১১ ১১১১', expiry: fullYear });
        assert.equal(await field(page, 'Card number').inputValue(), '4111 1111 1111 1111');
        assert.equal(await field(page, 'Expiry').inputValue(), fullYear, 'a 4-digit year is kept whole');
        await button(page, 'Pay').click();
        await resultText(page, 'Payment successful');
        release();
        const [cb] = await callbacksFor(sink, token);
        const data = assertCallback(cb!, c, { token, txn_status: '1000', username: 'someuser' });
        assert.equal(data.username, 'someuser');
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, visaRecord);
      });

      it('without the extra segment merchant_txn_data has no username', async () => {
        const token = await newToken(t, c, sink, { merchant_order_id: 'ORD-7' });
        await openCheckout(page, t, token);
        await payWithCard(page, VISA);
        const [cb] = await callbacksFor(sink, token);
        const data = assertCallback(cb!, c, { token, txn_status: '1000', merchant_order_id: 'ORD-7' });
        assert.equal('username' in data, false);
        await landsOnMerchant(page, sink);
      });

      it('a typo is refused on the form and records no outcome; the customer corrects it', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);

        await payWithCard(page, { number: '4111 1111 1111 1112' });
        await page.getByText('This card number is not valid. Check it and try again.').waitFor();
        assert.equal(await field(page, 'Card number').getAttribute('aria-invalid'), 'true');
        assert.equal(await field(page, 'Card number').inputValue(), '4111 1111 1111 1112', 'kept for correction');
        assert.equal(await field(page, 'CVV').inputValue(), '', 'the CVV is never echoed back');
        await assertRecord(t, c, token, { txn_status: null, txn_details: 'Awaiting payment' });

        await payWithCard(page, { number: '4111 1111 1111 1111', expiry: '01/20' });
        await page.getByText('This card has expired. Check the date or use another card.').waitFor();
        assert.equal(await field(page, 'Expiry').getAttribute('aria-invalid'), 'true');
        await assertRecord(t, c, token, { txn_status: null, txn_details: 'Awaiting payment' });

        await payWithCard(page, { number: '3782 822463 10005', cvv: '123' });
        await page.getByText('Enter the 4-digit CVV.').waitFor();
        await assertRecord(t, c, token, { txn_status: null, txn_details: 'Awaiting payment' });
        assert.equal(
          sink.received.filter((r) => r.fields.merchant_txn_data?.includes(token)).length,
          0,
          'nothing was posted to the merchant',
        );

        await payWithCard(page, VISA);
        await resultText(page, 'Payment successful');
        release();
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: '1000' });
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, visaRecord);
      });

      it('Cancel returns 1009 to the merchant; check-payment says Cancelled by customer', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await button(page, 'Cancel').click();
        const text = await resultText(page, 'Payment cancelled');
        assert.ok(text.includes('Cancelled by customer'), text);
        release();
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: '1009' });
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, {
          txn_status: '1009',
          txn_details: 'Cancelled by customer',
          card_details: null,
          payment_method: '',
        });
      });

      it('Cancel on the one-time-password page returns 1009 and charges nothing', async () => {
        const token = await newToken(t, c, sink);
        await openCheckout(page, t, token);
        await payWithCard(page, { number: '4000 0000 0000 3220' });
        await field(page, 'One-time password').waitFor();
        await button(page, 'Cancel').click();
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: '1009' });
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, {
          txn_status: '1009',
          txn_details: 'Cancelled by customer',
          card_details: null,
        });
      });

      it('an expired token shows the expired page, which returns 1009 to the merchant', async () => {
        const token = await newToken(t, c, sink);
        t.clock.advance(31 * 60_000);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        const text = await resultText(page, 'Payment expired');
        assert.ok(text.includes('This payment was not completed in time. No money was taken.'), text);
        assert.equal(await field(page, 'Card number').count(), 0, 'no payment form');
        release();
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: '1009' });
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, { txn_status: '1009', txn_details: 'Expired', card_details: null });
      });

      it('the expired page opened with the extra path segment echoes it as username', async () => {
        const token = await newToken(t, c, sink);
        t.clock.advance(31 * 60_000);
        await openCheckout(page, t, token, 'someuser');
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: '1009', username: 'someuser' });
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, { txn_status: '1009', txn_details: 'Expired', card_details: null });
      });

      it('Pay pressed after the token expired (page left open) expires instead of charging', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await fillCard(page, VISA);
        t.clock.advance(31 * 60_000);
        await button(page, 'Pay').click();
        await resultText(page, 'Payment expired');
        release();
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: '1009' });
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, { txn_status: '1009', txn_details: 'Expired', card_details: null });
        const [row] = await paymentRows(token);
        assert.equal(row!.auth_code, null, 'the bank was never asked');
      });

      for (const javaScriptEnabled of [true, false]) {
        it(`a double-click on Pay charges once (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
          const own = await browser.newContext({ javaScriptEnabled });
          try {
            const p = await own.newPage();
            const token = await newToken(t, c, sink);
            await openCheckout(p, t, token);
            await fillCard(p, VISA);
            await button(p, 'Pay').dblclick();
            if (javaScriptEnabled) {
              await p.waitForURL(`${sink.url}/**`);
            } else {
              // A second POST may meet the first one's lease: "being processed" refreshes into the result.
              await p.getByRole('heading', { name: 'Payment successful', exact: true }).waitFor();
              await button(p, 'Return to Test Shop').click();
            }
            const cbs = await callbacksFor(sink, token);
            for (const cb of cbs) assertCallback(cb, c, { token, txn_status: '1000' });
            await landsOnMerchant(p, sink);
            assert.equal((await callbacksFor(sink, token)).length, 1, 'one result posted');
            const rows = await paymentRows(token);
            assert.equal(rows.length, 1);
            assert.equal(rows[0]!.status, 'approved');
            assert.match(String(rows[0]!.auth_code), /^[A-Z0-9]{6}$/);
            await assertRecord(t, c, token, visaRecord);
          } finally {
            await own.close();
          }
        });
      }

      it('two tabs paying the same token at once: exactly one approval, both report it', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(ctx);
        const tabA = page;
        const tabB = await ctx.newPage();
        await openCheckout(tabA, t, token);
        await openCheckout(tabB, t, token);
        await fillCard(tabA, VISA);
        await fillCard(tabB, { number: '5555 5555 5555 4444' });
        await Promise.all([button(tabA, 'Pay').click(), button(tabB, 'Pay').click()]);
        const [textA, textB] = await Promise.all([
          resultText(tabA, 'Payment successful'),
          resultText(tabB, 'Payment successful'),
        ]);
        const rec = await checkPayment(t, c, token);
        assert.equal(rec.json.txn_status, '1000');
        const winner = `${String(rec.json.payment_card)} ${String(rec.json.card_details)}`;
        assert.ok(
          ['VISA-Sandbox Bank 411111******1111', 'MASTERCARD-Sandbox Bank 555555******4444'].includes(winner),
          winner,
        );
        assert.ok(textA.includes(winner), `tab A shows the one outcome: ${textA}`);
        assert.ok(textB.includes(winner), `tab B shows the one outcome: ${textB}`);
        const refA = /Reference: ([A-Za-z0-9]{15})/.exec(textA)?.[1];
        assert.ok(refA);
        assert.equal(refA, /Reference: ([A-Za-z0-9]{15})/.exec(textB)?.[1]);
        assert.equal(refA, rec.json.ref_id);
        release();
        const cbs = await callbacksFor(sink, token, 2);
        const datas = cbs.map((cb) => assertCallback(cb, c, { token, txn_status: '1000' }));
        assert.deepEqual(datas[0], datas[1], 'both tabs post the same result');
        await Promise.all([landsOnMerchant(tabA, sink), landsOnMerchant(tabB, sink)]);
        const rows = await paymentRows(token);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, 'approved');
        assert.equal(rows[0]!.card_details, rec.json.card_details);
      });

      it('a second tab paying while the bank is asked is told to wait, then shows the first outcome', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(ctx);
        const tabA = page;
        const tabB = await ctx.newPage();
        await openCheckout(tabA, t, token);
        // Tab B is in Bangla and carries the legacy extra segment; both must survive the wait.
        await openCheckout(tabB, t, token, 'someuser');
        await tabB.getByRole('link', { name: 'বাংলা', exact: true }).click();
        await fillCard(tabA, { number: '4000 0000 0000 0119' }); // the bank hangs until the gateway gives up
        await field(tabB, 'কার্ড নম্বর').fill(VISA.number);
        await field(tabB, 'মেয়াদ').fill(FUTURE_EXPIRY);
        await field(tabB, 'সিভিভি').fill('123');
        await field(tabB, 'কার্ডে লেখা নাম').fill('Rahim Uddin');
        await button(tabA, 'Pay').click({ noWaitAfter: true });
        // Wait until tab A's request holds the payment, then pay from tab B.
        for (let i = 0; i < 100 && (await paymentRows(token))[0]!.processing_until === null; i++)
          await new Promise((r) => setTimeout(r, 20));
        assert.notEqual((await paymentRows(token))[0]!.processing_until, null, 'tab A is with the bank');
        await button(tabB, 'পরিশোধ করুন').click();
        await tabB.getByRole('heading', { name: 'আপনার পেমেন্ট প্রক্রিয়াধীন', exact: true }).waitFor();
        const [textA, textB] = await Promise.all([
          resultText(tabA, 'Payment declined'),
          resultText(tabB, 'পেমেন্ট প্রত্যাখ্যাত হয়েছে'),
        ]);
        assert.ok(textA.includes('The bank did not answer in time'), textA);
        assert.ok(textB.includes('ব্যাংক সময়মতো সাড়া দেয়নি'), textB);
        // The waiting page refreshed into the payment page itself, not into a GET of the form's action.
        assert.equal(new URL(tabB.url()).pathname, `/bank-payment-process/${token}/someuser`);
        release();
        const cbs = await callbacksFor(sink, token, 2);
        for (const cb of cbs) assertCallback(cb, c, { token, txn_status: '1001' });
        await Promise.all([landsOnMerchant(tabA, sink), landsOnMerchant(tabB, sink)]);
        // Tab B's Visa was never charged: the one outcome is tab A's timeout.
        await assertRecord(t, c, token, {
          txn_status: '1001',
          txn_details: 'Bank timeout',
          card_details: '400000******0119',
          payment_card: 'VISA-Sandbox Bank',
        });
        const [row] = await paymentRows(token);
        assert.equal(row!.auth_code, null);
      });

      it("a finished token's page re-sends the same result", async () => {
        const token = await newToken(t, c, sink, { merchant_order_id: '42' });
        await openCheckout(page, t, token, 'someuser');
        await payWithCard(page, { number: '4000 0000 0000 9995' });
        await landsOnMerchant(page, sink);
        const [first] = await callbacksFor(sink, token, 1);
        assertCallback(first!, c, { token, txn_status: '1001', username: 'someuser' });

        // Back to the payment link later (or another tab): the page posts the same result again.
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        const text = await resultText(page, 'Payment declined');
        assert.ok(text.includes('Declined: insufficient funds'), text);
        assert.equal(await field(page, 'Card number').count(), 0, 'the token is not payable again');
        release();
        const both = await callbacksFor(sink, token, 2);
        const second = assertCallback(both[1]!, c, { token, txn_status: '1001', username: 'someuser' });
        assert.equal(both[1]!.fields.merchant_txn_data, first!.fields.merchant_txn_data);
        assert.equal(second.merchant_ref_id, JSON.parse(first!.fields.merchant_txn_data!).merchant_ref_id);
        await landsOnMerchant(page, sink);
        await assertRecord(t, c, token, {
          txn_status: '1001',
          txn_details: 'Declined: insufficient funds',
          card_details: '400000******9995',
        });
      });

      it('an unknown token gets a 404 "payment not found" page', async () => {
        for (const bad of ['0'.repeat(40), 'not-a-token']) {
          const res = await page.goto(`${t.url}/bank-payment-process/${bad}`);
          assert.equal(res?.status(), 404);
          await page.getByRole('heading', { name: 'Payment not found', exact: true }).waitFor();
          assert.equal(await button(page, 'Pay').count(), 0);
          assert.equal(await field(page, 'Card number').count(), 0);
        }
      });
    });
  }
});
