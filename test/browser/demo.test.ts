/**
 * The sandbox demo shop in Chromium: from the home page to the shop, through the hosted checkout,
 * and back to the shop, which verifies the payment with check-payment as the official client does.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { checkPayment, dialects, startGateway, type TestGateway } from '../support/harness.js';
import { button, payWithCard } from './helpers.js';

describe('browser: the demo shop', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const dialect of dialects()) {
    describe(`demo shop (${dialect})`, () => {
      let t: TestGateway;
      let ctx: BrowserContext;
      let page: Page;

      before(async () => {
        t = await startGateway(dialect, { demo: true });
        assert.ok(t.demoMerchant, 'the gateway has a demo merchant');
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

      /** Home → demo shop → basket → Checkout; returns the payment token from the hosted page's URL. */
      async function checkout(quantities: Record<string, string>): Promise<string> {
        await page.goto(`${t.url}/`);
        await page.getByRole('link', { name: 'Try the demo shop', exact: true }).click();
        await page.getByRole('heading', { name: 'Demo shop', exact: true }).waitFor();
        for (const [product, qty] of Object.entries(quantities))
          await page.getByLabel(`Quantity of ${product}`, { exact: true }).fill(qty);
        await button(page, 'Checkout').click();
        await page.waitForURL(/\/bank-payment-process\/[0-9a-f]{40}$/);
        await page.getByRole('heading', { name: 'Pay Sandbox Demo Shop', exact: true }).waitFor();
        return /\/bank-payment-process\/([0-9a-f]{40})$/.exec(page.url())![1]!;
      }

      it('pays the basket by card and lands back on the shop, which shows Paid', async () => {
        // 2 × 450.00 + 1 × 1200.50
        const token = await checkout({ 'Sylhet tea, 500 g': '2', 'Rajshahi mangoes, 5 kg': '1' });
        const summary = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
        assert.ok(summary.includes('2100.50 BDT'), summary);
        await payWithCard(page, { number: '4111 1111 1111 1111' });
        await page.getByRole('heading', { name: 'Paid', exact: true }).waitFor();
        assert.equal(new URL(page.url()).pathname, '/demo/callback');
        const text = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
        assert.match(text, /is paid: 2100\.50 BDT/);

        const rec = await checkPayment(t, t.demoMerchant!, token);
        assert.equal(rec.json.txn_status, '1000');
        assert.equal(rec.json.statusCode, 1000);
        assert.equal(rec.json.merchant_amount_bdt, '2100.50');
        assert.equal(rec.json.card_details, '411111******1111');
        const order = await t.gw.db.kysely
          .selectFrom('demo_orders')
          .select(['status', 'total_minor'])
          .where('token', '=', token)
          .executeTakeFirst();
        assert.equal(order?.status, 'paid');
        assert.equal(String(order?.total_minor), '210050');
      });

      it('a declined card lands back on the shop, which shows Not paid', async () => {
        const token = await checkout({ 'Jamdani saree': '1', 'Sylhet tea, 500 g': '0' });
        await payWithCard(page, { number: '4000 0000 0000 0002' });
        await page.getByRole('heading', { name: 'Not paid', exact: true }).waitFor();
        assert.equal(await page.getByRole('heading', { name: 'Paid', exact: true }).count(), 0);
        const text = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
        assert.match(text, /is not paid: Declined/);

        const rec = await checkPayment(t, t.demoMerchant!, token);
        assert.equal(rec.json.txn_status, '1001');
        assert.equal(rec.json.merchant_amount_bdt, '3500.00');
        const order = await t.gw.db.kysely
          .selectFrom('demo_orders')
          .select('status')
          .where('token', '=', token)
          .executeTakeFirst();
        assert.equal(order?.status, 'unpaid');
      });
    });
  }
});
