/**
 * The hosted checkout over plain HTTP (the no-JavaScript path): forms posted as a browser without
 * scripts would, the result callback form, exactly one outcome per token, expiry, escaping, and
 * that no full card number or CVV is ever written to the database or the logs.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';

const CARD = { card_number: '4111 1111 1111 1111', expiry: '12/39', cvv: '739', card_name: 'Rahim Uddin' };

async function page(url: string, init?: RequestInit) {
  const res = await fetch(url, { redirect: 'manual', ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** A form post as a browser makes it: a redirect (303 to the payment page) is followed with a GET. */
function postPage(url: string, fields: Record<string, string>) {
  return page(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'follow' });
}

/** The hidden inputs of the form that goes to the merchant (HTML-unescaped). */
function callbackForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form method="post" action="([^"]*)" data-autosubmit>([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form, 'the result page has a form for the merchant');
  const unescape = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1]!] = unescape(m[2]!);
  return { action: unescape(form[1]!), fields };
}

for (const dialect of dialects()) {
  describe(`checkout over plain HTTP (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let live: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true, env: { WMX_BANK_TIMEOUT: '200ms' } });
      c = await t.createMerchant({ sandbox: true, name: 'Dhaka <Books> & "Co"' });
      live = await t.createMerchant({ sandbox: false, domains: ['shop.test'] });
    });
    after(() => t.close());

    async function newToken(overrides: Record<string, string | undefined> = {}, creds = c) {
      const r = await initPayment(t, creds, overrides);
      assert.equal(r.json.statusCode, '1000', r.text);
      return r.json.token as string;
    }

    it('serves the payment page with the order, the amounts and labelled inputs', async () => {
      const token = await newToken({ amount: '10.5', currency: 'USD' });
      const r = await page(`${t.url}/bank-payment-process/${token}`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/);
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
      assert.match(r.text, /Item A/);
      assert.match(r.text, /10\.50 USD/);
      assert.match(r.text, /1286\.25 BDT/); // 10.50 × 122.50
      for (const label of ['Card number', 'Expiry', 'CVV', 'Name on card']) {
        assert.match(r.text, new RegExp(`<label for="[a-z_]+">${label}</label>`));
      }
      for (const button of ['Card', 'Mobile wallet', 'Internet banking', 'Pay', 'Cancel']) {
        assert.match(r.text, new RegExp(`>${button}</button>`));
      }
    });

    it('escapes text from the merchant and the order on the page', async () => {
      const token = await newToken({ product_desc: '<script>alert(1)</script><img src=x onerror=alert(2)>' });
      const r = await page(`${t.url}/bank-payment-process/${token}`);
      assert.ok(!r.text.includes('<script>alert(1)'));
      assert.ok(!r.text.includes('<img src=x'));
      assert.match(r.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assert.match(r.text, /Dhaka &lt;Books&gt; &amp; &quot;Co&quot;/);
    });

    it('answers an unknown or malformed token with a 404 page', async () => {
      const unknown = await page(`${t.url}/bank-payment-process/${'0'.repeat(40)}`);
      assert.equal(unknown.status, 404);
      assert.match(unknown.text, /Payment not found/);
      const malformed = await page(`${t.url}/bank-payment-process/not-a-token`);
      assert.equal(malformed.status, 404);
      // No token at all, or more path than a token and its extra segment: the same HTML page.
      for (const path of [
        '/bank-payment-process',
        '/bank-payment-process/',
        `/bank-payment-process/${'0'.repeat(40)}/a/b`,
      ]) {
        const res = await page(`${t.url}${path}`);
        assert.equal(res.status, 404, path);
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
        assert.match(res.text, /Payment not found/, path);
      }
    });

    it('pays with a card without JavaScript and posts the signed result to callback_url verbatim', async () => {
      const callback = 'https://merchant.example/return?order=42&x=a%20b';
      const token = await newToken({ callback_url: callback, merchant_order_id: '42' });
      // Post, redirect, get: the outcome is shown by the token's own page, so Back from the shop
      // lands on a page (which re-sends the result), never on a form to resubmit.
      const posted = await page(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams({ method: 'card', ...CARD, lang: 'en' }),
      });
      assert.equal(posted.status, 303);
      assert.equal(posted.headers.get('location'), `/bank-payment-process/${token}?lang=en`);
      const r = await page(`${t.url}${posted.headers.get('location')}`);
      assert.equal(r.status, 200);
      assert.match(r.text, /Payment successful/);
      assert.match(r.text, /<button type="submit" class="primary">Return to /);
      const form = callbackForm(r.text);
      assert.equal(form.action, callback);
      const data = JSON.parse(form.fields.merchant_txn_data!) as Record<string, unknown>;
      assert.deepEqual(Object.keys(data).sort(), [
        'amount',
        'currency',
        'merchant_order_id',
        'merchant_ref_id',
        'token',
        'txn_status',
        'wmx_id',
      ]);
      for (const v of Object.values(data)) assert.equal(typeof v, 'string');
      assert.equal(data.txn_status, '1000');
      assert.equal(data.token, token);
      assert.equal(data.amount, '10.00');
      assert.equal(data.wmx_id, c.wmx_id);
      const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(form.fields.wmx_signature ?? '');
      assert.ok(sig, 'wmx_signature has the t=…,v1=… shape');
      const expected = crypto
        .createHmac('sha256', c.signing_secret)
        .update(`${sig[1]}.${form.fields.merchant_txn_data}`)
        .digest('hex');
      assert.equal(sig[2], expected);

      const check = await checkPayment(t, c, token);
      assert.equal(check.json.statusCode, 1000);
      assert.equal(check.json.txn_status, '1000');
      assert.equal(check.json.txn_details, 'Approved');
      assert.equal(check.json.card_details, '411111******1111');
      assert.equal(check.json.payment_card, 'VISA-Sandbox Bank');
      assert.equal(check.json.card_code, '1001');
      assert.equal(check.json.payment_method, '1');
      assert.equal(check.json.is_foreign, '0');
      assert.match(String(check.json.txn_time), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    });

    it('echoes the extra path segment as username in merchant_txn_data', async () => {
      const token = await newToken();
      const shown = await page(`${t.url}/bank-payment-process/${token}/alice01`);
      assert.match(shown.text, /name="extra" value="alice01"/);
      const r = await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        extra: 'alice01',
      });
      const data = JSON.parse(callbackForm(r.text).fields.merchant_txn_data!) as Record<string, string>;
      assert.equal(data.username, 'alice01');
    });

    it('refuses a typo on the form without recording an outcome', async () => {
      const token = await newToken();
      const luhn = await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4111 1111 1111 1112',
      });
      assert.equal(luhn.status, 200); // a page to correct, not an HTTP error a WebView SDK would read as failure
      assert.match(luhn.text, /This card number is not valid/);
      assert.match(luhn.text, /value="4111 1111 1111 1112"/); // kept for correction
      assert.ok(!luhn.text.includes('value="739"'), 'the CVV is never echoed back');
      const past = await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        expiry: '01/20',
      });
      assert.match(past.text, /This card has expired/);
      const check = await checkPayment(t, c, token);
      assert.equal(check.json.txn_status, null);
    });

    it('declines with the bank reason and sends 1001 back', async () => {
      const token = await newToken();
      const r = await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4000 0000 0000 9995',
      });
      assert.match(r.text, /Payment declined/);
      assert.match(r.text, /Declined: insufficient funds/);
      const data = JSON.parse(callbackForm(r.text).fields.merchant_txn_data!) as Record<string, string>;
      assert.equal(data.txn_status, '1001');
      // The finished page in Bangla says why in Bangla; the wire keeps the English text.
      const bn = await page(`${t.url}/bank-payment-process/${token}?lang=bn`);
      assert.match(bn.text, /প্রত্যাখ্যাত: অ্যাকাউন্টে যথেষ্ট টাকা নেই/);
      assert.doesNotMatch(bn.text, /Declined: insufficient funds/);
      const check = await checkPayment(t, c, token);
      assert.equal(check.json.txn_status, '1001');
      assert.equal(check.json.txn_details, 'Declined: insufficient funds');
      assert.equal(check.json.statusCode, 1008);
    });

    it('declines with Bank timeout when the bank does not answer, charging nothing', async () => {
      const token = await newToken();
      const r = await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4000 0000 0000 0119',
      });
      assert.match(r.text, /The bank did not answer in time/);
      const check = await checkPayment(t, c, token);
      assert.equal(check.json.txn_status, '1001');
      assert.equal(check.json.txn_details, 'Bank timeout');
    });

    it('takes no payment for a merchant suspended after the payment began, and takes it again once reactivated', async () => {
      const m = await t.createMerchant({ sandbox: true, name: 'Paused Books' });
      const token = await newToken({}, m);
      await t.gw.merchantAdmin.setStatus(m.wmx_id, 'suspended');
      const shown = await page(`${t.url}/bank-payment-process/${token}`);
      assert.equal(shown.status, 200);
      assert.match(shown.text, /Payment is not available/);
      assert.doesNotMatch(shown.text, /name="card_number"/);
      // Not a dead end: the customer can go back to the shop.
      assert.match(shown.text, new RegExp(`<form method="post" action="/bank-payment-process/${token}/cancel"`));
      const paid = await postPage(`${t.url}/bank-payment-process/${token}/pay`, { method: 'card', ...CARD });
      assert.match(paid.text, /Payment is not available/);
      const row = await t.gw.payments.byToken(token);
      assert.equal(row?.status, 'pending');
      assert.equal(row?.attempts, 0);

      await t.gw.merchantAdmin.setStatus(m.wmx_id, 'active');
      assert.match((await page(`${t.url}/bank-payment-process/${token}`)).text, /name="card_number"/);
      await postPage(`${t.url}/bank-payment-process/${token}/pay`, { method: 'card', ...CARD });
      assert.equal((await checkPayment(t, m, token)).json.txn_status, '1000');
    });

    it('runs the one-time-password step, and three wrong codes decline', async () => {
      const ok = await newToken();
      const step = await postPage(`${t.url}/bank-payment-process/${ok}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4000 0000 0000 3220',
      });
      assert.match(step.text, /<label for="otp">One-time password<\/label>/);
      // The prompt names the card in the page's words, once; the amounts are what is charged.
      assert.match(step.text, /Enter the one-time password sent for VISA-Sandbox Bank 400000\*{6}3220\./);
      assert.doesNotMatch(step.text, /sent for Enter/);
      assert.equal(step.text.split('Sandbox OTP: 123456').length - 1, 1);
      assert.match(step.text, /Charged<\/dt><dd>10\.00 BDT/);
      const wrong = await postPage(`${t.url}/bank-payment-process/${ok}/verify`, { otp: '000000' });
      assert.match(wrong.text, /Wrong one-time password\. 2 tries left\./);
      const bn = await postPage(`${t.url}/bank-payment-process/${ok}/verify`, { otp: '000001', lang: 'bn' });
      assert.match(bn.text, /ওয়ান-টাইম পাসওয়ার্ড সঠিক নয়। আর ১ বার চেষ্টা করা যাবে।/);
      assert.doesNotMatch(bn.text, /Enter the one-time password/);
      // Bangla digits from a Bangla keyboard are the same code.
      const right = await postPage(`${t.url}/bank-payment-process/${ok}/verify`, { otp: '১২৩৪৫৬' });
      assert.match(right.text, /Payment successful/);
      assert.equal((await checkPayment(t, c, ok)).json.txn_status, '1000');

      const bad = await newToken();
      await postPage(`${t.url}/bank-payment-process/${bad}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4000 0000 0000 3220',
      });
      for (let i = 0; i < 3; i++) await postPage(`${t.url}/bank-payment-process/${bad}/verify`, { otp: '111111' });
      const check = await checkPayment(t, c, bad);
      assert.equal(check.json.txn_status, '1001');
      assert.equal(check.json.txn_details, 'Declined: authentication failed');
    });

    it('pays with a mobile wallet (PIN, then OTP) and with internet banking', async () => {
      const w = await newToken();
      const pin = await postPage(`${t.url}/bank-payment-process/${w}/pay`, {
        method: 'mobile_wallet',
        provider: 'bkash',
        wallet_number: '01700000001',
        pin: '১২১২১', // Bangla digits: 12121
      });
      assert.match(pin.text, /One-time password/);
      await postPage(`${t.url}/bank-payment-process/${w}/verify`, { otp: '123456' });
      const wc = await checkPayment(t, c, w);
      assert.equal(wc.json.txn_status, '1000');
      assert.equal(wc.json.payment_card, 'BKASH-bKash');
      assert.equal(wc.json.card_code, '6001');
      assert.equal(wc.json.payment_method, '2');
      assert.equal(wc.json.card_details, '017****0001');
      assert.equal(wc.json.service_ratio, '1.85');

      const b = await newToken();
      const r = await postPage(`${t.url}/bank-payment-process/${b}/pay`, {
        method: 'internet_banking',
        bank: 'sandbox',
        username: 'sandbox',
        password: 'sandbox',
      });
      assert.match(r.text, /Payment successful/);
      const bc = await checkPayment(t, c, b);
      assert.equal(bc.json.payment_method, '3');
      assert.equal(bc.json.card_code, '7001');
      assert.equal(bc.json.card_details, 'sa******'); // a string once paid, whatever the method
    });

    it('applies EMI chosen on the page: surcharge on top, paid by the customer', async () => {
      const otp = await newToken({ amount: '1000' });
      const step = await postPage(`${t.url}/bank-payment-process/${otp}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4000 0000 0000 3220',
        emi_period: '12',
        emi_bank: 'dbbl',
      });
      assert.match(step.text, /Amount to pay<\/dt><dd class="amount">1000\.00 BDT/);
      assert.match(step.text, /Charged<\/dt><dd>1075\.00 BDT/); // with the 12-month surcharge

      const token = await newToken({ amount: '1000' });
      const shown = await page(`${t.url}/bank-payment-process/${token}`);
      assert.match(shown.text, /6 months: 4\.50% surcharge, \+45\.00 BDT, 1045\.00 BDT in all/);
      await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        emi_period: '6',
        emi_bank: 'dbbl',
      });
      const check = await checkPayment(t, c, token);
      assert.equal(check.json.emi_ratio, '4.50');
      assert.equal(check.json.emi_charge, '45.00');
      assert.equal(check.json.bank_amount_bdt, '1045.00');
      assert.equal(check.json.merchant_amount_bdt, '1000.00');
    });

    it('charges once when Pay is submitted many times at once', async () => {
      const token = await newToken();
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          postPage(`${t.url}/bank-payment-process/${token}/pay`, { method: 'card', ...CARD }),
        ),
      );
      for (const r of results) assert.ok(r.status === 200, `status ${r.status}`);
      const approvedPages = results.filter((r) => r.text.includes('Payment successful'));
      assert.ok(approvedPages.length >= 1);
      const refs = new Set(approvedPages.map((r) => /Reference: ([A-Za-z0-9]+)/.exec(r.text)?.[1]));
      assert.equal(refs.size, 1, 'every page names the same transaction');
      const rows = await t.gw.db.kysely
        .selectFrom('payments')
        .select(['status', 'auth_code'])
        .where('token', '=', token)
        .execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, 'approved');
      // A replayed post after the outcome re-sends the same result and changes nothing.
      const replay = await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '4000 0000 0000 0002',
      });
      assert.match(replay.text, /Payment successful/);
      assert.equal((await checkPayment(t, c, token)).json.txn_status, '1000');
    });

    it('cancels with 1009 and re-sends the result from the finished page', async () => {
      const token = await newToken();
      const r = await postPage(`${t.url}/bank-payment-process/${token}/cancel`, {});
      assert.match(r.text, /Payment cancelled/);
      assert.equal(JSON.parse(callbackForm(r.text).fields.merchant_txn_data!).txn_status, '1009');
      const again = await page(`${t.url}/bank-payment-process/${token}`);
      assert.equal(JSON.parse(callbackForm(again.text).fields.merchant_txn_data!).txn_status, '1009');
      const check = await checkPayment(t, c, token);
      assert.equal(check.json.txn_details, 'Cancelled by customer');
      // Paying a cancelled token changes nothing.
      await postPage(`${t.url}/bank-payment-process/${token}/pay`, { method: 'card', ...CARD });
      assert.equal((await checkPayment(t, c, token)).json.txn_status, '1009');
    });

    it('expires after the time to live: 1009 with Expired', async () => {
      const token = await newToken();
      t.clock.advance(31 * 60_000);
      const r = await page(`${t.url}/bank-payment-process/${token}`);
      assert.match(r.text, /Payment expired/);
      assert.equal(JSON.parse(callbackForm(r.text).fields.merchant_txn_data!).txn_status, '1009');
      const check = await checkPayment(t, c, token);
      assert.equal(check.json.txn_status, '1009');
      assert.equal(check.json.txn_details, 'Expired');
    });

    it('shows every line of the order, and says so when it does not add up to the amount to pay', async () => {
      const token = await newToken({
        product_desc: '{1xShirt[500]=[500]}+{tax:50}+{shipping rate:60}-{discount amount:10}=600.00',
        amount: '600',
      });
      const shown = await page(`${t.url}/bank-payment-process/${token}`);
      assert.match(shown.text, /<th scope="row" colspan="3">tax<\/th><td>50\.00<\/td>/);
      assert.doesNotMatch(shown.text, /does not add up/);
      const off = await newToken({ product_desc: '{1xShirt[10]=[10]}=10.00', amount: '99' });
      assert.match((await page(`${t.url}/bank-payment-process/${off}`)).text, /does not add up to the amount to pay/);
    });

    it('shows the EMI surcharge asked for at init on the card form only, where it applies', async () => {
      const token = await newToken({ amount: '1000', extra_json: '{"emi_period":"6","emi_selected_bank":"dbbl"}' });
      assert.match((await page(`${t.url}/bank-payment-process/${token}`)).text, /<dt>EMI<\/dt><dd>\+45\.00 BDT/);
      const wallet = await page(`${t.url}/bank-payment-process/${token}?method=mobile_wallet`);
      assert.doesNotMatch(wallet.text, /<dt>EMI<\/dt>/);
      assert.doesNotMatch(wallet.text, /Card details go straight to the bank/);
    });

    it('shows Bangla when asked, by the switch or by Accept-Language', async () => {
      const token = await newToken();
      const bn = await page(`${t.url}/bank-payment-process/${token}?lang=bn`);
      assert.match(bn.text, /<html lang="bn">/);
      assert.match(bn.text, /<label for="card_number">কার্ড নম্বর<\/label>/);
      assert.match(bn.text, />পরিশোধ করুন<\/button>/);
      const accept = await page(`${t.url}/bank-payment-process/${token}`, {
        headers: { 'accept-language': 'bn-BD,bn;q=0.9,en;q=0.5' },
      });
      assert.match(accept.text, />কার্ড<\/button>/);
      const en = await page(`${t.url}/bank-payment-process/${token}`, { headers: { 'accept-language': 'en-US' } });
      assert.match(en.text, />Card<\/button>/);
    });

    it('never writes the full card number or the CVV to the database or the logs', async () => {
      const token = await newToken({}, live);
      await postPage(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'card',
        ...CARD,
        card_number: '5555555555554444',
        cvv: '739',
      });
      const leaks = ['4111111111111111', '4111 1111 1111 1111', '5555555555554444'];
      const logs = t.logs.join('\n');
      for (const s of leaks) assert.ok(!logs.includes(s), `logs contain ${s}`);
      assert.doesNotMatch(logs, /cvv/i);
      if (dialect === 'sqlite') {
        for (const f of fs.readdirSync(t.dataDir).filter((n) => n.startsWith('wmx.db'))) {
          const bytes = fs.readFileSync(path.join(t.dataDir, f)).toString('latin1');
          for (const s of leaks) assert.ok(!bytes.includes(s), `${f} contains ${s}`);
        }
      }
      // Every text value in every table, on either dialect.
      const tables = ['payments', 'merchants', 'demo_orders', 'settings'] as const;
      for (const table of tables) {
        const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.gw.db.kysely);
        for (const row of rows.rows) {
          for (const v of Object.values(row)) {
            if (typeof v !== 'string') continue;
            for (const s of leaks) assert.ok(!v.includes(s), `${table} holds ${s}`);
            assert.notEqual(v, '739');
          }
        }
      }
    });
  });
}
