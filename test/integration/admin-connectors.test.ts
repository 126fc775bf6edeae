/**
 * The operator's connectors in the admin console over real HTTP, against a bKash simulator on an
 * ephemeral port: add (secrets never shown again, on any page), test (the upstream's own words),
 * edit (an empty secret keeps the stored one), enable and disable, default routes and a merchant's
 * override, and the "At the upstream" section of a bKash payment in the console and the dashboard.
 * Bad input (unknown ids, a bad kind, a missing CSRF token) gets a clear message and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BKASH_SIMULATOR_DEFAULT_CREDENTIALS, startBkashSimulator } from '../../src/acquirers/bkash/simulator.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import type { Merchant } from '../../src/domain/merchant.js';
import { dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { ConsoleClient, consoleLogin, type Page } from '../support/console.js';
import { bkashFields, choose, follow } from '../support/rails.js';

type Sim = Awaited<ReturnType<typeof startBkashSimulator>>;

const ADMIN = { email: 'ops@rails.test', password: 'correct horse battery staple', name: 'Ops' };
const OWNER = { email: 'owner@rails.test', password: 'owner-pass-12345', name: 'Owner' };
const CREDS = BKASH_SIMULATOR_DEFAULT_CREDENTIALS;
const WRONG_PASSWORD = 'wrong-Pass#0042';
const ID = 'bk-sim';

/** The kind's fields as the add and edit forms post them. */
const formFields = (fields: Record<string, string>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [`cf_${k}`, v]));

async function customerPays(sim: Sim, paymentId: string): Promise<string> {
  const r = await fetch(`${sim.url}/_sim/payments/${paymentId}/customer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'success' }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  const redirect = ((await r.json()) as { redirect: string | null }).redirect;
  assert.ok(redirect, 'bKash sends the customer back');
  return redirect;
}

for (const dialect of dialects()) {
  describe(`admin connectors (${dialect})`, () => {
    let sim: Sim;
    let t: TestGateway;
    let admin: ConsoleClient;
    let c: IssuedCredentials;
    let shop: Merchant;
    /** Every console page read, for the check that no secret value is ever on one. */
    const seen: Page[] = [];

    const get = async (path: string) => {
      const r = await admin.get(path);
      seen.push(r);
      return r;
    };
    const submit = async (from: string, action: string, fields: Record<string, string>) => {
      const r = await admin.submit(from, action, fields);
      seen.push(r);
      if (r.status !== 303) return r;
      const landed = await admin.land(r);
      seen.push(landed);
      return { ...landed, location: r.headers.get('location') ?? '', redirected: true };
    };
    /** The hosted payment page of a new payment: does it offer bKash (paid on bKash's page)? */
    const offersBkash = async () => {
      const init = await initPayment(t, c);
      const page = await follow(t, `/bank-payment-process/${init.json.token as string}`);
      assert.equal(page.status, 200);
      return page.text.includes('name="method" value="bkash"');
    };
    const defaultRoute = async (method: string) =>
      (await t.gw.connectors.routes()).find((r) => r.scope === '*' && r.method === method)?.connectorId;

    before(async () => {
      sim = await startBkashSimulator();
      t = await startGateway(dialect);
      await t.gw.accounts.createUser({ kind: 'admin', ...ADMIN, merchantId: null, role: 'admin' });
      c = await t.createMerchant({ sandbox: true, name: 'Rails Shop' });
      shop = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      await t.gw.accounts.createUser({ kind: 'merchant', ...OWNER, merchantId: shop.id, role: 'owner' });
      admin = await consoleLogin(t, 'admin', ADMIN.email, ADMIN.password);
    });
    after(async () => {
      await t.close();
      await sim.close();
    });

    it('lists the connectors and adds a bKash connector; its secrets are sealed, shown by name only', async () => {
      const anon = await new ConsoleClient(t.url).get('/admin/connectors');
      assert.equal(anon.status, 303);
      assert.match(anon.headers.get('location') ?? '', /^\/admin\/login/);

      const list = await get('/admin/connectors');
      assert.equal(list.status, 200);
      assert.match(list.text, /<a href="\/admin\/connectors">Connectors<\/a>/, 'in the navigation');
      assert.match(list.text, /<code>sandbox<\/code>/, 'the built-in sandbox bank is listed');
      for (const m of ['Card', 'bKash', 'Nagad', 'Rocket', 'Internet banking'])
        assert.ok(list.text.includes(`<th scope="row">${m}</th>`), `a default route row for ${m}`);

      const form = await get('/admin/connectors?add=bkash');
      assert.match(form.text, /<h3>bKash Tokenized Checkout<\/h3>/);
      for (const name of ['cf_base_url', 'cf_username', 'cf_app_key'])
        assert.match(form.text, new RegExp(`name="${name}" type="text" autocomplete="off"`), name);
      for (const name of ['cf_password', 'cf_app_secret'])
        assert.match(form.text, new RegExp(`name="${name}" type="password" autocomplete="off"`), name);

      const r = await submit('/admin/connectors?add=bkash', '/admin/connectors', {
        kind: 'bkash',
        id: ID,
        environment: 'sandbox',
        ...formFields(bkashFields(sim.baseUrl)),
      });
      assert.equal(r.status, 200, r.text);
      assert.ok('redirected' in r && r.location.startsWith(`/admin/connectors/${ID}?done=added`), 'to its page');
      assert.match(r.text, /Connector bk-sim \(bKash Tokenized Checkout, sandbox\) added; its secrets are sealed/);
      assert.ok(r.text.includes(CREDS.username) && r.text.includes(CREDS.appKey), 'settings as entered');
      assert.match(r.text, /<dt>Secrets set<\/dt><dd>password, app_secret<\/dd>/);

      const listed = await get('/admin/connectors');
      const row = listed.text.slice(listed.text.indexOf(`<a href="/admin/connectors/${ID}">`));
      assert.match(row.slice(0, row.indexOf('</tr>')), /bKash Tokenized Checkout.*sandbox.*enabled/s);
      const audit = await t.gw.audit.list({ limit: 10 });
      const added = audit.find((e) => e.action === 'connector.added');
      assert.equal(added?.actor, ADMIN.email);
    });

    it('Test: the grant in plain words; a wrong password shows bKash’s refusal; an empty secret keeps the stored one', async () => {
      const page = `/admin/connectors/${ID}`;
      const ok = await submit(page, `${page}/test`, {});
      assert.equal(ok.status, 200);
      assert.match(ok.text, /<p class="flash" role="status"><strong>Test passed<\/strong>: bKash granted a token at/);

      const wrong = await submit(page, `${page}/update`, {
        ...formFields({ ...bkashFields(sim.baseUrl), password: WRONG_PASSWORD, app_secret: '' }),
      });
      assert.ok('redirected' in wrong, wrong.text);
      assert.match(wrong.text, /Connector bk-sim saved/);
      const failed = await submit(page, `${page}/test`, {});
      assert.equal(failed.status, 200);
      assert.match(failed.text, /<strong>Test failed<\/strong>: bKash refused the username or password \(9999/);

      // Both secrets left empty: the wrong password stays, the app secret is unchanged.
      const edit = await get(page);
      assert.match(edit.text, /Set\. Leave empty to keep the current one\./);
      assert.match(
        edit.text,
        new RegExp(`name="cf_username" type="text" autocomplete="off"[^>]* value="${CREDS.username}"`),
      );
      assert.match(edit.text, /name="cf_password" type="password" autocomplete="off"[^>]* value=""/);
      const kept = await submit(page, `${page}/update`, {
        ...formFields({ ...bkashFields(sim.baseUrl), password: '', app_secret: '' }),
      });
      assert.ok('redirected' in kept);
      assert.match((await submit(page, `${page}/test`, {})).text, /Test failed/);

      const fixed = await submit(page, `${page}/update`, {
        ...formFields({ ...bkashFields(sim.baseUrl), app_secret: '' }),
      });
      assert.ok('redirected' in fixed);
      assert.match((await submit(page, `${page}/test`, {})).text, /Test passed/, 'the app secret was kept');
      const updated = (await t.gw.audit.list({ limit: 20 })).filter((e) => e.action === 'connector.updated');
      assert.ok(updated.length >= 3, 'each change audited');
    });

    it('default routes: set, shown on the payment page, disabled and enabled, cleared; bad routes change nothing', async () => {
      assert.equal(await offersBkash(), false, 'not routed yet: the sandbox bank takes bKash on our page');
      const set = await submit('/admin/connectors', '/admin/connectors/routes', { method: 'bkash', connector: ID });
      assert.ok('redirected' in set, set.text);
      assert.match(set.text, /bKash now goes to bk-sim for every merchant without an override/);
      assert.equal(await defaultRoute('bkash'), ID);
      assert.equal(await offersBkash(), true);

      const off = await submit('/admin/connectors', `/admin/connectors/${ID}/disable`, { back: '/admin/connectors' });
      assert.ok('redirected' in off && off.location.startsWith('/admin/connectors?done=disabled'));
      assert.match(off.text, /Connector bk-sim disabled: it takes no new payments/);
      assert.equal((await t.gw.connectors.list()).find((x) => x.id === ID)?.enabled, false);
      assert.equal(await offersBkash(), false, 'a disabled connector is not offered');
      // Nor can it be routed to (the method would silently not be offered): refused, as the CLI does.
      const toDisabled = await submit('/admin/connectors', '/admin/connectors/routes', {
        method: 'bkash',
        connector: ID,
      });
      assert.equal(toDisabled.status, 422, toDisabled.text);
      assert.match(toDisabled.text, /bk-sim is disabled, so bkash would not be offered through it; enable it first/);
      const on = await submit(`/admin/connectors/${ID}`, `/admin/connectors/${ID}/enable`, {
        back: `/admin/connectors/${ID}`,
      });
      assert.ok('redirected' in on && on.location.startsWith(`/admin/connectors/${ID}?done=enabled`));
      assert.equal(await offersBkash(), true);

      for (const [fields, message] of [
        [{ method: 'cash', connector: ID }, /Method must be one of card, bkash/],
        [{ method: 'bkash', connector: 'nope' }, /No connector named nope\. Nothing was changed\./],
        [{ method: 'card', connector: ID }, /bk-sim \(bkash\) does not take card/],
      ] as const) {
        const bad = await submit('/admin/connectors', '/admin/connectors/routes', fields);
        assert.equal(bad.status, 422, JSON.stringify(fields));
        assert.match(bad.text, message);
      }
      assert.equal(await defaultRoute('bkash'), ID, 'nothing changed');
      assert.equal(await defaultRoute('card'), undefined);

      const cleared = await submit('/admin/connectors', '/admin/connectors/routes', { method: 'bkash', connector: '' });
      assert.match(cleared.text, /bKash has no default route now/);
      assert.equal(await defaultRoute('bkash'), undefined);
      assert.equal(await offersBkash(), false);
      await submit('/admin/connectors', '/admin/connectors/routes', { method: 'bkash', connector: ID });
      assert.equal(await defaultRoute('bkash'), ID);
      const audit = (await t.gw.audit.list({ limit: 50 })).map((e) => e.action);
      for (const a of ['connector.routed', 'connector.unrouted', 'connector.disabled', 'connector.enabled'])
        assert.ok(audit.includes(a), a);
    });

    it('a merchant’s override on its page, and back to the default', async () => {
      const url = `/admin/merchants/${shop.id}`;
      const page = await get(url);
      const rails = page.text.slice(page.text.indexOf('<h2>Payment rails</h2>'));
      assert.ok(rails.length > 0 && page.text.includes('<h2>Payment rails</h2>'));
      const bkashRow = () => {
        const i = rails.indexOf('<th scope="row">bKash</th>');
        return rails.slice(i, rails.indexOf('</tr>', i));
      };
      assert.match(bkashRow(), /<td>—<\/td>\s*<td>bk-sim<\/td><td><code>bk-sim<\/code> \(bKash\)/);

      const o = await submit(url, `${url}/rails`, { method: 'bkash', connector: 'sandbox' });
      assert.ok('redirected' in o, o.text);
      assert.match(o.text, /Payment rails of Rails Shop saved \(bKash\)/);
      assert.equal((await t.gw.router.routeFor(shop, 'bkash'))?.id, 'sandbox');
      assert.equal(await offersBkash(), false, 'the override wins over the default');
      const withOverride = o.text.slice(o.text.indexOf('<th scope="row">bKash</th>'));
      assert.match(withOverride.slice(0, withOverride.indexOf('</tr>')), /<td><code>sandbox<\/code><\/td>/);

      const bad = await submit(url, `${url}/rails`, { method: 'bkash', connector: 'nope' });
      assert.equal(bad.status, 422);
      assert.match(bad.text, /No connector named nope\. Nothing was changed\./);
      assert.equal((await t.gw.router.routeFor(shop, 'bkash'))?.id, 'sandbox');
      assert.equal((await admin.submit(url, '/admin/merchants/mer_nope/rails', { method: 'bkash' })).status, 404);

      const back = await submit(url, `${url}/rails`, { method: 'bkash', connector: '' });
      assert.ok('redirected' in back);
      assert.equal((await t.gw.router.routeFor(shop, 'bkash'))?.id, ID);
      assert.equal(
        (await t.gw.connectors.routes()).some((r) => r.scope === shop.id),
        false,
        'the override is gone',
      );
      assert.equal(await offersBkash(), true);
    });

    it('a bKash payment: its reference and calls at the upstream, in the console and the dashboard', async () => {
      const init = await initPayment(t, c, { amount: '42.00' });
      const token = init.json.token as string;
      const chosen = await choose(t, token, 'bkash');
      assert.equal(chosen.status, 303, chosen.text);
      assert.ok(chosen.location?.startsWith(sim.url));
      const paymentId = (await t.gw.payments.byToken(token))!.upstreamRef!;

      const pending = await get(`/admin/payments/${token}`);
      assert.match(pending.text, /<h2>At the upstream<\/h2>/);
      assert.match(pending.text, /<dt>Upstream state<\/dt><dd><code>redirected<\/code>/);

      const done = await follow(t, await customerPays(sim, paymentId));
      assert.match(done.text, /Payment successful/);

      const detail = await get(`/admin/payments/${token}`);
      assert.equal(detail.status, 200);
      const section = detail.text.slice(detail.text.indexOf('<h2>At the upstream</h2>'));
      assert.match(section, /<a href="\/admin\/connectors\/bk-sim"><code>bk-sim<\/code><\/a> \(bKash\)/);
      assert.ok(section.includes(`<dt>Upstream reference</dt><dd><code>${paymentId}</code></dd>`));
      assert.doesNotMatch(section, /Upstream state/, 'final: no longer at the upstream');
      for (const op of ['create_payment', 'execute_payment']) assert.match(section, new RegExp(`<td>${op}</td>`), op);
      assert.match(section, /<th scope="col">Latency \(ms\)<\/th>/);

      const owner = await consoleLogin(t, 'merchant', OWNER.email, OWNER.password);
      const dash = await owner.get(`/dashboard/payments/${token}`);
      seen.push(dash);
      assert.equal(dash.status, 200);
      const mine = dash.text.slice(dash.text.indexOf('<h2>At the upstream</h2>'));
      assert.ok(dash.text.includes('<h2>At the upstream</h2>'));
      assert.match(mine, /<dt>Payment rail<\/dt><dd>bKash<\/dd>/);
      assert.ok(mine.includes(`<code>${paymentId}</code>`));
      for (const op of ['create_payment', 'execute_payment']) assert.match(mine, new RegExp(`<td>${op}</td>`), op);
      assert.ok(!dash.text.includes(ID), 'merchants do not see the operator’s connector id');

      // A payment that never reached an upstream has no such section.
      const plain = await initPayment(t, c);
      await t.gw.cancelPayment(plain.json.token as string, null);
      assert.doesNotMatch((await get(`/admin/payments/${plain.json.token as string}`)).text, /At the upstream/);
    });

    it('an SSLCommerz risk_level 1 note is a visible warning on both detail pages', async () => {
      const init = await initPayment(t, c);
      const token = init.json.token as string;
      await t.gw.cancelPayment(token, null);
      // Written as settle.ts writes an approval SSLCommerz rated risk_level 1.
      await t.gw.db.kysely
        .updateTable('payments')
        .set({
          txn_details:
            'Approved; risk_level 1 (Not Safe): SSLCommerz advises holding the order and verifying the customer',
          connector_id: 'sslcommerz-x',
          upstream_ref: 'WMXTRAN0000001',
        })
        .where('token', '=', token)
        .execute();
      const warning =
        /<p class="notice warning" role="alert"><strong>Risk warning<\/strong>: risk_level 1 \(Not Safe\)/;
      assert.match((await get(`/admin/payments/${token}`)).text, warning);
      const owner = await consoleLogin(t, 'merchant', OWNER.email, OWNER.password);
      assert.match((await owner.get(`/dashboard/payments/${token}`)).text, warning);
    });

    it('bad input: unknown ids are 404, a bad kind or id is named, no CSRF is refused; nothing changes', async () => {
      const before = await t.gw.connectors.list();
      for (const path of ['/admin/connectors/nope', '/admin/connectors/NOT%20AN%20ID']) {
        const r = await get(path);
        assert.equal(r.status, 404, path);
        assert.match(r.text, /No connector with this id/);
      }
      for (const verb of ['test', 'enable', 'disable', 'update'])
        assert.equal((await admin.submit('/admin/connectors', `/admin/connectors/nope/${verb}`, {})).status, 404, verb);

      const kind = await submit('/admin/connectors', '/admin/connectors', {
        kind: 'paypal',
        id: 'pp',
        environment: 'live',
      });
      assert.equal(kind.status, 422);
      assert.match(
        kind.text,
        /Unknown kind &quot;paypal&quot; \(known: sandbox, bkash, sslcommerz\)\. Nothing was changed\./,
      );
      assert.equal((await get('/admin/connectors?add=paypal')).status, 200, 'an unknown kind to show is no crash');

      const bad = await submit('/admin/connectors?add=bkash', '/admin/connectors', {
        kind: 'bkash',
        id: 'Bad Id!',
        environment: 'moon',
        ...formFields({ ...bkashFields('ftp://x'), username: 'kept-user', app_secret: '' }),
      });
      assert.equal(bad.status, 422);
      for (const m of [
        /The id must be 2-40 lowercase letters/,
        /environment must be sandbox or live/,
        /app_secret \(App secret\) is required/,
        /base_url must be an http\(s\) URL/,
      ])
        assert.match(bad.text, m);
      assert.match(bad.text, /name="cf_username" type="text"[^>]* value="kept-user"/, 'settings kept');
      assert.match(bad.text, /name="cf_password" type="password"[^>]* value=""/, 'secrets never echoed');

      const dup = await submit('/admin/connectors?add=bkash', '/admin/connectors', {
        kind: 'bkash',
        id: ID,
        environment: 'sandbox',
        ...formFields(bkashFields(sim.baseUrl)),
      });
      assert.equal(dup.status, 422);
      assert.match(dup.text, /A connector named bk-sim exists already/);

      const noCsrf = [
        await admin.post('/admin/connectors', {
          kind: 'bkash',
          id: 'bk-two',
          environment: 'sandbox',
          ...formFields(bkashFields(sim.baseUrl)),
        }),
        await admin.post(`/admin/connectors/${ID}/disable`, {}),
        await admin.post(`/admin/connectors/${ID}/update`, { _csrf: 'forged', cf_username: 'x' }),
        await admin.post('/admin/connectors/routes', { method: 'bkash', connector: '' }),
        await admin.post(`/admin/merchants/${shop.id}/rails`, { method: 'bkash', connector: 'sandbox' }),
      ];
      for (const r of noCsrf) assert.equal(r.status, 403);
      assert.deepEqual(await t.gw.connectors.list(), before, 'nothing changed');
      assert.equal(await defaultRoute('bkash'), ID);
      assert.equal(
        (await t.gw.connectors.routes()).some((r) => r.scope === shop.id),
        false,
      );
    });

    it('never shows a secret value, on any page (the audit log included)', async () => {
      await get('/admin/audit');
      await get('/admin/connectors');
      assert.ok(seen.length > 30, `${seen.length} pages read`);
      for (const p of seen) {
        for (const secret of [CREDS.password, CREDS.appSecret, WRONG_PASSWORD])
          assert.ok(!p.text.includes(secret), `no secret on a page (${p.status})`);
      }
      for (const line of t.logs)
        for (const secret of [CREDS.password, CREDS.appSecret, WRONG_PASSWORD]) assert.ok(!line.includes(secret));
    });
  });
}
