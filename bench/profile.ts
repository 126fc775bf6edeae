// CPU profile of the gateway under load, one endpoint per profile:
//   npm run build && node --import tsx bench/profile.ts [--duration N] [--pg URL] [--top N]
// Each endpoint gets its own gateway process started with `node --cpu-prof` (on the same data dir,
// so the demo merchant and the token pool carry over); SIGTERM makes it exit cleanly and V8 writes
// the profile, which is then summarised by bench/cpuprofile.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary, readProfile, summarise } from './cpuprofile.js';
import { failed, gatewayTargets, measure } from './load.js';
import type { PidSource } from './cpu-monitor.js';
import { positive } from './options.js';
import { stopChild, type Child } from './processes.js';
import { REPO_ROOT, createScratchDatabase, createTokenPool, startGateway, type DemoMerchant } from './servers.js';

const ENDPOINTS = ['init-payment-process', 'check-payment'] as const;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      pool: { type: 'string' },
      pg: { type: 'string' },
      gateway: { type: 'string' },
      top: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const durationS = positive('--duration', values.duration ?? process.env.BENCH_DURATION, 10);
  const warmupS = positive('--warmup', values.warmup, 2, true);
  const connections = positive('--connections', values.connections, 50);
  const poolSize = positive('--pool', values.pool, 500);
  const top = positive('--top', values.top, 20);
  const mainJs = path.resolve(values.gateway ?? path.join(REPO_ROOT, 'dist', 'main.js'));
  const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'profiles'));
  fs.mkdirSync(outDir, { recursive: true });

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-prof-'));
  let databaseUrl = `sqlite:${path.join(dataDir, 'wmx.db')}`;
  let drop: (() => Promise<void>) | undefined;
  let dbPids: PidSource | undefined;
  let child: Child | undefined;
  let broken = false;
  try {
    if (values.pg) {
      const scratch = await createScratchDatabase(values.pg);
      drop = scratch.drop;
      dbPids = scratch.backendPids;
      databaseUrl = scratch.url;
    }
    // An unprofiled start creates the demo merchant and the payments check-payment reads.
    const setup = await startGateway({ mainJs, dataDir, databaseUrl });
    child = setup.child;
    const merchant: DemoMerchant = setup.merchant;
    const tokens = await createTokenPool(setup.url, merchant, poolSize);
    await stopChild(setup.child);

    for (const endpoint of ENDPOINTS) {
      const name = `${endpoint}-${values.pg ? 'pg' : 'sqlite'}.cpuprofile`;
      const file = path.join(outDir, name);
      fs.rmSync(file, { force: true });
      const gw = await startGateway({
        mainJs,
        dataDir,
        databaseUrl,
        name: `gateway (profiling ${endpoint})`,
        nodeArgs: ['--cpu-prof', '--cpu-prof-dir', outDir, '--cpu-prof-name', name],
      });
      child = gw.child;
      const target = gatewayTargets(gw.url, merchant, tokens, gw.child.proc.pid, dbPids).find(
        (t) => t.name === endpoint,
      )!; // listed above
      if (warmupS > 0) await measure(target, { connections, durationS: warmupS });
      const m = await measure(target, { connections, durationS });
      await stopChild(gw.child);
      if (failed(m)) {
        broken = true;
        process.stdout.write(
          `${endpoint}: FAILURES (${m.badBodies} bad bodies, ${m.non2xx} non-2xx, ${m.errors} errors)\n`,
        );
      }
      if (!fs.existsSync(file)) throw new Error(`the gateway wrote no profile at ${file}`);
      process.stdout.write(
        `\n=== ${endpoint} (${values.pg ? 'postgres' : 'sqlite'}): ${Math.round(m.reqPerSec)} req/s, ` +
          `p99 ${m.latencyMs.p99} ms while profiled (gateway ${m.cpu.server?.toFixed(2) ?? '-'} cores, ` +
          `${m.cpu.database === null ? '' : `postgres ${m.cpu.database.toFixed(2)}, `}` +
          `autocannon ${m.cpu.client?.toFixed(2) ?? '-'}, other ${m.cpu.other?.toFixed(2) ?? '-'}) — ${path.relative(REPO_ROOT, file)}\n`,
      );
      process.stdout.write(formatSummary(summarise(readProfile(file)), top) + '\n');
    }
  } finally {
    if (child) await stopChild(child);
    if (drop) await drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return broken ? 1 : 0;
}

process.on('SIGINT', () => process.exit(130)); // the 'exit' hook in processes.ts kills the gateway

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`profile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
