/**
 * Settlements on every dialect, on a fake clock: one batch per merchant and local day (Asia/Dhaka),
 * gross − fees − refunds = net, a rerun settles nothing, days are cut in the gateway's zone, the CSV
 * adds up to the batch, balances agree with our own sums; rounding at a 6-decimal conversion rate is
 * exact to the minor unit in every posting; the console pages; `wmx settle` and `wmx ledger verify`,
 * which also catches a tampered ledger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { WmxError } from '../../src/domain/errors.js';
import { EMI_SURCHARGE, FEE_REVENUE, merchantAccount } from '../../src/domain/ledger.js';
import { dialects, startGateway, checkPayment, type TestGateway } from '../support/harness.js';
import { approvedPayment, ConsoleClient, runWmx } from '../support/money.js';
import { halfUp, toMinor } from './protocol-helpers.js';

const ACTOR = { kind: 'merchant' as const, id: 'owner@shop.test', ip: '127.0.0.1' };
const ADMIN = { kind: 'admin' as const, id: 'ops@wmx.test', ip: '127.0.0.1' };
const HOUR = 3_600_000;
/** 2025-03-10 10:00 in Dhaka (UTC+6). */
const DAY1_10AM = Date.parse('2025-03-10T04:00:00Z');

for (const dialect of dialects()) {
  describe(`settlements (${dialect})`, () => {
    let t: TestGateway;
    let a: IssuedCredentials;
    let b: IssuedCredentials;
    let aId: string;
    let bId: string;

    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      t.clock.now = DAY1_10AM;
      a = await t.createMerchant({ sandbox: true, name: 'Shop A' });
      b = await t.createMerchant({ sandbox: true, name: 'Shop B' });
      aId = (await t.gw.merchants.byWmxId(a.wmx_id))!.id;
      bId = (await t.gw.merchants.byWmxId(b.wmx_id))!.id;
      await t.gw.referenceRepo.setRate('USD', 121_456_789n); // 121.456789
      await t.gw.reference.refresh();
    });
    after(() => t.close());

    it('settles one batch per merchant and day; a rerun settles nothing', async () => {
      const a1 = await approvedPayment(t, a, { amount: '100.00', http: true });
      const a2 = await approvedPayment(t, a, { amount: '250.50', emi: 6 });
      const a3 = await approvedPayment(t, a, { amount: '10.00', currency: 'USD' });
      const b1 = await approvedPayment(t, b, { amount: '75' });
      assert.ok(a2.emiChargeMinor > 0n, 'the EMI payment has a surcharge');
      t.clock.advance(HOUR);
      const r1 = await t.gw.refunds.create(aId, a1.token, 2000n, ACTOR);
      assert.equal(r1.status, 'succeeded');
      // 01:00 on 11 March in Dhaka, still 10 March in UTC: it belongs to the 11th.
      t.clock.now = Date.parse('2025-03-10T19:00:00Z');
      const late = await approvedPayment(t, a, { amount: '5' });

      await assert.rejects(
        t.gw.settlements.settle('2025-03-11', ADMIN),
        (e: unknown) => e instanceof WmxError && e.code === '2004',
      );
      await assert.rejects(
        t.gw.settlements.settle('2025-02-30', ADMIN),
        (e: unknown) => e instanceof WmxError && e.code === '2004',
      );
      t.clock.now = Date.parse('2025-03-11T06:00:00Z');
      assert.equal(t.gw.settlements.defaultDate(), '2025-03-10');
      const batches = await t.gw.settlements.settle('2025-03-10', ADMIN);
      assert.equal(batches.length, 2);
      const ba = batches.find((x) => x.merchantId === aId)!;
      const bb = batches.find((x) => x.merchantId === bId)!;
      const gross = a1.amountBdtMinor + a2.amountBdtMinor + a3.amountBdtMinor;
      const fees = a1.feeMinor + a2.feeMinor + a3.feeMinor;
      assert.match(ba.id, /^stl_/);
      assert.deepEqual(
        {
          date: ba.date,
          gross: ba.grossMinor,
          fees: ba.feesMinor,
          emi: ba.emiMinor,
          refunds: ba.refundsMinor,
          net: ba.netMinor,
          n: ba.paymentCount,
        },
        { date: '2025-03-10', gross, fees, emi: a2.emiChargeMinor, refunds: 2000n, net: gross - fees - 2000n, n: 3 },
      );
      assert.equal(bb.netMinor, b1.amountBdtMinor - b1.feeMinor);
      assert.deepEqual(await t.gw.settlements.settle('2025-03-10', ADMIN), [], 'a rerun settles nothing');
      assert.deepEqual(await t.gw.settlements.settle('2025-03-05', ADMIN), [], 'a day with nothing has no batch');

      // The CSV lists the day's payments and refunds; its net column adds up to the batch.
      let csv = '';
      for await (const chunk of t.gw.settlements.csv(ba.id)) csv += chunk;
      const lines = csv.split('\r\n').filter(Boolean);
      assert.equal(
        lines[0],
        'type,token,refund_id,ref_id,merchant_order_id,merchant_ref_id,time,amount_bdt,fee_bdt,emi_charge_bdt,net_bdt',
      );
      assert.equal(lines.length, 1 + 3 + 1);
      assert.ok(!csv.includes(late.token), 'the 11th is not in the 10th');
      const net = lines
        .slice(1)
        .reduce(
          (s, l) =>
            s + toMinor(l.split(',').at(-1)!.replace('-', '')) * (l.split(',').at(-1)!.startsWith('-') ? -1n : 1n),
          0n,
        );
      assert.equal(net, ba.netMinor);

      // Balance: our own sums. The late payment is not settled yet.
      const bal = await t.gw.balance(aId);
      assert.deepEqual(bal, {
        currency: 'BDT',
        available_minor: late.amountBdtMinor - late.feeMinor,
        pending_refunds_minor: 0n,
        settled_minor: ba.netMinor,
        fees_minor: fees + late.feeMinor,
      });

      // A refund of a settled payment is deducted from the next day's settlement, which may be negative.
      const r2 = await t.gw.refunds.create(aId, a2.token, null, ACTOR);
      assert.equal(r2.amountMinor, a2.amountBdtMinor, 'the EMI surcharge is not refundable');
      t.clock.now = Date.parse('2025-03-12T06:00:00Z');
      const [day2] = await t.gw.settlements.settle('2025-03-11', ADMIN);
      assert.ok(day2, 'the 11th has a batch');
      assert.equal(day2.refundsMinor, a2.amountBdtMinor);
      assert.equal(day2.netMinor, late.amountBdtMinor - late.feeMinor - a2.amountBdtMinor);
      assert.ok(day2.netMinor < 0n, 'refunds exceed the day');
      assert.equal((await t.gw.balance(aId)).available_minor, 0n);
      const report = await t.gw.ledgerVerify();
      assert.deepEqual(report.breaches, []);

      const page1 = await t.gw.settlements.list(aId, undefined, 1);
      assert.deepEqual(
        page1.items.map((x) => x.date),
        ['2025-03-11'],
      );
      assert.ok(page1.nextCursor, 'a second page');
      const page2 = await t.gw.settlements.list(aId, page1.nextCursor, 1);
      assert.deepEqual(
        page2.items.map((x) => x.id),
        [ba.id],
      );
      assert.equal(page2.nextCursor, null);
      assert.equal(await t.gw.settlements.get(bId, ba.id), undefined, "another merchant's batch reads as absent");
      assert.deepEqual(await t.gw.settlements.get(aId, ba.id), ba);
    });

    it('converts at a 6-decimal rate and posts every leg exact to the minor unit', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.bigInt({ min: 1n, max: 99_999_999n }),
          fc.constantFrom(0, 3, 12),
          fc.bigInt({ min: 1n, max: 1000n }),
          async (usdMinor, emi, refundPermille) => {
            const usd = `${usdMinor / 100n}.${(usdMinor % 100n).toString().padStart(2, '0')}`;
            const p = await approvedPayment(t, a, { amount: usd, currency: 'USD', ...(emi ? { emi } : {}) });
            const bdt = halfUp(usdMinor, 121_456_789n, 1_000_000n);
            assert.equal(p.amountBdtMinor, bdt);
            assert.equal(p.feeMinor, halfUp(bdt, 250n, 10_000n));
            const rec = await checkPayment(t, a, p.token);
            assert.equal(rec.json.conversion_rate, '121.456789');
            assert.equal(toMinor(rec.json.merchant_amount_bdt as string), bdt);
            const [transfer] = await t.gw.ledger.forPayment(p.id);
            const leg = (account: string) => transfer!.postings.find((l) => l.account === account)?.amountMinor ?? 0n;
            assert.equal(leg(merchantAccount(aId, 'in_transit')), toMinor(rec.json.bank_amount_bdt as string));
            assert.equal(leg(merchantAccount(aId, 'payable')), -(bdt - toMinor(rec.json.wmx_charge_bdt as string)));
            assert.equal(leg(FEE_REVENUE), -toMinor(rec.json.wmx_charge_bdt as string));
            assert.equal(leg(EMI_SURCHARGE), -toMinor(rec.json.emi_charge as string));
            const refund = (bdt * refundPermille) / 1000n;
            if (refund > 0n) {
              const r = await t.gw.refunds.create(aId, p.token, refund, ACTOR);
              assert.equal(r.status, 'succeeded');
              assert.equal(
                (await checkPayment(t, a, p.token)).json.refunded_amount_bdt,
                `${refund / 100n}.${(refund % 100n).toString().padStart(2, '0')}`,
              );
            }
          },
        ),
        { numRuns: 15 },
      );
      const report = await t.gw.ledgerVerify();
      assert.deepEqual(report.breaches, []);
    });

    it('shows settlements on the dashboard (own only, CSV) and to operators (all)', async () => {
      const password = 'correct horse battery';
      await t.gw.accounts.createUser({
        kind: 'merchant',
        email: 'owner@a.test',
        password,
        name: 'A',
        merchantId: aId,
        role: 'owner',
      });
      await t.gw.accounts.createUser({
        kind: 'merchant',
        email: 'owner@b.test',
        password,
        name: 'B',
        merchantId: bId,
        role: 'viewer',
      });
      await t.gw.accounts.createUser({
        kind: 'admin',
        email: 'ops@wmx.test',
        password,
        name: 'Ops',
        merchantId: null,
        role: 'admin',
      });
      const [mine] = (await t.gw.settlements.list(aId)).items;
      const [theirs] = (await t.gw.settlements.list(bId)).items;
      assert.ok(mine && theirs, 'both merchants have batches');

      const anon = await new ConsoleClient(t.url).get('/dashboard/settlements');
      assert.equal(anon.status, 303);
      const ca = new ConsoleClient(t.url);
      await ca.login('merchant', 'owner@a.test', password);
      const list = await ca.get('/dashboard/settlements');
      assert.equal(list.status, 200);
      assert.match(list.text, /2025-03-10/);
      assert.match(list.text, new RegExp(`/dashboard/settlements/${mine.id}/csv`));
      assert.doesNotMatch(list.text, new RegExp(theirs.id));
      assert.match(list.text, /Available \(to be settled\)/);
      const csv = await ca.get(`/dashboard/settlements/${mine.id}/csv`);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="settlement-/);
      assert.match(csv.text, /^type,token,refund_id/);
      assert.equal((await ca.get(`/dashboard/settlements/${theirs.id}/csv`)).status, 404);

      const ops = new ConsoleClient(t.url);
      await ops.login('admin', 'ops@wmx.test', password);
      const all = await ops.get('/admin/settlements');
      assert.equal(all.status, 200);
      assert.match(all.text, new RegExp(mine.id));
      assert.match(all.text, new RegExp(theirs.id));
      assert.match(all.text, /Shop B/);
      const onlyB = await ops.get(`/admin/settlements?merchant=${bId}`);
      assert.doesNotMatch(onlyB.text, new RegExp(mine.id));
      assert.equal((await ops.get(`/admin/settlements/${mine.id}/csv`)).status, 200);
      assert.equal((await ca.get('/admin/settlements')).status, 303, 'merchants are not operators');
    });

    it('settles and verifies from the CLI, and verify reports a tampered ledger', async () => {
      await approvedPayment(t, b, { amount: '42' });
      t.clock.now = Date.parse('2025-03-20T06:00:00Z');
      const settled = await runWmx(t, 'settle', '--date', '2025-03-12');
      assert.equal(settled.code, 0, settled.stderr);
      assert.match(
        settled.stdout,
        /^stl_\w+ mer_\w+ 2025-03-12: \d+ payments, gross [\d.]+, fees [\d.]+, refunds [\d.]+, net -?[\d.]+ BDT$/m,
      );
      const again = await runWmx(t, 'settle', '--date', '2025-03-12');
      assert.equal(again.code, 0);
      assert.match(again.stdout, /Nothing to settle for 2025-03-12/);
      const bad = await runWmx(t, 'settle', '--date', '12/03/2025');
      assert.equal(bad.code, 1);
      const ok = await runWmx(t, 'ledger', 'verify');
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^Ledger OK: \d+ transfers/m);

      // Tamper: an unbalanced posting on a settlement transfer, and a payment transfer removed.
      const k = t.gw.db.kysely;
      const stl = await k
        .selectFrom('ledger_transfers')
        .select('id')
        .where('kind', '=', 'settlement')
        .where('merchant_id', '=', bId)
        .executeTakeFirstOrThrow();
      await k
        .insertInto('ledger_postings')
        .values({
          id: 'pst_tampered',
          transfer_id: stl.id,
          account: merchantAccount(bId, 'payable'),
          merchant_id: bId,
          currency: 'BDT',
          amount_minor: 100_000_000n,
          created_at: t.clock.now,
        })
        .execute();
      const pay = await k
        .selectFrom('ledger_transfers')
        .select(['id', 'payment_id'])
        .where('kind', '=', 'payment')
        .executeTakeFirstOrThrow();
      await sql`delete from ledger_postings where transfer_id = ${pay.id}`.execute(k);
      await sql`delete from ledger_transfers where id = ${pay.id}`.execute(k);
      const broken = await runWmx(t, 'ledger', 'verify');
      assert.equal(broken.code, 1, broken.stdout);
      assert.match(broken.stdout, new RegExp(`BREACH transfer ${stl.id} does not balance`));
      assert.match(broken.stdout, /BREACH merchant mer_\w+ payable is negative/);
      assert.match(broken.stdout, new RegExp(`BREACH approved payment ${pay.payment_id} has 0 payment transfers`));
      assert.match(broken.stdout, /BREACH settlement stl_\w+ .*payable posted/);
      assert.match(broken.stdout, /^Ledger has \d+ breach\(es\)/m);
    });
  });
}
