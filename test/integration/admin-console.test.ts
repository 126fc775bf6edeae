/**
 * The operators' console over plain HTTP, as a browser without scripts would use it: applications
 * (approve, reject with a reason, suspend, reactivate), merchant settings, currency rates,
 * maintenance, payment search and the audit log; CSRF, login and role checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { ConsoleClient as Client, consoleLogin as login, unescapeHtml as unescape } from '../support/console.js';

const ADMIN = { email: 'ops@gateway.test', password: 'correct horse battery staple', name: 'Ops' };
const MERCHANT_PASSWORD = 'merchant-pass-123';

async function register(t: TestGateway, name: string, email: string, domains: string) {
  const c = new Client(t.url);
  const r = await c.submit('/register', '/register', {
    business_name: name,
    domains,
    contact_name: 'Karim Ahmed',
    email,
    phone: '01812345678',
    business_type: 'Private limited company',
    trade_licence: 'TRAD/DNCC/123456/2024',
    account_name: `${name} Ltd`,
    account_number: '1234567890123',
    bank: 'Dutch-Bangla Bank',
    branch: 'Gulshan',
    password: MERCHANT_PASSWORD,
    password_confirm: MERCHANT_PASSWORD,
  });
  assert.equal(r.status, 200, r.text);
  const owner = await t.gw.accounts.findByEmail('merchant', email);
  assert.ok(owner?.merchantId, 'the owner login exists');
  return { owner, merchantId: owner.merchantId };
}

for (const dialect of dialects()) {
  describe(`admin console (${dialect})`, () => {
    let t: TestGateway;
    let admin: Client;
    // A merchant approved through the console, with the credentials its owner read once.
    let shop: { merchantId: string; creds: IssuedCredentials; email: string };

    before(async () => {
      t = await startGateway(dialect);
      await t.gw.accounts.createUser({ kind: 'admin', ...ADMIN, merchantId: null, role: 'admin' });
      admin = await login(t, 'admin', ADMIN.email, ADMIN.password);
    });
    after(() => t.close());

    it('sends anyone not logged in to the operator login', async () => {
      const anon = new Client(t.url);
      for (const path of [
        '/admin',
        '/admin/merchants',
        '/admin/payments',
        '/admin/rates',
        '/admin/maintenance',
        '/admin/audit',
        '/admin/merchants/mer_x',
      ]) {
        const r = await anon.get(path);
        assert.equal(r.status, 303, path);
        assert.equal(r.headers.get('location'), `/admin/login?next=${encodeURIComponent(path)}`);
      }
    });

    it('lists a registration as pending and approves it without showing the secrets', async () => {
      const email = 'owner@mila.test';
      const { owner, merchantId } = await register(t, 'Mila <Tea> & Co', email, 'mila.test');
      const page = await admin.get('/admin');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal(page.headers.get('cache-control'), 'no-store');
      const pending = page.text.slice(page.text.indexOf('Pending applications'), page.text.indexOf('id="g-rejected"'));
      assert.match(pending, /Mila &lt;Tea&gt; &amp; Co/, 'listed under pending, escaped');
      for (const shown of [
        'Karim Ahmed',
        email,
        '01812345678',
        'Private limited company',
        'TRAD/DNCC/123456/2024',
        '1234567890123',
        'Gulshan',
        'mila.test',
      ]) {
        assert.ok(pending.includes(shown), `shows ${shown}`);
      }
      assert.match(pending, /<label for="reason-[^"]+">Reason<\/label>/);
      assert.match(pending, />Approve<\/button>/);
      assert.match(page.text, /never shown here/);

      const r = await admin.submit('/admin', `/admin/merchants/${merchantId}/approve`, { back: '/admin' });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), `/admin?done=approved&merchant=${merchantId}`);
      assert.equal((await t.gw.merchants.byId(merchantId))?.status, 'active');
      const after = await admin.get(r.headers.get('location')!);
      assert.match(after.text, /is approved and active/);

      const creds = await t.gw.onboarding.revealIssuedCredentials(owner, '127.0.0.1');
      assert.ok(creds, 'credentials issued at approval');
      for (const secret of [creds.access_app_key, creds.password, creds.signing_secret, creds.api_key]) {
        assert.ok(!after.text.includes(secret), 'no secret on the admin page');
      }
      const audit = await t.gw.audit.list({ merchantId });
      const approved = audit.find((e) => e.action === 'merchant.approved');
      assert.equal(approved?.actor, ADMIN.email);
      assert.equal(approved?.actorKind, 'admin');
      shop = { merchantId, creds, email };
      const init = await initPayment(t, creds, { callback_url: 'https://mila.test/cb' });
      assert.equal(init.json.statusCode, '1000', init.text);
    });

    it('rejects only with a reason, and keeps the reason', async () => {
      const { merchantId } = await register(t, 'Reject Me', 'owner@reject.test', 'reject.test');
      const empty = await admin.submit('/admin', `/admin/merchants/${merchantId}/reject`, { reason: '   ' });
      assert.equal(empty.status, 422);
      assert.match(empty.text, /Give a reason/);
      assert.equal((await t.gw.merchants.byId(merchantId))?.status, 'pending', 'nothing changed');

      const r = await admin.submit('/admin', `/admin/merchants/${merchantId}/reject`, {
        reason: 'Trade licence <expired>',
      });
      assert.equal(r.status, 303);
      const m = await t.gw.merchants.byId(merchantId);
      assert.equal(m?.status, 'rejected');
      assert.equal(m?.rejectionReason, 'Trade licence <expired>');
      const page = await admin.get('/admin');
      const rejected = page.text.slice(page.text.indexOf('id="g-rejected"'), page.text.indexOf('id="g-active"'));
      assert.match(rejected, /Reject Me/);
      assert.match(rejected, /Trade licence &lt;expired&gt;/);

      // A decision that does not fit the status changes nothing.
      const again = await admin.submit('/admin', `/admin/merchants/${merchantId}/suspend`, {});
      assert.equal(again.status, 409);
      assert.equal((await t.gw.merchants.byId(merchantId))?.status, 'rejected');
    });

    it('suspends (legacy init answers 2002) and reactivates', async () => {
      const s = await admin.submit(
        `/admin/merchants/${shop.merchantId}`,
        `/admin/merchants/${shop.merchantId}/suspend`,
        {
          back: `/admin/merchants/${shop.merchantId}`,
        },
      );
      assert.equal(s.status, 303);
      assert.equal(
        s.headers.get('location'),
        `/admin/merchants/${shop.merchantId}?done=suspended&merchant=${shop.merchantId}`,
      );
      const refused = await initPayment(t, shop.creds, { callback_url: 'https://mila.test/cb' });
      assert.equal(refused.json.statusCode, '2002', refused.text);
      const page = await admin.get('/admin');
      assert.match(page.text.slice(page.text.indexOf('id="g-suspended"')), />Reactivate<\/button>/);

      const r = await admin.submit('/admin', `/admin/merchants/${shop.merchantId}/reactivate`, {});
      assert.equal(r.status, 303);
      const ok = await initPayment(t, shop.creds, { callback_url: 'https://mila.test/cb' });
      assert.equal(ok.json.statusCode, '1000', ok.text);
    });

    it('refuses a POST without the CSRF token and changes nothing', async () => {
      const noToken = await admin.post(`/admin/merchants/${shop.merchantId}/suspend`, {});
      assert.equal(noToken.status, 403);
      const wrong = await admin.post(`/admin/merchants/${shop.merchantId}/suspend`, { _csrf: 'forged' });
      assert.equal(wrong.status, 403);
      const off = await admin.post('/admin/maintenance', { action: 'on', message: 'x' });
      assert.equal(off.status, 403);
      assert.equal((await t.gw.merchants.byId(shop.merchantId))?.status, 'active');
      assert.equal(t.gw.reference.current().maintenance, undefined);
    });

    it('keeps merchant users and unknown ids out', async () => {
      const merchant = await login(t, 'merchant', shop.email, MERCHANT_PASSWORD);
      for (const path of ['/admin', '/admin/merchants', `/admin/merchants/${shop.merchantId}`, '/admin/audit']) {
        const r = await merchant.get(path);
        assert.equal(r.status, 303, path);
        assert.match(r.headers.get('location') ?? '', /^\/admin\/login/);
      }
      const csrf = await merchant.csrf('/login');
      const post = await merchant.post(`/admin/merchants/${shop.merchantId}/suspend`, { _csrf: csrf });
      assert.ok(post.status === 303 || post.status === 403, `status ${post.status}`);
      assert.equal((await t.gw.merchants.byId(shop.merchantId))?.status, 'active');

      assert.equal((await admin.get('/admin/merchants/mer_doesnotexist')).status, 404);
      assert.equal((await admin.submit('/admin', '/admin/merchants/mer_doesnotexist/approve', {})).status, 404);
      assert.equal((await admin.get('/admin/payments/0123456789abcdef0123456789abcdef01234567')).status, 404);
      assert.equal((await admin.get('/admin/payments/not-a-token')).status, 404);
      assert.equal((await admin.get('/admin/no-such-page')).status, 404);
      assert.equal((await admin.get('/admin/audit?before=abc')).status, 400);
    });

    it('lists merchants and validates settings with a message next to each field', async () => {
      const list = await admin.get('/admin/merchants');
      assert.equal(list.status, 200);
      assert.ok(list.text.includes(shop.creds.wmx_id), 'the Merchant ID is listed');
      const url = `/admin/merchants/${shop.merchantId}`;
      const detail = await admin.get(url);
      for (const label of [
        'Registered domains',
        'Minimum amount (BDT)',
        'Maximum amount (BDT)',
        'Card fee (%)',
        'Mobile wallet fee (%)',
        'Internet banking fee (%)',
        'EMI allowed',
      ]) {
        assert.ok(detail.text.includes(`>${label}</label>`), label);
      }
      const before = await t.gw.merchants.byId(shop.merchantId);
      const bad = await admin.submit(url, `${url}/settings`, {
        domains: 'mila.test\nnot a domain!',
        min_amount: '10.555',
        max_amount: '5',
        fee_card: '101',
        fee_mobile_wallet: 'abc',
        fee_internet_banking: '1.5',
        emi_allowed: '1',
      });
      assert.equal(bad.status, 422);
      assert.match(bad.text, /id="f-domains-error" class="error">Not a valid domain: not/);
      assert.match(bad.text, /id="f-min_amount-error"/);
      assert.match(bad.text, /id="f-fee_card-error"/);
      assert.match(bad.text, /id="f-fee_mobile_wallet-error"/);
      assert.doesNotMatch(bad.text, /id="f-fee_internet_banking-error"/);
      assert.match(bad.text, /value="10.555"/, 'typed values kept');
      assert.match(bad.text, /value="abc"/);
      assert.match(bad.text, /not a domain!<\/textarea>/);
      assert.deepEqual(await t.gw.merchants.byId(shop.merchantId), before, 'nothing changed');

      const minMax = await admin.submit(url, `${url}/settings`, {
        domains: 'mila.test',
        min_amount: '100',
        max_amount: '50',
        fee_card: '2',
        fee_mobile_wallet: '2',
        fee_internet_banking: '2',
      });
      assert.equal(minMax.status, 422);
      assert.match(minMax.text, /The maximum must not be below the minimum/);

      // A JSON body with arrays where text belongs is bad input, not a crash.
      const csrf = await admin.csrf(url);
      const json = await admin.post(
        `${url}/settings`,
        { _csrf: csrf, domains: ['a'] } as unknown as Record<string, string>,
        'application/json',
      );
      assert.equal(json.status, 422);
    });

    it('applies settings: a fee shows in a new payment, a new domain allows its callbacks', async () => {
      const url = `/admin/merchants/${shop.merchantId}`;
      const other = await initPayment(t, shop.creds, { callback_url: 'https://other-shop.test/cb' });
      assert.equal(other.json.statusCode, '2007', other.text);

      const r = await admin.submit(url, `${url}/settings`, {
        domains: 'mila.test\nhttps://Other-Shop.test/',
        min_amount: '5',
        max_amount: '50000.50',
        fee_card: '3.25',
        fee_mobile_wallet: '1.5',
        fee_internet_banking: '0',
      });
      assert.equal(r.status, 303, r.text);
      const m = await t.gw.merchants.byId(shop.merchantId);
      assert.deepEqual(m?.domains, ['mila.test', 'other-shop.test']);
      assert.equal(m?.minAmountMinor, 500n);
      assert.equal(m?.maxAmountMinor, 5_000_050n);
      assert.deepEqual(m?.feesBps, { card: 325, mobile_wallet: 150, internet_banking: 0 });
      assert.equal(m?.emiAllowed, false);

      const init = await initPayment(t, shop.creds, { callback_url: 'https://other-shop.test/cb', amount: '100' });
      assert.equal(init.json.statusCode, '1000', init.text);
      const check = await checkPayment(t, shop.creds, init.json.token as string);
      assert.equal(check.json.service_ratio, '3.25');
      const tooSmall = await initPayment(t, shop.creds, { callback_url: 'https://mila.test/cb', amount: '4.99' });
      assert.equal(tooSmall.json.statusCode, '2005');

      const page = await admin.get(`${url}?done=settings&merchant=${shop.merchantId}`);
      assert.match(page.text, /Settings of Mila &lt;Tea&gt; &amp; Co saved/);
      assert.match(page.text, /merchant.settings_changed/, 'the merchant’s audit entries');
    });

    it('edits currency rates with history; a payment keeps its locked rate', async () => {
      const old = (await t.gw.referenceRepo.rates()).get('USD');
      assert.ok(old, 'USD has a rate');
      const earlier = await initPayment(t, shop.creds, {
        callback_url: 'https://mila.test/cb',
        amount: '10',
        currency: 'USD',
      });
      assert.equal(earlier.json.statusCode, '1000', earlier.text);

      const page = await admin.get('/admin/rates');
      assert.equal(page.status, 200);
      assert.match(page.text, /<td>USD<\/td><td>122.50<\/td>/);
      assert.match(page.text, />Rate \(BDT per unit\)<\/label>/);
      assert.match(page.text, /locked at its init/);

      for (const [fields, pattern] of [
        [{ currency: 'US', rate: '120' }, /id="f-currency-error"/],
        [{ currency: 'USD', rate: '1.1234567' }, /id="f-rate-error"/],
        [{ currency: 'USD', rate: '-3' }, /id="f-rate-error"/],
        [{ currency: 'BDT', rate: '2' }, /its rate is always 1/],
      ] as const) {
        const bad = await admin.submit('/admin/rates', '/admin/rates', fields);
        assert.equal(bad.status, 422, JSON.stringify(fields));
        assert.match(bad.text, pattern);
      }
      assert.equal((await t.gw.referenceRepo.rates()).get('USD'), old, 'nothing changed');

      const r = await admin.submit('/admin/rates', '/admin/rates', { currency: 'usd', rate: '130.123456' });
      assert.equal(r.status, 303);
      const after = await admin.get(r.headers.get('location')!);
      assert.match(after.text, /<td>USD<\/td><td>130.123456<\/td>/);
      const history = after.text.slice(after.text.indexOf('Rate history'));
      assert.match(history, /<td>USD<\/td><td>130.123456<\/td><td>ops@gateway.test<\/td>/);

      const later = await initPayment(t, shop.creds, {
        callback_url: 'https://mila.test/cb',
        amount: '10',
        currency: 'USD',
      });
      assert.equal((await checkPayment(t, shop.creds, later.json.token as string)).json.conversion_rate, '130.123456');
      const kept = await checkPayment(t, shop.creds, earlier.json.token as string);
      assert.equal(kept.json.conversion_rate, '122.50');
      assert.equal(kept.json.merchant_amount_bdt, '1225.00');
    });

    it('switches maintenance on and off; check-server follows', async () => {
      const page = await admin.get('/admin/maintenance');
      assert.match(page.text, /Maintenance is off/);
      assert.match(page.text, />Message<\/label>/);
      assert.match(page.text, />Turn maintenance on<\/button>/);

      const on = await admin.submit('/admin/maintenance', '/admin/maintenance', {
        action: 'on',
        message: 'Database <upgrade>',
      });
      assert.equal(on.status, 303);
      const cs = await fetch(`${t.url}/check-server`).then((x) => x.json() as Promise<Record<string, unknown>>);
      assert.deepEqual(cs, { selectedServer: false, statusMsg: 'Database <upgrade>' });
      const init = await initPayment(t, shop.creds, { callback_url: 'https://mila.test/cb' });
      assert.equal(init.json.statusCode, '3001');
      const shown = await admin.get('/admin/maintenance');
      assert.match(shown.text, /Maintenance is on<\/strong>: Database &lt;upgrade&gt;/);
      assert.match(shown.text, />Turn maintenance off<\/button>/);

      const off = await admin.submit('/admin/maintenance', '/admin/maintenance', { action: 'off' });
      assert.equal(off.status, 303);
      const open = await fetch(`${t.url}/check-server`).then((x) => x.json() as Promise<Record<string, unknown>>);
      assert.equal(open.selectedServer, true);
    });

    it('searches payments by order id, token, phone and email, filters, pages and shows one', async () => {
      const init = await initPayment(t, shop.creds, {
        callback_url: 'https://mila.test/cb',
        merchant_order_id: 'ORD-SEARCH-77',
        customer_phone: '01999888777',
        customer_email: 'Buyer.Search@Example.com',
        amount: '321.50',
      });
      assert.equal(init.json.statusCode, '1000', init.text);
      const token = init.json.token as string;
      const search = (params: Record<string, string>) =>
        admin.get(`/admin/payments?${new URLSearchParams(params).toString()}`);
      // The search box shows what was typed, so a hit is the result row's link, not the token anywhere.
      const listed = (text: string) => text.includes(`href="/admin/payments/${token}"`);

      const form = await search({});
      for (const label of ['Search', 'Status', 'Method', 'From', 'To', 'Min amount (BDT)', 'Max amount (BDT)']) {
        assert.ok(form.text.includes(`>${label}</label>`), label);
      }
      // Exact matches (the search stays on indexes); an email is found as the customer typed it.
      for (const q of ['ORD-SEARCH-77', token, token.toUpperCase(), '01999888777', 'Buyer.Search@Example.com']) {
        const r = await search({ q });
        assert.equal(r.status, 200);
        assert.ok(listed(r.text), `found by ${q}`);
      }
      assert.ok(!listed((await search({ q: 'ORD-NOPE' })).text), 'another order id');
      assert.ok(listed((await search({ q: 'ORD-SEARCH-77', status: 'pending' })).text), 'status pending');
      assert.ok(!listed((await search({ q: 'ORD-SEARCH-77', status: 'approved' })).text), 'status approved');
      assert.ok(listed((await search({ q: 'ORD-SEARCH-77', method: '' })).text), 'any method');
      assert.ok(
        listed((await search({ q: 'ORD-SEARCH-77', min_amount: '321.50', max_amount: '321.50' })).text),
        'amount range',
      );
      assert.ok(!listed((await search({ q: 'ORD-SEARCH-77', min_amount: '321.51' })).text), 'above the amount');
      const today = t.gw.formatTime(Date.now()).slice(0, 10);
      assert.ok(listed((await search({ q: token, from: today, to: today })).text), 'today, in the gateway zone');
      assert.ok(!listed((await search({ q: token, to: '2020-01-01' })).text), 'before 2020');

      await t.gw.cancelPayment(token, null);
      assert.ok(listed((await search({ q: token, status: 'cancelled' })).text), 'status cancelled');
      assert.ok(!listed((await search({ q: token, status: 'pending' })).text), 'no longer pending');

      for (const [params, field] of [
        [{ min_amount: 'abc' }, 'min_amount'],
        [{ max_amount: '99999999999999999999999' }, 'max_amount'],
        [{ status: 'paid' }, 'status'],
        [{ method: 'cash' }, 'method'],
        [{ from: '2024-02-30' }, 'from'],
        [{ from: '2024-03-02', to: '2024-03-01' }, 'to'],
        [{ merchant: 'mer_nope' }, 'merchant'],
      ] as const) {
        const r = await search(params);
        assert.equal(r.status, 400, JSON.stringify(params));
        assert.match(r.text, new RegExp(`id="f-${field}-error"`));
      }

      // Keyset pagination: 52 payments with one order id make a full page and an "Older" page.
      for (let i = 0; i < 52; i++) {
        const r = await initPayment(t, shop.creds, {
          callback_url: 'https://mila.test/cb',
          merchant_order_id: 'ORD-PAGE',
        });
        assert.equal(r.json.statusCode, '1000');
      }
      const first = await search({ q: 'ORD-PAGE' });
      assert.equal(first.text.match(/<td>ORD-PAGE<\/td>/g)?.length, 50);
      const older = /<a href="([^"]+)" rel="next">Older<\/a>/.exec(first.text);
      assert.ok(older, 'an Older link');
      const olderUrl = unescape(older[1]!);
      assert.match(olderUrl, /q=ORD-PAGE/);
      const second = await admin.get(olderUrl);
      assert.equal(second.text.match(/<td>ORD-PAGE<\/td>/g)?.length, 2);
      assert.doesNotMatch(second.text, /rel="next"/);

      const detail = await admin.get(`/admin/payments/${token}`);
      assert.equal(detail.status, 200);
      assert.match(detail.text, /ORD-SEARCH-77/);
      assert.match(detail.text, /321.50 BDT/);
      assert.match(detail.text, /initiated by the merchant/);
      assert.match(detail.text, /cancelled\. Cancelled by customer/);
      assert.match(detail.text, /<dt>service_ratio<\/dt>/);
    });

    it('answers malformed requests with a 4xx page, never a 5xx', async () => {
      const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const post = (body: string, type: string) =>
        fetch(`${t.url}/admin/merchants/${shop.merchantId}/settings`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': type },
          body,
        });
      const broken = await post('{"_csrf":', 'application/json');
      assert.equal(broken.status, 400);
      assert.match(await broken.text(), /Nothing was changed/);
      const huge = await post(`_csrf=x&domains=${'a'.repeat(70_000)}`, 'application/x-www-form-urlencoded');
      assert.equal(huge.status, 413);
      for (const q of [
        'status=pending&status=approved',
        'cursor=%%%',
        'cursor=bm90LWEtY3Vyc29y',
        'q[]=x',
        'min_amount=0',
      ]) {
        const r = await admin.get(`/admin/payments?${q}`);
        assert.ok(r.status >= 200 && r.status < 500, `${q}: ${r.status}`);
      }
    });

    it('shows the audit log with who, what, when and from where', async () => {
      const r = await admin.get('/admin/audit');
      assert.equal(r.status, 200);
      for (const action of [
        'merchant.registered',
        'merchant.approved',
        'merchant.rejected',
        'merchant.suspended',
        'merchant.reactivated',
        'merchant.settings_changed',
        'rate.changed',
        'maintenance.on',
        'maintenance.off',
        'login',
      ]) {
        assert.ok(r.text.includes(`<td>${action}</td>`), action);
      }
      assert.match(r.text, /<td>ops@gateway.test <small>\(admin\)<\/small><\/td><td>merchant.approved<\/td>/);
      assert.match(r.text, /<td>127.0.0.1<\/td>/);
      assert.match(r.text, /&quot;reason&quot;:&quot;Trade licence &lt;expired&gt;&quot;/, 'detail JSON, escaped');
      const positions = [...r.text.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1]));
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => b - a),
        'newest first',
      );

      const top = positions[0]!;
      const older = await admin.get(`/admin/audit?before=${top}`);
      assert.ok(!older.text.includes(`<tr><td>${top}</td>`), 'the older page starts below the newest');
      const mine = await admin.get(`/admin/audit?merchant=${shop.merchantId}`);
      assert.doesNotMatch(mine.text, /<td>rate.changed<\/td>/);
      assert.match(mine.text, /<td>merchant.approved<\/td>/);
    });
  });
}
