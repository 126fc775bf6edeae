/**
 * Soak benchmark (issue 6, item 6): the built gateway as a child process on a fresh SQLite data dir,
 * driven by mixed traffic at a FIXED rate for a chosen time. Prints errors, p50/p99 latency per kind
 * and overall, and the gateway's memory (RSS) over time. A benchmark, not a test: it exits non-zero
 * only when the gateway fails (dies, or stops answering /check-server).
 *
 *   npm run soak -- [--rate 200] [--duration 60s|10m] [--connections 50] [--gateway dist/main.js]
 *
 * Open loop: requests start on a fixed schedule whatever the latency (up to --connections in flight;
 * more wait for a socket). Latency is the service time from the send; how far starts fell behind the
 * schedule is printed separately, so a stalled gateway shows up instead of quietly lowering the rate.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isRunning, stopChild, tail } from './processes.js';
import {
  FORM_HEADERS,
  REPO_ROOT,
  createTokenPool,
  credentialFields,
  initBodyFactory,
  startGateway,
  type GatewayServer,
} from './servers.js';

const USAGE = `Usage: npm run soak -- [options]
  --rate N          requests per second, all kinds together (default 200)
  --duration D      how long: 90, 90s, 10m, 1h (default 60s)
  --connections N   most requests in flight at once (default 50)
  --pool N          payments created up front for check-payment and page views (default 300)
  --gateway FILE    the gateway entry point (default dist/main.js)
  --keep-data       keep the temp data directory
  --help`;

type Kind = 'check-payment' | 'init' | 'check-server' | 'page' | 'pay';
// Mostly what merchants' servers send (check-payment, init), then the rest.
const MIX: [Kind, number][] = [
  ['check-payment', 40],
  ['init', 30],
  ['check-server', 10],
  ['page', 12],
  ['pay', 8],
];
const TIMEOUT_MS = 10_000;
const RSS_EVERY_MS = 2_000;
const CARD = 'method=card&card_number=4111111111111111&expiry=12%2F39&cvv=123&card_name=Soak+Test';

function parseDurationS(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration must look like 90, 90s, 10m or 1h, got "${text}"`);
  const n = Number(m[1]);
  const s = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
  if (!(s > 0)) throw new Error('--duration must be positive');
  return s;
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return n;
}

interface Sample {
  latencies: number[];
  count: number;
  non2xx: number;
  badBodies: number;
  timeouts: number;
  netErrors: number;
  failures: string[];
}
const emptySample = (): Sample => ({
  latencies: [],
  count: 0,
  non2xx: 0,
  badBodies: 0,
  timeouts: 0,
  netErrors: 0,
  failures: [],
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Resident set size of a process in MB, from /proc (Linux); undefined elsewhere or once it is gone. */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of (t minutes, MB) points. */
function slopePerMin(points: { tMin: number; mb: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((s, p) => s + p.tMin, 0) / n;
  const mm = points.reduce((s, p) => s + p.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.tMin - mt) * (p.mb - mm);
    den += (p.tMin - mt) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

interface Answer {
  status: number;
  body: string;
  /** The Location header of a redirect. */
  location?: string | undefined;
}

function request(agent: http.Agent, base: string, method: string, p: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body !== undefined ? { ...FORM_HEADERS } : {};
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = http.request(`${base}${p}`, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          location: res.headers.location,
        }),
      );
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      pool: { type: 'string' },
      gateway: { type: 'string' },
      'keep-data': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rate = positiveInt('--rate', values.rate, 200);
  const durationS = parseDurationS(values.duration ?? '60s');
  const connections = positiveInt('--connections', values.connections, 50);
  const poolSize = positiveInt('--pool', values.pool, 300);
  const mainJs = path.resolve(values.gateway ?? path.join(REPO_ROOT, 'dist', 'main.js'));

  // One merchant sends everything: the per-merchant abuse limits would turn the soak into a rate-limit test.
  process.env.WMX_RATE_INIT = 'off';
  process.env.WMX_RATE_CHECK = 'off';
  process.env.WMX_RATE_PAY_TRIES = 'off';

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-soak-'));
  const databaseUrl = `sqlite:${path.join(dataDir, 'wmx.db')}`;
  let gw: GatewayServer | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  try {
    gw = await startGateway({ mainJs, dataDir, databaseUrl, name: 'gateway' });
    const server = gw;
    const pid = server.child.proc.pid as number; // a spawned child that is running has a pid
    console.log(`gateway pid ${pid} at ${server.url} (SQLite in ${dataDir})`);
    console.log(`creating ${poolSize} payments for check-payment and page views…`);
    const pool = await createTokenPool(server.url, server.merchant, poolSize);
    const checkPrefix = new URLSearchParams(credentialFields(server.merchant)).toString() + '&token=';
    const nextInit = initBodyFactory(server.merchant);
    // Tokens from the soak's own inits, each paid at most once.
    const payable: string[] = pool.splice(0, Math.floor(pool.length / 3));
    const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)] as T;

    const total = MIX.reduce((s, [, w]) => s + w, 0);
    const chooseKind = (): Kind => {
      let r = Math.random() * total;
      for (const [k, w] of MIX) if ((r -= w) < 0) return k;
      return 'check-payment';
    };

    const byKind = new Map<Kind, Sample>(MIX.map(([k]) => [k, emptySample()]));
    const overall = emptySample();
    const record = (kind: Kind, f: (s: Sample) => void) => {
      f(byKind.get(kind) as Sample);
      f(overall);
    };

    // How late each request started against its schedule: large values mean the client (or a full
    // connection pool waiting on a slow gateway) fell behind the fixed rate.
    const lags: number[] = [];

    async function one(kind: Kind, scheduled: number): Promise<void> {
      const started = performance.now();
      lags.push(started - scheduled);
      let a: Answer;
      let ok: boolean;
      try {
        switch (kind) {
          case 'check-payment': {
            a = await request(agent, server.url, 'POST', '/check-payment', checkPrefix + pick(pool));
            ok = /"statusCode":(1000|1008)\b/.test(a.body);
            break;
          }
          case 'init': {
            a = await request(agent, server.url, 'POST', '/init-payment-process', nextInit());
            const token = /"statusCode":"1000".*"token":"([0-9a-f]{40})"/.exec(a.body)?.[1];
            ok = token !== undefined;
            if (token) {
              if (payable.length < 5000) payable.push(token);
              if (pool.length < 20_000) pool.push(token);
            }
            break;
          }
          case 'check-server':
            a = await request(agent, server.url, 'GET', '/check-server');
            ok = a.body.includes('"selectedServer":true');
            break;
          case 'page':
            a = await request(agent, server.url, 'GET', `/bank-payment-process/${pick(pool)}`);
            ok = a.body.startsWith('<!doctype html>') || a.body.startsWith('<!DOCTYPE html>');
            break;
          case 'pay': {
            const token = payable.shift();
            if (token === undefined) {
              lags.pop();
              return one('init', scheduled); // nothing to pay yet
            }
            a = await request(agent, server.url, 'POST', `/bank-payment-process/${token}/pay`, CARD);
            // The outcome is shown by the token's own page (303, then a GET, as a browser follows it).
            const location =
              a.status === 303 ? /^\/bank-payment-process\/[0-9a-f]{40}\b/.test(a.location ?? '') : false;
            if (location) a = await request(agent, server.url, 'GET', a.location!);
            ok = location && /<html/i.test(a.body);
            break;
          }
        }
      } catch (e) {
        const timeout = (e as { code?: string }).code === 'TIMEOUT';
        record(kind, (s) => {
          s.count++;
          if (timeout) s.timeouts++;
          else s.netErrors++;
          if (s.failures.length < 5) s.failures.push(`${kind}: ${(e as Error).message}`);
        });
        return;
      }
      // Service time from the send; the schedule lag is reported on its own (lags).
      const latency = performance.now() - started;
      record(kind, (s) => {
        s.count++;
        s.latencies.push(latency);
        if (a.status < 200 || a.status >= 300) s.non2xx++;
        else if (!ok) s.badBodies++;
        if ((a.status < 200 || a.status >= 300 || !ok) && s.failures.length < 5)
          s.failures.push(`${kind}: ${a.status} ${a.body.slice(0, 200).replace(/\s+/g, ' ')}`);
      });
    }

    // Memory: sampled every few seconds for the whole run.
    const t0 = performance.now();
    const rss: { tMin: number; mb: number }[] = [];
    const sampleRss = () => {
      const mb = rssMb(pid);
      if (mb !== undefined) rss.push({ tMin: (performance.now() - t0) / 60_000, mb });
    };
    sampleRss();
    const rssTimer = setInterval(sampleRss, RSS_EVERY_MS);

    console.log(`soak: ${rate} req/s for ${durationS} s, at most ${connections} in flight…`);
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    let gatewayDied = false;
    const endAt = t0 + durationS * 1000;
    let lastReport = t0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        if (!isRunning(server.child)) {
          gatewayDied = true;
          clearInterval(tick);
          return resolve();
        }
        // Every request whose scheduled time has come starts now, stamped with that time.
        const due = Math.min(Math.floor(((Math.min(now, endAt) - t0) / 1000) * rate), Math.ceil(durationS * rate));
        while (sent < due) {
          const scheduled = t0 + (sent * 1000) / rate;
          sent++;
          const p = one(chooseKind(), scheduled).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        if (now - lastReport >= 10_000) {
          lastReport = now;
          const last = rss.at(-1);
          console.log(
            `  ${Math.round((now - t0) / 1000)} s: ${overall.count} done, ${inFlight.size} in flight, ` +
              `${overall.non2xx + overall.badBodies + overall.timeouts + overall.netErrors} errors, ` +
              `RSS ${last ? last.mb.toFixed(1) : '?'} MB`,
          );
        }
        if (now >= endAt) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
    await Promise.all([...inFlight]);
    const elapsedS = (performance.now() - t0) / 1000;
    clearInterval(rssTimer);
    sampleRss();

    // The gateway must still answer after the run.
    let aliveAfter = false;
    if (!gatewayDied) {
      try {
        aliveAfter = (await request(agent, server.url, 'GET', '/check-server')).body.includes('"selectedServer":true');
      } catch {
        aliveAfter = false;
      }
    }

    const fmt = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(1));
    const rows = [...byKind.entries(), ['overall', overall] as const];
    console.log('\nkind            requests   p50 ms   p99 ms   max ms   non2xx  bad body  timeout  net err');
    for (const [kind, s] of rows) {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      console.log(
        `${kind.padEnd(14)} ${String(s.count).padStart(9)} ${fmt(percentile(sorted, 50)).padStart(8)} ${fmt(percentile(sorted, 99)).padStart(8)} ${fmt(sorted.at(-1) ?? NaN).padStart(8)} ${String(s.non2xx).padStart(8)} ${String(s.badBodies).padStart(9)} ${String(s.timeouts).padStart(8)} ${String(s.netErrors).padStart(8)}`,
      );
    }
    const sortedLags = lags.sort((a, b) => a - b);
    console.log(
      `\nachieved ${(overall.count / elapsedS).toFixed(1)} req/s of ${rate} scheduled over ${elapsedS.toFixed(1)} s; ` +
        `start lag behind schedule p50 ${fmt(percentile(sortedLags, 50))} ms, p99 ${fmt(percentile(sortedLags, 99))} ms, max ${fmt(sortedLags.at(-1) ?? NaN)} ms`,
    );
    const failures = [...byKind.values()].flatMap((s) => s.failures).slice(0, 10);
    if (failures.length > 0) console.log(`first failures:\n  ${failures.join('\n  ')}`);

    // Memory growth after warm-up (the first 20 % of the run, at least 10 s, while caches and JIT settle).
    const warmMin = Math.max(10 / 60, (durationS / 60) * 0.2);
    const warm = rss.filter((p) => p.tMin >= warmMin);
    const mbs = rss.map((p) => p.mb);
    if (rss.length > 0) {
      console.log(
        `gateway RSS: start ${fmt(mbs[0] as number)} MB, end ${fmt(mbs.at(-1) as number)} MB, max ${fmt(Math.max(...mbs))} MB, ` +
          `slope after ${fmt(warmMin * 60)} s warm-up ${slopePerMin(warm).toFixed(2)} MB/min (${warm.length} samples)`,
      );
    } else console.log('gateway RSS: not available (no /proc on this system)');

    if (gatewayDied) {
      console.error(`\nthe gateway exited during the soak:\n${tail(server.child.output())}`);
      return 1;
    }
    if (!aliveAfter) {
      console.error('\nthe gateway no longer answers /check-server after the soak');
      return 1;
    }
    return 0;
  } finally {
    agent.destroy();
    if (gw) await stopChild(gw.child);
    if (values['keep-data']) console.log(`data kept in ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
