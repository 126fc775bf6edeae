/**
 * The hosted checkout as different customers meet it in Chromium: without JavaScript, in Bangla
 * (by the language link or by Accept-Language), and on a 360-px-wide phone screen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { startCallbackSink } from '../support/callback-sink.js';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';
import {
  assertCallback,
  assertRecord,
  button,
  callbacksFor,
  chooseMethod,
  enterOtp,
  field,
  FUTURE_EXPIRY,
  holdCallbacks,
  landsOnMerchant,
  newToken,
  openCheckout,
  payWithCard,
  resultText,
  type Sink,
} from './helpers.js';

const visaRecord = {
  txn_status: '1000',
  txn_details: 'Approved',
  card_details: '411111******1111',
  payment_card: 'VISA-Sandbox Bank',
  card_code: '1001',
  payment_method: '1',
  is_foreign: '0',
} as const;

/** Bangla labels and names of the payment page. */
const BN = {
  card: 'কার্ড',
  wallet: 'মোবাইল ওয়ালেট',
  ibanking: 'ইন্টারনেট ব্যাংকিং',
  cardNumber: 'কার্ড নম্বর',
  expiry: 'মেয়াদ',
  cvv: 'সিভিভি',
  name: 'কার্ডে লেখা নাম',
  provider: 'ওয়ালেট প্রদানকারী',
  walletNumber: 'ওয়ালেট নম্বর',
  pin: 'পিন',
  otp: 'ওয়ান-টাইম পাসওয়ার্ড',
  verify: 'যাচাই করুন',
  pay: 'পরিশোধ করুন',
  cancel: 'বাতিল করুন',
  paid: 'পেমেন্ট সফল হয়েছে',
  returnTo: 'Test Shop-এ ফিরে যান',
};

describe('browser: checkout for every customer', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const dialect of dialects()) {
    describe(`no JavaScript, Bangla, small screens (${dialect})`, () => {
      let t: TestGateway;
      let sink: Sink;
      let c: IssuedCredentials;

      before(async () => {
        t = await startGateway(dialect);
        sink = await startCallbackSink();
        c = await t.createMerchant({ sandbox: true, emiAllowed: true, domains: ['shop.test'] });
      });
      after(async () => {
        await sink?.close();
        await t?.close();
      });

      /** Runs `fn` with a fresh context (and page) made with `opts`, closing it afterwards. */
      async function withPage(
        opts: Parameters<Browser['newContext']>[0],
        fn: (page: Page, ctx: BrowserContext) => Promise<void>,
      ) {
        const ctx = await browser.newContext(opts);
        try {
          await fn(await ctx.newPage(), ctx);
        } finally {
          await ctx.close();
        }
      }

      const postedFor = (token: string) =>
        sink.received.filter((r) => r.fields.merchant_txn_data?.includes(`"token":"${token}"`));

      it('without JavaScript: pays by card, then the "Return to" button posts the result', async () => {
        await withPage({ javaScriptEnabled: false }, async (page) => {
          const token = await newToken(t, c, sink);
          await openCheckout(page, t, token);
          await field(page, 'Card number').fill('4111111111111111');
          await field(page, 'Expiry').fill(FUTURE_EXPIRY);
          await field(page, 'CVV').fill('123');
          await field(page, 'Name on card').fill('Rahim Uddin');
          await button(page, 'Pay').click();
          const text = await resultText(page, 'Payment successful');
          assert.ok(text.includes('411111******1111'), text);
          const back = button(page, 'Return to Test Shop');
          assert.ok(await back.isVisible(), 'the no-JS button is shown');
          // Nothing submits by itself without scripts: the customer's click is what returns them.
          await page.waitForTimeout(1_000);
          assert.equal(postedFor(token).length, 0, 'no callback before the click');
          assert.match(page.url(), new RegExp(`^${t.url}/bank-payment-process/`));
          await back.click();
          await landsOnMerchant(page, sink);
          const cbs = await callbacksFor(sink, token);
          assert.equal(cbs.length, 1);
          assertCallback(cbs[0]!, c, { token, txn_status: '1000' });
          await assertRecord(t, c, token, visaRecord);
        });
      });

      it('without JavaScript: a mobile wallet with its one-time password, then Return', async () => {
        await withPage({ javaScriptEnabled: false }, async (page) => {
          const token = await newToken(t, c, sink);
          await openCheckout(page, t, token);
          await chooseMethod(page, 'Mobile wallet');
          await field(page, 'Wallet provider').selectOption({ label: 'bKash' });
          await field(page, 'Wallet number').fill('01700000001');
          await field(page, 'PIN').fill('12121');
          await button(page, 'Pay').click();
          await enterOtp(page, '123456');
          await resultText(page, 'Payment successful');
          await button(page, 'Return to Test Shop').click();
          await landsOnMerchant(page, sink);
          const [cb] = await callbacksFor(sink, token);
          assertCallback(cb!, c, { token, txn_status: '1000' });
          await assertRecord(t, c, token, {
            txn_status: '1000',
            txn_details: 'Approved',
            card_details: '017****0001',
            payment_card: 'BKASH-bKash',
            card_code: '6001',
            payment_method: '2',
          });
        });
      });

      it('without JavaScript: Cancel returns 1009', async () => {
        await withPage({ javaScriptEnabled: false }, async (page) => {
          const token = await newToken(t, c, sink);
          await openCheckout(page, t, token);
          await button(page, 'Cancel').click();
          await resultText(page, 'Payment cancelled');
          await button(page, 'Return to Test Shop').click();
          await landsOnMerchant(page, sink);
          const [cb] = await callbacksFor(sink, token);
          assertCallback(cb!, c, { token, txn_status: '1009' });
          await assertRecord(t, c, token, {
            txn_status: '1009',
            txn_details: 'Cancelled by customer',
            card_details: null,
          });
        });
      });

      it('the বাংলা link switches to Bangla, which stays through a typo and the payment', async () => {
        await withPage({ locale: 'en-US' }, async (page) => {
          const token = await newToken(t, c, sink);
          const release = await holdCallbacks(page);
          await openCheckout(page, t, token);
          assert.equal(await page.getAttribute('html', 'lang'), 'en');
          await page.getByRole('link', { name: 'বাংলা', exact: true }).click();
          await field(page, BN.cardNumber).waitFor();
          assert.equal(await page.getAttribute('html', 'lang'), 'bn');
          assert.equal(await button(page, 'Pay').count(), 0, 'no English button left');
          for (const name of [BN.card, BN.wallet, BN.ibanking, BN.pay, BN.cancel])
            assert.equal(await button(page, name).count(), 1, name);

          await field(page, BN.cardNumber).fill('4111 1111 1111 1112');
          await field(page, BN.expiry).fill(FUTURE_EXPIRY);
          await field(page, BN.cvv).fill('123');
          await field(page, BN.name).fill('রহিম উদ্দিন');
          await button(page, BN.pay).click();
          await page.getByText('কার্ড নম্বরটি সঠিক নয়। যাচাই করে আবার চেষ্টা করুন।').waitFor();

          await field(page, BN.cardNumber).fill('4111 1111 1111 1111');
          await field(page, BN.cvv).fill('123');
          await button(page, BN.pay).click();
          await resultText(page, BN.paid);
          assert.ok(await button(page, BN.returnTo).isVisible());
          release();
          const [cb] = await callbacksFor(sink, token);
          assertCallback(cb!, c, { token, txn_status: '1000' });
          await landsOnMerchant(page, sink);
          await assertRecord(t, c, token, visaRecord);
        });
      });

      it('Accept-Language: bn shows Bangla by default; a wallet payment runs in Bangla', async () => {
        await withPage({ locale: 'bn-BD' }, async (page) => {
          const token = await newToken(t, c, sink);
          const release = await holdCallbacks(page);
          await openCheckout(page, t, token);
          assert.equal(await page.getAttribute('html', 'lang'), 'bn');
          await field(page, BN.cardNumber).waitFor();
          assert.equal(await button(page, 'Card').count(), 0);
          await button(page, BN.wallet).click();
          await field(page, BN.walletNumber).waitFor();
          await field(page, BN.provider).selectOption({ label: 'bKash' });
          await field(page, BN.walletNumber).fill('01700000001');
          await field(page, BN.pin).fill('12121');
          await button(page, BN.pay).click();
          await field(page, BN.otp).fill('123456');
          await button(page, BN.verify).click();
          await resultText(page, BN.paid);
          release();
          const [cb] = await callbacksFor(sink, token);
          assertCallback(cb!, c, { token, txn_status: '1000' });
          await landsOnMerchant(page, sink);
          await assertRecord(t, c, token, {
            txn_status: '1000',
            txn_details: 'Approved',
            payment_card: 'BKASH-bKash',
            payment_method: '2',
          });
        });
      });

      it('an Accept-Language: bn header shows Bangla; the English link switches back', async () => {
        await withPage({ extraHTTPHeaders: { 'Accept-Language': 'bn' } }, async (page) => {
          const token = await newToken(t, c, sink);
          await openCheckout(page, t, token);
          await button(page, BN.pay).waitFor();
          assert.equal(await field(page, BN.cardNumber).count(), 1);
          await page.getByRole('link', { name: 'English', exact: true }).click();
          await field(page, 'Card number').waitFor();
          assert.equal(await page.getAttribute('html', 'lang'), 'en');
          assert.equal(await button(page, 'Pay').count(), 1);
          assert.equal(await button(page, BN.pay).count(), 0);
        });
      });

      it('on a 360-px-wide screen every step fits: Pay is visible and nothing scrolls sideways', async () => {
        await withPage({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true }, async (page) => {
          const token = await newToken(t, c, sink, {
            amount: '18.25',
            currency: 'USD',
            merchant_order_id: 'ORDER-2024-000000000042',
            product_desc:
              '{2xNakshi kantha quilt, hand-stitched in Jessore[7.50]=[15.00]}+{1xRajshahi mangoes 5 kg[3.25]=[3.25]}+{shipping rate:0}-{discount amount:0}=18.25',
          });
          const release = await holdCallbacks(page);

          async function fits(what: string, buttonName: string) {
            const b = button(page, buttonName);
            await b.scrollIntoViewIfNeeded();
            assert.ok(await b.isVisible(), `${what}: "${buttonName}" is visible`);
            const box = await b.boundingBox();
            assert.ok(
              box && box.x >= 0 && box.x + box.width <= 360,
              `${what}: "${buttonName}" lies within the screen: ${JSON.stringify(box)}`,
            );
            const widths = await page.evaluate<{ doc: number; body: number }>(
              '({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth })',
            );
            assert.ok(widths.doc <= 360, `${what}: the page is ${widths.doc}px wide`);
            assert.ok(widths.body <= 360, `${what}: the body is ${widths.body}px wide`);
          }

          await openCheckout(page, t, token);
          assert.equal(await page.evaluate<number>('window.innerWidth'), 360);
          await fits('card form', 'Pay');
          await chooseMethod(page, 'Mobile wallet');
          await fits('wallet form', 'Pay');
          await chooseMethod(page, 'Internet banking');
          await fits('internet banking form', 'Pay');
          await page.getByRole('link', { name: 'বাংলা', exact: true }).click();
          await button(page, BN.pay).waitFor();
          await fits('Bangla internet banking form', BN.pay);
          await button(page, BN.card).click();
          await fits('Bangla card form', BN.pay);
          await page.getByRole('link', { name: 'English', exact: true }).click();
          await payWithCard(page, { number: '4000 0000 0000 3220' });
          await field(page, 'One-time password').waitFor();
          await fits('one-time password page', 'Verify');
          await enterOtp(page, '123456');
          await resultText(page, 'Payment successful');
          await fits('result page', 'Return to Test Shop');
          release();
          const [cb] = await callbacksFor(sink, token);
          assertCallback(cb!, c, {
            token,
            txn_status: '1000',
            amount: '18.25',
            currency: 'USD',
            merchant_order_id: 'ORDER-2024-000000000042',
          });
          await landsOnMerchant(page, sink);
        });
      });
    });
  }
});
