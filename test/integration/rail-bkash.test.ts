/**
 * bKash Tokenized Checkout end to end over real HTTP: the gateway configured (as an operator would)
 * against the bKash simulator, payments walked through the hosted page, the simulator's page (by
 * its control API, as the customer) and the callback, as a browser follows redirects. Every status
 * and every hard case ends in bKash's own outcome, once: one ledger transfer, one webhook event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBkashSimulator } from '../../src/acquirers/bkash/simulator.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { addConnector, assertLedgerOk, bkashFields, choose, follow, moneyTrail } from '../support/rails.js';

type Sim = Awaited<ReturnType<typeof startBkashSimulator>>;

async function customer(sim: Sim, paymentId: string, action: 'success' | 'failure' | 'cancel', wallet?: string) {
  const r = await fetch(`${sim.url}/_sim/payments/${paymentId}/customer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action, ...(wallet ? { wallet } : {}) }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { redirect: string | null }).redirect;
}

const simStats = async (sim: Sim) => (await (await fetch(`${sim.url}/_sim/stats`)).json()) as Record<string, number>;

for (const dialect of dialects()) {
  describe(`bKash (${dialect})`, () => {
    let sim: Sim;
    let t: TestGateway;
    let c: IssuedCredentials;
    /** Status queries the gateway sends are lost while this is true (a network that eats them). */
    let loseQueries = false;

    before(async () => {
      sim = await startBkashSimulator({ hangMs: 1_500 });
      t = await startGateway(dialect, {
        fakeClock: true,
        env: { WMX_BANK_TIMEOUT: '400ms', WMX_RECONCILE_SCHEDULE: '5s,30s' },
        fetch: async (url, init) => {
          if (loseQueries && String(url).endsWith('/payment/status')) throw new TypeError('fetch failed');
          return fetch(url, init);
        },
      });
      c = await t.createMerchant({ sandbox: true });
      await addConnector(t, { id: 'bkash', kind: 'bkash', fields: bkashFields(sim.baseUrl), methods: ['bkash'] });
    });
    after(async () => {
      await t.close();
      await sim.close();
    });

    /** Init, choose bKash on the hosted page: the payment, sent to bKash's page. */
    async function started(amount = '10.00') {
      const init = await initPayment(t, c, { amount });
      const token = init.json.token as string;
      const page = await follow(t, `/bank-payment-process/${token}?method=bkash`);
      assert.match(page.text, /Pay with bKash/);
      const r = await choose(t, token, 'bkash');
      assert.equal(r.status, 303, r.text);
      assert.ok(r.location?.startsWith(sim.url), `sent to bKash's page: ${r.location}`);
      const p = await t.gw.payments.byToken(token);
      assert.equal(p?.upstreamState, 'redirected');
      assert.match(p?.upstreamRef ?? '', /^TR0011/);
      return { token, paymentId: p!.upstreamRef!, page: r.location! };
    }

    const record = async (token: string) => (await checkPayment(t, c, token)).json;

    it('success: executed, approved once, BKASH-bKash / 6001, ledger and one webhook event', async () => {
      const { token, paymentId } = await started('125.50');
      const redirect = (await customer(sim, paymentId, 'success')) ?? '';
      assert.ok(redirect.includes(`/upstream/bkash/return/${token}`));
      assert.match(redirect, /status=success/);
      const page = await follow(t, redirect);
      assert.match(page.text, /Payment successful/);
      assert.match(page.text, /merchant_txn_data/);
      const r = await record(token);
      assert.equal(r.txn_status, '1000');
      assert.equal(r.statusCode, 1000);
      assert.equal(r.payment_card, 'BKASH-bKash');
      assert.equal(r.card_code, '6001');
      assert.equal(r.payment_method, '2');
      assert.match(String(r.card_details), /^01\d\*{4}\d{4}$/);
      assert.equal(r.bank_amount_bdt, '125.50');
      // The callback again (a refresh, a replay) changes nothing and never executes twice.
      await follow(t, redirect);
      const trail = await moneyTrail(t, token);
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);
      assert.equal(trail.payment.authCode?.length, 10, 'the trxID is kept for refunds');
      const ops = trail.calls.map((x) => x.operation);
      assert.ok(ops.includes('create_payment') && ops.includes('execute_payment'), ops.join());
      assert.equal(ops.filter((o) => o === 'execute_payment').length, 1);
      const state = (await (await fetch(`${sim.url}/_sim/payments/${paymentId}`)).json()) as { executeCalls: number };
      assert.equal(state.executeCalls, 1);
      await assertLedgerOk(t);
    });

    it('cancel at bKash: 1009 Cancelled by customer, nothing executed', async () => {
      const { token, paymentId } = await started();
      const page = await follow(t, (await customer(sim, paymentId, 'cancel'))!);
      assert.match(page.text, /Payment cancelled/);
      const r = await record(token);
      assert.equal(r.txn_status, '1009');
      assert.equal(r.txn_details, 'Cancelled by customer');
      assert.deepEqual((await moneyTrail(t, token)).events, ['payment.cancelled']);
    });

    it('failure at bKash: 1001', async () => {
      const { token, paymentId } = await started();
      await follow(t, (await customer(sim, paymentId, 'failure'))!);
      const r = await record(token);
      assert.equal(r.txn_status, '1001');
      assert.equal(r.txn_details, 'Declined: the payment failed at bKash');
    });

    it('insufficient balance (execute 2023): declined with bKash’s reason', async () => {
      const { token, paymentId } = await started();
      await follow(t, (await customer(sim, paymentId, 'success', '01823074817'))!);
      const r = await record(token);
      assert.equal(r.txn_status, '1001');
      assert.equal(r.txn_details, 'Declined: insufficient balance');
      assert.equal((await moneyTrail(t, token)).paymentTransfers, 0);
    });

    it('debit-blocked wallet (execute 2037): declined', async () => {
      const { token, paymentId } = await started();
      await follow(t, (await customer(sim, paymentId, 'success', '01823074818'))!);
      assert.equal((await record(token)).txn_details, 'Declined: the bKash account cannot make this payment');
    });

    it('a forged success callback before the customer paid executes nothing and decides nothing', async () => {
      const { token, paymentId } = await started();
      const forged = `${t.url}/upstream/bkash/return/${token}?paymentID=${paymentId}&status=success`;
      const page = await follow(t, forged);
      assert.match(page.text, /confirming your payment/);
      assert.equal((await record(token)).txn_status, null);
      // The real customer then pays: approved.
      await follow(t, (await customer(sim, paymentId, 'success'))!);
      assert.equal((await record(token)).txn_status, '1000');
      assert.equal((await moneyTrail(t, token)).paymentTransfers, 1);
    });

    it('a callback naming another paymentID says nothing about this payment', async () => {
      const a = await started();
      const b = await started();
      await customer(sim, b.paymentId, 'success');
      await follow(t, `${t.url}/upstream/bkash/return/${a.token}?paymentID=${b.paymentId}&status=success`);
      assert.equal((await record(a.token)).txn_status, null);
      const state = (await (await fetch(`${sim.url}/_sim/payments/${b.paymentId}`)).json()) as { executeCalls: number };
      assert.equal(state.executeCalls, 0, 'b was not executed through a');
    });

    it('execute answers late (.71): the status query finds it Completed, approved once', async () => {
      const { token, paymentId } = await started('10.71');
      await follow(t, (await customer(sim, paymentId, 'success'))!);
      const r = await record(token);
      assert.equal(r.txn_status, '1000');
      const trail = await moneyTrail(t, token);
      assert.ok(trail.calls.some((x) => x.operation === 'execute_payment' && x.outcome === 'timeout'));
      assert.ok(trail.calls.some((x) => x.operation === 'query_payment' && x.code === '0000'));
      assert.equal(trail.paymentTransfers, 1);
    });

    it('execute answers HTTP 500 (.72) after completing: approved through the status query', async () => {
      const { token, paymentId } = await started('10.72');
      await follow(t, (await customer(sim, paymentId, 'success'))!);
      assert.equal((await record(token)).txn_status, '1000');
    });

    it('no answer at all: pending and “confirming” (never declined), then the reconciler records bKash’s outcome once', async () => {
      const { token, paymentId } = await started('10.71');
      loseQueries = true;
      try {
        const page = await follow(t, (await customer(sim, paymentId, 'success'))!);
        assert.match(page.text, /confirming your payment/);
        assert.doesNotMatch(page.text, /Payment declined/);
        const p = await t.gw.payments.byToken(token);
        assert.equal(p?.status, 'pending');
        assert.equal(p?.upstreamState, 'confirming');
        assert.equal((await record(token)).txn_status, null);
        // The reconciler asks while bKash still cannot be reached: still pending, asked again later.
        t.clock.advance(6_000);
        await t.gw.reconciler.runOnce();
        assert.equal((await t.gw.payments.byToken(token))?.status, 'pending');
      } finally {
        loseQueries = false;
      }
      t.clock.advance(31_000);
      await t.gw.reconciler.drain();
      const r = await record(token);
      assert.equal(r.txn_status, '1000');
      const trail = await moneyTrail(t, token);
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);
      const state = (await (await fetch(`${sim.url}/_sim/payments/${paymentId}`)).json()) as { executeCalls: number };
      assert.equal(state.executeCalls, 1, 'executed once, never again after the unknown answer');
    });

    it('the callback never comes (.73): the reconciler finds the verified payment and executes it', async () => {
      const { token, paymentId } = await started('10.73');
      assert.equal(await customer(sim, paymentId, 'success'), null);
      t.clock.advance(3 * 60_000);
      await t.gw.reconciler.drain();
      assert.equal((await record(token)).txn_status, '1000');
      assert.equal((await moneyTrail(t, token)).paymentTransfers, 1);
    });

    it('abandoned on bKash’s page: expired only after the expiry and bKash’s window', async () => {
      const { token } = await started();
      t.clock.advance(29 * 60_000);
      await t.gw.reconciler.drain();
      await t.gw.expirySweeper.runOnce();
      assert.equal((await t.gw.payments.byToken(token))?.status, 'pending');
      t.clock.advance(12 * 60_000);
      await t.gw.reconciler.drain();
      assert.equal((await record(token)).txn_status, '1009');
      assert.equal((await record(token)).txn_details, 'Expired');
      assert.deepEqual((await moneyTrail(t, token)).events, ['payment.expired']);
    });

    it('cancel on our page while at bKash: asked first, then cancelled', async () => {
      const { token } = await started();
      const back = await follow(t, `/bank-payment-process/${token}`);
      assert.match(back.text, /You are paying with bKash/);
      assert.match(back.text, /Continue to bKash/);
      const r = await fetch(`${t.url}/bank-payment-process/${token}/cancel`, { method: 'POST', redirect: 'manual' });
      assert.equal(r.status, 303);
      assert.equal((await record(token)).txn_status, '1009');
    });

    it('create payment hangs (.76): the customer may try again, nothing is pending at bKash', async () => {
      const init = await initPayment(t, c, { amount: '10.76' });
      const token = init.json.token as string;
      const r = await choose(t, token, 'bkash');
      assert.equal(r.status, 200);
      assert.match(r.text, /could not start your payment/);
      const p = await t.gw.payments.byToken(token);
      assert.equal(p?.status, 'pending');
      assert.equal(p?.upstreamState, null);
    });

    it('refunds: partial, full, refused (.74); one ledger transfer per succeeded refund', async () => {
      const { token, paymentId } = await started('50.00');
      await follow(t, (await customer(sim, paymentId, 'success'))!);
      const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      const r1 = await t.gw.refunds.create(m.id, token, 2_000n, CLI_ACTOR);
      assert.equal(r1.status, 'succeeded');
      assert.ok(r1.upstreamRef, 'refundTrxID kept');
      const r2 = await t.gw.refunds.create(m.id, token, null, CLI_ACTOR);
      assert.equal(r2.status, 'succeeded');
      assert.equal(r2.amountMinor, 3_000n);
      assert.equal((await record(token)).refunded_amount_bdt, '50.00');
      assert.equal((await moneyTrail(t, token)).refundTransfers, 2);

      const x = await started('20.74');
      await follow(t, (await customer(sim, x.paymentId, 'success'))!);
      const refused = await t.gw.refunds.create(m.id, x.token, null, CLI_ACTOR);
      assert.equal(refused.status, 'failed');
      assert.equal(refused.reason, 'bKash cannot reverse this payment');
      assert.equal((await moneyTrail(t, x.token)).refundTransfers, 0);
      await assertLedgerOk(t);
    });

    it('a refund whose answer is lost (.75) stays pending, then the refund status settles it once', async () => {
      const { token, paymentId } = await started('30.75');
      await follow(t, (await customer(sim, paymentId, 'success'))!);
      const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      const r = await t.gw.refunds.create(m.id, token, null, CLI_ACTOR);
      assert.equal(r.status, 'pending');
      t.clock.advance(6_000);
      await t.gw.reconciler.drain();
      const done = await t.gw.refunds.get(m.id, r.id);
      assert.equal(done?.status, 'succeeded');
      assert.equal((await moneyTrail(t, token)).refundTransfers, 1);
      await assertLedgerOk(t);
    });

    it('an expired token is replaced once, however many payments start together', async () => {
      await fetch(`${sim.url}/_sim/tokens/expire`, { method: 'POST' });
      const before = await simStats(sim);
      const inits = await Promise.all(Array.from({ length: 8 }, () => initPayment(t, c, { amount: '11.00' })));
      const answers = await Promise.all(inits.map((i) => choose(t, i.json.token as string, 'bkash')));
      for (const a of answers) assert.equal(a.status, 303);
      const after = await simStats(sim);
      assert.equal((after.grant ?? 0) + (after.refresh ?? 0) - (before.grant ?? 0) - (before.refresh ?? 0), 1);
    });

    it('wmx connector test: one grant, in plain words; wrong credentials are named', async () => {
      const ok = await t.gw.connectors.test('bkash');
      assert.equal(ok.ok, true);
      await addConnector(t, {
        id: 'bkash-bad',
        kind: 'bkash',
        fields: { ...bkashFields(sim.baseUrl), app_key: 'wrong' },
        methods: [],
      });
      const bad = await t.gw.connectors.test('bkash-bad');
      assert.equal(bad.ok, false);
      assert.match(bad.ok ? '' : bad.message, /app key/);
    });
  });
}
