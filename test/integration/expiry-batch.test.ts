/**
 * The expiry sweeper on thousands of overdue payments (issue 16): 5,000 pending payments past their
 * expiry, inserted straight into the table, are expired while init-payment and check-payment
 * requests go on (some of them looking at overdue payments, which expires those on the spot): every
 * one ends `expired` exactly as a lookup would have left it, with exactly one `payment.expired`
 * event (and its delivery), no ledger posting; then two gateways on the same database sweep another
 * 5,000 at once and still write one event each. The worst request latency during the sweep is
 * printed, never asserted (a test does not fail on timing).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/compose.js';
import { createExpirySweeper, type ExpirySweeper } from '../../src/app/expire.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import type { PaymentsTable } from '../../src/store/schema.js';
import { checkPayment, dialects, freePort, initPayment, startGateway, type TestGateway } from '../support/harness.js';

const OVERDUE = 5_000;
const LANES = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

/** `n` copies of a pending payment, each with its own identity, expired `agoMs` ago. */
function overdueCopies(template: PaymentsTable, n: number, agoMs: number): PaymentsTable[] {
  const t = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    ...template,
    id: `pay_${hex(12)}`,
    token: hex(20),
    ref_id: `${template.ref_id.slice(0, 4)}${hex(8)}`,
    merchant_ref_id: `bulk${hex(6)}`,
    status: 'pending',
    init_at: t - agoMs - 30 * 60_000,
    // Spread over a minute, so the sweeper's oldest-first order has something to order.
    expires_at: t - agoMs + (i % 60_000),
  }));
}

/** A bulk insert, as fast as each dialect allows (one transaction). */
async function insertRows(t: TestGateway, rows: PaymentsTable[]): Promise<void> {
  const raw = t.gw.db.sqlite;
  if (raw) {
    const columns = Object.keys(rows[0]!) as (keyof PaymentsTable)[];
    const stmt = raw.prepare(
      `insert into payments (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
    );
    raw.transaction(() => {
      for (const r of rows) stmt.run(columns.map((c) => r[c]));
    })();
    return;
  }
  await t.gw.db.kysely.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 500)
      await trx
        .insertInto('payments')
        .values(rows.slice(i, i + 500))
        .execute();
  });
}

/** A pending payment through the protocol, as the template of the bulk rows. */
async function templateRow(t: TestGateway, c: IssuedCredentials): Promise<PaymentsTable> {
  const init = await initPayment(t, c);
  assert.equal(init.json.statusCode, '1000', init.text);
  const row = await t.gw.db.kysely
    .selectFrom('payments')
    .selectAll()
    .where('token', '=', init.json.token as string)
    .executeTakeFirstOrThrow();
  return row as PaymentsTable; // selectAll of the table: its row type
}

async function pendingOverdue(t: TestGateway): Promise<number> {
  const r = await t.gw.db.kysely
    .selectFrom('payments')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('status', '=', 'pending')
    .where('expires_at', '<=', Date.now())
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The tokens named by payment.expired events, with how many events name each. */
async function expiredEvents(t: TestGateway): Promise<Map<string, number>> {
  const rows = await t.gw.db.kysely
    .selectFrom('webhook_events')
    .select('payload')
    .where('type', '=', 'payment.expired')
    .execute();
  const n = new Map<string, number>();
  for (const r of rows) {
    const token = (JSON.parse(r.payload) as { data: { token: string } }).data.token;
    n.set(token, (n.get(token) ?? 0) + 1);
  }
  return n;
}

/**
 * Requests in LANES lanes until `stop()`: each lane inits a payment and checks it, and every
 * third round checks one of `overdue` (which expires it on the spot, racing the sweeper). The
 * worst latency seen, and how many requests were made.
 */
function traffic(t: TestGateway, c: IssuedCredentials, overdue: readonly string[]) {
  let running = true;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const took: number[] = [];
  const failures: string[] = [];
  const worstOf: Record<string, number> = {};
  const timed = async <T>(kind: string, f: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const r = await f();
    const ms = performance.now() - started;
    took.push(ms);
    worstOf[kind] = Math.max(worstOf[kind] ?? 0, ms);
    return r;
  };
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    for (let round = 0; running; round++) {
      const init = await timed('init', () => initPayment(t, c));
      if (init.json.statusCode !== '1000') failures.push(`init: ${init.text}`);
      const token = init.json.token as string;
      const check = await timed('check', () => checkPayment(t, c, token));
      if (check.status !== 200) failures.push(`check: ${check.text}`);
      if (round % 3 === lane % 3 && overdue.length > 0) {
        const old = overdue[(round * LANES + lane) % overdue.length]!;
        const seen = await timed('check overdue', () => checkPayment(t, c, old));
        if (seen.status !== 200) failures.push(`check overdue: ${seen.text}`);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(lanes);
      loopDelay.disable();
      assert.deepEqual(failures.slice(0, 3), [], 'every request answered');
      took.sort((a, b) => a - b);
      const at = (q: number) => took[Math.min(took.length - 1, Math.floor(q * took.length))] ?? 0;
      return {
        worst: at(1),
        p99: at(0.99),
        p50: at(0.5),
        count: took.length,
        loopMs: loopDelay.max / 1e6,
        byKind: Object.entries(worstOf)
          .map(([k, ms]) => `${k} ${ms.toFixed(0)}`)
          .join(', '),
      };
    },
  };
}

const tokensOf = (rows: readonly PaymentsTable[]) => rows.map((r) => r.token);

const latencies = (r: { worst: number; p99: number; p50: number; count: number; loopMs: number; byKind: string }) =>
  `worst ${r.worst.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, p50 ${r.p50.toFixed(1)} ms over ${r.count} ` +
  `(worst by request: ${r.byKind}; longest event-loop stall ${r.loopMs.toFixed(1)} ms)`;

/**
 * A second gateway instance on the same PostgreSQL schema (its own pool), as a second server
 * would be. Not for SQLite: two connections in one process wait for each other's write lock on
 * the one thread (better-sqlite3's busy wait blocks it), which two server processes never do.
 */
async function secondGateway(t: TestGateway): Promise<Gateway> {
  const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(t.gw.db.kysely)).rows[0]!.s;
  const config = loadConfig({
    PORT: String(await freePort()),
    WMX_DATABASE_URL: process.env.WMX_TEST_PG_URL ?? '',
    WMX_DATA_DIR: t.dataDir,
    WMX_PUBLIC_URL: t.url,
  });
  return createGateway(config, {
    secret: crypto.randomBytes(32).toString('base64url'),
    pgSchema: schema,
    pgPoolSize: 4,
  });
}

/** Runs sweepers (their own loops, as main.ts starts them) until nothing overdue is left. */
async function sweepAll(t: TestGateway, sweepers: ExpirySweeper[]): Promise<number> {
  const started = performance.now();
  for (const s of sweepers) s.start();
  const deadline = Date.now() + 120_000;
  while ((await pendingOverdue(t)) > 0 && Date.now() < deadline) await sleep(50);
  await Promise.all(sweepers.map((s) => s.stop()));
  return performance.now() - started;
}

for (const dialect of dialects()) {
  describe(`expiry of thousands of overdue payments (${dialect})`, { timeout: 240_000 }, () => {
    let t: TestGateway;
    let c: IssuedCredentials;

    before(async () => {
      t = await startGateway(dialect, { env: { WMX_RATE_INIT: 'off', WMX_RATE_CHECK: 'off' } });
      c = await t.createMerchant({ sandbox: true, name: 'Bulk Shop' });
      const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      // The worker is not started: deliveries are written, never sent.
      assert.ok((await t.gw.webhooks.add(m, 'https://shop.test/hooks')).ok);
    });
    after(() => t.close());

    it('expires 5,000 overdue payments while requests go on: each once, as a lookup would, with one event', async () => {
      const template = await templateRow(t, c);
      const rows = overdueCopies(template, OVERDUE, 60_000);
      await insertRows(t, rows);
      const tokens = tokensOf(rows);
      // One of them expired the way a lookup does it, to compare the sweeper's work with.
      const looked = await checkPayment(t, c, tokens[0]!);
      assert.equal(looked.json.txn_status, '1009', looked.text);

      const quiet = traffic(t, c, []);
      await sleep(1_500);
      const baseline = await quiet.stop();

      const load = traffic(t, c, tokens);
      const tookMs = await sweepAll(t, [t.gw.expirySweeper]);
      const during = await load.stop();
      console.log(
        `expiry sweep (${dialect}): ${OVERDUE} overdue payments expired in ${Math.round(tookMs)} ms; ` +
          `requests during it: ${latencies(during)}; without a sweep: ${latencies(baseline)}`,
      );

      const k = t.gw.db.kysely;
      const after = await k.selectFrom('payments').selectAll().where('token', 'in', tokens).execute();
      assert.equal(after.length, OVERDUE);
      assert.deepEqual(
        after.filter((p) => p.status !== 'expired').map((p) => p.token),
        [],
        'every overdue payment is expired',
      );
      // The same outcome columns as the lookup's expiry (the time of it aside).
      const outcome = (p: PaymentsTable) => ({
        status: p.status,
        txn_details: p.txn_details,
        method: p.method,
        card_details: p.card_details,
        is_foreign: Number(p.is_foreign),
        payment_card: p.payment_card,
        card_code: p.card_code,
        auth_code: p.auth_code,
        fee_minor: String(p.fee_minor),
        bank_amount_minor: String(p.bank_amount_minor),
        emi_charge_minor: String(p.emi_charge_minor),
        page_extra: p.page_extra,
        processing_until: p.processing_until,
        challenge_ref: p.challenge_ref,
        upstream_state: p.upstream_state,
        reconcile_at: p.reconcile_at,
        refunded_minor: String(p.refunded_minor),
      });
      const byLookup = after.find((p) => p.token === tokens[0])!;
      const expected = outcome(byLookup);
      for (const p of after) {
        assert.deepEqual(outcome(p), expected, p.token);
        assert.ok(p.txn_at !== null && Number(p.txn_at) >= Number(p.expires_at), 'the expiry time is recorded');
      }

      const events = await expiredEvents(t);
      assert.deepEqual(
        tokens.filter((tk) => events.get(tk) !== 1),
        [],
        'exactly one payment.expired event per payment',
      );
      // The event carries the check-payment record, as a lookup's expiry writes it.
      const payloadOf = async (token: string) => {
        const rows = await k
          .selectFrom('webhook_events')
          .select('payload')
          .where('type', '=', 'payment.expired')
          .where(sql<boolean>`payload like ${`%${token}%`}`)
          .execute();
        return JSON.parse(rows[0]!.payload) as { type: string; data: Record<string, unknown> };
      };
      const first = await payloadOf(tokens[0]!);
      const swept = await payloadOf(tokens[OVERDUE - 1]!);
      assert.deepEqual(Object.keys(swept.data).sort(), Object.keys(first.data).sort());
      assert.equal(swept.data.txn_status, first.data.txn_status);
      assert.equal(swept.data.token, tokens[OVERDUE - 1]);

      const deliveries = await k
        .selectFrom('webhook_deliveries')
        .innerJoin('webhook_events', 'webhook_events.id', 'webhook_deliveries.event_id')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('webhook_events.type', '=', 'payment.expired')
        .executeTakeFirstOrThrow();
      assert.equal(Number(deliveries.n), OVERDUE, 'one delivery per event to the one endpoint');
      const postings = await k
        .selectFrom('ledger_transfers')
        .innerJoin('payments', 'payments.id', 'ledger_transfers.payment_id')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('payments.status', '=', 'expired')
        .executeTakeFirstOrThrow();
      assert.equal(Number(postings.n), 0, 'an expiry posts nothing');
      assert.equal(await t.gw.expirySweeper.runOnce(), 0, 'nothing left to expire');
      assert.equal((await t.gw.ledgerVerify()).ok, true);
    });

    it('two sweepers at once (on PostgreSQL two gateways) expire each payment once, with one event each', async () => {
      const template = await templateRow(t, c);
      const rows = overdueCopies(template, OVERDUE, 120_000);
      await insertRows(t, rows);
      // SQLite: a second sweeper on the gateway's own connection (see secondGateway).
      const other = dialect === 'postgres' ? await secondGateway(t) : undefined;
      const second = other?.expirySweeper ?? createExpirySweeper({ payments: t.gw.payments, now: t.gw.now });
      try {
        const load = traffic(t, c, tokensOf(rows));
        const tookMs = await sweepAll(t, [t.gw.expirySweeper, second]);
        const during = await load.stop();
        console.log(
          `two sweepers (${dialect}): ${OVERDUE} expired in ${Math.round(tookMs)} ms; ` +
            `requests during it: ${latencies(during)}`,
        );
      } finally {
        await other?.close();
      }
      const tokens = new Set(rows.map((r) => r.token));
      const left = await t.gw.db.kysely
        .selectFrom('payments')
        .select('token')
        .where('status', '!=', 'expired')
        .where('token', 'in', [...tokens])
        .execute();
      assert.deepEqual(left, []);
      const events = await expiredEvents(t);
      assert.deepEqual(
        [...tokens].filter((tk) => events.get(tk) !== 1),
        [],
        'exactly one payment.expired event per payment, whichever sweeper expired it',
      );
      assert.deepEqual(
        [...events].filter(([, n]) => n !== 1),
        [],
        'no payment has two events',
      );
    });
  });
}
