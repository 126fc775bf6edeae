/**
 * Refunds on every dialect: full and partial, several per payment up to merchant_amount_bdt; coded
 * refusals; a sandbox card whose refunds fail (nothing posted); 50 concurrent refunds of random
 * amounts against one payment never refund more than it took; refunded_amount_bdt in check-payment;
 * the `wmx refund` CLI; the dashboard refund form with roles enforced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import { WmxError } from '../../src/domain/errors.js';
import { merchantAccount } from '../../src/domain/ledger.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { approvedPayment, ConsoleClient, REFUND_FAIL_CARD, runWmx } from '../support/money.js';

const ACTOR = { kind: 'merchant' as const, id: 'owner@shop.test', ip: '127.0.0.1' };

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof WmxError && e.code === code);
}

for (const dialect of dialects()) {
  describe(`refunds (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let merchantId: string;

    before(async () => {
      t = await startGateway(dialect);
      c = await t.createMerchant({ sandbox: true });
      merchantId = (await t.gw.merchants.byWmxId(c.wmx_id))!.id;
    });
    after(() => t.close());

    const verifyOk = async () => {
      const report = await t.gw.ledgerVerify();
      assert.deepEqual(report.breaches, []);
      assert.equal(report.ok, true);
    };

    it('refunds partially, then the rest, and check-payment shows refunded_amount_bdt', async () => {
      const p = await approvedPayment(t, c, { amount: '100.00', http: true });
      const before = await checkPayment(t, c, p.token);
      assert.equal(before.json.refunded_amount_bdt, '0.00');
      // The legacy fields are unchanged and the new one comes last, before statusCode.
      const keys = Object.keys(before.json);
      assert.deepEqual(keys.slice(-2), ['refunded_amount_bdt', 'statusCode']);

      const r1 = await t.gw.refunds.create(merchantId, p.token, 1250n, ACTOR);
      assert.equal(r1.status, 'succeeded');
      assert.match(r1.id, /^rfd_/);
      assert.equal(r1.amountMinor, 1250n);
      assert.equal((await checkPayment(t, c, p.token)).json.refunded_amount_bdt, '12.50');

      const rest = await t.gw.refunds.create(merchantId, p.token, null, ACTOR);
      assert.equal(rest.status, 'succeeded');
      assert.equal(rest.amountMinor, 10000n - 1250n);
      const after = await checkPayment(t, c, p.token);
      assert.equal(after.json.refunded_amount_bdt, '100.00');
      assert.equal(after.json.txn_status, '1000', 'a refunded payment stays paid in the legacy record');
      assert.equal(await t.gw.refunds.refundedMinor(p.id), 10000n);

      await rejects(t.gw.refunds.create(merchantId, p.token, null, ACTOR), '4001');
      await rejects(t.gw.refunds.create(merchantId, p.token, 1n, ACTOR), '4001');
      const list = await t.gw.refunds.listForPayment(merchantId, p.token);
      assert.deepEqual(
        list.map((r) => r.id),
        [r1.id, rest.id],
      );
      assert.deepEqual(await t.gw.refunds.get(merchantId, r1.id), r1);

      // Ledger: one payment transfer and two refund transfers, each balanced.
      const transfers = await t.gw.ledger.forPayment(p.id);
      assert.deepEqual(transfers.map((x) => x.kind).sort(), ['payment', 'refund', 'refund']);
      for (const x of transfers)
        assert.equal(
          x.postings.reduce((s, l) => s + l.amountMinor, 0n),
          0n,
        );
      const refundLegs = transfers.filter((x) => x.kind === 'refund').flatMap((x) => x.postings);
      assert.equal(
        refundLegs
          .filter((l) => l.account === merchantAccount(merchantId, 'refunds'))
          .reduce((s, l) => s + l.amountMinor, 0n),
        10000n,
      );
      await verifyOk();
    });

    it('refuses with coded errors and changes nothing', async () => {
      const p = await approvedPayment(t, c, { amount: '50' });
      await rejects(t.gw.refunds.create(merchantId, p.token, 0n, ACTOR), '2005');
      await rejects(t.gw.refunds.create(merchantId, p.token, -5n, ACTOR), '2005');
      await rejects(t.gw.refunds.create(merchantId, p.token, 5001n, ACTOR), '4001');
      await rejects(t.gw.refunds.create(merchantId, 'f'.repeat(40), 100n, ACTOR), '2009');
      await rejects(t.gw.refunds.create(merchantId, 'not a token', 100n, ACTOR), '2009');
      const other = await t.createMerchant({ sandbox: true, name: 'Other' });
      const otherId = (await t.gw.merchants.byWmxId(other.wmx_id))!.id;
      await rejects(t.gw.refunds.create(otherId, p.token, 100n, ACTOR), '2009');
      await rejects(t.gw.refunds.listForPayment(otherId, p.token), '2009');

      // Not approved: declined and pending payments.
      const init = await initPayment(t, c, { amount: '20' });
      const pendingToken = init.json.token as string;
      await rejects(t.gw.refunds.create(merchantId, pendingToken, null, ACTOR), '4002');
      await t.gw.pay.submit(
        pendingToken,
        'card',
        {
          kind: 'card',
          digits: '4000000000000002',
          brand: 'VISA',
          expMonth: 12,
          expYear: 2039,
          cvv: '123',
          holder: 'X',
        },
        null,
        null,
      );
      assert.equal((await t.gw.payments.byToken(pendingToken))?.status, 'declined');
      await rejects(t.gw.refunds.create(merchantId, pendingToken, null, ACTOR), '4002');
      assert.deepEqual(await t.gw.refunds.listForPayment(merchantId, p.token), []);
      await verifyOk();
    });

    it('records a refund the bank refuses as failed, posts nothing and keeps the amount refundable', async () => {
      const p = await approvedPayment(t, c, { amount: '30', card: REFUND_FAIL_CARD });
      const r = await t.gw.refunds.create(merchantId, p.token, null, ACTOR);
      assert.equal(r.status, 'failed');
      assert.equal(r.reason, 'Refund declined by issuer');
      assert.equal(r.amountMinor, 3000n);
      assert.ok(r.completedAt !== null, 'a failed refund is completed');
      const again = await t.gw.refunds.create(merchantId, p.token, 1000n, ACTOR);
      assert.equal(again.status, 'failed', 'the failed one did not use up the refundable amount');
      assert.equal((await checkPayment(t, c, p.token)).json.refunded_amount_bdt, '0.00');
      assert.deepEqual(
        (await t.gw.ledger.forPayment(p.id)).map((x) => x.kind),
        ['payment'],
      );
      await verifyOk();
    });

    it('never refunds more than the payment took under 50 concurrent requests', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(fc.constant(null), fc.bigInt({ min: 1n, max: 4000n })), { minLength: 50, maxLength: 50 }),
          async (amounts) => {
            const p = await approvedPayment(t, c, { amount: '100.00' });
            const results = await Promise.allSettled(
              amounts.map((a) => t.gw.refunds.create(merchantId, p.token, a, ACTOR)),
            );
            let succeeded = 0n;
            for (const r of results) {
              if (r.status === 'fulfilled') {
                assert.equal(r.value.status, 'succeeded');
                succeeded += r.value.amountMinor;
              } else {
                assert.ok(r.reason instanceof WmxError && r.reason.code === '4001', String(r.reason));
              }
            }
            assert.ok(succeeded <= p.amountBdtMinor, `refunded ${succeeded} of ${p.amountBdtMinor}`);
            assert.equal(await t.gw.refunds.refundedMinor(p.id), succeeded);
            assert.equal((await t.gw.payments.byToken(p.token))?.refundedMinor, succeeded);
            // A "full" request among the first ones leaves nothing: the sum is then exactly the payment.
            if (amounts.includes(null)) assert.equal(succeeded, p.amountBdtMinor);
            await verifyOk();
          },
        ),
        { numRuns: 3 },
      );
    });

    it('refunds from the CLI: an amount, "full", and a non-zero exit when it fails', async () => {
      const p = await approvedPayment(t, c, { amount: '40' });
      const part = await runWmx(t, 'refund', p.token, '12.50');
      assert.equal(part.code, 0, part.stderr);
      assert.match(part.stdout, /^rfd_\w+ succeeded 12\.50 BDT/);
      const full = await runWmx(t, 'refund', p.token, 'full');
      assert.equal(full.code, 0, full.stderr);
      assert.match(full.stdout, /succeeded 27\.50 BDT/);
      const none = await runWmx(t, 'refund', p.token, 'full');
      assert.equal(none.code, 1);
      assert.match(none.stderr, /exceeds what is refundable/);
      const bad = await approvedPayment(t, c, { amount: '5', card: REFUND_FAIL_CARD });
      const failed = await runWmx(t, 'refund', bad.token, 'full');
      assert.equal(failed.code, 1);
      assert.match(failed.stdout, /failed 5\.00 BDT \(Refund declined by issuer\)/);
      const usage = await runWmx(t, 'refund', p.token, '1.234');
      assert.equal(usage.code, 2);
      const verify = await runWmx(t, 'ledger', 'verify');
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /^Ledger OK/m);
    });

    it('stays within the payment when CLI processes refund alongside the server', async () => {
      const p = await approvedPayment(t, c, { amount: '20.00' });
      const cli = Array.from({ length: 4 }, () => runWmx(t, 'refund', p.token, '2.00'));
      // Small refunds in a loop until nothing is left, so the server's refunds overlap the CLI's.
      const worker = async (): Promise<bigint> => {
        let sum = 0n;
        for (;;) {
          try {
            sum += (await t.gw.refunds.create(merchantId, p.token, 4n, ACTOR)).amountMinor;
          } catch (e) {
            assert.ok(e instanceof WmxError && e.code === '4001', String(e));
            return sum;
          }
        }
      };
      const [cliResults, local] = await Promise.all([
        Promise.all(cli),
        Promise.all([worker(), worker(), worker(), worker()]),
      ]);
      let succeeded = local.reduce((a, b) => a + b, 0n);
      for (const r of cliResults) {
        if (r.code === 0) succeeded += 200n;
        else assert.match(r.stderr, /exceeds what is refundable/);
      }
      assert.ok(succeeded <= 2000n, `refunded ${succeeded} of 2000`);
      assert.equal(await t.gw.refunds.refundedMinor(p.id), succeeded);
      await verifyOk();
    });

    it('refunds from the dashboard for owners and developers, never for viewers', async () => {
      const p = await approvedPayment(t, c, { amount: '60' });
      const password = 'correct horse battery';
      for (const role of ['owner', 'viewer'] as const) {
        await t.gw.accounts.createUser({
          kind: 'merchant',
          email: `${role}@shop.test`,
          password,
          name: role,
          merchantId,
          role,
        });
      }
      const owner = new ConsoleClient(t.url);
      await owner.login('merchant', 'owner@shop.test', password);
      const form = await owner.get(`/dashboard/payments/${p.token}/refunds`);
      assert.equal(form.status, 200);
      assert.match(form.text, /<strong>60\.00 BDT<\/strong> can still be refunded/);
      assert.match(form.text, /action="\/dashboard\/payments\/[0-9a-f]{40}\/refunds"/);
      const part = await owner.post(`/dashboard/payments/${p.token}/refunds`, { amount: '10.25' });
      assert.equal(part.status, 200, part.text);
      assert.match(part.text, /10\.25 BDT <strong>succeeded<\/strong>/);
      const tooMuch = await owner.post(`/dashboard/payments/${p.token}/refunds`, { amount: '50' });
      assert.equal(tooMuch.status, 422);
      assert.match(tooMuch.text, /exceeds what is refundable \(49\.75 BDT left\)/);
      const rest = await owner.post(`/dashboard/payments/${p.token}/refunds`, { amount: '' });
      assert.equal(rest.status, 200);
      assert.match(rest.text, /49\.75 BDT <strong>succeeded<\/strong>/);

      const viewer = new ConsoleClient(t.url);
      await viewer.login('merchant', 'viewer@shop.test', password);
      const shown = await viewer.get(`/dashboard/payments/${p.token}/refunds`);
      assert.equal(shown.status, 200);
      assert.doesNotMatch(shown.text, /<form method="post" action="\/dashboard\/payments/);
      const refused = await viewer.post(`/dashboard/payments/${p.token}/refunds`, { amount: '1' });
      assert.equal(refused.status, 403);
      const noCsrf = await owner.request(`/dashboard/payments/${p.token}/refunds`, {
        method: 'POST',
        body: new URLSearchParams({ amount: '1' }),
      });
      assert.equal(noCsrf.status, 403);
      assert.equal((await checkPayment(t, c, p.token)).json.refunded_amount_bdt, '60.00');

      const audit = await t.gw.audit.list({ merchantId, limit: 100_000 });
      assert.ok(
        audit.some((e) => e.action === 'refund.succeeded' && e.actor === 'owner@shop.test'),
        "the owner's refund is audited",
      );
      assert.ok(
        audit.some((e) => e.action === 'refund.succeeded' && e.actorKind === CLI_ACTOR.kind),
        "the CLI's refund is audited",
      );
      await verifyOk();
    });
  });
}
