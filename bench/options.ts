import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './servers.js';

export interface BenchOptions {
  durationS: number;
  warmupS: number;
  connections: number;
  poolSize: number;
  /** A PostgreSQL URL whose server gets a scratch database; undefined = SQLite. */
  pgUrl: string | undefined;
  mainJs: string;
  out: string;
  keepData: boolean;
  /** Before each endpoint, wait up to this many seconds for other processes to go quiet (0 = don't). */
  waitQuietS: number;
  /** With --pg: Redis for the rows with the shared limits in Redis; undefined = leave those rows out. */
  redisUrl: string | undefined;
  /** With --pg: gateway processes for the several-instances rows (0 or 1 = leave them out). */
  instances: number;
}

/** The Redis the --pg run tries for its Redis rows unless --redis says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export const USAGE = `Usage: npm run bench -- [options]
  --duration N      seconds of load per endpoint (env BENCH_DURATION, default 10)
  --warmup N        seconds of warm-up per endpoint, not measured (env BENCH_WARMUP, default 3)
  --connections N   concurrent connections (env BENCH_CONNECTIONS, default 50)
  --pool N          payments created up front for check-payment (env BENCH_POOL, default 500)
  --pg URL          run the gateway on PostgreSQL: a scratch database bench_<random> is created on
                    URL's server and dropped afterwards (env BENCH_PG_URL), e.g.
                    postgres://postgres@127.0.0.1:5432/test
  --redis URL       with --pg: Redis for the rows with the shared rate limits in Redis (env
                    BENCH_REDIS_URL, default ${DEFAULT_REDIS_URL}; "off" leaves them out; left out
                    with a note when it does not answer)
  --instances N     with --pg: gateway processes on the one database for the several-instances rows
                    (env BENCH_INSTANCES, default 3; 0 or 1 leaves them out)
  --gateway FILE    the gateway entry point (env BENCH_GATEWAY, default dist/main.js)
  --out FILE        JSON results (default bench/results/latest.json)
  --keep-data       keep the temp data directory
  --wait-quiet N    before each endpoint wait up to N s until other processes use < 0.15 cores
                    (env BENCH_WAIT_QUIET, default 0 = don't wait); for shared machines
  --help`;

export function positive(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${text}"`);
  return n;
}

export function parseBenchOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      pool: { type: 'string' },
      pg: { type: 'string' },
      gateway: { type: 'string' },
      out: { type: 'string' },
      'keep-data': { type: 'boolean' },
      'wait-quiet': { type: 'string' },
      redis: { type: 'string' },
      instances: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const pgUrl = values.pg ?? env.BENCH_PG_URL;
  if (pgUrl !== undefined && pgUrl !== '' && !/^postgres(ql)?:\/\//.test(pgUrl))
    throw new Error(`--pg needs a postgres:// URL, got "${pgUrl}"`);
  const onPg = pgUrl !== undefined && pgUrl !== '';
  // The flags (not the environment, which may be set for every run) are refused without --pg.
  if (!onPg && (values.redis !== undefined || values.instances !== undefined))
    throw new Error('--redis and --instances measure shared PostgreSQL setups: they need --pg');
  const redisText = (values.redis ?? env.BENCH_REDIS_URL ?? DEFAULT_REDIS_URL).trim();
  const redisUrl = redisText === '' || redisText === 'off' ? undefined : redisText;
  if (onPg && redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl))
    throw new Error(`--redis needs a redis:// URL or "off", got "${redisText}"`);
  return {
    durationS: positive('--duration', values.duration ?? env.BENCH_DURATION, 10),
    warmupS: positive('--warmup', values.warmup ?? env.BENCH_WARMUP, 3, true),
    connections: positive('--connections', values.connections ?? env.BENCH_CONNECTIONS, 50),
    poolSize: positive('--pool', values.pool ?? env.BENCH_POOL, 500),
    pgUrl: pgUrl === '' ? undefined : pgUrl,
    mainJs: path.resolve(values.gateway ?? env.BENCH_GATEWAY ?? path.join(REPO_ROOT, 'dist', 'main.js')),
    out: path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'latest.json')),
    keepData: values['keep-data'] ?? false,
    waitQuietS: positive('--wait-quiet', values['wait-quiet'] ?? env.BENCH_WAIT_QUIET, 0, true),
    redisUrl: onPg ? redisUrl : undefined,
    instances: onPg ? positive('--instances', values.instances ?? env.BENCH_INSTANCES, 3, true) : 0,
  };
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryMb: number;
  os: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.platform()} ${os.release()}`,
    node: process.version,
  };
}

/** The commit measured and whether src/ (tracked or not) differs from it (read-only git calls). */
export function gitInfo(cwd: string): { commit: string | null; dirty: boolean | null } {
  const run = (args: string[]) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const commit = run(['rev-parse', 'HEAD']);
  const status = run(['status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json']);
  return { commit, dirty: status === null ? null : status !== '' };
}
