/**
 * SSLCommerz v4 end to end over real HTTP: the gateway configured (as an operator would) against
 * the SSLCommerz simulator, payments walked through the hosted page, the simulator's page (by its
 * control API, as the customer) and the browser's signed post back, with the simulator's IPN
 * arriving on its own. Nothing is approved on a post's word (the validation API decides), every
 * hard case ends in SSLCommerz's own outcome once: one ledger transfer, one webhook event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  SSLCOMMERZ_SIMULATOR_DEFAULT_STORE as STORE,
  startSslcommerzSimulator,
} from '../../src/acquirers/sslcommerz/simulator.js';
import { signSslcommerzFields } from '../../src/acquirers/sslcommerz/verify-sign.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import type { MethodKey } from '../../src/acquirers/port.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { addConnector, assertLedgerOk, browse, choose, follow, moneyTrail } from '../support/rails.js';

type Sim = Awaited<ReturnType<typeof startSslcommerzSimulator>>;
type Json = Record<string, unknown>;
const HANG_MS = 1_500;
const REFUND_DELAY_MS = 10_000;

for (const dialect of dialects()) {
  describe(`SSLCommerz (${dialect})`, () => {
    let sim: Sim;
    let t: TestGateway | undefined;
    let g: TestGateway;
    let c: IssuedCredentials;

    before(async () => {
      // The simulator keeps the gateway's (fake) time, so expiry and refund delays follow the test.
      sim = await startSslcommerzSimulator({
        hangMs: HANG_MS,
        refundDelayMs: REFUND_DELAY_MS,
        ipnRetries: 0,
        now: () => (t ? t.clock.now : Date.now()),
      });
      t = await startGateway(dialect, {
        fakeClock: true,
        env: { WMX_BANK_TIMEOUT: '400ms', WMX_RECONCILE_SCHEDULE: '5s,30s' },
      });
      g = t;
      c = await g.createMerchant({ sandbox: true });
      const methods: MethodKey[] = ['card', 'nagad', 'internet_banking'];
      await addConnector(g, {
        id: 'sslcz',
        kind: 'sslcommerz',
        fields: { base_url: sim.url, store_id: STORE.storeId, store_passwd: STORE.storePasswd },
        methods,
      });
    });
    after(async () => {
      await g.close();
      await sim.close();
    });

    const control = async (path: string, body?: Json) => {
      const r = await fetch(`${sim.url}/_sim${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, json: (await r.json()) as Json };
    };
    const stats = async () => (await control('/stats')).json as Record<string, number>;

    /** Init, choose the method on the hosted page: the payment, sent to SSLCommerz's page. */
    async function started(amount = '100.00', method = 'card') {
      const init = await initPayment(g, c, { amount });
      const token = init.json.token as string;
      const r = await choose(g, token, method);
      assert.equal(r.status, 303, r.text);
      assert.ok(r.location?.startsWith(`${sim.url}/EasyCheckOut/`), `sent to SSLCommerz's page: ${r.location}`);
      const p = await g.gw.payments.byToken(token);
      assert.equal(p?.upstreamState, 'redirected');
      assert.equal(p?.upstreamRef, p?.refId, 'our ref_id is the tran_id');
      const sessionkey = p?.upstreamData?.sessionkey ?? '';
      assert.match(sessionkey, /^[0-9A-F]{32}$/);
      return { token, sessionkey, tranId: p!.refId };
    }

    /** The customer pays (or not) on SSLCommerz's page; what the browser then posts, and where. */
    async function customer(sessionkey: string, body: Json = {}) {
      const r = await control(`/sessions/${sessionkey}/pay`, body);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json as { status: string; action: string | null; fields: Record<string, string> };
    }

    /** The browser's post to success_url / fail_url / cancel_url, then the gateway's pages. */
    async function postBack(action: string, fields: Record<string, string>) {
      const r = await browse(action, { method: 'POST', body: new URLSearchParams(fields) });
      assert.equal(r.status, 303, r.text);
      return follow(g, r.location!);
    }

    const record = async (token: string) => (await checkPayment(g, c, token)).json;
    const notify = (body: string) =>
      fetch(`${g.url}/upstream/sslcz/notify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });

    it('card: IPN and return, validated once, VISA-Dutch Bangla / 1001, ledger and one webhook event', async () => {
      const { token, sessionkey } = await started('150.50');
      const before = await stats();
      const back = await customer(sessionkey, { method: 'card', card: '4111111111111111' });
      assert.ok(back.action?.startsWith(`${g.url}/upstream/sslcz/return/${token}`), String(back.action));
      // The IPN reached the gateway before the browser was answered (as SSLCommerz does).
      assert.equal((await g.gw.payments.byToken(token))?.status, 'approved');
      const page = await postBack(back.action!, back.fields);
      assert.match(page.text, /Payment successful/);
      const r = await record(token);
      assert.equal(r.txn_status, '1000');
      assert.equal(r.payment_card, 'VISA-Dutch Bangla');
      assert.equal(r.card_code, '1001');
      assert.equal(r.card_details, '411111******1111');
      assert.equal(r.bank_amount_bdt, '150.50');
      assert.equal(r.txn_details, 'Approved');
      const after = await stats();
      assert.equal(
        (after.validation ?? 0) - (before.validation ?? 0),
        1,
        'validated once: the return found it decided',
      );
      // The return again (a refresh, a replay) changes nothing.
      await postBack(back.action!, back.fields);
      const trail = await moneyTrail(g, token);
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);
      assert.equal(trail.payment.authCode, back.fields.bank_tran_id, 'bank_tran_id kept for refunds');
      const ops = trail.calls.map((x) => x.operation);
      for (const op of ['create_session', 'notification', 'validate'])
        assert.ok(ops.includes(op), `${op} in ${ops.join()}`);
      await assertLedgerOk(g);
    });

    it('risk_level 1: approved, and the merchant is told to hold the order', async () => {
      const { token, sessionkey } = await started();
      const back = await customer(sessionkey, { card: '4242424242424242' });
      await postBack(back.action!, back.fields);
      const r = await record(token);
      assert.equal(r.txn_status, '1000');
      assert.equal(
        r.txn_details,
        'Approved; risk_level 1 (Not Safe): SSLCommerz advises holding the order and verifying the customer',
      );
      assert.equal(r.is_foreign, '1');
    });

    it('Nagad and internet banking through SSLCommerz: NAGAD-Nagad / 6002, IBANKING-City Bank / 7001', async () => {
      const n = await started('200.00', 'nagad');
      const nb = await customer(n.sessionkey, { method: 'nagad' });
      await postBack(nb.action!, nb.fields);
      const rn = await record(n.token);
      assert.equal(rn.txn_status, '1000');
      assert.equal(rn.payment_card, 'NAGAD-Nagad');
      assert.equal(rn.card_code, '6002');
      const session = (await control(`/sessions/${n.sessionkey}`)).json;
      assert.deepEqual(session.gateways, ['nagad'], 'multi_card_name kept the page to Nagad');

      const b = await started('300.00', 'internet_banking');
      const bb = await customer(b.sessionkey, { method: 'internet_banking' });
      await postBack(bb.action!, bb.fields);
      const rb = await record(b.token);
      assert.equal(rb.payment_card, 'IBANKING-City Bank');
      assert.equal(rb.card_code, '7001');
    });

    it('failed and cancelled at SSLCommerz: 1001 with its reason, 1009; nothing posted to the ledger', async () => {
      const f = await started();
      const fb = await customer(f.sessionkey, { card: '4000000000000002' });
      assert.ok(fb.action?.includes('result=fail'));
      const page = await postBack(fb.action!, fb.fields);
      assert.match(page.text, /Payment declined|declined/i);
      const rf = await record(f.token);
      assert.equal(rf.txn_status, '1001');
      assert.equal(rf.txn_details, 'Declined: Declined by issuer');
      assert.deepEqual((await moneyTrail(g, f.token)).events, ['payment.failed']);

      const x = await started();
      const xb = await customer(x.sessionkey, { outcome: 'cancelled' });
      await postBack(xb.action!, xb.fields);
      const rx = await record(x.token);
      assert.equal(rx.txn_status, '1009');
      assert.equal(rx.txn_details, 'Cancelled by customer');
      assert.equal((await moneyTrail(g, x.token)).paymentTransfers, 0);
    });

    it('a forged IPN and a forged "VALID" return change nothing; the real payment then goes through', async () => {
      const { token, sessionkey, tranId } = await started();
      const forged = { tran_id: tranId, status: 'VALID', val_id: 'FAKE123', amount: '100.00', currency: 'BDT' };
      // Unsigned, then signed with a wrong password: refused, logged, nothing changed.
      const a = await notify(new URLSearchParams(forged).toString());
      assert.equal(a.status, 400);
      const b = await notify(new URLSearchParams(signSslcommerzFields(forged, 'not-the-password')).toString());
      assert.equal(b.status, 400);
      assert.equal((await g.gw.payments.byToken(token))?.status, 'pending');
      const refused = (await moneyTrail(g, token)).calls.filter(
        (x) => x.operation === 'notification' && x.outcome === 'refused',
      );
      assert.equal(refused.length, 2);
      // The browser posting "VALID" to the success URL: SSLCommerz is asked, and says not paid yet.
      const page = await postBack(`${g.url}/upstream/sslcz/return/${token}?result=success`, forged);
      assert.doesNotMatch(page.text, /Payment successful/);
      assert.equal((await record(token)).txn_status, null);
      assert.ok(g.logs.some((l) => l.includes('upstream notification refused')));
      // The customer then really pays.
      const back = await customer(sessionkey, {});
      await postBack(back.action!, back.fields);
      assert.equal((await record(token)).txn_status, '1000');
      assert.equal((await moneyTrail(g, token)).paymentTransfers, 1);
    });

    it('an IPN for an amount other than asked (.87) is refused; the payment is never approved for it', async () => {
      const { token, sessionkey } = await started('100.87');
      const back = await customer(sessionkey, {});
      assert.equal(back.fields.amount, '99.87');
      const calls = (await moneyTrail(g, token)).calls.filter((x) => x.operation === 'notification');
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.outcome, 'refused');
      assert.match(calls[0]?.message ?? '', /99\.87 BDT, 100\.87 BDT expected/);
      await postBack(back.action!, back.fields);
      const p = await g.gw.payments.byToken(token);
      assert.equal(p?.status, 'pending', 'validation says 99.87: not the payment asked for');
      assert.equal((await record(token)).txn_status, null);
      assert.equal((await moneyTrail(g, token)).paymentTransfers, 0);
      assert.match(p?.upstreamData?.mismatch ?? '', /SSLCommerz reports 99\.87 BDT paid, 100\.87 BDT expected/);
    });

    it('the IPN twice (.83) and late (.89): one outcome, one webhook event', async () => {
      const d = await started('100.83');
      const db = await customer(d.sessionkey, {});
      await postBack(db.action!, db.fields);
      for (let i = 0; i < 100; i++) {
        const n = (await moneyTrail(g, d.token)).calls.filter((x) => x.operation === 'notification').length;
        if (n >= 2) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const trail = await moneyTrail(g, d.token);
      assert.equal(trail.calls.filter((x) => x.operation === 'notification').length, 2);
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);

      const l = await started('100.89');
      const lb = await customer(l.sessionkey, {});
      await postBack(lb.action!, lb.fields);
      assert.equal((await record(l.token)).txn_status, '1000', 'the return alone approved it');
      for (let i = 0; i < 100; i++) {
        if ((await moneyTrail(g, l.token)).calls.some((x) => x.operation === 'notification')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const lt = await moneyTrail(g, l.token);
      assert.ok(lt.calls.some((x) => x.operation === 'notification'));
      assert.equal(lt.paymentTransfers, 1);
      assert.deepEqual(lt.events, ['payment.succeeded']);
    });

    it('no IPN (.81): the return alone approves it; no return (.82): the IPN alone does', async () => {
      const a = await started('100.81');
      const ab = await customer(a.sessionkey, {});
      assert.equal((await g.gw.payments.byToken(a.token))?.status, 'pending');
      await postBack(ab.action!, ab.fields);
      assert.equal((await record(a.token)).txn_status, '1000');

      const b = await started('100.82');
      const bb = await customer(b.sessionkey, {});
      assert.equal(bb.action, null, 'the browser never comes back');
      assert.equal((await record(b.token)).txn_status, '1000');
    });

    it('neither IPN nor return (.81, tab closed): the reconciler asks by tran_id and approves once', async () => {
      const { token, sessionkey } = await started('100.81');
      await customer(sessionkey, {});
      assert.equal((await g.gw.payments.byToken(token))?.status, 'pending');
      g.clock.advance(3 * 60_000);
      await g.gw.reconciler.drain();
      assert.equal((await record(token)).txn_status, '1000');
      const trail = await moneyTrail(g, token);
      assert.ok(trail.calls.some((x) => x.operation === 'query_transaction'));
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);
    });

    it('a return, an IPN and an inquiry together: one outcome', async () => {
      const { token, sessionkey } = await started('100.81');
      const back = await customer(sessionkey, {});
      g.clock.advance(3 * 60_000);
      await Promise.all([
        postBack(back.action!, back.fields),
        control(`/sessions/${sessionkey}/ipn`, {}),
        postBack(back.action!, back.fields),
        g.gw.reconciler.runOnce(),
      ]);
      await g.gw.reconciler.drain();
      assert.equal((await record(token)).txn_status, '1000');
      const trail = await moneyTrail(g, token);
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);
      await assertLedgerOk(g);
    });

    it('validation hangs (.85): pending and "confirming", never declined on a guess', async () => {
      const { token, sessionkey } = await started('100.85');
      const back = await customer(sessionkey, {});
      const page = await postBack(back.action!, back.fields);
      assert.match(page.text, /confirming your payment/);
      g.clock.advance(6_000);
      await g.gw.reconciler.runOnce();
      const p = await g.gw.payments.byToken(token);
      assert.equal(p?.status, 'pending');
      assert.equal((await record(token)).txn_status, null);
      assert.ok((await moneyTrail(g, token)).calls.some((x) => x.operation === 'validate' && x.outcome === 'timeout'));
    });

    it('abandoned on SSLCommerz’s page: expired only after the expiry and SSLCommerz’s window', async () => {
      const { token } = await started();
      g.clock.advance(29 * 60_000);
      await g.gw.reconciler.drain();
      await g.gw.expirySweeper.runOnce();
      assert.equal((await g.gw.payments.byToken(token))?.status, 'pending');
      g.clock.advance(32 * 60_000);
      await g.gw.reconciler.drain();
      const r = await record(token);
      assert.equal(r.txn_status, '1009');
      assert.equal(r.txn_details, 'Expired');
      assert.deepEqual((await moneyTrail(g, token)).events, ['payment.expired']);
    });

    it('refunds: processing then refunded (reconciler), refused (.86), cancelled (.88); the ledger follows', async () => {
      const m = (await g.gw.merchants.byWmxId(c.wmx_id))!;
      const pay = async (amount: string) => {
        const s = await started(amount);
        const back = await customer(s.sessionkey, {});
        await postBack(back.action!, back.fields);
        assert.equal((await record(s.token)).txn_status, '1000');
        return s.token;
      };
      const token = await pay('500.00');
      const r1 = await g.gw.refunds.create(m.id, token, 20_000n, CLI_ACTOR);
      assert.equal(r1.status, 'pending', 'SSLCommerz says processing');
      assert.match(r1.upstreamRef ?? '', /^[0-9a-f]{13}$/, 'refund_ref_id kept');
      assert.equal((await moneyTrail(g, token)).refundTransfers, 0);
      g.clock.advance(REFUND_DELAY_MS + 1_000);
      await g.gw.reconciler.drain();
      assert.equal((await g.gw.refunds.get(m.id, r1.id))?.status, 'succeeded');
      assert.equal((await moneyTrail(g, token)).refundTransfers, 1);
      assert.equal((await record(token)).refunded_amount_bdt, '200.00');

      const refusedToken = await pay('200.86');
      const refused = await g.gw.refunds.create(m.id, refusedToken, null, CLI_ACTOR);
      assert.equal(refused.status, 'failed');
      assert.match(refused.reason ?? '', /SSLCommerz refused the refund: Refund not allowed/);

      const cancelledToken = await pay('200.88');
      const c1 = await g.gw.refunds.create(m.id, cancelledToken, null, CLI_ACTOR);
      assert.equal(c1.status, 'pending');
      g.clock.advance(REFUND_DELAY_MS + 1_000);
      await g.gw.reconciler.drain();
      const c2 = await g.gw.refunds.get(m.id, c1.id);
      assert.equal(c2?.status, 'failed');
      assert.match(c2?.reason ?? '', /cancelled/);
      assert.equal((await moneyTrail(g, cancelledToken)).refundTransfers, 0);
      await assertLedgerOk(g);
    });

    it('wmx connector test: one query, in plain words; a wrong store password is named', async () => {
      const ok = await g.gw.connectors.test('sslcz');
      assert.equal(ok.ok, true);
      await addConnector(g, {
        id: 'sslcz-bad',
        kind: 'sslcommerz',
        fields: { base_url: sim.url, store_id: STORE.storeId, store_passwd: 'wrong' },
        methods: [],
      });
      const bad = await g.gw.connectors.test('sslcz-bad');
      assert.equal(bad.ok, false);
      assert.match(bad.ok ? '' : bad.message, /check the store ID and password/);
    });
  });
}
