import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import {
  BKASH_SIMULATOR_DEFAULT_CREDENTIALS as CREDS,
  bkashSimulatorPlugin,
  startBkashSimulator,
} from '../../src/acquirers/bkash/simulator.js';

type Sim = Awaited<ReturnType<typeof startBkashSimulator>>;
type Json = Record<string, unknown>;
const HANG_MS = 300;
const CALLBACK = 'http://shop.test/bkash/return?order=42';

async function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
    signal,
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** A connector's view of one simulator: tokens and signed business calls. */
function client(sim: Sim) {
  const grantHeaders = { username: CREDS.username, password: CREDS.password };
  const grant = (body: Json = { app_key: CREDS.appKey, app_secret: CREDS.appSecret }, headers = grantHeaders) =>
    post(`${sim.baseUrl}/tokenized/checkout/token/grant`, body, headers);
  let token: string | undefined;
  async function api(path: string, body: Json, opts: { token?: string; appKey?: string; signal?: AbortSignal } = {}) {
    const authorization = opts.token ?? (token ??= (await grant()).json.id_token as string);
    const headers = { authorization, 'x-app-key': opts.appKey ?? CREDS.appKey };
    return post(`${sim.baseUrl}/tokenized/checkout${path}`, body, headers, opts.signal);
  }
  const create = (over: Json = {}) =>
    api('/create', {
      mode: '0011',
      payerReference: ' ',
      callbackURL: CALLBACK,
      amount: '100.00',
      currency: 'BDT',
      intent: 'sale',
      merchantInvoiceNumber: `INV-${Math.random().toString(36).slice(2)}`,
      ...over,
    });
  const customer = async (paymentID: string, action: string, wallet?: string) =>
    post(`${sim.url}/_sim/payments/${paymentID}/customer`, { action, wallet });
  /** Created and verified by the customer, ready to execute. */
  async function verified(amount = '100.00', wallet?: string) {
    const c = await create({ amount });
    assert.equal(c.json.statusCode, '0000', JSON.stringify(c.json));
    const id = c.json.paymentID as string;
    const cust = await customer(id, 'success', wallet);
    return { id, create: c.json, redirect: cust.json.redirect };
  }
  async function paid(amount = '100.00') {
    const v = await verified(amount);
    const e = await api('/execute', { paymentID: v.id });
    assert.equal(e.json.transactionStatus, 'Completed', JSON.stringify(e.json));
    return { id: v.id, trxID: e.json.trxID as string };
  }
  const state = async (id: string) => (await (await fetch(`${sim.url}/_sim/payments/${id}`)).json()) as Json;
  return { grant, api, create, customer, verified, paid, state };
}

describe('bKash simulator', () => {
  let sim: Sim;
  let c: ReturnType<typeof client>;
  before(async () => {
    sim = await startBkashSimulator({ hangMs: HANG_MS });
    c = client(sim);
  });
  after(() => sim.close());

  it('grants tokens, and refuses a wrong app key or password with bKash codes', async () => {
    const ok = await c.grant();
    assert.equal(ok.status, 200);
    assert.equal(ok.json.statusCode, '0000');
    assert.equal(ok.json.token_type, 'Bearer');
    assert.equal(ok.json.expires_in, 3600);
    assert.equal(typeof ok.json.id_token, 'string');
    assert.equal(typeof ok.json.refresh_token, 'string');
    const key = await c.grant({ app_key: 'nope', app_secret: CREDS.appSecret });
    assert.deepEqual(key, { status: 200, json: { statusCode: '2001', statusMessage: 'Invalid App Key' } });
    const pw = await c.grant(undefined, { username: CREDS.username, password: 'wrong' });
    assert.deepEqual(pw.json, { statusCode: '9999', statusMessage: 'Invalid credentials.' });
  });

  it('refuses business calls without a valid token (401) or with a wrong X-APP-Key (2001)', async () => {
    const none = await c.api('/payment/status', { paymentID: 'x' }, { token: 'bogus' });
    assert.deepEqual(none, { status: 401, json: { message: 'Unauthorized' } });
    const key = await c.api('/payment/status', { paymentID: 'x' }, { appKey: 'other' });
    assert.equal(key.json.statusCode, '2001');
    const bearer = `Bearer ${(await c.grant()).json.id_token as string}`;
    assert.equal((await c.api('/payment/status', { paymentID: 'x' }, { token: bearer })).json.statusCode, '2002');
  });

  it('creates a payment with the documented fields and URLs', async () => {
    const r = await c.create({ amount: 250.5, merchantInvoiceNumber: 'INV-1' });
    const j = r.json;
    assert.equal(j.statusCode, '0000');
    assert.match(String(j.paymentID), /^TR0011[A-Za-z0-9]{7}\d{13}$/);
    assert.match(String(j.paymentCreateTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d:\d{3} GMT\+0600$/);
    assert.equal(j.transactionStatus, 'Initiated');
    assert.equal(j.amount, '250.5');
    assert.equal(j.merchantInvoiceNumber, 'INV-1');
    assert.ok(String(j.bkashURL).startsWith(`${sim.url}/?paymentId=${String(j.paymentID)}&hash=`));
    const sig = /&signature=([A-Za-z0-9]{10})$/.exec(String(j.successCallbackURL))?.[1];
    assert.ok(sig);
    assert.equal(j.successCallbackURL, `${CALLBACK}&paymentID=${String(j.paymentID)}&status=success&signature=${sig}`);
    assert.equal(j.failureCallbackURL, `${CALLBACK}&paymentID=${String(j.paymentID)}&status=failure&signature=${sig}`);
    assert.equal(j.cancelledCallbackURL, `${CALLBACK}&paymentID=${String(j.paymentID)}&status=cancel&signature=${sig}`);
    // A duplicate invoice number is not refused.
    assert.equal((await c.create({ merchantInvoiceNumber: 'INV-1' })).json.statusCode, '0000');
  });

  it('validates create with the documented codes', async () => {
    const cases: [Json, string][] = [
      [{ mode: '0001' }, '2063'],
      [{ amount: '0' }, '2006'],
      [{ amount: '10.123' }, '2006'],
      [{ amount: 'ten' }, '2006'],
      [{ currency: 'USD' }, '2007'],
      [{ intent: 'authorization' }, '2008'],
      [{ callbackURL: '/relative' }, '2049'],
      [{ callbackURL: 'ftp://x.test/' }, '2049'],
      [{ merchantInvoiceNumber: '' }, '2031'],
      [{ merchantInvoiceNumber: 'x'.repeat(256) }, '2031'],
      [{ payerReference: undefined }, '2048'],
      [{ payerReference: null }, '2048'],
      [{ currency: undefined }, '2065'],
    ];
    for (const [over, code] of cases) {
      const r = await c.create(over);
      assert.equal(r.status, 200);
      assert.equal(r.json.statusCode, code, `${JSON.stringify(over)} → ${JSON.stringify(r.json)}`);
    }
    assert.equal((await c.create({ currency: undefined })).json.statusMessage, 'Mendatory field missing');
  });

  it('runs success → execute → Completed, a second execute answers 2117, and query tracks it', async () => {
    const v = await c.verified('120.00', '01877722345');
    assert.equal(v.redirect, `${String(v.create.successCallbackURL)}&apiVersion=1.2.0-beta/`);
    const before = await c.api('/payment/status', { paymentID: v.id });
    assert.equal(before.json.transactionStatus, 'Initiated');
    assert.equal(before.json.verificationStatus, 'Complete');
    assert.equal(before.json.trxID, undefined);
    const e = await c.api('/execute', { paymentID: v.id });
    assert.equal(e.json.statusCode, '0000');
    assert.equal(e.json.transactionStatus, 'Completed');
    assert.match(String(e.json.trxID), /^[A-Z0-9]{10}$/);
    assert.equal(e.json.customerMsisdn, '01877722345');
    assert.equal(e.json.payerAccount, '01877722345');
    assert.equal(e.json.payerType, 'Customer');
    assert.equal(e.json.maxRefundableAmount, '120.00');
    assert.equal(e.json.merchantInvoiceNumber, v.create.merchantInvoiceNumber);
    const again = await c.api('/execute', { paymentID: v.id });
    assert.deepEqual(again.json, { statusCode: '2117', statusMessage: 'Payment execution already been called before' });
    const q = await c.api('/payment/status', { paymentID: v.id });
    assert.equal(q.json.transactionStatus, 'Completed');
    assert.equal(q.json.trxID, e.json.trxID);
    assert.equal(q.json.merchantInvoice, v.create.merchantInvoiceNumber);
    assert.equal(q.json.userVerificationStatus, 'Complete');
    assert.equal(typeof q.json.paymentExecuteTime, 'string');
    const s = await c.api('/general/searchTransaction', { trxID: e.json.trxID });
    assert.equal(s.json.transactionStatus, 'Completed');
    assert.equal(s.json.amount, '120.00');
    assert.equal((await c.api('/general/searchTransaction', { trxID: 'NOSUCHTRX1' })).json.statusCode, '2033');
    assert.equal((await c.state(v.id)).executeCalls, 2);
  });

  it('refuses execute when not verified, cancelled, failed, unknown, or the wallet cannot pay', async () => {
    const fresh = await c.create();
    const id = fresh.json.paymentID as string;
    assert.equal((await c.api('/execute', { paymentID: id })).json.statusCode, '2056');
    const q = await c.api('/payment/status', { paymentID: id });
    assert.equal(q.json.verificationStatus, 'Incomplete');
    const cancel = await c.customer(id, 'cancel');
    assert.equal(cancel.json.redirect, `${String(fresh.json.cancelledCallbackURL)}&apiVersion=1.2.0-beta/`);
    assert.equal((await c.api('/execute', { paymentID: id })).json.statusCode, '2056');
    assert.equal((await c.customer(id, 'success')).status, 409);
    const failed = await c.create();
    await c.customer(failed.json.paymentID as string, 'failure');
    assert.equal((await c.api('/execute', { paymentID: failed.json.paymentID as string })).json.statusCode, '2056');
    assert.equal((await c.api('/execute', { paymentID: 'TR0011nope' })).json.statusCode, '2002');

    const poor = await c.verified('100.00', '01823074817');
    assert.deepEqual((await c.api('/execute', { paymentID: poor.id })).json, {
      statusCode: '2023',
      statusMessage: 'Insufficient Balance',
    });
    assert.equal((await c.api('/execute', { paymentID: poor.id })).json.statusCode, '2056');
    const blocked = await c.verified('100.00', '01823074818');
    assert.equal((await c.api('/execute', { paymentID: blocked.id })).json.statusCode, '2037');
  });

  it('refunds partially, refuses over-refunds and a wrong trxID, and reports refund status', async () => {
    const unpaid = await c.verified();
    assert.equal(
      (await c.api('/payment/refund', { paymentID: unpaid.id, amount: '1', trxID: 'X', sku: 's', reason: 'r' })).json
        .statusCode,
      '2127',
    );
    const p = await c.paid('100.00');
    const refund = (amount: string, trxID = p.trxID) =>
      c.api('/payment/refund', { paymentID: p.id, amount, trxID, sku: 'sku-1', reason: 'returned' });
    assert.equal((await c.api('/payment/refund', { paymentID: p.id, trxID: p.trxID })).json.statusCode, '2002');
    const r1 = await refund('40.00');
    assert.equal(r1.json.statusCode, '0000');
    assert.equal(r1.json.transactionStatus, 'Completed');
    assert.equal(r1.json.originalTrxID, p.trxID);
    assert.equal(r1.json.amount, '40.00');
    assert.equal(r1.json.charge, '0.00');
    assert.match(String(r1.json.refundTrxID), /^[A-Z0-9]{10}$/);
    assert.equal((await refund('60.01')).json.statusCode, '2072');
    assert.equal((await refund('5', 'WRONGTRX00')).json.statusCode, '2077');
    const r2 = await refund('60');
    assert.equal(r2.json.statusCode, '0000');
    assert.equal((await refund('0.01')).json.statusCode, '2072');
    const status = await c.api('/payment/refund', { paymentID: p.id, trxID: p.trxID });
    assert.equal(status.json.refundTrxID, r2.json.refundTrxID);
    assert.equal(status.json.amount, '60');
    const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as Json;
    assert.ok(Number(stats.refund) >= 5 && Number(stats.refundStatus) >= 2);
  });

  describe('knobs', () => {
    it('.71: execute completes but its answer hangs', async () => {
      const v = await c.verified('10.71');
      await assert.rejects(c.api('/execute', { paymentID: v.id }, { signal: AbortSignal.timeout(50) }), {
        name: 'TimeoutError',
      });
      const q = await c.api('/payment/status', { paymentID: v.id });
      assert.equal(q.json.transactionStatus, 'Completed');
      assert.match(String(q.json.trxID), /^[A-Z0-9]{10}$/);
    });

    it('.72: execute completes but answers HTTP 500', async () => {
      const v = await c.verified('10.72');
      assert.deepEqual(await c.api('/execute', { paymentID: v.id }), {
        status: 500,
        json: { message: 'Internal server error' },
      });
      assert.equal((await c.api('/payment/status', { paymentID: v.id })).json.transactionStatus, 'Completed');
    });

    it('.73: the success callback never comes', async () => {
      const v = await c.verified('10.73');
      assert.equal(v.redirect, null);
      assert.equal((await c.api('/payment/status', { paymentID: v.id })).json.verificationStatus, 'Complete');
      assert.equal((await c.api('/execute', { paymentID: v.id })).json.transactionStatus, 'Completed');
    });

    it('.74: refund is refused with 2074', async () => {
      const p = await c.paid('10.74');
      const r = await c.api('/payment/refund', { paymentID: p.id, amount: '1', trxID: p.trxID, sku: 's', reason: 'r' });
      assert.deepEqual(r.json, { statusCode: '2074', statusMessage: 'The transaction cannot be reversed' });
    });

    it('.75: refund completes but its answer hangs; refund status shows it', async () => {
      const p = await c.paid('10.75');
      const body = { paymentID: p.id, amount: '2', trxID: p.trxID, sku: 's', reason: 'r' };
      await assert.rejects(c.api('/payment/refund', body, { signal: AbortSignal.timeout(50) }), {
        name: 'TimeoutError',
      });
      const status = await c.api('/payment/refund', { paymentID: p.id, trxID: p.trxID });
      assert.equal(status.json.transactionStatus, 'Completed');
      assert.equal(status.json.amount, '2');
    });

    it('.76: create hangs for hangMs and makes no payment', async () => {
      const before = Date.now();
      const r = await c.create({ amount: '10.76' });
      assert.ok(Date.now() - before >= HANG_MS - 20);
      assert.equal(r.status, 504);
      assert.equal(r.json.paymentID, undefined);
    });

    it('.77: the first two status queries answer 503, then normally', async () => {
      const created = await c.create({ amount: '10.77' });
      const q = () => c.api('/payment/status', { paymentID: created.json.paymentID as string });
      const maintenance = {
        status: 503,
        json: { statusCode: '503', statusMessage: 'System is undergoing maintenance. Please try again later' },
      };
      assert.deepEqual(await q(), maintenance);
      assert.deepEqual(await q(), maintenance);
      assert.equal((await q()).json.transactionStatus, 'Initiated');
    });
  });

  describe('hosted page', () => {
    const form = (page: string, actionEnds: string) => {
      const m = new RegExp(`<form method="post" action="([^"]*/${actionEnds})">`).exec(page);
      const hash = /name="hash" value="([^"]+)"/.exec(page)?.[1];
      assert.ok(m?.[1] && hash, `no ${actionEnds} form in ${page}`);
      return { action: new URL(m[1], sim.url).href, hash };
    };
    const submit = async (page: string, step: string, fields: Record<string, string> = {}) => {
      const f = form(page, step);
      const res = await fetch(f.action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ hash: f.hash, ...fields }),
        redirect: 'manual',
      });
      return { status: res.status, location: res.headers.get('location'), page: await res.text() };
    };
    const open = async (amount = '55.00', invoice?: string) => {
      const created = await c.create({ amount, ...(invoice ? { merchantInvoiceNumber: invoice } : {}) });
      const res = await fetch(String(created.json.bkashURL));
      assert.equal(res.status, 200);
      return { created: created.json, page: await res.text() };
    };

    it('takes wallet, code and PIN, then redirects to the success callback', async () => {
      const { created, page } = await open('55.00', `INV"'x`);
      assert.match(page, /<title>bKash Payment \(simulator\)<\/title>/);
      assert.match(page, /INV&quot;&#39;x/);
      assert.match(page, /<label for="wallet">bKash account number<\/label>/);
      assert.match(page, /01823074817/);
      const unknown = await submit(page, 'wallet', { wallet: '01711111111' });
      assert.match(unknown.page, /Not a bKash Account/);
      const otp = await submit(unknown.page, 'wallet', { wallet: '+880 1770-618575' });
      assert.match(otp.page, /<label for="otp">Verification code<\/label>/);
      const wrongOtp = await submit(otp.page, 'otp', { otp: '000000' });
      assert.match(wrongOtp.page, /Wrong verification code/);
      const pin = await submit(wrongOtp.page, 'otp', { otp: '123456' });
      assert.match(pin.page, /<label for="pin">PIN<\/label>/);
      assert.match(pin.page, />Confirm<\/button>/);
      assert.match(pin.page, />Close<\/button>/);
      const wrongPin = await submit(pin.page, 'pin', { pin: '00000' });
      assert.match(wrongPin.page, /Wrong PIN/);
      const done = await submit(wrongPin.page, 'pin', { pin: '12121' });
      assert.equal(done.status, 302);
      assert.equal(done.location, `${String(created.successCallbackURL)}&apiVersion=1.2.0-beta/`);
      const e = await c.api('/execute', { paymentID: created.paymentID as string });
      assert.equal(e.json.customerMsisdn, '01770618575');
    });

    it('fails on the third wrong PIN, and Close cancels', async () => {
      const first = await open();
      let page = (await submit(first.page, 'wallet', { wallet: '01929918378' })).page;
      page = (await submit(page, 'otp', { otp: '123456' })).page;
      page = (await submit(page, 'pin', { pin: '1' })).page;
      page = (await submit(page, 'pin', { pin: '2' })).page;
      const failed = await submit(page, 'pin', { pin: '3' });
      assert.equal(failed.status, 302);
      assert.equal(failed.location, `${String(first.created.failureCallbackURL)}&apiVersion=1.2.0-beta/`);
      assert.equal((await c.state(first.created.paymentID as string)).customerOutcome, 'failure');

      const second = await open();
      const closed = await submit(second.page, 'cancel');
      assert.equal(closed.status, 302);
      assert.equal(closed.location, `${String(second.created.cancelledCallbackURL)}&apiVersion=1.2.0-beta/`);
      const again = await fetch(String(second.created.bkashURL));
      assert.equal(again.status, 409);
    });

    it('.73 on the page: says the payment is authorised and does not redirect', async () => {
      const { page } = await open('20.73');
      let next = (await submit(page, 'wallet', { wallet: '01770618575' })).page;
      next = (await submit(next, 'otp', { otp: '123456' })).page;
      const done = await submit(next, 'pin', { pin: '12121' });
      assert.equal(done.status, 200);
      assert.match(done.page, /Payment authorised\. You may close this window\./);
    });

    it('refuses a link with a wrong hash', async () => {
      const created = await c.create();
      const res = await fetch(`${sim.url}/?paymentId=${String(created.json.paymentID)}&hash=forged`);
      assert.equal(res.status, 404);
    });
  });
});

describe('bKash simulator: tokens and time', () => {
  let sim: Sim;
  let clock = Date.UTC(2025, 0, 1);
  before(async () => {
    sim = await startBkashSimulator({ hangMs: HANG_MS, now: () => clock, paymentTtlMs: 60_000 });
  });
  after(() => sim.close());

  it('expired tokens answer 401 until refreshed', async () => {
    const c = client(sim);
    const g = await c.grant();
    const token = g.json.id_token as string;
    assert.equal((await c.api('/payment/status', { paymentID: 'x' }, { token })).json.statusCode, '2002');
    await post(`${sim.url}/_sim/tokens/expire`, {});
    assert.deepEqual(await c.api('/payment/status', { paymentID: 'x' }, { token }), {
      status: 401,
      json: { message: 'The incoming token has expired' },
    });
    const headers = { username: CREDS.username, password: CREDS.password };
    const refreshBody = { app_key: CREDS.appKey, app_secret: CREDS.appSecret };
    const url = `${sim.baseUrl}/tokenized/checkout/token/refresh`;
    const bad = await post(url, { ...refreshBody, refresh_token: 'nope' }, headers);
    assert.equal(bad.json.statusCode, '9999');
    const r = await post(url, { ...refreshBody, refresh_token: g.json.refresh_token }, headers);
    assert.equal(r.json.statusCode, '0000');
    const fresh = r.json.id_token as string;
    assert.notEqual(fresh, token);
    assert.equal((await c.api('/payment/status', { paymentID: 'x' }, { token: fresh })).json.statusCode, '2002');
    // And by the clock: tokens live an hour.
    clock += 3601_000;
    assert.equal((await c.api('/payment/status', { paymentID: 'x' }, { token: fresh })).status, 401);
    const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as Json;
    assert.equal(stats.grant, 1);
    assert.equal(stats.refresh, 2);
    assert.equal(stats.unauthorized, 2);
  });

  it('a payment not executed within its lifetime expires', async () => {
    const c = client(sim);
    const v = await c.verified();
    clock += 60_000;
    assert.equal((await c.api('/execute', { paymentID: v.id })).json.statusCode, '2056');
    assert.equal((await c.api('/payment/status', { paymentID: v.id })).json.transactionStatus, 'Expired');
    assert.equal((await fetch(String(v.create.bkashURL))).status, 410);
  });
});

describe('bKash simulator: mounted under a prefix, and closing', () => {
  it('serves under the prefix beside the host’s own parsers', async () => {
    const host = Fastify();
    await host.register(formbody);
    const publicUrl = 'http://127.0.0.1:8080/simulators/bkash';
    await host.register(bkashSimulatorPlugin({ publicUrl }), { prefix: '/simulators/bkash' });
    const headers = { username: CREDS.username, password: CREDS.password };
    const g = await host.inject({
      method: 'POST',
      url: '/simulators/bkash/v1.2.0-beta/tokenized/checkout/token/grant',
      headers,
      payload: { app_key: CREDS.appKey, app_secret: CREDS.appSecret },
    });
    const token = g.json<Json>().id_token as string;
    const created = await host.inject({
      method: 'POST',
      url: '/simulators/bkash/v1.2.0-beta/tokenized/checkout/create',
      headers: { authorization: token, 'x-app-key': CREDS.appKey },
      payload: {
        mode: '0011',
        payerReference: '01770618575',
        callbackURL: 'http://127.0.0.1:8080/return',
        amount: '5',
        currency: 'BDT',
        intent: 'sale',
        merchantInvoiceNumber: 'M-1',
      },
    });
    const bkashURL = String(created.json<Json>().bkashURL);
    assert.ok(bkashURL.startsWith(`${publicUrl}/?paymentId=`));
    const page = await host.inject({ method: 'GET', url: bkashURL.slice('http://127.0.0.1:8080'.length) });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /action="\/simulators\/bkash\/checkout\/[^"]+\/wallet"/);
    assert.match(page.body, /value="01770618575"/); // pre-filled from payerReference
    const hash = /name="hash" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const action = /action="([^"]+\/wallet)"/.exec(page.body)?.[1] ?? '';
    const otp = await host.inject({
      method: 'POST',
      url: action,
      payload: `hash=${hash}&wallet=01770618575`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.match(otp.body, /Verification code/);
    await host.close();
  });

  it('close() does not wait for a hung answer', async () => {
    const sim = await startBkashSimulator({ hangMs: 60_000 });
    const c = client(sim);
    await c.grant();
    const hung = c.create({ amount: '1.76' }).catch((err: unknown) => err);
    // The create is counted as soon as it arrives.
    for (let i = 0; i < 100; i++) {
      const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as Json;
      if (stats.create === 1) break;
      await new Promise((r) => setImmediate(r));
    }
    const t0 = Date.now();
    await sim.close();
    assert.ok(Date.now() - t0 < 2000);
    await hung;
  });
});
