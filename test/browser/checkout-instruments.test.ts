/**
 * Every sandbox instrument of PROTOCOL.md section 10, paid in Chromium on the hosted page, end to end:
 * the page's outcome, the signed result callback the browser posts to the merchant, and the
 * authoritative check-payment record.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
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
  holdCallbacks,
  landsOnMerchant,
  newToken,
  openCheckout,
  payWithCard,
  resultText,
  type CardInput,
  type ExpectedRecord,
  type Sink,
} from './helpers.js';

interface CardCase {
  title: string;
  card: CardInput;
  heading: 'Payment successful' | 'Payment declined';
  /** Text the result page must show. */
  shows: string;
  record: ExpectedRecord;
}

const visa = { payment_card: 'VISA-Sandbox Bank', card_code: '1001', payment_method: '1' } as const;

const CARD_CASES: CardCase[] = [
  {
    title: 'Visa 4111 1111 1111 1111: approved, domestic',
    card: { number: '4111 1111 1111 1111' },
    heading: 'Payment successful',
    shows: '10.00 BDT · VISA-Sandbox Bank 411111******1111',
    record: {
      txn_status: '1000',
      txn_details: 'Approved',
      card_details: '411111******1111',
      ...visa,
      is_foreign: '0',
    },
  },
  {
    title: 'Mastercard 5555 5555 5555 4444: approved, domestic',
    card: { number: '5555 5555 5555 4444' },
    heading: 'Payment successful',
    shows: 'MASTERCARD-Sandbox Bank 555555******4444',
    record: {
      txn_status: '1000',
      txn_details: 'Approved',
      card_details: '555555******4444',
      payment_card: 'MASTERCARD-Sandbox Bank',
      card_code: '1002',
      payment_method: '1',
      is_foreign: '0',
    },
  },
  {
    title: 'Amex 3782 822463 10005 with a 4-digit CVV: approved, domestic',
    card: { number: '3782 822463 10005', cvv: '4321' },
    heading: 'Payment successful',
    shows: 'AMEX-Sandbox Bank 378282*****0005',
    record: {
      txn_status: '1000',
      txn_details: 'Approved',
      card_details: '378282*****0005',
      payment_card: 'AMEX-Sandbox Bank',
      card_code: '1003',
      payment_method: '1',
      is_foreign: '0',
    },
  },
  {
    title: '4242 4242 4242 4242: approved, foreign card',
    card: { number: '4242 4242 4242 4242' },
    heading: 'Payment successful',
    shows: 'VISA-Sandbox Bank 424242******4242',
    record: {
      txn_status: '1000',
      txn_details: 'Approved',
      card_details: '424242******4242',
      ...visa,
      is_foreign: '1',
    },
  },
  {
    title: '4000 0000 0000 0002: declined (generic)',
    card: { number: '4000 0000 0000 0002' },
    heading: 'Payment declined',
    shows: 'Declined',
    record: {
      txn_status: '1001',
      txn_details: 'Declined',
      card_details: '400000******0002',
      ...visa,
      is_foreign: '0',
    },
  },
  {
    title: '4000 0000 0000 9995: declined, insufficient funds',
    card: { number: '4000 0000 0000 9995' },
    heading: 'Payment declined',
    shows: 'Declined: insufficient funds',
    record: {
      txn_status: '1001',
      txn_details: 'Declined: insufficient funds',
      card_details: '400000******9995',
      ...visa,
    },
  },
  {
    title: '4000 0000 0000 0069: declined, expired card',
    card: { number: '4000 0000 0000 0069' },
    heading: 'Payment declined',
    shows: 'Declined: expired card',
    record: {
      txn_status: '1001',
      txn_details: 'Declined: expired card',
      card_details: '400000******0069',
      ...visa,
    },
  },
  {
    title: '4000 0000 0000 0127: declined, incorrect CVV',
    card: { number: '4000 0000 0000 0127' },
    heading: 'Payment declined',
    shows: 'Declined: incorrect CVV',
    record: {
      txn_status: '1001',
      txn_details: 'Declined: incorrect CVV',
      card_details: '400000******0127',
      ...visa,
    },
  },
];

describe('browser: every sandbox instrument, end to end', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const dialect of dialects()) {
    describe(`sandbox instruments (${dialect})`, () => {
      let t: TestGateway;
      let sink: Sink;
      let c: IssuedCredentials;
      let noEmi: IssuedCredentials;
      let ctx: BrowserContext;
      let page: Page;

      before(async () => {
        t = await startGateway(dialect, { env: { WMX_BANK_TIMEOUT: '300ms' } });
        sink = await startCallbackSink();
        c = await t.createMerchant({ sandbox: true, emiAllowed: true, domains: ['shop.test'] });
        noEmi = await t.createMerchant({ sandbox: true, emiAllowed: false, domains: ['shop.test'] });
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

      /** Releases the held callback and checks it, the landing on the merchant, and check-payment. */
      async function finish(token: string, release: () => void, record: ExpectedRecord, amount?: string) {
        release();
        const [cb] = await callbacksFor(sink, token);
        assertCallback(cb!, c, { token, txn_status: record.txn_status!, ...(amount ? { amount } : {}) });
        await landsOnMerchant(page, sink);
        assert.equal((await callbacksFor(sink, token)).length, 1, 'the result was posted once');
        return assertRecord(t, c, token, record);
      }

      for (const k of CARD_CASES) {
        it(k.title, async () => {
          const token = await newToken(t, c, sink);
          const release = await holdCallbacks(page);
          await openCheckout(page, t, token);
          await payWithCard(page, k.card);
          const text = await resultText(page, k.heading);
          assert.ok(text.includes(k.shows), `the result page shows "${k.shows}": ${text}`);
          assert.ok(await button(page, 'Return to Test Shop').isVisible());
          await finish(token, release, k.record);
        });
      }

      it('4000 0000 0000 3220: one-time password 123456, then approved', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await payWithCard(page, { number: '4000 0000 0000 3220' });
        await field(page, 'One-time password').waitFor();
        // Still pending while the customer reads the code.
        await assertRecord(t, c, token, { txn_status: null, txn_details: 'Awaiting payment' });
        await enterOtp(page, '123456');
        await resultText(page, 'Payment successful');
        await finish(token, release, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_details: '400000******3220',
          ...visa,
          is_foreign: '0',
        });
      });

      it('4000 0000 0000 3220: three wrong one-time passwords decline with 1001', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await payWithCard(page, { number: '4000 0000 0000 3220' });
        await enterOtp(page, '000000');
        await page.getByText('2 tries left.').waitFor();
        await enterOtp(page, '111111');
        await page.getByText('1 try left.').waitFor();
        await assertRecord(t, c, token, { txn_status: null, txn_details: 'Awaiting payment' });
        await enterOtp(page, '222222');
        await resultText(page, 'Payment declined');
        await finish(token, release, {
          txn_status: '1001',
          txn_details: 'Declined: authentication failed',
          card_details: '400000******3220',
          ...visa,
        });
      });

      it('4000 0084 0000 1629: one-time password step, then declined', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await payWithCard(page, { number: '4000 0084 0000 1629' });
        await enterOtp(page, '123456');
        const text = await resultText(page, 'Payment declined');
        assert.ok(text.includes('Declined: authentication failed'), text);
        await finish(token, release, {
          txn_status: '1001',
          txn_details: 'Declined: authentication failed',
          card_details: '400000******1629',
          ...visa,
        });
      });

      it('4000 0000 0000 0119: the bank does not answer → declined with Bank timeout, nothing charged', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await payWithCard(page, { number: '4000 0000 0000 0119' });
        const text = await resultText(page, 'Payment declined');
        assert.ok(text.includes('The bank did not answer in time'), text);
        assert.ok(text.includes('You have not been charged'), text);
        const rec = await finish(token, release, {
          txn_status: '1001',
          txn_details: 'Bank timeout',
          card_details: '400000******0119',
          ...visa,
        });
        assert.match(String(rec.txn_details), /Bank timeout/);
      });

      it('bKash wallet 01700000001, PIN 12121, OTP 123456: approved', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await chooseMethod(page, 'Mobile wallet');
        assert.equal(await field(page, 'Card number').count(), 0, 'the card form is gone');
        await field(page, 'Wallet provider').selectOption({ label: 'bKash' });
        await field(page, 'Wallet number').fill('01700000001');
        await field(page, 'PIN').fill('12121');
        await button(page, 'Pay').click();
        await enterOtp(page, '123456');
        const text = await resultText(page, 'Payment successful');
        assert.ok(text.includes('BKASH-bKash 017****0001'), text);
        await finish(token, release, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_details: '017****0001',
          payment_card: 'BKASH-bKash',
          card_code: '6001',
          payment_method: '2',
          is_foreign: '0',
        });
      });

      it('Nagad wallet: a wrong PIN may be corrected, then approved as NAGAD', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await chooseMethod(page, 'Mobile wallet');
        await field(page, 'Wallet provider').selectOption({ label: 'Nagad' });
        await field(page, 'Wallet number').fill('01700000001');
        await field(page, 'PIN').fill('9999');
        await button(page, 'Pay').click();
        await page.getByText('Wrong PIN. 2 tries left.').waitFor();
        await assertRecord(t, c, token, { txn_status: null, txn_details: 'Awaiting payment' });
        // The wallet form is shown again with the provider and number kept and the PIN emptied.
        assert.equal(await field(page, 'Wallet provider').inputValue(), 'nagad');
        assert.equal(await field(page, 'Wallet number').inputValue(), '01700000001');
        assert.equal(await field(page, 'PIN').inputValue(), '');
        await field(page, 'PIN').fill('12121');
        await button(page, 'Pay').click();
        await enterOtp(page, '123456');
        await resultText(page, 'Payment successful');
        await finish(token, release, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_details: '017****0001',
          payment_card: 'NAGAD-Nagad',
          card_code: '6002',
          payment_method: '2',
        });
      });

      it('wallet 01700000002: declined, insufficient balance', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await chooseMethod(page, 'Mobile wallet');
        await field(page, 'Wallet number').fill('01700000002');
        await field(page, 'PIN').fill('12121');
        await button(page, 'Pay').click();
        const text = await resultText(page, 'Payment declined');
        assert.ok(text.includes('Declined: insufficient balance'), text);
        await finish(token, release, {
          txn_status: '1001',
          txn_details: 'Declined: insufficient balance',
          card_details: '017****0002',
          payment_card: 'BKASH-bKash',
          card_code: '6001',
          payment_method: '2',
        });
      });

      it('internet banking sandbox/sandbox: approved (after a wrong password is corrected)', async () => {
        const token = await newToken(t, c, sink);
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        await chooseMethod(page, 'Internet banking');
        await field(page, 'Bank').selectOption({ label: 'Sandbox Bank' });
        await field(page, 'Username').fill('sandbox');
        await field(page, 'Password').fill('wrong');
        await button(page, 'Pay').click();
        await page.getByText('Wrong username or password. 2 tries left.').waitFor();
        assert.equal(await field(page, 'Username').inputValue(), 'sandbox');
        await field(page, 'Password').fill('sandbox');
        await button(page, 'Pay').click();
        const text = await resultText(page, 'Payment successful');
        assert.ok(text.includes('IBANKING-Sandbox Bank'), text);
        await finish(token, release, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_details: 'sa******',
          payment_card: 'IBANKING-Sandbox Bank',
          card_code: '7001',
          payment_method: '3',
          is_foreign: '0',
        });
      });

      it('EMI chosen on the card form: the surcharge is added to what the customer pays', async () => {
        const token = await newToken(t, c, sink, { amount: '1000', product_desc: 'A television' });
        const release = await holdCallbacks(page);
        await openCheckout(page, t, token);
        const instalments = field(page, 'Instalments');
        const six = instalments.getByRole('option', { name: /^6 months: / });
        const sixLabel = (await six.textContent())!.trim();
        assert.equal(sixLabel, '6 months: 4.50% surcharge, +45.00 BDT, 1045.00 BDT in all');
        assert.match((await instalments.getByRole('option').first().textContent()) ?? '', /^No EMI/);
        await instalments.selectOption({ label: sixLabel });
        const firstBank = (await field(page, 'EMI bank').getByRole('option').first().textContent())!.trim();
        await field(page, 'EMI bank').selectOption({ label: firstBank });
        await payWithCard(page, { number: '4111 1111 1111 1111' });
        const text = await resultText(page, 'Payment successful');
        assert.ok(text.includes('1045.00 BDT'), text);
        const rec = await finish(
          token,
          release,
          {
            txn_status: '1000',
            txn_details: 'Approved',
            card_details: '411111******1111',
            ...visa,
            bank_amount_bdt: '1045.00',
          },
          '1000.00',
        );
        assert.equal(rec.merchant_amount_bdt, '1000.00');
        assert.equal(rec.emi_ratio, '4.50');
        assert.equal(rec.emi_charge, '45.00');
      });

      it('a merchant without EMI gets no instalment choice on the card form', async () => {
        const token = await newToken(t, noEmi, sink);
        await openCheckout(page, t, token);
        await field(page, 'Card number').waitFor();
        assert.equal(await field(page, 'Instalments').count(), 0);
        assert.equal(await field(page, 'EMI bank').count(), 0);
      });
    });
  }
});
