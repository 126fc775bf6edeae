/**
 * Issue 4 end to end, in Chromium, by visible labels only: a business registers, an operator
 * approves it, the owner logs in and reads its credentials, those credentials make a real payment
 * through the legacy protocol and the hosted page, and the payment then shows in the dashboard
 * (list, filters, CSV, chart data). A viewer cannot rotate or refund; another merchant cannot see it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { startCallbackSink } from '../support/callback-sink.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { button, field, FUTURE_EXPIRY } from './helpers.js';

const skip = browserSkipReason();

async function register(page: Page, url: string, name: string, email: string) {
  await page.goto(`${url}/register`);
  await field(page, 'Business name').fill(name);
  await field(page, 'Website domains').fill('localhost');
  await field(page, 'Business type').selectOption('Private limited company');
  await field(page, 'Trade licence number').fill('TRAD/DNCC/123456');
  await field(page, 'Contact name').fill('Nusrat Jahan');
  await field(page, 'Email').fill(email);
  await field(page, 'Phone').fill('+880 1712-345678');
  await field(page, 'Account name').fill(name);
  await field(page, 'Account number').fill('1234567890123');
  await field(page, 'Bank').fill('Dutch-Bangla Bank');
  await field(page, 'Branch').fill('Motijheel');
  await field(page, 'Password').fill('correct horse battery');
  await field(page, 'Confirm password').fill('correct horse battery');
  await button(page, 'Register').click();
  await page.getByRole('heading', { name: 'Application received' }).waitFor();
}

async function logIn(page: Page, loginUrl: string, email: string, password: string) {
  await page.goto(loginUrl);
  await field(page, 'Email').fill(email);
  await field(page, 'Password').fill(password);
  await button(page, 'Log in').click();
  await page.waitForURL((u) => !u.pathname.endsWith('login'));
}

const csrfOf = (page: Page) => page.locator('input[name="_csrf"]').first().inputValue();

for (const dialect of dialects()) {
  describe(`onboarding to first payment in Chromium (${dialect})`, { skip }, () => {
    let t: TestGateway;
    let browser: Browser;
    let sink: Awaited<ReturnType<typeof startCallbackSink>>;
    before(async () => {
      t = await startGateway(dialect);
      sink = await startCallbackSink();
      browser = await launchChromium();
      await t.gw.accounts.createUser({
        kind: 'admin',
        email: 'ops@gateway.test',
        password: 'operator password 1',
        name: 'Ops',
        merchantId: null,
        role: 'admin',
      });
    });
    after(async () => {
      await browser?.close();
      await sink?.close();
      await t?.close();
    });

    it('register → approve → read credentials → pay → see it in the dashboard; roles and isolation hold', async () => {
      const owner = await browser.newContext();
      const ownerPage = await owner.newPage();
      await register(ownerPage, t.url, 'Padma Crafts', 'owner@padma.test');

      // The operator approves the pending application.
      const ops = await browser.newContext();
      const opsPage = await ops.newPage();
      await logIn(opsPage, `${t.url}/admin/login`, 'ops@gateway.test', 'operator password 1');
      await opsPage.goto(`${t.url}/admin`);
      const application = opsPage.getByRole('article', { name: /Padma Crafts/ });
      await application.getByRole('button', { name: 'Approve', exact: true }).click();
      await opsPage.waitForLoadState();

      // The owner logs in and reads the credentials, once.
      await logIn(ownerPage, `${t.url}/login`, 'owner@padma.test', 'correct horse battery');
      await ownerPage.getByRole('link', { name: 'Credentials', exact: true }).click();
      await button(ownerPage, 'Show my credentials').click();
      const read = async (label: string) => field(ownerPage, label).inputValue();
      const creds: IssuedCredentials = {
        wmx_id: await read('Merchant ID'),
        access_app_key: await read('Access app key'),
        username: await read('Username'),
        password: await read('Password'),
        signing_secret: await read('Signing secret'),
        api_key: await read('API key'),
      };
      assert.match(creds.wmx_id, /^WMX[0-9a-f]{13}$/, 'Merchant ID shape');
      assert.match(creds.access_app_key, /^[0-9a-f]{40}$/, 'access app key shape');
      assert.match(creds.username, /^padmacrafts_\d{10}$/, 'username shape');
      assert.ok(creds.password.length >= 20, 'password length');

      // A legacy client uses them: init, the customer pays on the hosted page, check-payment.
      const callbackPort = new URL(sink.url).port;
      const init = await initPayment(t, creds, {
        merchant_order_id: 'PADMA-1001',
        amount: '1250.50',
        customer_phone: '01811112222',
        customer_email: 'buyer@example.com',
        callback_url: `http://localhost:${callbackPort}/padma/callback`,
      });
      assert.equal(init.json.statusCode, '1000', init.text);
      const token = init.json.token as string;
      const customer = await (await browser.newContext()).newPage();
      await customer.goto(`${t.url}/bank-payment-process/${token}`);
      await field(customer, 'Card number').fill('4111 1111 1111 1111');
      await field(customer, 'Expiry').fill(FUTURE_EXPIRY);
      await field(customer, 'CVV').fill('123');
      await field(customer, 'Name on card').fill('Rafiq Islam');
      await button(customer, 'Pay').click();
      const [cb] = await sink.waitFor(1);
      assert.equal(JSON.parse(cb!.fields.merchant_txn_data!).txn_status, '1000');
      const check = await checkPayment(t, creds, token);
      assert.equal(check.json.statusCode, 1000);
      assert.equal(check.json.merchant_amount_bdt, '1250.50');

      // The payment in the dashboard: list, filters, CSV, chart data.
      await ownerPage.goto(`${t.url}/dashboard/payments`);
      assert.ok(await ownerPage.getByRole('cell', { name: 'PADMA-1001' }).isVisible(), 'listed');
      await field(ownerPage, 'Status').selectOption('approved');
      await button(ownerPage, 'Filter').click();
      assert.ok(await ownerPage.getByRole('cell', { name: 'PADMA-1001' }).isVisible(), 'approved filter finds it');
      await field(ownerPage, 'Status').selectOption('declined');
      await button(ownerPage, 'Filter').click();
      assert.equal(await ownerPage.getByRole('cell', { name: 'PADMA-1001' }).count(), 0, 'declined filter excludes it');
      await field(ownerPage, 'Status').selectOption('');
      await field(ownerPage, 'Search').fill('01811112222');
      await button(ownerPage, 'Filter').click();
      assert.ok(await ownerPage.getByRole('cell', { name: 'PADMA-1001' }).isVisible(), 'phone search finds it');
      const csv = await owner.request.get(`${t.url}/dashboard/payments.csv`);
      assert.equal(csv.status(), 200);
      const csvText = await csv.text();
      assert.ok(
        csvText.includes(token) && csvText.includes('PADMA-1001') && csvText.includes('1250.50'),
        'CSV has the payment',
      );
      const stats = (await (await owner.request.get(`${t.url}/dashboard/stats.json`)).json()) as {
        days: { date: string; approved: number; volume: string }[];
      };
      const today = stats.days[stats.days.length - 1]!;
      assert.equal(today.approved, 1, 'chart data counts the approval today');
      assert.equal(today.volume, '1250.50', 'chart data has the volume');

      // A viewer, invited by the owner, reads but cannot rotate or refund.
      await ownerPage.getByRole('link', { name: 'Team', exact: true }).click();
      await field(ownerPage, 'Email').fill('viewer@padma.test');
      await field(ownerPage, 'Role').selectOption('viewer');
      await button(ownerPage, 'Invite').click();
      const link = await field(ownerPage, 'Invitation link').inputValue();
      const viewer = await browser.newContext();
      const viewerPage = await viewer.newPage();
      await viewerPage.goto(link);
      await field(viewerPage, 'Your name').fill('Vera Viewer');
      await field(viewerPage, 'Password').fill('viewer password 12');
      await button(viewerPage, 'Join').click();
      await viewerPage.goto(`${t.url}/dashboard/payments/${token}`);
      assert.ok(await viewerPage.getByText('PADMA-1001').first().isVisible(), 'viewer reads the payment');
      const viewerCsrf = await csrfOf(viewerPage);
      const rotate = await viewer.request.post(`${t.url}/dashboard/credentials/rotate`, {
        form: { _csrf: viewerCsrf, confirm: 'yes' },
      });
      assert.equal(rotate.status(), 403, 'viewer cannot rotate');
      const refund = await viewer.request.post(`${t.url}/dashboard/payments/${token}/refunds`, {
        form: { _csrf: viewerCsrf, amount: '10.00' },
      });
      assert.equal(refund.status(), 403, 'viewer cannot refund');
      assert.equal((await checkPayment(t, creds, token)).json.statusCode, 1000, 'credentials still work');

      // Another merchant cannot see it.
      const other = await browser.newContext();
      const otherPage = await other.newPage();
      await register(otherPage, t.url, 'Meghna Foods', 'owner@meghna.test');
      const meghna = (await t.gw.merchants.list()).find((m) => m.name === 'Meghna Foods')!;
      await t.gw.onboarding.approve(meghna.id, { kind: 'admin', id: 'ops@gateway.test', ip: '127.0.0.1' });
      await logIn(otherPage, `${t.url}/login`, 'owner@meghna.test', 'correct horse battery');
      const detail = await otherPage.goto(`${t.url}/dashboard/payments/${token}`);
      assert.equal(detail?.status(), 404, "another merchant's payment is not found");
      await otherPage.goto(`${t.url}/dashboard/payments?q=PADMA-1001`);
      assert.equal(await otherPage.getByRole('cell', { name: 'PADMA-1001' }).count(), 0);
      const otherCsv = await (await other.request.get(`${t.url}/dashboard/payments.csv`)).text();
      assert.ok(!otherCsv.includes(token), "not in the other merchant's CSV");
    });
  });
}
