/**
 * The merchant dashboard over real HTTP (no browser), on every dialect: register → approve → log in →
 * read the credentials once → pay with them → the payment in the list, search, filters, detail, CSV
 * and chart data; rotation; roles enforced on the server; one merchant never sees another's payments;
 * a 5 000-row CSV streams.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { newId, newMerchantRefId, newPaymentToken, newRefId } from '../../src/domain/ids.js';
import type { Payment } from '../../src/domain/payment.js';
import { dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';

const ADMIN = { kind: 'admin' as const, id: 'admin@test', ip: '127.0.0.1' };
const PASSWORD = 'correct horse battery';
const CRED_LABELS: [keyof IssuedCredentials, string][] = [
  ['wmx_id', 'Merchant ID'],
  ['access_app_key', 'Access app key'],
  ['username', 'Username'],
  ['password', 'Password'],
  ['signing_secret', 'Signing secret'],
  ['api_key', 'API key'],
];

const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** A browser without JavaScript: a cookie jar, and the CSRF token of the last page it read. */
class Client {
  private readonly cookies = new Map<string, string>();
  csrf = '';
  constructor(private readonly base: string) {}

  async request(path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a));
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = unescape(token[1]!);
    return { status: res.status, headers: res.headers, text };
  }

  get(path: string) {
    return this.request(path);
  }

  post(path: string, fields: Record<string, string>) {
    return this.request(path, { method: 'POST', body: new URLSearchParams({ _csrf: this.csrf, ...fields }) });
  }

  has(cookie: string) {
    return this.cookies.has(cookie);
  }
}

/** The value of the input labelled exactly `label` (as a label-driven checker finds it). */
function inputByLabel(page: string, label: string): string | undefined {
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const l = new RegExp(`<label for="([^"]+)">${escaped}</label>`).exec(page);
  if (!l) return undefined;
  const input = new RegExp(`<input id="${l[1]}"[^>]* value="([^"]*)"`).exec(page);
  return input ? unescape(input[1]!) : undefined;
}

async function register(t: TestGateway, c: Client, email: string, business: string, domain: string) {
  await c.get('/register');
  assert.ok(c.has('wmx_csrf'), 'the register page sets the CSRF cookie');
  const r = await c.post('/register', {
    business_name: business,
    domains: domain,
    contact_name: 'Karim Ahmed',
    email,
    phone: '01712345678',
    business_type: 'Private limited company',
    trade_licence: 'TRAD/DNCC/1234',
    account_name: business,
    account_number: '1234567890123',
    bank: 'Sonali Bank',
    branch: 'Motijheel',
    password: PASSWORD,
    password_confirm: PASSWORD,
  });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /Application received/);
  const owner = await t.gw.accounts.findByEmail('merchant', email);
  assert.ok(owner?.merchantId);
  return owner.merchantId;
}

async function login(c: Client, email: string, password = PASSWORD) {
  await c.get('/login');
  const r = await c.post('/login', { email, password });
  assert.equal(r.status, 303, r.text);
  assert.ok(c.has('wmx_session'));
}

/** Reads the six credentials off a page that shows them; undefined when the page shows none. */
function readCredentials(page: string): IssuedCredentials | undefined {
  const out: Partial<IssuedCredentials> = {};
  for (const [key, label] of CRED_LABELS) {
    const v = inputByLabel(page, label);
    if (v === undefined) return undefined;
    out[key] = v;
  }
  return out as IssuedCredentials; // every key was set in the loop
}

const csvLines = (text: string) => text.split('\r\n').filter((l) => l !== '');

for (const dialect of dialects()) {
  describe(`merchant dashboard (${dialect})`, () => {
    let t: TestGateway;
    let owner: Client;
    let merchantId: string;
    let creds: IssuedCredentials;
    let token: string;
    let pendingToken: string;
    const orderId = 'ORD-7731';
    const buyer = {
      customer_name: '=Rahim, "the" Uddin',
      customer_phone: '01812345678',
      customer_email: 'buyer@example.com',
    };

    before(async () => {
      t = await startGateway(dialect);
      owner = new Client(t.url);
    });
    after(() => t.close());

    it('sends a visitor without a session to the login page', async () => {
      const r = await new Client(t.url).get('/dashboard/payments');
      assert.equal(r.status, 303);
      assert.match(r.headers.get('location') ?? '', /^\/login\?next=/);
    });

    it('shows a pending merchant only that it awaits approval', async () => {
      merchantId = await register(t, owner, 'owner@shop.test', 'Shop & "Sons"', 'shop.test');
      await login(owner, 'owner@shop.test');
      const r = await owner.get('/dashboard');
      assert.equal(r.status, 200);
      assert.match(r.text, /awaiting approval/);
      assert.match(r.text, /Shop &amp; &quot;Sons&quot;/);
      assert.doesNotMatch(r.text, /chart/);
      const payments = await owner.get('/dashboard/payments');
      assert.match(payments.text, /awaiting approval/);
      assert.doesNotMatch(payments.text, /<table/);
      const creds = await owner.get('/dashboard/credentials');
      assert.doesNotMatch(creds.text, /Show my credentials/);
    });

    it('lets the owner read the issued credentials once, by their labels', async () => {
      await t.gw.onboarding.approve(merchantId, ADMIN);
      const page = await owner.get('/dashboard/credentials');
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.match(page.text, /Version 1, issued \d{4}-\d{2}-\d{2}/);
      assert.match(page.text, />Show my credentials</);
      assert.equal(readCredentials(page.text), undefined, 'the metadata page shows no secret');

      const shown = await owner.post('/dashboard/credentials/reveal', {});
      assert.equal(shown.status, 200);
      assert.match(shown.text, /will not be shown again/);
      const c = readCredentials(shown.text);
      assert.ok(c, 'every credential has a labelled field');
      creds = c;
      assert.match(creds.wmx_id, /^WMX/);
      assert.match(shown.text, /<input id="cred-password"[^>]* readonly/);

      const again = await owner.post('/dashboard/credentials/reveal', {});
      assert.equal(again.status, 410);
      assert.equal(readCredentials(again.text), undefined);
      assert.doesNotMatch((await owner.get('/dashboard/credentials')).text, /Show my credentials/);
    });

    it('lists a payment made with those credentials and finds it by every search key', async () => {
      const init = await initPayment(t, creds, {
        merchant_order_id: orderId,
        callback_url: 'https://shop.test/return',
        ...buyer,
      });
      assert.equal(init.json.statusCode, '1000', init.text);
      token = init.json.token as string;
      const pay = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams({
          method: 'card',
          card_number: '4111111111111111',
          expiry: '12/39',
          cvv: '123',
          card_name: 'Test',
        }),
      });
      assert.equal(pay.status, 200);
      assert.match(await pay.text(), /Payment successful/);
      // A second, pending payment, to see the filters tell them apart.
      const other = await initPayment(t, creds, {
        merchant_order_id: 'ORD-OTHER',
        callback_url: 'https://shop.test/return',
        amount: '25',
      });
      assert.equal(other.json.statusCode, '1000', other.text);
      pendingToken = other.json.token as string;

      const list = await owner.get('/dashboard/payments');
      assert.equal(list.status, 200);
      assert.match(list.text, new RegExp(`href="/dashboard/payments/${token}"`));
      assert.ok(list.text.indexOf('ORD-OTHER') < list.text.indexOf(orderId), 'newest first');
      for (const label of [
        'Search',
        'Status',
        'Method',
        'From',
        'To',
        'Min amount \\(BDT\\)',
        'Max amount \\(BDT\\)',
      ]) {
        assert.match(list.text, new RegExp(`<label for="f-[a-z_]+">${label}</label>`));
      }
      for (const q of [
        orderId,
        token,
        token.toUpperCase(),
        buyer.customer_phone,
        buyer.customer_email,
        'BUYER@example.com',
      ]) {
        const r = await owner.get(`/dashboard/payments?q=${encodeURIComponent(q)}`);
        assert.equal(r.status, 200);
        assert.match(r.text, new RegExp(`/dashboard/payments/${token}"`), `search ${q}`);
        assert.doesNotMatch(r.text, /ORD-OTHER/, `search ${q}`);
      }
      const ref = await t.gw.payments.byToken(token);
      for (const q of [ref!.refId, ref!.merchantRefId]) {
        assert.match((await owner.get(`/dashboard/payments?q=${encodeURIComponent(q)}`)).text, new RegExp(token));
      }
      assert.match((await owner.get('/dashboard/payments?q=nothing-like-this')).text, /No payments match/);
    });

    it('filters by status, method, dates and amount, and explains bad filters without a 5xx', async () => {
      const today = t.gw.formatTime(Date.now()).slice(0, 10);
      const has = async (query: string) => {
        const r = await owner.get(`/dashboard/payments?${query}`);
        assert.equal(r.status, 200, `${query}: ${r.text.slice(0, 300)}`);
        return { paid: r.text.includes(token), pending: r.text.includes('ORD-OTHER') };
      };
      assert.deepEqual(await has('status=approved'), { paid: true, pending: false });
      assert.deepEqual(await has('status=pending'), { paid: false, pending: true });
      assert.deepEqual(await has('status=declined'), { paid: false, pending: false });
      assert.deepEqual(await has('method=card'), { paid: true, pending: false });
      assert.deepEqual(await has(`from=${today}&to=${today}`), { paid: true, pending: true });
      assert.deepEqual(await has('to=2020-01-01'), { paid: false, pending: false });
      assert.deepEqual(await has('min_amount=20'), { paid: false, pending: true });
      assert.deepEqual(await has('min_amount=10&max_amount=10.00'), { paid: true, pending: false });
      for (const bad of [
        'status=paid',
        'method=cash',
        'from=2024-02-30',
        'to=yesterday',
        'min_amount=abc',
        'max_amount=1.234',
        'min_amount=5&max_amount=1',
        'from=2024-02-02&to=2024-02-01',
      ]) {
        const r = await owner.get(`/dashboard/payments?${bad}`);
        assert.equal(r.status, 400, bad);
        assert.match(r.text, /not valid/, bad);
        assert.match(r.text, /class="error"/, bad);
        const csv = await owner.get(`/dashboard/payments.csv?${bad}`);
        assert.equal(csv.status, 400, bad);
      }
      // Odd query shapes read as text, never as a crash.
      assert.equal((await owner.get('/dashboard/payments?q=a&q=b&status[]=x&cursor=%%%')).status, 200);
      assert.equal((await owner.get('/dashboard/payments?cursor=garbage')).status, 200);
    });

    it('shows the detail with every check-payment field and a timeline', async () => {
      const r = await owner.get(`/dashboard/payments/${token}`);
      assert.equal(r.status, 200);
      for (const f of [
        'wmx_id',
        'ref_id',
        'token',
        'merchant_req_amount',
        'txn_status',
        'txn_details',
        'card_details',
        'init_time',
        'txn_time',
        'customer_details',
      ]) {
        assert.match(r.text, new RegExp(`<code>${f}</code>`), f);
      }
      assert.match(r.text, /411111\*\*\*\*\*\*1111/);
      assert.match(r.text, /initiated/);
      assert.match(r.text, /Approved/);
      assert.match(r.text, /=Rahim, &quot;the&quot; Uddin/);
      const pending = await owner.get(`/dashboard/payments/${pendingToken}`);
      assert.equal(pending.status, 200);
      assert.match(pending.text, /Expires <strong>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}<\/strong>/);
      assert.equal((await owner.get(`/dashboard/payments/${'0'.repeat(40)}`)).status, 404);
      assert.equal((await owner.get('/dashboard/payments/not-a-token')).status, 404);
    });

    it('exports a CSV with escaping and formula neutralisation', async () => {
      const r = await owner.get('/dashboard/payments.csv');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(
        r.headers.get('content-disposition') ?? '',
        /^attachment; filename="payments-WMX[0-9a-f]+-\d{4}-\d{2}-\d{2}\.csv"$/,
      );
      const lines = csvLines(r.text);
      assert.equal(
        lines[0],
        'init_time,txn_time,token,ref_id,merchant_order_id,merchant_ref_id,status,txn_status,txn_details,method,amount,currency,amount_bdt,fee_bdt,emi_charge_bdt,bank_amount_bdt,card_details,customer_name,customer_email,customer_phone',
      );
      assert.equal(lines.length, 3);
      const row = lines.find((l) => l.includes(token));
      assert.ok(row);
      assert.ok(row.includes(`,${orderId},`));
      assert.ok(
        row.includes(
          `,approved,1000,Approved,card,10.00,BDT,10.00,0.25,0.00,10.00,411111******1111,"'=Rahim, ""the"" Uddin",buyer@example.com,01812345678`,
        ),
        row,
      );
      const filtered = csvLines((await owner.get('/dashboard/payments.csv?status=pending')).text);
      assert.equal(filtered.length, 2);
      assert.match(filtered[1]!, /ORD-OTHER/);
    });

    it('includes the payment in today’s chart data, as JSON and in the table', async () => {
      const today = t.gw.formatTime(Date.now()).slice(0, 10);
      const r = await owner.get('/dashboard/stats.json');
      assert.equal(r.status, 200);
      const { days } = JSON.parse(r.text) as {
        days: { date: string; total: number; approved: number; volume: string; successRate: number }[];
      };
      assert.equal(days.length, 30);
      assert.equal(days[29]!.date, today);
      assert.deepEqual(days[29], { date: today, total: 2, approved: 1, volume: '10.00', successRate: 50 });
      assert.deepEqual(days[0], { date: days[0]!.date, total: 0, approved: 0, volume: '0.00', successRate: 0 });
      const overview = await owner.get('/dashboard');
      assert.match(
        overview.text,
        new RegExp(`<th scope="row">${today}</th><td>2</td><td>1</td><td>50.0 %</td><td>10.00</td>`),
      );
      assert.match(overview.text, /<script src="\/assets\/vendor\/chart.umd.min.js" defer>/);
      assert.match(overview.text, /<script src="\/assets\/dashboard.js" defer>/);
      assert.match(overview.text, /class="sandbox-banner"/);
      const lib = await fetch(`${t.url}/assets/vendor/chart.umd.min.js`);
      assert.equal(lib.status, 200);
      assert.match(lib.headers.get('content-type') ?? '', /^application\/javascript/);
      assert.match(lib.headers.get('cache-control') ?? '', /max-age=/);
      assert.match(await lib.text(), /Chart/);
      const ours = await fetch(`${t.url}/assets/dashboard.js`);
      assert.equal(ours.status, 200);
    });

    it('rotates the credentials: the old ones fail with 2001 and the new ones work', async () => {
      const unconfirmed = await owner.post('/dashboard/credentials/rotate', {});
      assert.equal(unconfirmed.status, 422);
      assert.match(unconfirmed.text, /I understand the old credentials stop working now/);
      assert.equal(readCredentials(unconfirmed.text), undefined);
      assert.equal(
        (await initPayment(t, creds, { callback_url: 'https://shop.test/r' })).json.statusCode,
        '1000',
        'nothing changed',
      );

      const r = await owner.post('/dashboard/credentials/rotate', { confirm: 'yes' });
      assert.equal(r.status, 200);
      const fresh = readCredentials(r.text);
      assert.ok(fresh);
      assert.equal(fresh.wmx_id, creds.wmx_id);
      assert.notEqual(fresh.access_app_key, creds.access_app_key);
      assert.equal((await initPayment(t, creds, { callback_url: 'https://shop.test/r' })).json.statusCode, '2001');
      assert.equal((await initPayment(t, fresh, { callback_url: 'https://shop.test/r' })).json.statusCode, '1000');
      assert.match((await owner.get('/dashboard/credentials')).text, /Version 2/);
      creds = fresh;
    });

    it('enforces roles on the server: viewers read only, developers cannot touch credentials or the team', async () => {
      const members: Record<'viewer' | 'developer', Client> = {
        viewer: new Client(t.url),
        developer: new Client(t.url),
      };
      for (const role of ['viewer', 'developer'] as const) {
        await owner.get('/dashboard/team');
        const inv = await owner.post('/dashboard/team/invite', { email: `${role}@shop.test`, role });
        assert.equal(inv.status, 200, inv.text);
        const link = inputByLabel(inv.text, 'Invitation link');
        assert.ok(link !== undefined && link.startsWith(`${t.url}/invite/`), inv.text);
        assert.doesNotMatch(
          (await owner.get('/dashboard/team')).text,
          new RegExp(link.split('/').pop()!),
          'the link is shown once',
        );
        const m = members[role];
        const path = new URL(link).pathname;
        assert.equal((await m.get(path)).status, 200);
        const joined = await m.post(path, { name: `A ${role}`, password: PASSWORD });
        assert.equal(joined.status, 303);
        assert.equal(joined.headers.get('location'), '/dashboard');
      }
      const team = await owner.get('/dashboard/team');
      assert.match(team.text, /viewer@shop\.test<\/td><td>viewer/);
      assert.match(team.text, /developer@shop\.test<\/td><td>developer/);

      for (const [role, m] of Object.entries(members)) {
        const list = await m.get('/dashboard/payments');
        assert.equal(list.status, 200, role);
        assert.match(list.text, new RegExp(token), role);
        assert.equal((await m.get(`/dashboard/payments/${token}`)).status, 200, role);
        assert.equal((await m.get('/dashboard/payments.csv')).status, 200, role);
        const page = await m.get('/dashboard/credentials');
        assert.equal(page.status, 200);
        assert.doesNotMatch(page.text, /Rotate credentials|Show my credentials/, role);
        assert.match(page.text, new RegExp(creds.wmx_id), role);
        assert.doesNotMatch((await m.get('/dashboard/team')).text, />Invite</, role);
        for (const [path, body] of [
          ['/dashboard/credentials/reveal', {}],
          ['/dashboard/credentials/rotate', { confirm: 'yes' }],
          ['/dashboard/team/invite', { email: `x-${role}@shop.test`, role: 'owner' }],
        ] as const) {
          const r = await m.post(path, body);
          assert.equal(r.status, 403, `${role} ${path}`);
          assert.equal(readCredentials(r.text), undefined);
        }
      }
      assert.equal(
        (await initPayment(t, creds, { callback_url: 'https://shop.test/r' })).json.statusCode,
        '1000',
        'no rotation happened',
      );
      assert.equal(await t.gw.accounts.findByEmail('merchant', 'x-viewer@shop.test'), undefined);
      assert.doesNotMatch((await owner.get('/dashboard/team')).text, /x-(viewer|developer)@/, 'no invite was made');
    });

    it('never shows one merchant’s payment to another, and streams a 5 000-row CSV', async () => {
      const rival = new Client(t.url);
      const rivalId = await register(t, rival, 'owner@rival.test', 'Rival Ltd', 'rival.test');
      await t.gw.onboarding.approve(rivalId, ADMIN);
      await login(rival, 'owner@rival.test');
      assert.equal((await rival.get(`/dashboard/payments/${token}`)).status, 404);
      assert.doesNotMatch((await rival.get('/dashboard/payments')).text, new RegExp(token));
      const searched = await rival.get(`/dashboard/payments?q=${token}`);
      assert.doesNotMatch(searched.text, new RegExp(`/dashboard/payments/${token}`));
      assert.match(searched.text, /No payments match/);
      assert.doesNotMatch(
        (await rival.get(`/dashboard/payments?merchantId=${merchantId}&merchant_id=${merchantId}`)).text,
        new RegExp(token),
      );
      assert.equal(csvLines((await rival.get('/dashboard/payments.csv')).text).length, 1);
      const stats = JSON.parse((await rival.get('/dashboard/stats.json')).text) as { days: { total: number }[] };
      assert.equal(
        stats.days.reduce((s, d) => s + d.total, 0),
        0,
      );

      const rivalMerchant = await t.gw.merchants.byId(rivalId);
      const model = await t.gw.payments.byToken(token);
      assert.ok(model && rivalMerchant);
      const base = Date.now() - 3_600_000;
      for (let i = 0; i < 5000; i++) {
        const p: Payment = {
          ...model,
          id: newId('pay'),
          token: newPaymentToken(),
          refId: newRefId(),
          merchantRefId: newMerchantRefId(),
          merchantId: rivalId,
          wmxId: rivalMerchant.wmxId,
          merchantOrderId: `BULK-${i}`,
          initAt: base - i * 1000,
        };
        assert.ok(await t.gw.payments.insertIfNewRef(p));
      }
      const csv = await rival.get('/dashboard/payments.csv');
      assert.equal(csv.status, 200);
      assert.equal(csv.headers.get('content-length'), null, 'streamed, not buffered');
      const lines = csvLines(csv.text);
      assert.equal(lines.length, 5001);
      assert.match(lines[1]!, /,BULK-0,/);
      assert.match(lines[5000]!, /,BULK-4999,/);
      assert.ok(!csv.text.includes(token));

      // Keyset pages: 50 per page, the Older link keeps the filters and moves on.
      const first = await rival.get('/dashboard/payments?status=approved');
      const older = /href="(\/dashboard\/payments\?[^"]*cursor=[^"]+)" rel="next">Older</.exec(first.text);
      assert.ok(older, 'an Older link');
      const next = unescape(older[1]!);
      assert.match(next, /status=approved/);
      const second = await rival.get(next);
      assert.match(first.text, /BULK-49</);
      assert.doesNotMatch(first.text, /BULK-50</);
      assert.match(second.text, /BULK-50</);
      assert.match(second.text, /BULK-99</);
      assert.doesNotMatch(second.text, /BULK-49</);
      // And the first merchant still sees only its own.
      assert.doesNotMatch((await owner.get('/dashboard/payments')).text, /BULK-/);
    });
  });
}

describe('sandbox and live look different (sqlite)', () => {
  it('shows the live banner to a live merchant on a live gateway, the sandbox banner to a sandbox merchant', async () => {
    const t = await startGateway('sqlite', {
      env: { WMX_MODE: 'live', WMX_SECRET: 'a-live-secret-of-at-least-32-characters' },
    });
    try {
      for (const sandbox of [false, true]) {
        const { merchant } = await t.gw.merchantAdmin.create({
          name: sandbox ? 'Sandy' : 'Lively',
          domains: ['x.test'],
          sandbox,
        });
        const email = `owner-${sandbox ? 'sandbox' : 'live'}@x.test`;
        await t.gw.accounts.createUser({
          kind: 'merchant',
          email,
          password: PASSWORD,
          name: 'Owner',
          merchantId: merchant.id,
          role: 'owner',
        });
        const c = new Client(t.url);
        await login(c, email);
        const page = await c.get('/dashboard');
        assert.equal(page.status, 200);
        assert.match(page.text, sandbox ? /class="sandbox-banner"/ : /class="live-banner"/);
        assert.doesNotMatch(page.text, sandbox ? /class="live-banner"/ : /class="sandbox-banner"/);
      }
    } finally {
      await t.close();
    }
  });
});
