/**
 * Property: any sequence of payments (BDT or USD at a 6-decimal rate, with or without EMI, over HTTP
 * or the use case), full / partial / excessive refunds, refunds the bank refuses, clock moves and
 * settlements of past days keeps every ledger invariant (the verify use case, and the CLI once), and
 * the derived balances equal our own sums of what happened. Runs on every dialect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { addDays, dateInZone } from '../../src/domain/calendar.js';
import { WmxError } from '../../src/domain/errors.js';
import type { Payment } from '../../src/domain/payment.js';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';
import { approvedPayment, REFUND_FAIL_CARD, runWmx } from '../support/money.js';

const ACTOR = { kind: 'cli' as const, id: 'property test', ip: '' };
const HOUR = 3_600_000;

type Op =
  | { kind: 'pay'; m: number; amount: bigint; usd: boolean; failingRefunds: boolean; emi: number; http: boolean }
  | { kind: 'refund'; pick: number; how: 'full' | 'over' | bigint }
  | { kind: 'advance'; hours: number }
  | { kind: 'settle'; daysBack: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('pay' as const),
      m: fc.integer({ min: 0, max: 1 }),
      amount: fc.bigInt({ min: 1n, max: 500_000n }),
      usd: fc.boolean(),
      failingRefunds: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      emi: fc.constantFrom(0, 0, 3, 12),
      http: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      pick: fc.nat(),
      how: fc.oneof(fc.constant('full' as const), fc.constant('over' as const), fc.bigInt({ min: 1n, max: 1000n })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 30 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('settle' as const), daysBack: fc.integer({ min: 1, max: 2 }) }),
  },
);

const fmt = (m: bigint) => `${m / 100n}.${(m % 100n).toString().padStart(2, '0')}`;

for (const dialect of dialects()) {
  describe(`ledger invariants under random operations (${dialect})`, () => {
    let t: TestGateway;
    const merchants: { creds: IssuedCredentials; id: string }[] = [];
    // Our own sums, kept across runs (the database keeps everything too).
    const paid: { p: Payment; failingRefunds: boolean; refunded: bigint }[] = [];
    const own = new Map<string, { net: bigint; fees: bigint; refunds: bigint; settled: bigint }>();

    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      t.clock.now = Date.parse('2025-01-01T04:00:00Z');
      for (const name of ['Shop A', 'Shop B']) {
        const creds = await t.createMerchant({ sandbox: true, name });
        const id = (await t.gw.merchants.byWmxId(creds.wmx_id))!.id;
        merchants.push({ creds, id });
        own.set(id, { net: 0n, fees: 0n, refunds: 0n, settled: 0n });
      }
      await t.gw.referenceRepo.setRate('USD', 121_456_789n);
      await t.gw.reference.refresh();
    });
    after(() => t.close());

    async function apply(op: Op): Promise<void> {
      switch (op.kind) {
        case 'pay': {
          const m = merchants[op.m]!;
          const p = await approvedPayment(t, m.creds, {
            amount: fmt(op.amount),
            currency: op.usd ? 'USD' : 'BDT',
            ...(op.failingRefunds ? { card: REFUND_FAIL_CARD } : {}),
            ...(op.emi ? { emi: op.emi } : {}),
            http: op.http,
          });
          paid.push({ p, failingRefunds: op.failingRefunds, refunded: 0n });
          const s = own.get(m.id)!;
          s.net += p.amountBdtMinor - p.feeMinor;
          s.fees += p.feeMinor;
          return;
        }
        case 'refund': {
          if (paid.length === 0) return;
          const entry = paid[op.pick % paid.length]!;
          const left = entry.p.amountBdtMinor - entry.refunded;
          const amount = op.how === 'full' ? null : op.how === 'over' ? left + 1n : (left * op.how) / 1000n || 1n;
          const asked = amount ?? left;
          let r;
          try {
            r = await t.gw.refunds.create(entry.p.merchantId, entry.p.token, amount, ACTOR);
          } catch (e) {
            assert.ok(e instanceof WmxError && e.code === '4001', String(e));
            assert.ok(asked > left || left === 0n, `refused ${asked} with ${left} left`);
            return;
          }
          assert.ok(asked <= left && asked > 0n, `accepted ${asked} with ${left} left`);
          assert.equal(r.amountMinor, asked);
          assert.equal(r.status, entry.failingRefunds ? 'failed' : 'succeeded');
          if (r.status === 'succeeded') {
            entry.refunded += asked;
            own.get(entry.p.merchantId)!.refunds += asked;
          }
          return;
        }
        case 'advance':
          t.clock.advance(op.hours * HOUR);
          return;
        case 'settle': {
          const date = addDays(dateInZone(t.clock.now, t.gw.config.timezone), -op.daysBack);
          const batches = await t.gw.settlements.settle(date, ACTOR);
          for (const b of batches) {
            assert.equal(b.netMinor, b.grossMinor - b.feesMinor - b.refundsMinor);
            own.get(b.merchantId)!.settled += b.netMinor;
          }
          assert.deepEqual(await t.gw.settlements.settle(date, ACTOR), [], 'settling a day twice creates nothing');
          return;
        }
      }
    }

    it('keeps every invariant and agrees with our own sums', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 15 }), async (ops) => {
          for (const op of ops) await apply(op);
          const report = await t.gw.ledgerVerify();
          assert.deepEqual(report.breaches, []);
          assert.ok(report.ok, 'verify is ok');
          for (const m of merchants) {
            const s = own.get(m.id)!;
            const bal = await t.gw.balance(m.id);
            assert.deepEqual(bal, {
              currency: 'BDT',
              available_minor: s.net - s.refunds - s.settled,
              pending_refunds_minor: 0n,
              settled_minor: s.settled,
              fees_minor: s.fees,
            });
          }
          for (const e of paid.slice(-5)) {
            assert.equal((await t.gw.payments.byToken(e.p.token))?.refundedMinor, e.refunded);
            assert.ok(e.refunded <= e.p.amountBdtMinor, `refunded ${e.refunded} of ${e.p.amountBdtMinor}`);
          }
        }),
        { numRuns: 15 },
      );
      assert.ok(paid.length > 0, 'some payments were made');
      const cli = await runWmx(t, 'ledger', 'verify');
      assert.equal(cli.code, 0, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /^Ledger OK: \d+ transfers, \d+ postings, \d+ approved payments/m);
    });
  });
}
