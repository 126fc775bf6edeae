/**
 * Real rails in Chromium: the hosted page sends the customer to an upstream's own page (the bKash
 * and SSLCommerz simulators on their own ports, the sandbox bank's 3-D Secure page), the customer
 * pays or cancels there, comes back, and the merchant gets the one outcome: on its callback, from
 * check-payment, and in the ledger. Last, the demo shop of a sandbox gateway that mounts both
 * simulators itself (as main.ts runs it), paid with bKash.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startBkashSimulator } from '../../src/acquirers/bkash/simulator.js';
import {
  BKASH_SIMULATOR_DEFAULT_WALLET,
  BKASH_SIMULATOR_OTP,
  BKASH_SIMULATOR_PIN,
} from '../../src/acquirers/bkash/simulator-state.js';
import {
  SSLCOMMERZ_SIMULATOR_DEFAULT_STORE,
  startSslcommerzSimulator,
} from '../../src/acquirers/sslcommerz/simulator.js';
import { SANDBOX_3DS_CARD } from '../../src/acquirers/sandbox/instruments.js';
import type { MethodKey } from '../../src/acquirers/port.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { startCallbackSink } from '../support/callback-sink.js';
import { checkPayment, dialects, startGateway, type TestGateway } from '../support/harness.js';
import { addConnector, assertLedgerOk, bkashFields, moneyTrail } from '../support/rails.js';
import {
  assertCallback,
  assertRecord,
  button,
  callbacksFor,
  field,
  holdCallbacksTo,
  landsOnMerchant,
  newToken,
  openCheckout,
  payWithCard,
  resultText,
  FUTURE_EXPIRY,
  type Sink,
} from './helpers.js';

type BkashSim = Awaited<ReturnType<typeof startBkashSimulator>>;
type SslSim = Awaited<ReturnType<typeof startSslcommerzSimulator>>;

const BKASH_PAGE = 'bKash Payment (simulator)';
const SSL_PAGE = 'SSLCommerz (simulator)';
const heading = (page: Page, name: string) => page.getByRole('heading', { name, exact: true });
const mainText = async (page: Page) => (await page.locator('main').innerText()).replace(/\s+/g, ' ');

/** Chooses a method by its button in the chooser (a GET form: a new page load). */
async function choose(page: Page, name: string): Promise<void> {
  await button(page, name).click();
  await page.waitForURL(/[?&]method=/);
  assert.equal(await button(page, name).getAttribute('aria-pressed'), 'true', `${name} is the chosen method`);
}

/** Waits until the browser is on a page of `origin` whose heading is `name`. */
async function onPage(page: Page, origin: string, name: string): Promise<void> {
  await page.waitForURL((u) => u.origin === origin);
  await heading(page, name).waitFor();
}

describe('browser: real rails', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const dialect of dialects()) {
    describe(`rails (${dialect})`, () => {
      let t: TestGateway;
      let sink: Sink;
      let bkash: BkashSim;
      let ssl: SslSim;
      /** Its bKash, card, Nagad and internet banking go to the bKash and SSLCommerz simulators. */
      let rails: IssuedCredentials;
      /** Routed nowhere: its cards go to the built-in sandbox bank. */
      let bank: IssuedCredentials;
      let ctx: BrowserContext;
      let page: Page;
      let release: () => void;

      before(async () => {
        [t, sink, bkash, ssl] = await Promise.all([
          startGateway(dialect),
          startCallbackSink(),
          startBkashSimulator(),
          startSslcommerzSimulator({ ipnRetries: 0 }),
        ]);
        rails = await t.createMerchant({ sandbox: true, domains: ['shop.test'] });
        bank = await t.createMerchant({ sandbox: true, domains: ['shop.test'] });
        await addConnector(t, { id: 'bkash', kind: 'bkash', fields: bkashFields(bkash.baseUrl), methods: [] });
        await addConnector(t, {
          id: 'sslcommerz',
          kind: 'sslcommerz',
          fields: {
            base_url: ssl.url,
            store_id: SSLCOMMERZ_SIMULATOR_DEFAULT_STORE.storeId,
            store_passwd: SSLCOMMERZ_SIMULATOR_DEFAULT_STORE.storePasswd,
          },
          methods: [],
        });
        const m = await t.gw.merchants.byWmxId(rails.wmx_id);
        assert.ok(m);
        const routes: [MethodKey, string][] = [
          ['bkash', 'bkash'],
          ['card', 'sslcommerz'],
          ['nagad', 'sslcommerz'],
          ['internet_banking', 'sslcommerz'],
        ];
        for (const [method, id] of routes)
          assert.deepEqual(await t.gw.connectors.route(m.id, method, id, CLI_ACTOR), { ok: true });
      });
      after(async () => {
        await Promise.all([sink?.close(), bkash?.close(), ssl?.close()]);
        await t?.close();
      });
      beforeEach(async () => {
        ctx = await browser.newContext();
        page = await ctx.newPage();
        // The gateway's result page waits (to be read) before posting to the merchant; the
        // upstreams' own self-submitting pages go on at once.
        release = await holdCallbacksTo(ctx, sink.url);
      });
      afterEach(async () => {
        await ctx?.close();
      });

      /** The result page's text, the signed callback, check-payment and the money trail, for one outcome. */
      async function outcome(
        creds: IssuedCredentials,
        token: string,
        pageHeading: string,
        txnStatus: '1000' | '1001' | '1009',
      ) {
        // An upstream's own page may show the same heading while it sends the browser back: wait
        // for the gateway's result page itself.
        await page.waitForURL((u) => u.origin === t.url && u.pathname === `/bank-payment-process/${token}`);
        const text = await resultText(page, pageHeading);
        assert.equal(new URL(page.url()).origin, t.url, 'back on the gateway');
        assert.equal(new URL(page.url()).pathname, `/bank-payment-process/${token}`);
        release();
        const [cb, ...more] = await callbacksFor(sink, token);
        assert.equal(more.length, 0, 'one callback');
        assertCallback(cb!, creds, { token, txn_status: txnStatus });
        await landsOnMerchant(page, sink);
        const trail = await moneyTrail(t, token);
        assert.equal(trail.paymentTransfers, txnStatus === '1000' ? 1 : 0, 'the ledger moved once, or not at all');
        assert.equal(trail.refundTransfers, 0);
        const event = { '1000': 'payment.succeeded', '1001': 'payment.failed', '1009': 'payment.cancelled' }[txnStatus];
        assert.deepEqual(trail.events, [event]);
        await assertLedgerOk(t);
        return { text, trail };
      }

      /** Payment page → bKash chosen → "Pay with bKash" → the simulator's page, by its address. */
      async function toBkash(token: string): Promise<void> {
        await openCheckout(page, t, token);
        await choose(page, 'bKash');
        const note = await mainText(page);
        assert.ok(note.includes('You will pay 10.00 BDT on bKash’s own secure page'), note);
        await button(page, 'Pay with bKash').click();
        await onPage(page, bkash.url, BKASH_PAGE);
        const summary = await mainText(page);
        assert.ok(summary.includes('10.00 BDT'), summary);
        const p = await t.gw.payments.byToken(token);
        assert.equal(p?.upstreamState, 'redirected', 'the upstream reference is recorded before the redirect');
      }

      it('bKash: wallet, verification code and PIN on bKash’s page → approved, BKASH-bKash / 6001', async () => {
        const token = await newToken(t, rails, sink);
        await toBkash(token);
        await field(page, 'bKash account number').fill(BKASH_SIMULATOR_DEFAULT_WALLET);
        await button(page, 'Confirm').click();
        await page.getByText(`A verification code was sent to ${BKASH_SIMULATOR_DEFAULT_WALLET}.`).waitFor();
        await field(page, 'Verification code').fill(BKASH_SIMULATOR_OTP);
        await button(page, 'Confirm').click();
        await field(page, 'PIN').fill(BKASH_SIMULATOR_PIN);
        await button(page, 'Confirm').click();

        const { text, trail } = await outcome(rails, token, 'Payment successful', '1000');
        assert.match(text, /10\.00 BDT · BKASH-bKash 01\d\*{4}\d{4}/);
        const rec = await assertRecord(t, rails, token, {
          txn_status: '1000',
          txn_details: 'Approved',
          payment_card: 'BKASH-bKash',
          card_code: '6001',
          payment_method: '2',
        });
        assert.match(String(rec.card_details), /^01\d\*{4}8575$/);
        const ops = trail.calls.map((c) => c.operation);
        assert.equal(ops.filter((o) => o === 'execute_payment').length, 1, ops.join());
      });

      it('bKash: Close on bKash’s page → cancelled (1009), nothing charged', async () => {
        const token = await newToken(t, rails, sink);
        await toBkash(token);
        await field(page, 'bKash account number').fill(BKASH_SIMULATOR_DEFAULT_WALLET);
        await button(page, 'Confirm').click();
        await field(page, 'Verification code').waitFor();
        await button(page, 'Close').click();

        const { text, trail } = await outcome(rails, token, 'Payment cancelled', '1009');
        assert.ok(text.includes('Cancelled by customer'), text);
        await assertRecord(t, rails, token, {
          txn_status: '1009',
          txn_details: 'Cancelled by customer',
          card_details: null,
        });
        assert.ok(!trail.calls.some((c) => c.operation === 'execute_payment'), 'nothing was executed');
      });

      /** Payment page → `choice` → its button → the SSLCommerz simulator's page. */
      async function toSslcommerz(token: string, choice: string, submit: string): Promise<void> {
        await openCheckout(page, t, token);
        await choose(page, choice);
        await button(page, submit).click();
        await onPage(page, ssl.url, SSL_PAGE);
        const summary = await mainText(page);
        assert.ok(summary.includes('10.00 BDT'), summary);
      }

      it('SSLCommerz card: 4111 1111 1111 1111 and OTP on SSLCommerz’s page → approved, VISA / 1001', async () => {
        const token = await newToken(t, rails, sink);
        await toSslcommerz(token, 'Card', 'Continue to SSLCommerz');
        assert.equal(await button(page, 'Nagad').count(), 0, 'the page offers only the routed method');
        await field(page, 'Card number').fill('4111111111111111');
        await field(page, 'Expiry (MM/YY)').fill(FUTURE_EXPIRY);
        await field(page, 'CVV').fill('111');
        await button(page, 'Pay').click();
        await heading(page, 'OTP verification').waitFor();
        await field(page, 'OTP').fill('111111');
        await button(page, 'Verify').click();

        const { text } = await outcome(rails, token, 'Payment successful', '1000');
        assert.ok(text.includes('10.00 BDT · VISA-Dutch Bangla 411111******1111'), text);
        await assertRecord(t, rails, token, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_details: '411111******1111',
          payment_card: 'VISA-Dutch Bangla',
          card_code: '1001',
          payment_method: '1',
          is_foreign: '0',
        });
      });

      it('SSLCommerz Nagad: wallet number and OTP on SSLCommerz’s page → approved, NAGAD-Nagad / 6002', async () => {
        const token = await newToken(t, rails, sink);
        await toSslcommerz(token, 'Nagad', 'Pay with Nagad');
        await button(page, 'Nagad').click();
        await field(page, 'Wallet number').fill('01712345678');
        await field(page, 'OTP').fill('111111');
        await button(page, 'Pay').click();

        const { text } = await outcome(rails, token, 'Payment successful', '1000');
        assert.ok(text.includes('NAGAD-Nagad'), text);
        await assertRecord(t, rails, token, {
          txn_status: '1000',
          txn_details: 'Approved',
          payment_card: 'NAGAD-Nagad',
          card_code: '6002',
          payment_method: '2',
        });
      });

      it('SSLCommerz internet banking: a bank login on SSLCommerz’s page → approved, IBANKING / 7001', async () => {
        const token = await newToken(t, rails, sink);
        await toSslcommerz(token, 'Internet banking', 'Continue to SSLCommerz');
        await button(page, 'City Touch').click();
        await field(page, 'User ID').fill('rahim');
        await field(page, 'Password').fill('secret');
        await button(page, 'Log in').click();

        await outcome(rails, token, 'Payment successful', '1000');
        const rec = await assertRecord(t, rails, token, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_code: '7001',
        });
        assert.match(String(rec.payment_card), /^IBANKING-/);
      });

      it('SSLCommerz: Cancel on SSLCommerz’s page → cancelled (1009)', async () => {
        const token = await newToken(t, rails, sink);
        await toSslcommerz(token, 'Card', 'Continue to SSLCommerz');
        await button(page, 'Cancel').click();

        const { text } = await outcome(rails, token, 'Payment cancelled', '1009');
        assert.ok(text.includes('Cancelled by customer'), text);
        await assertRecord(t, rails, token, {
          txn_status: '1009',
          txn_details: 'Cancelled by customer',
          card_details: null,
        });
      });

      it('the page with card fields keeps form-action to itself; a method paid on an upstream’s page lifts it', async () => {
        const csp = async (creds: IssuedCredentials, method: string) => {
          const token = await newToken(t, creds, sink);
          const r = await fetch(`${t.url}/bank-payment-process/${token}?method=${method}`);
          assert.equal(r.status, 200);
          return r.headers.get('content-security-policy') ?? '';
        };
        // The browser checks form-action against the 303 to bKash's origin (the tests above pass).
        assert.doesNotMatch(await csp(rails, 'bkash'), /form-action/);
        assert.doesNotMatch(await csp(rails, 'card'), /form-action/, 'card goes to SSLCommerz: no card fields here');
        assert.match(await csp(bank, 'card'), /form-action 'self'/, 'card fields are posted to the gateway only');
      });

      /** Card on the payment page → the sandbox bank's 3-D Secure page → `choice`. */
      async function threeDSecure(token: string, number: string, choice: string): Promise<void> {
        await openCheckout(page, t, token);
        assert.equal(await button(page, 'bKash').count(), 0, 'this merchant is routed nowhere');
        await payWithCard(page, { number });
        await page.waitForURL(/\/sandbox-bank\/authenticate\//);
        await heading(page, 'Sandbox Bank: 3-D Secure').waitFor();
        const text = await mainText(page);
        assert.ok(text.includes(`${number.slice(0, 6)}******${number.slice(-4)}`), text);
        assert.ok(text.includes('10.00 BDT'), text);
        await button(page, choice).click();
      }

      it('sandbox 3-D Secure: 4000 0027 6000 3184 authenticated on the bank’s page → approved', async () => {
        const token = await newToken(t, bank, sink);
        await threeDSecure(token, SANDBOX_3DS_CARD, 'Authenticate');
        const { text } = await outcome(bank, token, 'Payment successful', '1000');
        assert.ok(text.includes('VISA-Sandbox Bank 400000******3184'), text);
        await assertRecord(t, bank, token, {
          txn_status: '1000',
          txn_details: 'Approved',
          card_details: '400000******3184',
          payment_card: 'VISA-Sandbox Bank',
          card_code: '1001',
        });
      });

      it('sandbox 3-D Secure: 4000 0082 6000 3178 fails authentication → declined (1001)', async () => {
        const token = await newToken(t, bank, sink);
        await threeDSecure(token, '4000008260003178', 'Authenticate');
        const { text } = await outcome(bank, token, 'Payment declined', '1001');
        assert.ok(text.includes('authentication failed'), text);
        await assertRecord(t, bank, token, {
          txn_status: '1001',
          txn_details: 'Declined: authentication failed',
          card_details: '400000******3178',
        });
      });
    });

    describe(`demo shop through the in-gateway simulators (${dialect})`, () => {
      let t: TestGateway;
      let ctx: BrowserContext;
      let page: Page;

      before(async () => {
        t = await startGateway(dialect, { demo: true, simulators: true });
        assert.ok(t.demoMerchant);
      });
      after(async () => {
        await t?.close();
      });
      beforeEach(async () => {
        ctx = await browser.newContext();
        page = await ctx.newPage();
      });
      afterEach(async () => {
        await ctx?.close();
      });

      it('buys tea, pays with bKash on the simulator the gateway serves, lands on Paid', async () => {
        await page.goto(`${t.url}/demo`);
        await page.getByLabel('Quantity of Sylhet tea, 500 g', { exact: true }).fill('2');
        await button(page, 'Checkout').click();
        await page.waitForURL(/\/bank-payment-process\/[0-9a-f]{40}$/);
        const token = /\/bank-payment-process\/([0-9a-f]{40})$/.exec(page.url())![1]!;
        await heading(page, 'Pay Sandbox Demo Shop').waitFor();
        await choose(page, 'bKash');
        await button(page, 'Pay with bKash').click();
        await page.waitForURL((u) => u.pathname.startsWith('/simulators/bkash/'));
        assert.equal(new URL(page.url()).origin, t.url, 'the simulator is served by the gateway itself');
        await heading(page, BKASH_PAGE).waitFor();
        assert.ok((await mainText(page)).includes('900.00 BDT'));
        await field(page, 'bKash account number').fill(BKASH_SIMULATOR_DEFAULT_WALLET);
        await button(page, 'Confirm').click();
        await field(page, 'Verification code').fill(BKASH_SIMULATOR_OTP);
        await button(page, 'Confirm').click();
        await field(page, 'PIN').fill(BKASH_SIMULATOR_PIN);
        await button(page, 'Confirm').click();

        await heading(page, 'Paid').waitFor();
        assert.equal(new URL(page.url()).pathname, '/demo/callback');
        assert.match(await mainText(page), /is paid: 900\.00 BDT/);
        const rec = await checkPayment(t, t.demoMerchant!, token);
        assert.equal(rec.json.txn_status, '1000');
        assert.equal(rec.json.payment_card, 'BKASH-bKash');
        assert.equal(rec.json.card_code, '6001');
        assert.equal(rec.json.merchant_amount_bdt, '900.00');
        const order = await t.gw.db.kysely
          .selectFrom('demo_orders')
          .select('status')
          .where('token', '=', token)
          .executeTakeFirst();
        assert.equal(order?.status, 'paid');
        const trail = await moneyTrail(t, token);
        assert.equal(trail.payment.connectorId, 'bkash-sim');
        assert.equal(trail.paymentTransfers, 1);
        assert.deepEqual(trail.events, ['payment.succeeded']);
        await assertLedgerOk(t);
      });
    });
  }
});
