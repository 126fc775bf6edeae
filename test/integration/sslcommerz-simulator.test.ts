import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import {
  SSLCOMMERZ_SIMULATOR_DEFAULT_STORE as STORE,
  startSslcommerzSimulator,
} from '../../src/acquirers/sslcommerz/simulator.js';
import { verifySslcommerzSign } from '../../src/acquirers/sslcommerz/verify-sign.js';

type Sim = Awaited<ReturnType<typeof startSslcommerzSimulator>>;
type Json = Record<string, unknown>;
const HANG_MS = 300;

/** A merchant's IPN listener: records every post, in order. */
async function ipnReceiver(): Promise<{ url: string; posts: Record<string, string>[]; app: FastifyInstance }> {
  const posts: Record<string, string>[] = [];
  const app = Fastify();
  await app.register(formbody);
  app.post('/ipn', async (req) => {
    posts.push({ ...(req.body as Record<string, string>) });
    return 'ok';
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/ipn`, posts, app };
}

describe('SSLCommerz simulator', () => {
  let sim: Sim;
  let ipn: Awaited<ReturnType<typeof ipnReceiver>>;
  let n = 0;
  before(async () => {
    sim = await startSslcommerzSimulator({ hangMs: HANG_MS, refundDelayMs: 200, ipnRetries: 0 });
    ipn = await ipnReceiver();
  });
  after(async () => {
    await sim.close();
    await ipn.app.close();
  });

  const form = async (path: string, params: Record<string, string>, method: 'GET' | 'POST' = 'POST') => {
    const body = new URLSearchParams(params).toString();
    const res =
      method === 'GET'
        ? await fetch(`${sim.url}${path}?${body}`)
        : await fetch(`${sim.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body,
          });
    assert.equal(res.status, 200);
    return (await res.json()) as Json;
  };
  const creds = { store_id: STORE.storeId, store_passwd: STORE.storePasswd };
  const session = (over: Record<string, string> = {}) =>
    form('/gwprocess/v4/api.php', {
      ...creds,
      total_amount: '100.00',
      currency: 'BDT',
      tran_id: `T${++n}-${Date.now()}`,
      success_url: 'http://shop.test/ok',
      fail_url: 'http://shop.test/fail',
      cancel_url: 'http://shop.test/cancel',
      ipn_url: ipn.url,
      cus_name: 'Customer',
      cus_email: 'c@example.com',
      cus_phone: '01700000000',
      shipping_method: 'NO',
      product_name: 'Book',
      product_category: 'general',
      product_profile: 'general',
      ...over,
    });
  const control = async (path: string, body?: Json) => {
    const res = await fetch(`${sim.url}/_sim${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const query = (p: Record<string, string>) =>
    form('/validator/api/merchantTransIDvalidationAPI.php', { ...p, ...creds, format: 'json' }, 'GET');
  const validation = (valId: string) =>
    form('/validator/api/validationserverAPI.php', { val_id: valId, ...creds, format: 'json' }, 'GET');

  it('refuses wrong credentials and missing fields with FAILED and a reason', async () => {
    const bad = await session({ store_passwd: 'nope' });
    assert.deepEqual(bad, { status: 'FAILED', failedreason: 'Store Credential Error Or Store is De-active' });
    const missing = await session({ cus_email: '' });
    assert.equal(missing.status, 'FAILED');
    assert.match(String(missing.failedreason), /cus_email/);
    const small = await session({ total_amount: '9.99' });
    assert.equal(small.status, 'FAILED');
  });

  it('a card payment: page, signed IPN before the return, validation VALID then VALIDATED, query by tran_id', async () => {
    const s = await session({ total_amount: '150.50' });
    assert.equal(s.status, 'SUCCESS');
    const page = await fetch(String(s.GatewayPageURL));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /150\.50 BDT/);
    const key = String(s.sessionkey);
    const before = ipn.posts.length;
    const paid = await control(`/sessions/${key}/pay`, { method: 'card', card: '4111111111111111' });
    assert.equal(paid.status, 200);
    assert.equal(paid.json.action, 'http://shop.test/ok');
    const fields = paid.json.fields as Record<string, string>;
    assert.equal(fields.status, 'VALID');
    assert.equal(fields.amount, '150.50');
    assert.equal(fields.card_type, 'VISA-Dutch Bangla');
    assert.equal(fields.card_no, '411111XXXXXX1111');
    assert.ok(verifySslcommerzSign(fields, STORE.storePasswd));
    assert.ok(
      !verifySslcommerzSign({ ...fields, amount: '1.00' }, STORE.storePasswd),
      'a changed field breaks the signature',
    );
    assert.equal(ipn.posts.length, before + 1, 'the IPN arrived before the browser was answered');
    assert.deepEqual(ipn.posts.at(-1), fields);

    const v1 = await validation(fields.val_id as string);
    assert.equal(v1.status, 'VALID');
    assert.equal(v1.tran_id, fields.tran_id);
    assert.equal(v1.amount, '150.50');
    assert.equal((await validation(fields.val_id as string)).status, 'VALIDATED');
    assert.equal((await validation('nope')).status, 'INVALID_TRANSACTION');

    const q = await query({ tran_id: fields.tran_id as string });
    assert.equal(q.APIConnect, 'DONE');
    assert.equal(q.no_of_trans_found, 1);
    assert.equal(((q.element as Json[])[0] as Json).status, 'VALIDATED');
    const again = await control(`/sessions/${key}/pay`, { method: 'card' });
    assert.equal(again.status, 409, 'a session pays once');
  });

  it('the hosted page takes a card through OTP and posts back to success_url', async () => {
    const s = await session();
    const pageUrl = String(s.GatewayPageURL);
    const post = (step: string, p: Record<string, string>) =>
      fetch(`${pageUrl}/${step}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(p).toString(),
      }).then((r) => r.text());
    assert.match(
      await post('card', { card_number: '4111 1111 1111 1112', card_expiry: '12/40', card_cvv: '111' }),
      /Invalid card number/,
    );
    assert.match(await post('card', { card_number: '4111111111111111', card_expiry: '12/40', card_cvv: '111' }), /OTP/);
    assert.match(await post('otp', { otp: '000000' }), /Wrong OTP/);
    const done = await post('otp', { otp: '111111' });
    assert.match(done, /Payment successful/);
    assert.match(done, /action="http:\/\/shop\.test\/ok"/);
    assert.match(done, /name="verify_sign"/);
  });

  it('failed, cancelled and risky outcomes carry what the doc says', async () => {
    const f = await control(`/sessions/${(await session()).sessionkey}/pay`, { card: '4000000000000002' });
    assert.equal((f.json.fields as Json).status, 'FAILED');
    assert.equal(f.json.action, 'http://shop.test/fail');
    const c = await control(`/sessions/${(await session()).sessionkey}/pay`, { outcome: 'cancelled' });
    assert.equal((c.json.fields as Json).status, 'CANCELLED');
    assert.equal(c.json.action, 'http://shop.test/cancel');
    const r = await control(`/sessions/${(await session()).sessionkey}/pay`, { card: '4242424242424242' });
    assert.equal((r.json.fields as Json).risk_level, '1');
    assert.equal((r.json.fields as Json).risk_title, 'Not Safe');
    const w = await control(`/sessions/${(await session()).sessionkey}/pay`, { method: 'bkash' });
    assert.equal((w.json.fields as Json).card_type, 'BKASH-BKash');
  });

  it('knobs: no IPN (.81), no return (.82), IPN twice (.83), amount less (.87)', async () => {
    const count = (tran: string) => ipn.posts.filter((p) => p.tran_id === tran).length;
    const s81 = await session({ total_amount: '100.81' });
    const p81 = await control(`/sessions/${s81.sessionkey}/pay`, {});
    assert.equal(count((p81.json.fields as Json).tran_id as string), 0);
    const p82 = await control(`/sessions/${(await session({ total_amount: '100.82' })).sessionkey}/pay`, {});
    assert.equal(p82.json.action, null);
    const s83 = await session({ total_amount: '100.83' });
    const p83 = await control(`/sessions/${s83.sessionkey}/pay`, {});
    const tran83 = (p83.json.fields as Json).tran_id as string;
    for (let i = 0; i < 50 && count(tran83) < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(tran83), 2);
    const p87 = await control(`/sessions/${(await session({ total_amount: '100.87' })).sessionkey}/pay`, {});
    assert.equal((p87.json.fields as Json).amount, '99.87');
  });

  it('validation hangs under .85 and is let go when the caller leaves', async () => {
    const p = await control(`/sessions/${(await session({ total_amount: '100.85' })).sessionkey}/pay`, {});
    const started = Date.now();
    await assert.rejects(
      fetch(
        `${sim.url}/validator/api/validationserverAPI.php?${new URLSearchParams({ val_id: (p.json.fields as Json).val_id as string, ...creds })}`,
        {
          signal: AbortSignal.timeout(100),
        },
      ),
    );
    assert.ok(Date.now() - started < HANG_MS * 3);
  });

  it('refunds: processing then refunded; refused (.86); cancelled (.88); idempotent by refund_trans_id', async () => {
    const pay = async (amount: string) =>
      (await control(`/sessions/${(await session({ total_amount: amount })).sessionkey}/pay`, {})).json
        .fields as Record<string, string>;
    const paid = await pay('200.00');
    const refund = (f: Record<string, string>, amount: string, ref: string) =>
      query({
        bank_tran_id: f.bank_tran_id as string,
        refund_amount: amount,
        refund_remarks: 'customer asked',
        refund_trans_id: ref,
      });
    const r1 = await refund(paid, '50.00', `R-${n}`);
    assert.equal(r1.status, 'success');
    assert.equal(
      (await refund(paid, '50.00', `R-${n}`)).status,
      'processing',
      'the same refund_trans_id is the same refund',
    );
    assert.equal((await refund(paid, '500.00', `R-${n}-b`)).status, 'failed', 'more than was paid');
    assert.equal((await query({ refund_ref_id: r1.refund_ref_id as string })).status, 'processing');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await query({ refund_ref_id: r1.refund_ref_id as string })).status, 'refunded');

    const refused = await refund(await pay('200.86'), '10.00', `R-${n}-86`);
    assert.equal(refused.status, 'failed');
    const c = await refund(await pay('200.88'), '10.00', `R-${n}-88`);
    assert.equal(c.status, 'success');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await query({ refund_ref_id: c.refund_ref_id as string })).status, 'cancelled');
  });
});
