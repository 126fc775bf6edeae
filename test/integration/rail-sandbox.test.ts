/**
 * The sandbox bank as a connector: its 3-D Secure cards take the redirect path (the bank's own
 * page, the return, the outcome), and a bank call cut off by a killed process leaves the payment
 * for the reconciler, which records the bank's own outcome instead of letting it be paid again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SANDBOX_3DS_CARD } from '../../src/acquirers/sandbox/bank.js';
import { attemptOf } from '../../src/app/attempt.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { assertLedgerOk, browse, choose, follow, moneyTrail } from '../support/rails.js';

const card = (number: string) => ({ card_number: number, expiry: '12/39', cvv: '123', card_name: 'Rahim Uddin' });

for (const dialect of dialects()) {
  describe(`sandbox bank as a connector (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      c = await t.createMerchant({ sandbox: true });
    });
    after(() => t.close());

    const token = async (amount = '10') => (await initPayment(t, c, { amount })).json.token as string;
    const record = async (tk: string) => (await checkPayment(t, c, tk)).json;

    async function toBankPage(tk: string, number = SANDBOX_3DS_CARD) {
      const r = await choose(t, tk, 'card', card(number));
      assert.equal(r.status, 303, r.text);
      assert.match(r.location ?? '', /\/sandbox-bank\/authenticate\//);
      const page = await browse(r.location!);
      assert.match(page.text, /Sandbox Bank: 3-D Secure/);
      assert.match(page.text, /400000\*{6}3184|400000\*{6}3178/);
      return r.location!;
    }

    it('3-D Secure card: the bank’s page, authenticated, back: approved once', async () => {
      const tk = await token();
      const bank = await toBankPage(tk);
      assert.equal((await t.gw.payments.byToken(tk))?.upstreamState, 'redirected');
      const chose = await browse(bank, { method: 'POST', body: new URLSearchParams({ choice: 'approve' }) });
      assert.equal(chose.status, 303);
      assert.match(chose.location ?? '', new RegExp(`/upstream/sandbox/return/${tk}\\?session=`));
      const page = await follow(t, chose.location!);
      assert.match(page.text, /Payment successful/);
      const r = await record(tk);
      assert.equal(r.txn_status, '1000');
      assert.equal(r.card_details, '400000******3184');
      assert.equal(r.payment_card, 'VISA-Sandbox Bank');
      // The return replayed changes nothing.
      await follow(t, chose.location!);
      const trail = await moneyTrail(t, tk);
      assert.equal(trail.paymentTransfers, 1);
      assert.deepEqual(trail.events, ['payment.succeeded']);
      await assertLedgerOk(t);
    });

    it('failed authentication: declined; cancel on the bank page: cancelled', async () => {
      const a = await token();
      const bankA = await toBankPage(a, '4000008260003178');
      await follow(
        t,
        (await browse(bankA, { method: 'POST', body: new URLSearchParams({ choice: 'approve' }) })).location!,
      );
      assert.equal((await record(a)).txn_details, 'Declined: authentication failed');
      const b = await token();
      const bankB = await toBankPage(b);
      await follow(
        t,
        (await browse(bankB, { method: 'POST', body: new URLSearchParams({ choice: 'cancel' }) })).location!,
      );
      assert.equal((await record(b)).txn_status, '1009');
    });

    it('a return before the customer chose anything decides nothing', async () => {
      const tk = await token();
      await toBankPage(tk);
      const p = await t.gw.payments.byToken(tk);
      const page = await follow(t, `/upstream/sandbox/return/${tk}?session=${p!.upstreamRef}`);
      assert.doesNotMatch(page.text, /Payment (successful|declined|cancelled)/);
      assert.equal((await record(tk)).txn_status, null);
    });

    it('the customer leaves the bank’s page: expired after the expiry and the bank’s window, not before', async () => {
      const tk = await token();
      await toBankPage(tk);
      t.clock.advance(31 * 60_000);
      await t.gw.reconciler.drain();
      await t.gw.expirySweeper.runOnce();
      assert.equal((await t.gw.payments.byToken(tk))?.status, 'pending');
      t.clock.advance(5 * 60_000);
      await t.gw.reconciler.drain();
      assert.equal((await record(tk)).txn_details, 'Expired');
    });

    /** The state a process killed while the bank was asked leaves behind: the lease lapsed, nothing recorded. */
    async function killedWhileAuthorizing(tk: string) {
      const p = (await t.gw.payments.byToken(tk))!;
      const past = t.clock.now - 1;
      await t.gw.db.kysely
        .updateTable('payments')
        .set({
          connector_id: 'sandbox',
          upstream_state: 'authorizing',
          processing_until: past,
          reconcile_at: past,
          challenge_info: JSON.stringify({
            method: 'card',
            key: 'card',
            info: { label: 'VISA-Sandbox Bank', cardCode: '1001', masked: '411111******1111', isForeign: false },
            hint: '',
            emi: null,
          }),
        })
        .where('id', '=', p.id)
        .execute();
      return p;
    }

    it('killed after the bank approved: the reconciler records the approval, the payment is never payable again', async () => {
      const tk = await token();
      const p = await t.gw.payments.byToken(tk);
      const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      // The bank approves (its books say so); the process dies before writing the outcome.
      const attempt = attemptOf(
        p!,
        m,
        {
          method: 'card',
          key: 'card',
          info: { label: '', cardCode: '', masked: null, isForeign: false },
          hint: '',
          emi: null,
        },
        t.url,
        'sandbox',
        {
          kind: 'card',
          digits: '4111111111111111',
          brand: 'VISA',
          expMonth: 12,
          expYear: 2039,
          cvv: '123',
          holder: 'R',
        },
      );
      const answer = await t.gw.sandboxBank.authorize(attempt, {
        signal: new AbortController().signal,
        record: () => {},
      });
      assert.equal(answer.outcome, 'approved');
      await killedWhileAuthorizing(tk);
      // The customer tries again: the page asks the bank first and shows the approval it already
      // gave; the card is not charged a second time.
      const again = await choose(t, tk, 'card', card('4111111111111111'));
      assert.equal(again.status, 200);
      assert.match(again.text, /Payment successful/);
      await t.gw.reconciler.drain();
      const r = await record(tk);
      assert.equal(r.txn_status, '1000');
      assert.equal((await t.gw.payments.byToken(tk))?.authCode, answer.outcome === 'approved' ? answer.authCode : '');
      assert.equal((await moneyTrail(t, tk)).paymentTransfers, 1);
      await assertLedgerOk(t);
    });

    it('killed before the bank answered: the bank has no record, so the payment is payable again', async () => {
      const tk = await token();
      await killedWhileAuthorizing(tk);
      await t.gw.reconciler.drain();
      const p = await t.gw.payments.byToken(tk);
      assert.equal(p?.status, 'pending');
      assert.equal(p?.upstreamState, null);
      const paid = await choose(t, tk, 'card', card('4111111111111111'));
      assert.equal(paid.status, 303);
      assert.equal((await record(tk)).txn_status, '1000');
    });
  });
}
