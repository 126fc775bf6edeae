// `npm run bench`: each hot legacy endpoint's throughput as a ratio to a bare Fastify hello-world
// measured in the same run on the same machine (DESIGN.md, "Performance habits").
//
// The two servers are child processes; autocannon drives them from this process, one target at a
// time, so at any moment one server and the load generator compete for the CPU. With --pg the
// run adds tagged rows, each on gateway processes of its own on the same scratch database: init
// and check-payment with the shared per-merchant limits on, in PostgreSQL and in Redis, and on
// several instances at once (the one case where several servers share the load, and the cores).
// The result is a measurement, never a verdict: the exit code is non-zero only when something is broken (a server
// does not start, or answers with errors), not when a ratio misses its aim.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  failed,
  gatewayTargets,
  helloTarget,
  initFloorTarget,
  measure,
  postFloorTarget,
  stopCurrentLoad,
  type Measurement,
  type Target,
} from './load.js';
import { cpuWindow, waitForQuiet, type CpuShare, type PidSource } from './cpu-monitor.js';
import { gitInfo, machineInfo, parseBenchOptions, USAGE, type BenchOptions } from './options.js';
import { isRunning, stopChild, tail, type Child } from './processes.js';
import {
  REPO_ROOT,
  createScratchDatabase,
  createTokenPool,
  redisProblem,
  startGateway,
  startHello,
  type GatewayServer,
  type ScratchDatabase,
} from './servers.js';
import {
  DISTURBED_CORES,
  baseline,
  caveats,
  formatTable,
  ratioRows,
  sharedRowsSummary,
  tagged,
  type RatioRow,
} from './report.js';

/**
 * The per-merchant limits of the [pg limits] and [redis limits] rows: far above any rate this
 * benchmark reaches, so nothing is refused and the rows measure what the shared limit costs an
 * answered request (the synchronous take from this instance's tokens, and the asks for more).
 */
const SHARED_LIMIT = '1000000/s,1000000';
/** The endpoints measured again with the shared limits on and on several instances (--pg). */
const SHARED_ROW_ENDPOINTS = ['init-payment-process', 'check-payment'];

class Interrupted extends Error {}

let interrupted = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) process.exit(130); // a second Ctrl-C: the 'exit' hook still kills the servers
  interrupted = true;
  process.stderr.write(`\n${signal}: stopping the benchmark and its servers…\n`);
  stopCurrentLoad();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const checkInterrupted = () => {
  if (interrupted) throw new Interrupted('interrupted');
};

const log = (line = '') => process.stdout.write(line + '\n');

async function main(): Promise<number> {
  let opts: BenchOptions | 'help';
  try {
    opts = parseBenchOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    log(USAGE);
    return 0;
  }

  const machine = machineInfo();
  const database = opts.pgUrl ? 'postgres' : 'sqlite';
  log(`wmx-gateway load benchmark — ${new Date().toISOString()}`);
  log(
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryMb} MB, ${machine.os}, node ${machine.node}`,
  );
  log(
    `note: only ${machine.cores} cores — autocannon (this process) and the server under test share them, so the ` +
      `absolute req/s say as much about the load generator as about the server; compare the ratios.`,
  );
  log(
    `settings: ${opts.connections} connections, ${opts.warmupS} s warm-up + ${opts.durationS} s per endpoint, ` +
      `token pool ${opts.poolSize}, database ${database}${database === 'sqlite' ? ' (WAL, synchronous=FULL)' : ''}`,
  );
  log(`gateway: ${opts.mainJs}`);
  if (opts.pgUrl) {
    log(
      `PostgreSQL rows: ${SHARED_ROW_ENDPOINTS.join(' and ')} again with WMX_RATE_INIT = WMX_RATE_CHECK = ` +
        `${SHARED_LIMIT} shared in PostgreSQL [pg limits]` +
        (opts.redisUrl ? ` and in Redis at ${redactUrl(opts.redisUrl)} [redis limits]` : ' (Redis rows: --redis off)') +
        (opts.instances >= 2 ? `, and on ${opts.instances} gateway processes [${opts.instances} instances]` : ''),
    );
  }
  const idle = await cpuWindow(undefined);
  await new Promise((r) => setTimeout(r, 1000));
  const before = await idle();
  if (before.other !== null) {
    const busy = before.other + (before.client ?? 0);
    log(
      `before the run the machine was using ${busy.toFixed(2)} of ${machine.cores} cores` +
        (busy > 0.3 ? ' — it is busy: expect disturbed figures' : ''),
    );
  }
  log();

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-bench-'));
  // Also on a forced exit (second Ctrl-C); the servers are killed by the hook in processes.ts.
  if (!opts.keepData) process.on('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const children: Child[] = [];
  const allRunning = () => children.every(isRunning);
  /** A server that died (crashed, or killed from outside) ends the run: every later figure would be void. */
  const checkChildren = () => {
    for (const c of children) {
      if (isRunning(c)) continue;
      const how = c.proc.signalCode ? `killed by ${c.proc.signalCode}` : `exit code ${c.proc.exitCode}`;
      throw new Error(`${c.name} (pid ${c.proc.pid}) died during the run (${how}):\n${tail(c.output())}`);
    }
  };
  /** A server stopped on purpose leaves the list, so checkChildren does not take it for a crash. */
  const retire = async (...cs: Child[]) => {
    for (const c of cs) if (children.includes(c)) children.splice(children.indexOf(c), 1);
    await Promise.all(cs.map((c) => stopChild(c)));
  };
  let dropDb: (() => Promise<void>) | undefined;
  let dbPids: PidSource | undefined;
  const problems: string[] = [];
  /** Rows left out, and why (printed with the notes, kept in the JSON). */
  const skipped: string[] = [];
  const measured: Measurement[] = [];
  const warmups: Measurement[] = [];
  const nameWidth = Math.max(22, ...(opts.pgUrl ? SHARED_ROW_ENDPOINTS.map((n) => n.length + 16) : []));

  // On a shared machine (--wait-quiet) a run that another workload disturbed is measured again,
  // up to twice, and the least disturbed attempt is kept.
  const attempts = opts.waitQuietS > 0 ? 3 : 1;
  const runTargets = async (targets: Target[]) => {
    for (const t of targets) {
      let best: Measurement | undefined;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        checkInterrupted();
        if (opts.waitQuietS > 0) {
          const waited = await waitForQuiet(opts.waitQuietS, () => interrupted || !allRunning());
          checkInterrupted();
          checkChildren();
          if (waited < 0 || waited > 5) {
            log(
              waited < 0
                ? `  (machine still busy after ${opts.waitQuietS} s; going on)`
                : `  (waited ${waited} s for quiet)`,
            );
          }
        }
        checkChildren();
        if (opts.warmupS > 0) {
          const w = await measure(t, { connections: opts.connections, durationS: opts.warmupS });
          warmups.push(w);
          if (failed(w)) problems.push(describeFailure(`${t.name} (warm-up)`, w, t.expects));
        }
        checkInterrupted();
        const m = await measure(t, { connections: opts.connections, durationS: opts.durationS });
        const each = m.cpu.servers ? ` (${m.cpu.servers.map(cores).join('+')})` : '';
        log(
          `  ${t.name.padEnd(nameWidth)} ${fmt(m.reqPerSec, 0).padStart(9)} req/s  p99 ${fmt(m.latencyMs.p99, 0).padStart(4)} ms` +
            `  cpu: server ${cores(m.cpu.server)}${each}${m.cpu.database === null ? '' : ` db ${cores(m.cpu.database)}`}` +
            ` client ${cores(m.cpu.client)} other ${cores(m.cpu.other)}` +
            `  (${m.requests} requests${failed(m) ? ', FAILURES' : ''})`,
        );
        if (failed(m)) problems.push(describeFailure(t.name, m, t.expects));
        checkChildren();
        if (!best || (m.cpu.other ?? 0) < (best.cpu.other ?? 0)) best = m;
        if ((m.cpu.other ?? 0) <= DISTURBED_CORES) break;
        if (attempt < attempts) log(`  (disturbed by other processes; measuring ${t.name} again)`);
      }
      measured.push(best!); // at least one attempt ran
    }
  };

  try {
    const hello = await startHello();
    children.push(hello.child);
    log(`hello-world  ${hello.url}  (pid ${hello.child.proc.pid})`);
    checkInterrupted();

    let databaseUrl = `sqlite:${path.join(dataDir, 'wmx.db')}`;
    let scratch: ScratchDatabase | undefined;
    if (opts.pgUrl) {
      const db = await createScratchDatabase(opts.pgUrl);
      scratch = db;
      dropDb = scratch.drop;
      dbPids = async () => (await db.backendPids()).filter((pid) => fs.existsSync(`/proc/${pid}`)); // a remote server has none here
      databaseUrl = scratch.url;
      log(`postgres     scratch database ${scratch.name}`);
    }
    const gw: GatewayServer = await startGateway({ mainJs: opts.mainJs, dataDir, databaseUrl });
    children.push(gw.child);
    log(`gateway      ${gw.url}  (pid ${gw.child.proc.pid}, data ${dataDir}), demo merchant ${gw.merchant.wmx_id}`);
    checkInterrupted();

    const poolStart = performance.now();
    const tokens = await createTokenPool(gw.url, gw.merchant, opts.poolSize);
    log(`token pool   ${tokens.length} payments in ${((performance.now() - poolStart) / 1000).toFixed(1)} s`);
    log();

    // hello-world first and last: the baseline is their mean, and their difference shows drift.
    await runTargets([
      helloTarget(hello.url, hello.child.proc.pid),
      postFloorTarget(hello.url, gw.merchant, tokens[0]!, hello.child.proc.pid),
      initFloorTarget(hello.url, gw.merchant, hello.child.proc.pid),
      ...gatewayTargets(gw.url, gw.merchant, tokens, gw.child.proc.pid, dbPids),
    ]);

    if (scratch) {
      // The rows of a shared PostgreSQL setup, each on gateway processes of its own on the same
      // database and data directory (so the same demo merchant and token pool).
      await retire(gw.child);
      const started = (g: GatewayServer) => log(`${g.child.name.padEnd(12)} ${g.url}  (pid ${g.child.proc.pid})`);
      const startShared = async (name: string, env: Record<string, string | undefined> = {}) => {
        const g = await startGateway({ mainJs: opts.mainJs, dataDir, databaseUrl, name, env });
        children.push(g.child);
        return g;
      };
      /** The init and check-payment targets on one gateway or several, named `<endpoint> [tag]`. */
      const sharedTargets = (tag: string, servers: GatewayServer[]) =>
        gatewayTargets(
          servers.length === 1 ? servers[0]!.url : servers.map((g) => g.url),
          gw.merchant,
          tokens,
          servers.length === 1 ? servers[0]!.child.proc.pid : servers.map((g) => g.child.proc.pid!), // running children have pids
          dbPids,
        )
          .filter((t) => SHARED_ROW_ENDPOINTS.includes(t.name))
          .map((t) => ({ ...t, name: tagged(t.name, tag) }));
      const limitsOn = { WMX_RATE_INIT: SHARED_LIMIT, WMX_RATE_CHECK: SHARED_LIMIT };

      // (a) The per-merchant limits shared in PostgreSQL (the default there).
      log();
      const pgLimited = await startShared('gateway [pg limits]', { ...limitsOn, WMX_REDIS_URL: undefined });
      started(pgLimited);
      checkInterrupted();
      await runTargets(sharedTargets('pg limits', [pgLimited]));
      const keys = await scratch.query<{ key: string }>('select key from rate_buckets');
      for (const limit of ['init', 'check']) {
        if (!keys.some((k) => k.key.startsWith(`${limit}:`)))
          problems.push(`[pg limits]: no ${limit}:… bucket in rate_buckets: the limit was not shared in PostgreSQL`);
      }
      await retire(pgLimited.child);
      checkInterrupted();

      // (b) The same limits in Redis, when it answers (its keys expire about a second after the
      // last ask, so the run leaves nothing behind there).
      const why = opts.redisUrl ? await redisProblem(opts.redisUrl) : 'left out with --redis off';
      if (why === null && opts.redisUrl) {
        await scratch.query('delete from rate_buckets');
        const redisLimited = await startShared('gateway [redis limits]', { ...limitsOn, WMX_REDIS_URL: opts.redisUrl });
        started(redisLimited);
        checkInterrupted();
        await runTargets(sharedTargets('redis limits', [redisLimited]));
        const inPg = await scratch.query<{ n: string }>('select count(*) as n from rate_buckets');
        if (Number(inPg[0]?.n ?? 0) > 0) problems.push('[redis limits]: buckets were written to PostgreSQL, not Redis');
        if (/rate limit unreachable/.test(redisLimited.child.output()))
          problems.push(
            `[redis limits]: the gateway lost Redis during the run:\n${tail(redisLimited.child.output(), 5)}`,
          );
        await retire(redisLimited.child);
      } else {
        const reason = `Redis rows skipped: ${opts.redisUrl ? `${redactUrl(opts.redisUrl)} does not answer (${why})` : why}`;
        skipped.push(reason);
        log(reason);
      }
      checkInterrupted();

      // (c) Several instances on the one database: the first creates what the sandbox needs, the
      // others start once it is up; autocannon gives the connections to them in turn.
      if (opts.instances >= 2) {
        const n = opts.instances;
        const tag = `${n} instances`;
        const first = await startShared(`gateway 1/${n}`);
        started(first);
        checkInterrupted();
        const rest = await Promise.allSettled(
          Array.from({ length: n - 1 }, (_, i) => startShared(`gateway ${i + 2}/${n}`)),
        );
        const down = rest.find((r) => r.status === 'rejected');
        if (down) throw down.reason;
        const all = [first, ...rest.map((r) => (r as PromiseFulfilledResult<GatewayServer>).value)]; // none rejected
        for (const g of all.slice(1)) started(g);
        checkInterrupted();
        await runTargets(sharedTargets(tag, all));
        await retire(...all.map((g) => g.child));
      } else {
        skipped.push('several-instances rows left out with --instances ' + opts.instances);
      }
      log();
    }

    await runTargets([{ ...helloTarget(hello.url, hello.child.proc.pid), name: 'hello-world (end)' }]);
    checkInterrupted();
  } catch (e) {
    if (e instanceof Interrupted) problems.push('interrupted before the end');
    else problems.push(e instanceof Error ? e.message : String(e));
  } finally {
    stopCurrentLoad();
    await Promise.all(children.map((c) => stopChild(c)));
    if (dropDb) {
      await dropDb().catch((e: unknown) => problems.push(`could not drop the scratch database: ${String(e)}`));
    }
    if (!opts.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const rows = ratioRows(measured);
  if (rows.length > 0) {
    log();
    log(formatTable(rows));
    log();
    const base = baseline(measured);
    log(
      `ratio = endpoint req/s ÷ hello-world baseline ${base === null ? '-' : fmt(base, 0)} req/s ` +
        `(mean of the first and last hello-world runs, leaving out a disturbed one); aims are targets, not pass/fail.`,
    );
    log(
      'fastify POST floor = bare Fastify (the hello-world process) reading the check-payment form body and ' +
        "answering a fixed JSON of a check-payment record's size with no work in between: no POST endpoint " +
        'can beat it on this machine. fastify init floor = the same for init: an init body built per request (as ' +
        'for init-payment-process) in, a fixed init success out.',
    );
    log('latency resolution is 1 ms (autocannon records whole milliseconds).');
    log(
      'cpu = cores used during the run by the server under test / its database server (PostgreSQL; - for SQLite, ' +
        'which runs inside the gateway) / the load generator (this process) / everything else; ' +
        'cpu µs/req = (server + database) CPU per answered request, steadier than req/s on shared cores.',
    );
    for (const c of caveats(rows)) log(`note: ${c}`);
    const shared = sharedRowsSummary(rows, machine.cores);
    if (shared.length > 0) log();
    for (const line of shared) log(line);
  }
  for (const sk of skipped) log(`note: ${sk}`);
  writeJson(opts, { database, rows, warmups, problems, skipped, machine, busyBefore: before });

  if (problems.length > 0) {
    log();
    log(`BROKEN — ${problems.length} problem(s):`);
    for (const p of problems) log(`  - ${p.replace(/\n/g, '\n    ')}`);
    return 1;
  }
  return 0;
}

function describeFailure(name: string, m: Measurement, expects: string): string {
  const parts = [
    `${name}: ${m.errors} connection errors (${m.timeouts} timeouts), ${m.non2xx} non-2xx, ` +
      `${m.badBodies} 2xx bodies without ${expects}, out of ${m.requests}`,
  ];
  for (const f of m.failures) parts.push(`  e.g. ${f}`);
  return parts.join('\n');
}

function writeJson(
  opts: BenchOptions,
  r: {
    database: string;
    rows: RatioRow[];
    warmups: Measurement[];
    problems: string[];
    skipped: string[];
    machine: ReturnType<typeof machineInfo>;
    busyBefore: CpuShare;
  },
): void {
  const doc = {
    generatedAt: new Date().toISOString(),
    ok: r.problems.length === 0,
    machine: r.machine,
    /** Cores in use (other processes + this one) in the second before the servers started. */
    busyCoresBefore: r.busyBefore.other === null ? null : r.busyBefore.other + (r.busyBefore.client ?? 0),
    git: gitInfo(path.dirname(path.dirname(opts.mainJs))),
    settings: {
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      connections: opts.connections,
      poolSize: opts.poolSize,
      waitQuietS: opts.waitQuietS,
      database: r.database,
      sqlite: r.database === 'sqlite' ? { journalMode: 'WAL', synchronous: 'FULL' } : undefined,
      gateway: opts.mainJs,
      loadGenerator: 'autocannon (parent process), servers in child processes',
      shared: opts.pgUrl
        ? {
            limit: SHARED_LIMIT,
            endpoints: SHARED_ROW_ENDPOINTS,
            redis: opts.redisUrl ? redactUrl(opts.redisUrl) : null,
            instances: opts.instances,
          }
        : undefined,
    },
    helloBaselineReqPerSec: baseline(r.rows),
    results: r.rows,
    warmups: r.warmups,
    caveats: caveats(r.rows),
    problems: r.problems,
    skipped: r.skipped.length > 0 ? r.skipped : undefined,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(doc, null, 2) + '\n');
  log(`results written to ${path.relative(REPO_ROOT, opts.out) || opts.out}`);
}

/** A URL without its password, for output. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const cores = (n: number | null) => (n === null ? '-' : n.toFixed(2));

const fmt = (n: number, digits: number) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
