/**
 * Crash safety of redirect payments: the gateway runs as a child process against an upstream
 * simulator that lives in this process (so the upstream's books survive the gateway), and is killed
 * with SIGKILL at random (seeded) moments while customers go through the upstream's page. Some
 * customers' browser returns (and, for SSLCommerz, some IPNs) are lost to a dead gateway and never
 * retried. Afterwards, with the gateway running again and given time to reconcile, every payment
 * ends in the upstream's own outcome: one ledger transfer per approval, one final webhook event per
 * final payment, and `wmx ledger verify` passes.
 * - bKash: killed during the create call, the customer's page, the callback, execute (some executes
 *   answer late or with HTTP 500), the reconciler. Approved exactly when bKash completed it (with
 *   bKash's trxID), executed at most once.
 * - SSLCommerz: killed during session init, the customer on SSLCommerz's page, the browser's return
 *   (success / fail / cancel post), the IPN, validation (some slow: .85), the reconciler (query by
 *   tran_id). Approved exactly when SSLCommerz holds the tran_id as paid (VALID / VALIDATED, with its
 *   bank_tran_id and val_id, validated by us first); declined, cancelled or expired as SSLCommerz
 *   ended it otherwise; pending only while SSLCommerz itself has not finished the session.
 *
 * Seed: WMX_CRASH_SEED=<n> reproduces the kill schedule and the customers' choices.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBkashSimulator, BKASH_SIMULATOR_DEFAULT_CREDENTIALS as B } from '../../src/acquirers/bkash/simulator.js';
import {
  SSLCOMMERZ_SIMULATOR_DEFAULT_STORE as STORE,
  startSslcommerzSimulator,
} from '../../src/acquirers/sslcommerz/simulator.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { dialects, initFields, type DialectName } from '../support/harness.js';
import {
  browseWhileDown as browse,
  childSetup,
  crashSeed,
  killAtRandom,
  openInspector,
  rng,
  sleep,
  type Inspector,
} from '../support/child-gateway.js';

const TRAFFIC_MS = 12_000;
const WORKERS = 4;
const SETTLE_MS = 25_000;

/** Both rails: live connectors, a short reconcile schedule, no rate limits. */
const CHILD_ENV = {
  WMX_MODE: 'live',
  WMX_RECONCILE_SCHEDULE: '300ms,600ms,1s',
  WMX_RECONCILE_REDIRECT_CHECK: '1s',
  WMX_RATE_INIT: 'off',
  WMX_RATE_CHECK: 'off',
};

type Child = Awaited<ReturnType<typeof childSetup>>;

interface Run<S> {
  sim: S;
  g: Child;
  seed: number;
  random: () => number;
  /** Read-only SQL on the gateway's database (closed by the suite). */
  inspect(): Promise<Inspector>;
}

/**
 * One describe: the simulator and a gateway child on a scratch database (`env` added to
 * CHILD_ENV), the seed printed, and everything closed afterwards; `run` is its one test.
 */
function crashSuite<S extends { close(): Promise<void> }>(
  title: string,
  dialect: DialectName,
  setup: { sim: () => Promise<S>; env: Record<string, string> },
  name: string,
  run: (r: Run<S>) => Promise<void>,
): void {
  describe(`${title} (${dialect})`, { timeout: 90_000 }, () => {
    const seed = crashSeed();
    let sim: S;
    let g: Child;
    let inspector: Inspector | undefined;

    before(async () => {
      console.log(`${title} (${dialect}) seed=${seed}  (rerun with WMX_CRASH_SEED=${seed})`);
      sim = await setup.sim();
      g = await childSetup(dialect, { ...CHILD_ENV, ...setup.env });
    });
    after(async () => {
      await inspector?.close().catch(() => undefined);
      await g?.cleanup();
      await sim?.close();
    });

    it(name, () =>
      run({
        sim,
        g,
        seed,
        random: rng(seed),
        inspect: async () => (inspector ??= await openInspector(dialect, g.dbUrl)),
      }),
    );
  });
}

/** With the gateway stopped, as an operator would: a sandbox merchant, and the rail's connector routed for `methods`. */
async function merchantWithRail(
  g: Child,
  rail: { id: string; kind: 'bkash' | 'sslcommerz'; set: Record<string, string>; methods: string[] },
): Promise<IssuedCredentials> {
  const created = await g.wmx(
    'merchant',
    'create',
    '--name',
    'Rails Shop',
    '--domain',
    'shop.test',
    '--sandbox',
    '--json',
  );
  assert.equal(created.code, 0, created.stderr);
  const sets = Object.entries(rail.set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const added = await g.wmx('connector', 'add', rail.id, '--kind', rail.kind, '--env', 'sandbox', ...sets);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  for (const m of rail.methods) {
    const routed = await g.wmx('connector', 'route', m, rail.id);
    assert.equal(routed.code, 0, routed.stderr + routed.stdout);
  }
  return JSON.parse(created.stdout.trim()) as IssuedCredentials;
}

/**
 * `customer` in WORKERS lanes (its lane's index given) for TRAFFIC_MS, while the gateway is killed at
 * random; then one more kill and start. How many kills there were.
 */
async function trafficUnderKills(
  g: Child,
  random: () => number,
  customer: (lane: number) => Promise<void>,
  onKill?: () => void,
): Promise<number> {
  const end = Date.now() + TRAFFIC_MS;
  const lanes = Array.from({ length: WORKERS }, async (_, lane) => {
    while (Date.now() < end) await customer(lane);
  });
  return killAtRandom(g, random, end - 1_000, Promise.all(lanes), onKill);
}

/**
 * A customer at the shop: init, then the method chosen on our page (each reloaded while the gateway
 * is down). The token (kept in `issued`) and the page's answer to the choice; undefined when init
 * never answered.
 */
async function startPayment(
  g: Child,
  creds: IssuedCredentials,
  amount: string,
  method: string,
  issued: Set<string>,
  onStep: (step: 'init' | 'choose') => void = () => undefined,
) {
  onStep('init');
  const init = await browse(`${g.url}/init-payment-process`, {
    method: 'POST',
    body: new URLSearchParams(initFields(creds, { amount })),
  });
  const token = init && /"token":"([0-9a-f]{40})"/.exec(init.text)?.[1];
  if (!token) return undefined;
  issued.add(token);
  onStep('choose');
  const chose = await browse(`${g.url}/bank-payment-process/${token}/pay`, {
    method: 'POST',
    body: new URLSearchParams({ method, lang: 'en' }),
  });
  return { token, chose };
}

interface Row {
  id: string;
  token: string;
  ref_id: string;
  status: string;
  auth_code: string | null;
  upstream_ref: string | null;
  upstream_data: string | null;
}

/** Every payment, by token. */
async function paymentsByToken(db: Inspector): Promise<Map<string, Row>> {
  const all = await db.rows<Row>(
    'select id, token, ref_id, status, auth_code, upstream_ref, upstream_data from payments',
  );
  return new Map(all.map((r) => [r.token, r]));
}

/** Waits (at most SETTLE_MS) until `mismatches` finds nothing; what it found last. */
async function settled(mismatches: () => Promise<string[]>): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const found = await mismatches();
    if (found.length === 0 || Date.now() > deadline) return found;
    await sleep(500);
  }
}

/**
 * The gateway's books after the run: one payment transfer per approved payment and none for the
 * others (no double charge), one final webhook event per final payment (written with the
 * transition), none for a pending one; then, with the gateway stopped, `wmx ledger verify`.
 */
async function assertBooks(g: Child, db: Inspector): Promise<void> {
  const byToken = await paymentsByToken(db);
  const transfers = await db.rows<{ payment_id: string; n: number | string }>(
    "select payment_id, count(*) as n from ledger_transfers where kind = 'payment' group by payment_id",
  );
  const charged = new Map(transfers.map((t) => [t.payment_id, Number(t.n)]));
  for (const p of byToken.values()) {
    assert.equal(charged.get(p.id) ?? 0, p.status === 'approved' ? 1 : 0, `${p.token} (${p.status}) transfers`);
  }
  const events = await db.rows<{ payload: string }>('select payload from webhook_events');
  const perToken = new Map<string, number>();
  for (const e of events) {
    const token = /"token":"([0-9a-f]{40})"/.exec(e.payload)?.[1];
    if (token) perToken.set(token, (perToken.get(token) ?? 0) + 1);
  }
  for (const p of byToken.values()) {
    assert.equal(perToken.get(p.token) ?? 0, p.status === 'pending' ? 0 : 1, `${p.token} (${p.status}) events`);
  }
  await g.kill();
  const verify = await g.wmx('ledger', 'verify');
  assert.equal(verify.code, 0, `wmx ledger verify: ${verify.stdout}\n${verify.stderr}`);
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

interface BkashPayment {
  paymentID: string;
  transactionStatus: string;
  trxID?: string;
  executeCalls: number;
}

/** What the SSLCommerz query by tran_id lists per attempt (the fields used here). */
interface SslczElement {
  status: string;
  val_id: string;
  bank_tran_id: string;
}

const PAID = new Set(['VALID', 'VALIDATED']);
/** SSLCommerz's end of a session → the gateway's status for it. */
const SSLCZ_FINAL: Readonly<Record<string, string>> = {
  FAILED: 'declined',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
};
/** The .85 knob's validation answers after this (well inside WMX_BANK_TIMEOUT): slow, not lost. */
const SSLCZ_HANG_MS = 600;

for (const dialect of dialects()) {
  crashSuite(
    'crash safety of redirect payments: SIGKILL during bKash payments',
    dialect,
    { sim: () => startBkashSimulator({ hangMs: 1_200 }), env: { WMX_BANK_TIMEOUT: '500ms' } },
    'every payment ends in bKash’s own outcome, once',
    async ({ sim, g, seed, random, inspect }) => {
      const creds = await merchantWithRail(g, {
        id: 'bkash',
        kind: 'bkash',
        set: {
          base_url: sim.baseUrl,
          username: B.username,
          app_key: B.appKey,
          password: B.password,
          app_secret: B.appSecret,
        },
        methods: ['bkash'],
      });
      await g.start();

      /** paymentID → token, for every payment sent to bKash. */
      const atBkash = new Map<string, string>();
      const issued = new Set<string>();
      const stats = { sent: 0, lostCallbacks: 0, retriedCallbacks: 0 };

      const customer = async () => {
        const started = await startPayment(
          g,
          creds,
          `12.${pick(random, ['00', '00', '71', '72', '73'])}`,
          'bkash',
          issued,
        );
        const location = started?.chose?.location;
        const paymentId = location ? new URL(location).searchParams.get('paymentId') : null;
        if (!started || !paymentId) return; // the gateway died during create: the payment stays payable, nothing at bKash
        atBkash.set(paymentId, started.token);
        stats.sent++;
        const roll = random();
        const action = roll < 0.7 ? 'success' : roll < 0.85 ? 'cancel' : 'failure';
        const r = await fetch(`${sim.url}/_sim/payments/${paymentId}/customer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ action }),
        });
        const { redirect } = (await r.json()) as { redirect: string | null };
        if (!redirect) return; // the .73 knob: bKash never sends the customer back
        // Half the customers whose callback meets a dead gateway give up; the rest reload.
        const back = await browse(redirect, {}, random() < 0.5 ? 0 : 8_000);
        if (!back) stats.lostCallbacks++;
        else stats.retriedCallbacks++;
      };

      const kills = await trafficUnderKills(g, random, customer);
      console.log(
        `crash-rails bKash (${dialect}) seed=${seed} kills=${kills} tokens=${issued.size} ${JSON.stringify(stats)}`,
      );
      assert.ok(kills >= 4, `only ${kills} kills happened`);
      assert.ok(atBkash.size > 5, 'too few payments reached bKash');

      const bkashState = async (id: string) =>
        (await (await fetch(`${sim.url}/_sim/payments/${id}`)).json()) as BkashPayment;
      const db = await inspect();

      // The reconciler works through what the kills left: every payment bKash completed must be
      // approved here. Wait for it (bounded), then judge the final state.
      const mismatched = await settled(async () => {
        const byToken = await paymentsByToken(db);
        const found: string[] = [];
        for (const [id, token] of atBkash) {
          const b = await bkashState(id);
          const p = byToken.get(token);
          if (b.transactionStatus === 'Completed' && p?.status !== 'approved')
            found.push(`${token}: bKash Completed, here ${p?.status}`);
        }
        return found;
      });
      assert.deepEqual(mismatched, [], 'payments bKash completed that are not approved here');

      const byToken = await paymentsByToken(db);
      for (const [id, token] of atBkash) {
        const b = await bkashState(id);
        const p = byToken.get(token);
        assert.ok(p, `no payment for ${token}`);
        assert.ok(b.executeCalls <= 1 || b.transactionStatus === 'Completed', `${id} executed ${b.executeCalls} times`);
        if (p.status === 'approved') {
          assert.equal(b.transactionStatus, 'Completed', `${token} approved here, ${b.transactionStatus} at bKash`);
          assert.equal(p.auth_code, b.trxID, `${token}: the approval carries bKash's trxID`);
          assert.equal(p.upstream_ref, id);
        }
      }
      await assertBooks(g, db);
    },
  );

  crashSuite(
    'crash safety of redirect payments: SIGKILL during SSLCommerz payments',
    dialect,
    {
      // Two IPN retries (after 200 ms and 1 s): some IPNs reach the restarted gateway, some are lost.
      sim: () => startSslcommerzSimulator({ hangMs: SSLCZ_HANG_MS, ipnRetries: 2 }),
      env: { WMX_BANK_TIMEOUT: '1s' },
    },
    'every payment ends in SSLCommerz’s own outcome, once',
    async ({ sim, g, seed, random, inspect }) => {
      const creds = await merchantWithRail(g, {
        id: 'sslcommerz',
        kind: 'sslcommerz',
        set: { base_url: sim.url, store_id: STORE.storeId, store_passwd: STORE.storePasswd },
        methods: ['card', 'nagad', 'internet_banking'],
      });
      await g.start();

      /** sessionkey → token, for every session a customer was sent to. */
      const atSslcz = new Map<string, string>();
      const issued = new Set<string>();
      const stats = { sent: 0, noReturn: 0, tabClosed: 0, lostReturns: 0, retriedReturns: 0 };
      /** Sessions whose browser return the gateway answered. */
      const returned = new Set<string>();
      /** What each lane's customer is doing, and what the kills cut. */
      const doing: string[] = Array.from({ length: WORKERS }, () => 'idle');
      const killedDuring: Record<string, number> = {};

      const customer = async (lane: number) => {
        const paisa = pick(random, ['00', '00', '81', '81', '82', '83', '85', '85', '89']);
        const method = pick(random, ['card', 'card', 'nagad', 'internet_banking']);
        const started = await startPayment(g, creds, `12.${paisa}`, method, issued, (step) => {
          doing[lane] = step === 'init' ? 'init' : 'session';
        });
        // The 303 to GatewayPageURL, or (the gateway killed after recording the redirect) our page's
        // link to continue there.
        const page = `${started?.chose?.location ?? ''} ${started?.chose?.text ?? ''}`;
        const sessionkey = /\/EasyCheckOut\/testcde([0-9a-f]{32})/.exec(page)?.[1]?.toUpperCase();
        if (!started || !sessionkey) return void (doing[lane] = 'idle'); // died opening the session
        atSslcz.set(sessionkey, started.token);
        stats.sent++;
        const roll = random();
        const outcome = roll < 0.65 ? 'success' : roll < 0.8 ? 'failed' : roll < 0.95 ? 'cancelled' : 'expired';
        // On SSLCommerz's page: its outcome is recorded and the IPN sent (awaited up to 2 s) before
        // the browser is answered.
        doing[lane] = 'page+ipn';
        const r = await fetch(`${sim.url}/_sim/sessions/${sessionkey}/pay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ method, outcome }),
        });
        const back = (await r.json()) as { action: string | null; fields: Record<string, string> };
        assert.equal(r.status, 200, JSON.stringify(back));
        doing[lane] = 'return';
        // The .82 knob: the browser never comes back; some customers close the tab before it does.
        // Otherwise half the customers whose return meets a dead gateway give up; the rest reload.
        const closesTab = random() < 0.1;
        const res =
          back.action === null || closesTab
            ? undefined
            : await browse(
                back.action,
                { method: 'POST', body: new URLSearchParams(back.fields) },
                random() < 0.5 ? 0 : 8_000,
              );
        if (back.action === null) stats.noReturn++;
        else if (closesTab) stats.tabClosed++;
        else if (!res) stats.lostReturns++;
        else {
          stats.retriedReturns++;
          returned.add(sessionkey);
        }
        doing[lane] = 'idle';
      };
      const onKill = () => {
        for (const d of doing) killedDuring[d] = (killedDuring[d] ?? 0) + 1;
      };

      const kills = await trafficUnderKills(g, random, customer, onKill);
      assert.ok(kills >= 4, `only ${kills} kills happened`);
      assert.ok(atSslcz.size > 5, 'too few payments reached SSLCommerz');

      /** SSLCommerz's own word on a tran_id: every attempt (session) it holds, oldest first. */
      let ownQueries = 0;
      const sslczAttempts = async (tranId: string) => {
        ownQueries++;
        const q = new URLSearchParams({
          tran_id: tranId,
          store_id: STORE.storeId,
          store_passwd: STORE.storePasswd,
          v: '1',
          format: 'json',
        });
        const r = await fetch(`${sim.url}/validator/api/merchantTransIDvalidationAPI.php?${q}`);
        return ((await r.json()) as { element: SslczElement[] }).element;
      };
      /** The status a payment must end in here; 'pending' while SSLCommerz has not finished it. */
      const expected = (attempts: SslczElement[]) =>
        attempts.some((e) => PAID.has(e.status))
          ? 'approved'
          : attempts.length === 0 || attempts.some((e) => e.status === 'PENDING')
            ? 'pending'
            : (SSLCZ_FINAL[attempts.at(-1)!.status] ?? `? ${attempts.at(-1)!.status}`);
      const db = await inspect();

      // The reconciler works through what the kills left (lost returns and IPNs, killed validations,
      // leases of dead processes): wait for every payment to reach SSLCommerz's outcome (bounded).
      const settling = Date.now();
      const mismatched = await settled(async () => {
        const found: string[] = [];
        for (const p of (await paymentsByToken(db)).values()) {
          const want = expected(await sslczAttempts(p.ref_id));
          if (p.status !== want) found.push(`${p.token}: SSLCommerz says ${want}, here ${p.status}`);
        }
        return found;
      });

      // What the kills did: SSLCommerz calls the gateway made but never logged (killed mid-call),
      // and sessions that neither an IPN nor the browser's return told the gateway about.
      const sim_ = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as Record<string, number>;
      const logged = new Map(
        (
          await db.rows<{ operation: string; n: number | string }>(
            'select operation, count(*) as n from upstream_calls group by operation',
          )
        ).map((r) => [r.operation, Number(r.n)]),
      );
      const byId = new Map([...(await paymentsByToken(db)).values()].map((p) => [p.token, p.id]));
      const notified = new Set(
        (
          await db.rows<{ payment_id: string }>(
            "select distinct payment_id from upstream_calls where operation = 'notification' and payment_id is not null",
          )
        ).map((r) => r.payment_id),
      );
      // Neither an IPN nor the browser's return got through to the gateway: only a dead process's
      // lease running out, or the reconciler's query by tran_id, could settle these.
      const untold = [...atSslcz].filter(
        ([key, token]) => !returned.has(key) && !notified.has(byId.get(token)!),
      ).length;
      const ended: Record<string, number> = {};
      for (const p of (await paymentsByToken(db)).values()) ended[p.status] = (ended[p.status] ?? 0) + 1;
      const figures = {
        ...stats,
        untold,
        cutSessions: (sim_.session ?? 0) - (logged.get('create_session') ?? 0),
        cutValidations: (sim_.validation ?? 0) - (logged.get('validate') ?? 0),
        // Roughly: a reconciler's query under way as this is read counts too.
        cutQueries: (sim_.queryByTranId ?? 0) - ownQueries - (logged.get('query_transaction') ?? 0),
        ipnSent: sim_.ipnSent,
        ipnFailed: sim_.ipnFailed,
      };
      console.log(
        `crash-rails SSLCommerz (${dialect}) seed=${seed} kills=${kills} tokens=${issued.size} ` +
          `${JSON.stringify(figures)} lanes at kills=${JSON.stringify(killedDuring)} ended=${JSON.stringify(ended)} ` +
          `settled in ${Date.now() - settling} ms`,
      );
      assert.deepEqual(mismatched, [], 'payments not in SSLCommerz’s outcome');

      const byToken = await paymentsByToken(db);
      for (const [sessionkey, token] of atSslcz) {
        const s = (await (await fetch(`${sim.url}/_sim/sessions/${sessionkey}`)).json()) as { tran_id: string };
        assert.equal(s.tran_id, byToken.get(token)?.ref_id, `${token}: sent to a session of its own tran_id`);
      }
      for (const p of byToken.values()) {
        const paid = (await sslczAttempts(p.ref_id)).filter((e) => PAID.has(e.status));
        assert.ok(paid.length <= 1, `${p.token}: paid ${paid.length} times at SSLCommerz`);
        if (p.status !== 'approved') continue;
        const at = paid[0]!;
        assert.equal(at.status, 'VALIDATED', `${p.token}: approved without asking the validation API`);
        assert.equal(p.auth_code, at.bank_tran_id, `${p.token}: the approval carries SSLCommerz's bank_tran_id`);
        assert.equal((JSON.parse(p.upstream_data ?? '{}') as { val_id?: string }).val_id, at.val_id);
        assert.equal(p.upstream_ref, p.ref_id, 'the tran_id is our ref_id');
      }
      await assertBooks(g, db);
    },
  );
}
