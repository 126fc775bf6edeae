/**
 * Graceful shutdown and online backup, against real gateway processes (child-gateway.ts).
 * - SIGTERM while a customer's bKash execute is in flight: the process stops accepting connections,
 *   answers a probe 503, lets the request finish with bKash's real answer, and exits 0; a fresh
 *   process shows the payment approved. The bKash simulator runs in this process behind a proxy that
 *   holds the execute answer until the test lets it go (bKash has executed by then), so "in flight"
 *   is an event, not a timing guess.
 * - The same with the answer held past WMX_SHUTDOWN_TIMEOUT: exit 1 at the bound; the payment stays
 *   pending at bKash under its lease, and the next process's reconciler approves it.
 * - `wmx backup` (SQLite) while the gateway writes payments: the copy opens, agrees with itself and
 *   passes `wmx ledger verify`; its refusals (PostgreSQL, an existing file, a missing folder, the
 *   live database) exit 2 and write nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BKASH_SIMULATOR_DEFAULT_CREDENTIALS as B, startBkashSimulator } from '../../src/acquirers/bkash/simulator.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { runWmx } from '../support/cli.js';
import { credFields, dialects, initFields, postForm } from '../support/harness.js';
import {
  childSetup,
  openInspector,
  running,
  sleep,
  type GatewayChild,
  type Inspector,
} from '../support/child-gateway.js';

type Sim = Awaited<ReturnType<typeof startBkashSimulator>>;
type Child = Awaited<ReturnType<typeof childSetup>>;

interface Held {
  /** Lets the upstream's answer go to the gateway. */
  release(): void;
}

/**
 * A proxy in front of the simulator that, when asked, holds back the answer to the next request
 * whose path ends in `suffix`: the upstream has acted, the gateway waits for its answer.
 */
async function startHoldingProxy(target: string) {
  const holds: { suffix: string; held: (h: Held) => void }[] = [];
  const releases = new Set<() => void>();
  const server = http.createServer((req, res) => {
    res.on('error', () => undefined);
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k))
          headers[k] = v;
      }
      const upstream = await fetch(`${target}${req.url ?? ''}`, {
        method: req.method ?? 'GET',
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      const i = holds.findIndex((h) => (req.url ?? '').split('?')[0]!.endsWith(h.suffix));
      if (i >= 0) {
        const [h] = holds.splice(i, 1);
        await new Promise<void>((release) => {
          releases.add(release);
          h!.held({ release });
        });
      }
      if (res.destroyed) return; // the gateway is gone
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo; // a TCP listener
  return {
    url: `http://127.0.0.1:${port}`,
    /** Resolves once the answer to the next such request is being held. */
    holdNext: (suffix: string) => new Promise<Held>((held) => holds.push({ suffix, held })),
    async close() {
      for (const r of releases) r();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves once the child's output matches `re`; rejects if it exits first. */
function untilOutput(c: GatewayChild, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const look = () => {
      if (re.test(c.output())) {
        c.proc.stdout?.off('data', look);
        c.proc.stderr?.off('data', look);
        resolve();
      }
    };
    c.proc.stdout?.on('data', look);
    c.proc.stderr?.on('data', look);
    void c.exited.then(() => setImmediate(() => reject(new Error(`exited before ${re}:\n${c.output().slice(-2000)}`))));
    look();
  });
}

/** Connects to `port` until the connection is refused (the listener closed); bounded. */
async function refusedWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
  }
  return false;
}

/**
 * A probe that has begun a request (headers not yet ended), as a load balancer's health check on a
 * connection the gateway already reads from; finish() ends it and resolves with the status code.
 */
async function startedProbe(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  let answer = '';
  s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  const ended = new Promise<void>((resolve) => s.once('close', () => resolve()));
  s.on('error', () => undefined);
  s.write('GET /readyz HTTP/1.1\r\nHost: gateway\r\n');
  return {
    async finish(): Promise<number | undefined> {
      s.write('\r\n');
      await ended;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      return m ? Number(m[1]) : undefined;
    },
  };
}

async function stopGracefully(c: GatewayChild | undefined): Promise<void> {
  if (!c || !running(c)) return;
  c.proc.kill('SIGTERM');
  await c.exited;
  assert.equal(c.proc.exitCode, 0, c.output().slice(-2000));
}

const portOf = (url: string) => Number(new URL(url).port);

for (const dialect of dialects()) {
  describe(`graceful shutdown and backup (${dialect})`, { timeout: 120_000 }, () => {
    let sim: Sim;
    let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;
    let g: Child;
    let creds: IssuedCredentials;
    let db: Inspector | undefined;
    const inspect = async () => (db ??= await openInspector(dialect, g.dbUrl));

    before(async () => {
      sim = await startBkashSimulator();
      proxy = await startHoldingProxy(sim.url);
      g = await childSetup(dialect, {
        WMX_MODE: 'live',
        // The drain's log lines are at info.
        WMX_LOG_LEVEL: 'info',
        WMX_RECONCILE_SCHEDULE: '300ms,600ms,1s',
        WMX_RATE_INIT: 'off',
        WMX_RATE_CHECK: 'off',
      });
      creds = await merchantWithBkash(g, `${proxy.url}/v1.2.0-beta`);
    });
    after(async () => {
      await db?.close().catch(() => undefined);
      await g?.cleanup();
      await proxy?.close();
      await sim?.close();
    });

    /** Init and bKash chosen on our page, then the customer pays on bKash's page: the callback URL. */
    async function paidAtBkash() {
      const init = await postForm(`${g.url}/init-payment-process`, initFields(creds, { amount: '25.00' }));
      const token = String(init.json.token);
      assert.match(token, /^[0-9a-f]{40}$/, init.text);
      const chose = await fetch(`${g.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams({ method: 'bkash', lang: 'en' }),
        redirect: 'manual',
      });
      assert.equal(chose.status, 303, await chose.text());
      const paymentId = new URL(chose.headers.get('location') ?? '').searchParams.get('paymentId');
      assert.ok(paymentId, 'sent to bKash with a paymentId');
      const r = await fetch(`${sim.url}/_sim/payments/${paymentId}/customer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'success' }),
      });
      const { redirect } = (await r.json()) as { redirect: string };
      assert.ok(redirect.includes(`/upstream/bkash/return/${token}`), redirect);
      return { token, paymentId, callback: redirect };
    }

    const bkashStatus = async (paymentId: string) =>
      ((await (await fetch(`${sim.url}/_sim/payments/${paymentId}`)).json()) as { transactionStatus: string })
        .transactionStatus;

    const checkPayment = async (token: string) =>
      (await postForm(`${g.url}/check-payment`, { ...credFields(creds), token })).json;

    async function paymentRow(token: string) {
      const rows = await (
        await inspect()
      ).rows<{
        id: string;
        status: string;
        upstream_state: string | null;
        processing_until: number | string | null;
        reconcile_at: number | string | null;
      }>(`select id, status, upstream_state, processing_until, reconcile_at from payments where token = '${token}'`);
      assert.equal(rows.length, 1);
      return rows[0]!;
    }

    async function paymentTransfers(paymentId: string): Promise<number> {
      const rows = await (
        await inspect()
      ).rows<{ n: number | string }>(
        `select count(*) as n from ledger_transfers where kind = 'payment' and payment_id = '${paymentId}'`,
      );
      return Number(rows[0]?.n);
    }

    it('SIGTERM with a bank call in flight: no new connections, the call finishes with its real outcome, exit 0', async () => {
      g.env.WMX_BANK_TIMEOUT = '5s';
      g.env.WMX_SHUTDOWN_TIMEOUT = '20s';
      await g.start();
      const c = g.child()!;
      const { token, paymentId, callback } = await paidAtBkash();
      const probe = await startedProbe(portOf(g.url));
      const executing = proxy.holdNext('/tokenized/checkout/execute');
      // The customer's browser comes back from bKash: the gateway calls execute and waits.
      const back = fetch(callback, { redirect: 'manual' }).then((r) => ({
        status: r.status,
        location: r.headers.get('location'),
        connection: r.headers.get('connection'),
      }));
      const execute = await executing;
      assert.equal(await bkashStatus(paymentId), 'Completed', 'bKash has executed it');

      const signalled = performance.now();
      c.proc.kill('SIGTERM');
      await untilOutput(c, /"msg":"shutting down: draining/);
      assert.ok(await refusedWithin(portOf(g.url), 5_000), 'new connections are refused once draining');
      assert.equal(await probe.finish(), 503, 'a probe on an open connection gets 503 while draining');
      assert.ok(running(c), 'still draining while the bank call is in flight');

      execute.release();
      const answer = await back;
      assert.equal(answer.status, 303);
      assert.equal(answer.location, `/bank-payment-process/${token}?lang=en`);
      assert.equal(answer.connection, 'close', 'an answer during the drain ends its connection');
      await c.exited;
      const took = performance.now() - signalled;
      assert.equal(c.proc.exitCode, 0, c.output().slice(-3000));
      assert.ok(took < 20_000, `exited after ${took} ms`);
      assert.match(c.output(), /"durationMs":\d+,"exitCode":0,"msg":"shutdown complete"/);

      // A fresh process (another instance behind the load balancer) shows the customer the result.
      await g.start();
      const page = await fetch(`${g.url}${answer.location}`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Payment successful/);
      assert.equal((await checkPayment(token)).txn_status, '1000');
      const p = await paymentRow(token);
      assert.equal(p.status, 'approved');
      assert.equal(await paymentTransfers(p.id), 1);
      // The stopped instance removed its row; only the running one is listed.
      const instances = await (await inspect()).rows<{ pid: number | string }>('select pid from instances');
      assert.deepEqual(
        instances.map((i) => Number(i.pid)),
        [g.child()!.proc.pid],
      );
      await stopGracefully(g.child());
    });

    it('a bank call outlasting WMX_SHUTDOWN_TIMEOUT: exit 1 at the bound, the payment left to the reconciler', async () => {
      // The gateway's own execute deadline (2 s) is well past the bound: the process is gone first.
      g.env.WMX_BANK_TIMEOUT = '2s';
      g.env.WMX_SHUTDOWN_TIMEOUT = '300ms';
      await g.start();
      const c = g.child()!;
      const { token, paymentId, callback } = await paidAtBkash();
      const executing = proxy.holdNext('/tokenized/checkout/execute');
      const back = fetch(callback, { redirect: 'manual' }).then(
        (r) => r.status,
        (e: unknown) => e,
      );
      const execute = await executing;

      const signalled = performance.now();
      c.proc.kill('SIGTERM');
      await c.exited;
      const took = performance.now() - signalled;
      assert.equal(c.proc.exitCode, 1, c.output().slice(-3000));
      assert.ok(took >= 280 && took < 2_000, `exited after ${Math.round(took)} ms (bound 300 ms)`);
      assert.match(c.output(), /shutdown did not finish within 300 ms; exiting with code 1/);
      assert.match(c.output(), /"waitingFor":\["requests in flight"\]/);
      assert.ok((await back) instanceof Error, 'the customer’s request was cut off');
      execute.release();

      // What the gateway recorded: pending at bKash, under the lease of the call that was cut off,
      // with the reconciler due when that lease lapses. bKash holds it as completed.
      const p = await paymentRow(token);
      assert.equal(p.status, 'pending');
      assert.equal(p.upstream_state, 'confirming');
      assert.ok(Number(p.processing_until) > 0);
      assert.equal(Number(p.reconcile_at), Number(p.processing_until));
      assert.equal(await bkashStatus(paymentId), 'Completed');

      // The next process asks bKash once the lease lapses (3 × 2 s + 1 s + 5 s after the claim).
      g.env.WMX_SHUTDOWN_TIMEOUT = '20s';
      await g.start();
      const deadline = Date.now() + 30_000;
      while ((await paymentRow(token)).status === 'pending' && Date.now() < deadline) await sleep(200);
      assert.equal((await paymentRow(token)).status, 'approved');
      assert.equal((await checkPayment(token)).txn_status, '1000');
      assert.equal(await paymentTransfers(p.id), 1);
      await stopGracefully(g.child());
    });

    if (dialect === 'sqlite') {
      it('wmx backup while the gateway writes payments: a consistent copy that passes wmx ledger verify', async () => {
        g.env.WMX_BANK_TIMEOUT = '5s';
        await g.start();
        const approve = async () => {
          const { callback } = await paidAtBkash();
          const r = await fetch(callback, { redirect: 'manual' });
          assert.equal(r.status, 303);
        };
        await approve();
        let writing = true;
        let written = 0;
        const writer = (async () => {
          while (writing) {
            await approve();
            written++;
          }
        })();
        const countOf = async (table: string) =>
          Number((await (await inspect()).rows<{ n: number }>(`select count(*) as n from ${table}`))[0]?.n);
        const before = await countOf('payments');
        const dir = fs.mkdtempSync(path.join(g.dir, 'backups-'));
        const file = path.join(dir, 'wmx-copy.db');
        const r = await g.wmx('backup', file, '--json');
        const afterwards = await countOf('payments');
        writing = false;
        await writer;
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.ok(written > 0, 'payments were written while the backup ran');
        const out = JSON.parse(r.stdout) as {
          file: string;
          bytes: number;
          counts: Record<string, number>;
          migration: string;
        };
        assert.equal(out.file, file);
        assert.equal(out.bytes, fs.statSync(file).size);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.deepEqual(fs.readdirSync(dir), ['wmx-copy.db'], 'no partial copy or journal left behind');

        const copy = await openInspector('sqlite', `sqlite:${file}`);
        try {
          const n = async (sql: string) => Number((await copy.rows<{ n: number }>(sql))[0]?.n);
          const payments = await n('select count(*) as n from payments');
          assert.equal(payments, out.counts.payments);
          assert.ok(payments >= before && payments <= afterwards, `${before} ≤ ${payments} ≤ ${afterwards}`);
          assert.equal(await n('select count(*) as n from ledger_postings'), out.counts.ledger_postings);
          // One snapshot: every approved payment has its one ledger transfer, and nothing else has one.
          const approved = await n("select count(*) as n from payments where status = 'approved'");
          assert.ok(approved >= 1);
          assert.equal(await n("select count(*) as n from ledger_transfers where kind = 'payment'"), approved);
          assert.equal(out.counts.ledger_transfers, approved);
          assert.match(out.migration, /^\d{4}_/);
        } finally {
          await copy.close();
        }
        const verify = await g.wmx('ledger', 'verify');
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        const onCopy = await runOn(g, `sqlite:${file}`, 'ledger', 'verify');
        assert.equal(onCopy.code, 0, onCopy.stdout + onCopy.stderr);
        assert.match(onCopy.stdout, /^Ledger OK/);
        await stopGracefully(g.child());
      });

      it('wmx backup refuses an existing file, a missing folder and the live database (exit 2, nothing written)', async () => {
        const dir = fs.mkdtempSync(path.join(g.dir, 'refusals-'));
        const existing = path.join(dir, 'kept.db');
        fs.writeFileSync(existing, 'keep me');
        const taken = await g.wmx('backup', existing);
        assert.equal(taken.code, 2, taken.stderr);
        assert.match(taken.stderr, /exists; pass --force/);
        assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');

        const missing = await g.wmx('backup', path.join(dir, 'no-such-folder', 'copy.db'));
        assert.equal(missing.code, 2, missing.stderr);
        assert.match(missing.stderr, /folder .*no-such-folder does not exist/);
        assert.equal(fs.existsSync(path.join(dir, 'no-such-folder')), false);

        const live = await g.wmx('backup', g.dbUrl.slice('sqlite:'.length), '--force');
        assert.equal(live.code, 2, live.stderr);
        assert.match(live.stderr, /live database/);

        const pg = await runOn(g, 'postgres://nobody@127.0.0.1:1/none', 'backup', path.join(dir, 'pg.db'));
        assert.equal(pg.code, 2, pg.stderr);
        assert.match(pg.stderr, /PostgreSQL: back it up with pg_dump/);
        assert.deepEqual(fs.readdirSync(dir), ['kept.db'], 'nothing written');

        const forced = await g.wmx('backup', existing, '--force');
        assert.equal(forced.code, 0, forced.stderr);
        assert.equal(fs.readFileSync(existing).subarray(0, 15).toString('latin1'), 'SQLite format 3');
        assert.deepEqual(fs.readdirSync(dir), ['kept.db']);
      });
    } else {
      it('wmx backup refuses a PostgreSQL database (exit 2, nothing written): use pg_dump', async () => {
        const dir = fs.mkdtempSync(path.join(g.dir, 'refusals-'));
        const r = await g.wmx('backup', path.join(dir, 'copy.db'));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /PostgreSQL: back it up with pg_dump/);
        assert.deepEqual(fs.readdirSync(dir), []);
      });
    }
  });
}

/** `wmx ARGS` with the child's environment but another WMX_DATABASE_URL. */
async function runOn(g: Child, databaseUrl: string, ...args: string[]) {
  return runWmx(args, { ...g.env, WMX_DATABASE_URL: databaseUrl }, 30_000);
}

/** With no gateway running, as an operator would: a sandbox merchant, bKash configured and routed. */
async function merchantWithBkash(g: Child, baseUrl: string): Promise<IssuedCredentials> {
  const created = await g.wmx(
    'merchant',
    'create',
    '--name',
    'Drain Shop',
    '--domain',
    'shop.test',
    '--sandbox',
    '--json',
  );
  assert.equal(created.code, 0, created.stderr);
  const set = {
    base_url: baseUrl,
    username: B.username,
    app_key: B.appKey,
    password: B.password,
    app_secret: B.appSecret,
  };
  const sets = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const added = await g.wmx('connector', 'add', 'bkash', '--kind', 'bkash', '--env', 'sandbox', ...sets);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  const routed = await g.wmx('connector', 'route', 'bkash', 'bkash');
  assert.equal(routed.code, 0, routed.stderr + routed.stdout);
  return JSON.parse(created.stdout.trim()) as IssuedCredentials;
}
