/**
 * Crash safety of redirect payments: the gateway runs as a child process against a bKash simulator
 * that lives in this process (so bKash's books survive the gateway), and is killed with SIGKILL at
 * random (seeded) moments while customers go through bKash: the create call, the customer's page,
 * the callback, execute (some executes answer late or with HTTP 500), the reconciler. Some
 * customers' callbacks are lost to a dead gateway and never retried. Afterwards, with the gateway
 * running again and given time to reconcile, every payment ends in bKash's own outcome: approved
 * exactly when bKash completed it (with bKash's trxID), executed at most once, one ledger transfer
 * per approval, one final webhook event per final payment, and `wmx ledger verify` passes.
 *
 * Seed: WMX_CRASH_SEED=<n> reproduces the kill schedule and the customers' choices.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startBkashSimulator, BKASH_SIMULATOR_DEFAULT_CREDENTIALS as B } from '../../src/acquirers/bkash/simulator.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { dialects, initFields } from '../support/harness.js';
import { childSetup, openInspector, rng, sleep, type Inspector } from '../support/child-gateway.js';

const TRAFFIC_MS = 12_000;
const WORKERS = 4;
const SETTLE_MS = 25_000;

type Sim = Awaited<ReturnType<typeof startBkashSimulator>>;

interface SimPayment {
  paymentID: string;
  transactionStatus: string;
  trxID?: string;
  executeCalls: number;
}

for (const dialect of dialects()) {
  describe(`crash safety of redirect payments: SIGKILL during bKash payments (${dialect})`, { timeout: 90_000 }, () => {
    const seed = process.env.WMX_CRASH_SEED ? Number(process.env.WMX_CRASH_SEED) : crypto.randomInt(1, 2 ** 31);
    let sim: Sim;
    let g: Awaited<ReturnType<typeof childSetup>>;
    let inspector: Inspector | undefined;

    before(async () => {
      console.log(`crash-rails (${dialect}) seed=${seed}  (rerun with WMX_CRASH_SEED=${seed})`);
      sim = await startBkashSimulator({ hangMs: 1_200 });
      g = await childSetup(dialect, {
        WMX_MODE: 'live',
        WMX_BANK_TIMEOUT: '500ms',
        WMX_RECONCILE_SCHEDULE: '300ms,600ms,1s',
        WMX_RECONCILE_REDIRECT_CHECK: '1s',
        WMX_RATE_INIT: 'off',
        WMX_RATE_CHECK: 'off',
      });
    });
    after(async () => {
      await inspector?.close().catch(() => undefined);
      await g?.cleanup();
      await sim?.close();
    });

    it('every payment ends in bKash’s own outcome, once', async () => {
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
      const creds = JSON.parse(created.stdout.trim()) as IssuedCredentials;
      const added = await g.wmx(
        'connector',
        'add',
        'bkash',
        '--kind',
        'bkash',
        '--env',
        'sandbox',
        '--set',
        `base_url=${sim.baseUrl}`,
        '--set',
        `username=${B.username}`,
        '--set',
        `app_key=${B.appKey}`,
        '--set',
        `password=${B.password}`,
        '--set',
        `app_secret=${B.appSecret}`,
      );
      assert.equal(added.code, 0, added.stderr + added.stdout);
      assert.equal((await g.wmx('connector', 'route', 'bkash', 'bkash')).code, 0);
      await g.start();

      const random = rng(seed);
      /** paymentID → token, for every payment sent to bKash. */
      const atBkash = new Map<string, string>();
      const issued = new Set<string>();
      const stats = { sent: 0, lostCallbacks: 0, retriedCallbacks: 0, gaveUp: 0 };
      const trafficEnd = Date.now() + TRAFFIC_MS;
      let stopping = false;

      /** A browser request to the gateway, retried (bounded) while it is down; undefined when it never answered. */
      async function browse(url: string, init: RequestInit = {}, patience = 8_000) {
        const giveUp = Date.now() + patience;
        for (;;) {
          try {
            const r = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(6_000), ...init });
            const text = await r.text();
            if (r.status >= 500) throw new Error(`HTTP ${r.status}`);
            return { status: r.status, location: r.headers.get('location'), text };
          } catch {
            if (Date.now() > giveUp) return undefined;
            await sleep(100);
          }
        }
      }

      async function worker(): Promise<void> {
        while (Date.now() < trafficEnd) {
          const cents = ['00', '00', '71', '72', '73'][Math.floor(random() * 5)]!;
          const init = await browse(`${g.url}/init-payment-process`, {
            method: 'POST',
            body: new URLSearchParams(initFields(creds, { amount: `12.${cents}` })),
          });
          const token = init && /"token":"([0-9a-f]{40})"/.exec(init.text)?.[1];
          if (!token) continue;
          issued.add(token);
          const chose = await browse(`${g.url}/bank-payment-process/${token}/pay`, {
            method: 'POST',
            body: new URLSearchParams({ method: 'bkash', lang: 'en' }),
          });
          const paymentId = chose?.location ? new URL(chose.location).searchParams.get('paymentId') : null;
          if (!paymentId) continue; // the gateway died during create: the payment stays payable, nothing at bKash
          atBkash.set(paymentId, token);
          stats.sent++;
          const roll = random();
          const action = roll < 0.7 ? 'success' : roll < 0.85 ? 'cancel' : 'failure';
          const r = await fetch(`${sim.url}/_sim/payments/${paymentId}/customer`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ action }),
          });
          const { redirect } = (await r.json()) as { redirect: string | null };
          if (!redirect) continue; // the .73 knob: bKash never sends the customer back
          // Half the customers whose callback meets a dead gateway give up; the rest reload.
          const back = await browse(redirect, {}, random() < 0.5 ? 0 : 8_000);
          if (!back) stats.lostCallbacks++;
          else stats.retriedCallbacks++;
        }
      }

      async function killer(): Promise<number> {
        let done = 0;
        while (!stopping && Date.now() < trafficEnd - 1_000) {
          await sleep(700 + Math.floor(random() * 1_500));
          if (stopping) break;
          await g.kill();
          done++;
          await g.start();
        }
        return done;
      }

      const killerRun = killer();
      await Promise.all(Array.from({ length: WORKERS }, worker));
      stopping = true;
      const kills = await killerRun;
      await g.kill();
      await g.start();
      console.log(
        `crash-rails (${dialect}) seed=${seed} kills=${kills + 1} tokens=${issued.size} ${JSON.stringify(stats)}`,
      );
      assert.ok(kills >= 3, `only ${kills} kills happened`);
      assert.ok(atBkash.size > 5, 'too few payments reached bKash');

      const bkashState = async (id: string) =>
        (await (await fetch(`${sim.url}/_sim/payments/${id}`)).json()) as SimPayment;
      inspector = await openInspector(dialect, g.dbUrl);
      type Row = { id: string; token: string; status: string; auth_code: string | null; upstream_ref: string | null };
      const rows = async () => {
        const all = await inspector!.rows<Row>('select id, token, status, auth_code, upstream_ref from payments');
        return new Map(all.map((r) => [r.token, r]));
      };

      // The reconciler works through what the kills left: every payment bKash completed must be
      // approved here. Wait for it (bounded), then judge the final state.
      const deadline = Date.now() + SETTLE_MS;
      let mismatched: string[];
      for (;;) {
        const byToken = await rows();
        mismatched = [];
        for (const [id, token] of atBkash) {
          const b = await bkashState(id);
          const p = byToken.get(token);
          if (b.transactionStatus === 'Completed' && p?.status !== 'approved')
            mismatched.push(`${token}: bKash Completed, here ${p?.status}`);
        }
        if (mismatched.length === 0 || Date.now() > deadline) break;
        await sleep(500);
      }
      assert.deepEqual(mismatched, [], 'payments bKash completed that are not approved here');

      const byToken = await rows();
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
      // No double charge: one payment transfer per approved payment, none for the others.
      const transfers = await inspector.rows<{ payment_id: string; n: number | string }>(
        "select payment_id, count(*) as n from ledger_transfers where kind = 'payment' group by payment_id",
      );
      const charged = new Map(transfers.map((t) => [t.payment_id, Number(t.n)]));
      for (const p of byToken.values()) {
        assert.equal(charged.get(p.id) ?? 0, p.status === 'approved' ? 1 : 0, `${p.token} (${p.status}) transfers`);
      }
      // One final webhook event per final payment (the event is written with the transition).
      const events = await inspector.rows<{ payload: string }>('select payload from webhook_events');
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
    });
  });
}
