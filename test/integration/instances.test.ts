/**
 * Several gateway processes on one database (issue 16): three real instances (`node src/main.ts`)
 * on one PostgreSQL schema, or on one SQLite file, as behind a load balancer.
 *
 * - A change made with the CLI (suspension, rotation, maintenance, a connector route) is in force
 *   on every instance within a second of the command returning (measured and printed: milliseconds
 *   on PostgreSQL's NOTIFY, about 100 ms on SQLite's data_version).
 * - Mixed traffic goes to all three while one is SIGKILLed: nothing lost or charged twice, every
 *   webhook event delivered exactly once after dedupe (the killed instance's leases are taken over
 *   on its missed heartbeats), the ledger verified.
 * - PostgreSQL: a per-merchant limit and a per-address limit hold across the three (the limit, not
 *   three times it).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { credFields, dialects, freePort, initFields } from '../support/harness.js';
import { inheritedEnv, runWmx, scratchDatabase, type ScratchDatabase } from '../support/cli.js';
import { killHard, openInspector, sleep, startChild, type GatewayChild } from '../support/child-gateway.js';
import { startWebhookSink } from '../support/webhook-sink.js';
import { assertNothingLostOrDoubled, assertWebhooksExactlyOnce, drainWebhooks } from '../support/traffic-checks.js';

const INSTANCES = 3;
const REQUEST_TIMEOUT_MS = 5_000;
/** Per-merchant check-payment limit: a burst of 60, then 2 a second (PostgreSQL test below). */
const CHECK_BURST = 60;
const CHECK_RATE = 2;
/** Failed authentications per address: 15, then one every 4 minutes. */
const AUTH_FAIL_BURST = 15;

interface Instance {
  url: string;
  env: NodeJS.ProcessEnv;
  child: GatewayChild;
}

async function post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text.startsWith('{') ? text : '{}') as Record<string, unknown> };
}

/** Polls `probe` on one instance until it holds; how long after `since` it first did (or throws). */
async function seenWithin(since: number, probe: () => Promise<boolean>, patienceMs = 5_000): Promise<number> {
  for (;;) {
    if (await probe()) return Date.now() - since;
    if (Date.now() - since > patienceMs) throw new Error(`not seen after ${patienceMs} ms`);
    await sleep(5);
  }
}

for (const dialect of dialects()) {
  describe(`several instances on one database (${dialect})`, { timeout: 180_000 }, () => {
    let db: ScratchDatabase;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    const instances: Instance[] = [];
    let creds: IssuedCredentials;
    const wmx = (...args: string[]) => runWmx(args, instances[0]!.env, 30_000);
    const init = (i: number, c = creds, extra: Record<string, string> = {}) =>
      post(`${instances[i]!.url}/init-payment-process`, { ...initFields(c), ...extra });

    before(async () => {
      db = await scratchDatabase(dialect, 'wmx-instances-');
      sink = await startWebhookSink({ delayMs: 150 });
      const secret = crypto.randomBytes(32).toString('base64url');
      const envs = await Promise.all(
        Array.from({ length: INSTANCES }, async () => {
          const port = await freePort();
          return {
            ...inheritedEnv(),
            PORT: String(port),
            WMX_HOST: '127.0.0.1',
            WMX_DATABASE_URL: db.childUrl,
            WMX_DATA_DIR: db.dir,
            WMX_PUBLIC_URL: `http://127.0.0.1:${port}`,
            WMX_SECRET: secret,
            WMX_MODE: 'live',
            WMX_LOG_LEVEL: 'warn',
            WMX_RATE_INIT: 'off',
            WMX_RATE_CHECK: `${CHECK_RATE}/s,${CHECK_BURST}`,
            WMX_RATE_AUTH_FAIL: `${AUTH_FAIL_BURST}/h,${AUTH_FAIL_BURST}`,
            // The default timeout: a delivery's lease is then 25 s, so the drain below (well within
            // that) shows a killed instance's leases taken over on its missed heartbeats.
            WMX_WEBHOOK_TIMEOUT: '10s',
            // The limit test below speaks for another client address through this proxy header.
            WMX_TRUST_PROXY: '127.0.0.1',
            WMX_WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,500ms,1s,1s,2s',
          } satisfies NodeJS.ProcessEnv;
        }),
      );
      // The first one migrates the new database; the others then start together.
      instances.push({ url: envs[0]!.WMX_PUBLIC_URL, env: envs[0]!, child: await startChild(envs[0]!) });
      const rest = await Promise.all(envs.slice(1).map((env) => startChild(env)));
      rest.forEach((child, i) => instances.push({ url: envs[i + 1]!.WMX_PUBLIC_URL, env: envs[i + 1]!, child }));

      const created = await wmx(
        'merchant',
        'create',
        '--name',
        'Many Shop',
        '--domain',
        'shop.test',
        '--sandbox',
        '--json',
      );
      assert.equal(created.code, 0, created.stderr);
      creds = JSON.parse(created.stdout) as IssuedCredentials;
    });

    after(async () => {
      for (const i of instances) await killHard(i.child);
      await sink?.close();
      await db?.drop();
    });

    it('a suspension made with the CLI is refused by every instance within a second, and lifted likewise', async () => {
      // Every instance has verified and cached the merchant.
      for (let i = 0; i < INSTANCES; i++) assert.equal((await init(i)).json.statusCode, '1000');
      const suspended = await wmx('merchant', 'suspend', creds.wmx_id);
      assert.equal(suspended.code, 0, suspended.stderr);
      const t0 = Date.now();
      const seen = await Promise.all(
        instances.map((_, i) => seenWithin(t0, async () => (await init(i)).json.statusCode === '2002')),
      );
      const activated = await wmx('merchant', 'activate', creds.wmx_id);
      assert.equal(activated.code, 0, activated.stderr);
      const t1 = Date.now();
      const lifted = await Promise.all(
        instances.map((_, i) => seenWithin(t1, async () => (await init(i)).json.statusCode === '1000')),
      );
      console.log(
        `instances (${dialect}): suspension seen after ${seen.join(', ')} ms; activation after ${lifted.join(', ')} ms`,
      );
      for (const ms of [...seen, ...lifted]) assert.ok(ms < 1_000, `a change took ${ms} ms to reach an instance`);
    });

    it('after a CLI rotation the old secrets stop working on every instance within a second; the new ones work', async () => {
      for (let i = 0; i < INSTANCES; i++) assert.equal((await init(i)).json.statusCode, '1000');
      const old = creds;
      const apiBefore = await fetch(`${instances[1]!.url}/api/v1/payments`, {
        headers: { authorization: `Bearer ${old.api_key}` },
      });
      assert.equal(apiBefore.status, 200);
      const rotated = await wmx('merchant', 'rotate', creds.wmx_id, '--json');
      assert.equal(rotated.code, 0, rotated.stderr);
      const t0 = Date.now();
      creds = JSON.parse(rotated.stdout) as IssuedCredentials;
      const seen = await Promise.all(
        instances.map((_, i) => seenWithin(t0, async () => (await init(i, old)).json.statusCode === '2001')),
      );
      const apiSeen = await Promise.all(
        instances.map((inst) =>
          seenWithin(t0, async () => {
            const r = await fetch(`${inst.url}/api/v1/payments`, {
              headers: { authorization: `Bearer ${old.api_key}` },
            });
            await r.arrayBuffer();
            return r.status === 401;
          }),
        ),
      );
      console.log(
        `instances (${dialect}): rotation seen after ${seen.join(', ')} ms (API key ${apiSeen.join(', ')} ms)`,
      );
      for (const ms of [...seen, ...apiSeen]) assert.ok(ms < 1_000, `a rotation took ${ms} ms to reach an instance`);
      for (let i = 0; i < INSTANCES; i++) {
        assert.equal((await init(i, old)).json.statusCode, '2001', 'old secrets never work again');
        assert.equal((await init(i)).json.statusCode, '1000', 'new secrets work everywhere');
      }
    });

    it('maintenance switched with the CLI closes and reopens every instance within a second', async () => {
      const on = await wmx('maintenance', 'on', '--message', 'Moving house');
      assert.equal(on.code, 0, on.stderr);
      const t0 = Date.now();
      const closed = await Promise.all(
        instances.map((_, i) => seenWithin(t0, async () => (await init(i)).json.statusCode === '3001')),
      );
      const off = await wmx('maintenance', 'off');
      assert.equal(off.code, 0, off.stderr);
      const t1 = Date.now();
      const open = await Promise.all(
        instances.map((_, i) => seenWithin(t1, async () => (await init(i)).json.statusCode === '1000')),
      );
      console.log(
        `instances (${dialect}): maintenance on after ${closed.join(', ')} ms, off after ${open.join(', ')} ms`,
      );
      for (const ms of [...closed, ...open]) assert.ok(ms < 1_000, `maintenance took ${ms} ms to reach an instance`);
    });

    it('a connector disabled with the CLI leaves the payment page of every instance within a second', async () => {
      const tokens = await Promise.all(instances.map(async (_, i) => (await init(i)).json.token as string));
      const payable = async (i: number) => {
        const r = await fetch(`${instances[i]!.url}/bank-payment-process/${tokens[i]}`);
        return !(await r.text()).includes('No way to pay is available');
      };
      for (let i = 0; i < INSTANCES; i++) assert.equal(await payable(i), true, 'payable before the change');
      const disabled = await wmx('connector', 'disable', 'sandbox');
      assert.equal(disabled.code, 0, disabled.stderr + disabled.stdout);
      const t0 = Date.now();
      const gone = await Promise.all(instances.map((_, i) => seenWithin(t0, async () => !(await payable(i)))));
      const enabled = await wmx('connector', 'enable', 'sandbox');
      assert.equal(enabled.code, 0, enabled.stderr + enabled.stdout);
      const t1 = Date.now();
      const back = await Promise.all(instances.map((_, i) => seenWithin(t1, () => payable(i))));
      console.log(
        `instances (${dialect}): connector disabled after ${gone.join(', ')} ms, enabled after ${back.join(', ')} ms`,
      );
      for (const ms of [...gone, ...back])
        assert.ok(ms < 1_000, `a connector change took ${ms} ms to reach an instance`);
    });

    it('under mixed traffic with one instance SIGKILLed: nothing lost or doubled, webhooks exactly once, ledger verified', async () => {
      const hook = await fetch(`${instances[0]!.url}/api/v1/webhook-endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${creds.api_key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: sink.url }),
      });
      assert.equal(hook.status, 201, await hook.text());

      const issued = new Set<string>();
      const approvedSeen = new Set<string>();
      const stats = { inits: 0, pays: 0, checks: 0, failover: 0, limited: 0 };
      const dead = new Set<number>();
      let next = 0;
      const trafficEnd = Date.now() + 8_000;

      /** The load balancer: round robin over the live instances, the next one when one fails. */
      async function call(pathname: string, fields: Record<string, string>) {
        for (let tries = 0; tries < 20; tries++) {
          const i = next++ % INSTANCES;
          if (dead.has(i)) continue;
          try {
            const r = await post(`${instances[i]!.url}${pathname}`, fields);
            if (r.status >= 500) throw new Error(`HTTP ${r.status}`);
            return r;
          } catch {
            stats.failover++;
          }
        }
        return undefined;
      }

      async function worker(): Promise<void> {
        while (Date.now() < trafficEnd) {
          const initR = await call('/init-payment-process', initFields(creds));
          stats.inits++;
          const token = initR?.json.statusCode === '1000' ? (initR.json.token as string) : undefined;
          if (!token) continue;
          issued.add(token);
          const paid = await call(`/bank-payment-process/${token}/pay`, {
            method: 'card',
            card_number: '4111111111111111',
            expiry: '12/39',
            cvv: '123',
            card_name: 'X',
          });
          stats.pays++;
          if (paid?.text.includes('Payment successful')) approvedSeen.add(token);
          const check = await call('/check-payment', { ...credFields(creds), token });
          stats.checks++;
          if (check?.json.statusCode === '2010') stats.limited++;
          if (check?.json.txn_status === '1000') approvedSeen.add(token);
        }
      }

      const traffic = Promise.all(Array.from({ length: 6 }, worker));
      await sleep(3_000);
      // While its worker holds deliveries (the sink answers after 150 ms), instance 3 dies.
      const victim = INSTANCES - 1;
      dead.add(victim);
      await killHard(instances[victim]!.child);
      const killedAt = Date.now();
      await traffic;

      const inspector = await openInspector(dialect, db.childUrl);
      try {
        const drainedMs = await drainWebhooks(inspector, sink, 15_000);
        await sleep(500); // a straggler redelivery would show up as an extra id below
        const hooks = await assertWebhooksExactlyOnce(inspector, sink);
        await assertNothingLostOrDoubled(inspector, issued, approvedSeen);
        console.log(
          `instances (${dialect}): tokens=${issued.size} approvedSeen=${approvedSeen.size} ${JSON.stringify(stats)} ` +
            `events=${hooks.events} deliveries=${sink.total()} duplicateIds=${hooks.duplicateIds} ` +
            `drained ${drainedMs} ms after traffic, ${Date.now() - killedAt} ms after the kill`,
        );
        assert.ok(issued.size > 0 && approvedSeen.size > 0, 'traffic made payments');
      } finally {
        await inspector.close();
      }
      const verify = await wmx('ledger', 'verify');
      assert.equal(verify.code, 0, `wmx ledger verify: ${verify.stdout}\n${verify.stderr}`);
    });

    it(
      'PostgreSQL: the per-merchant and per-address limits hold across the instances',
      { skip: dialect !== 'postgres' },
      async () => {
        const live = [0, 1]; // instance 3 was killed above
        const made = await wmx(
          'merchant',
          'create',
          '--name',
          'Limited Shop',
          '--domain',
          'shop.test',
          '--sandbox',
          '--json',
        );
        assert.equal(made.code, 0, made.stderr);
        const limited = JSON.parse(made.stdout) as IssuedCredentials;
        const token = (await init(0, limited)).json.token as string;
        // Three times the burst, spread over the instances at once.
        const started = Date.now();
        const answers = await Promise.all(
          Array.from({ length: CHECK_BURST * 3 }, (_, n) =>
            post(`${instances[live[n % live.length]!]!.url}/check-payment`, { ...credFields(limited), token }),
          ),
        );
        const seconds = (Date.now() - started) / 1000;
        const ok = answers.filter((a) => a.json.token === token).length;
        const refused = answers.filter((a) => a.json.statusCode === '2010').length;
        assert.equal(ok + refused, answers.length, 'every answer is the record or 2010');
        const most = CHECK_BURST + Math.ceil(seconds * CHECK_RATE) + 1;
        console.log(
          `instances (postgres): ${ok} of ${answers.length} check-payments allowed in ${seconds.toFixed(2)} s (limit ${most})`,
        );
        assert.ok(ok <= most, `${ok} allowed, more than the shared limit of ${most}`);
        assert.ok(ok >= CHECK_BURST * 0.8, `${ok} allowed: the instances starved each other`);

        // Wrong credentials from one address, round robin: the address is stopped after the limit.
        const wrong = { ...limited, access_app_key: 'f'.repeat(40) };
        const from = { 'x-forwarded-for': '203.0.113.77' };
        let failed = 0;
        let stopped = 0;
        for (let n = 0; n < AUTH_FAIL_BURST * live.length + 4; n++) {
          const r = await post(
            `${instances[live[n % live.length]!]!.url}/init-payment-process`,
            initFields(wrong),
            from,
          );
          if (r.json.statusCode === '2001') failed++;
          else if (r.json.statusCode === '2010') stopped++;
          else assert.fail(`unexpected answer ${r.text}`);
        }
        console.log(
          `instances (postgres): ${failed} wrong-credential tries answered before the address was stopped (limit ${AUTH_FAIL_BURST})`,
        );
        assert.ok(
          failed <= AUTH_FAIL_BURST + live.length - 1,
          `${failed} tries allowed, more than the shared ${AUTH_FAIL_BURST}`,
        );
        assert.ok(failed >= AUTH_FAIL_BURST, `${failed} tries allowed, fewer than the limit`);
        // Another address is not stopped by this one's failures.
        assert.equal((await init(1)).json.statusCode, '1000');
        assert.ok(stopped > 0);
      },
    );
  });
}
