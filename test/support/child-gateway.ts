/**
 * A gateway run as a child process (`node --import tsx src/main.ts`) on a scratch database, for
 * the tests that kill it (crash-safety, crash-rails): starting and SIGKILLing it (now, or at random
 * while traffic runs), the `wmx` CLI against the same database, a seeded RNG for the kill schedule,
 * a browser that reloads while the gateway is down, and read-only SQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ROOT, inheritedEnv, runWmx, scratchDatabase, type CliResult } from './cli.js';
import { freePort, type DialectName } from './harness.js';

export { ROOT };
const MAIN = path.join(ROOT, 'src', 'main.ts');
const START_TIMEOUT_MS = 30_000;

/** mulberry32: a small seeded RNG, so a failing kill schedule can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** WMX_CRASH_SEED when set (to replay a run), else a fresh one. */
export const crashSeed = (): number =>
  process.env.WMX_CRASH_SEED ? Number(process.env.WMX_CRASH_SEED) : crypto.randomInt(1, 2 ** 31);

/**
 * A browser request (redirects not followed), retried every 100 ms while the gateway is down or
 * answers 5xx, for `patience` ms (0: one try); undefined when it never answered.
 */
export async function browseWhileDown(url: string, init: RequestInit = {}, patience = 8_000) {
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

export interface GatewayChild {
  proc: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

/** Every child this file started, so after() (and process exit) can end them all. */
export const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function spawnGateway(env: NodeJS.ProcessEnv): GatewayChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  const append = (c: Buffer) => {
    out += c.toString('utf8');
    if (out.length > 32_000) out = out.slice(-32_000);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      live.delete(proc);
      resolve();
    });
    proc.once('error', () => {
      live.delete(proc);
      resolve();
    });
  });
  return { proc, exited, output: () => out };
}

export const running = (c: GatewayChild): boolean => c.proc.exitCode === null && c.proc.signalCode === null;

export async function killHard(c: GatewayChild | undefined): Promise<void> {
  if (c === undefined || !running(c)) return;
  c.proc.kill('SIGKILL');
  await Promise.race([c.exited, sleep(10_000)]);
}

/** What killAtRandom needs of a child: childSetup's start and kill. */
export interface Killable {
  start(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Runs `traffic` while SIGKILLing the gateway every 0.7–2.2 s (seeded by `random`) and starting it
 * again, until `lastKillBy` (ms since epoch) or the traffic ends; then kills it once more and starts
 * it, so whatever the traffic left in flight is also cut. Resolves with how many kills there were.
 * `onKill` sees each kill just before it happens (to note what was in flight).
 */
export async function killAtRandom(
  g: Killable,
  random: () => number,
  lastKillBy: number,
  traffic: Promise<unknown>,
  onKill: () => void = () => undefined,
): Promise<number> {
  let stopping = false;
  const killer = async () => {
    let done = 0;
    while (!stopping && Date.now() < lastKillBy) {
      await sleep(700 + Math.floor(random() * 1_500));
      if (stopping) break;
      onKill();
      await g.kill();
      done++;
      await g.start();
    }
    return done;
  };
  const killing = killer();
  const failed = await traffic.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  stopping = true;
  const kills = await killing;
  if (failed) throw failed.error;
  onKill();
  await g.kill();
  await g.start();
  return kills + 1;
}

/** Read-only SQL against the gateway's database (same text for both dialects). */
export interface Inspector {
  rows<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export async function openInspector(dialect: 'sqlite' | 'postgres', url: string): Promise<Inspector> {
  if (dialect === 'sqlite') {
    const db = new Database(url.replace(/^sqlite:/, ''), { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return {
      rows: <T>(sql: string) => Promise.resolve(db.prepare(sql).all() as T[]),
      close: () => Promise.resolve(void db.close()),
    };
  }
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    rows: async <T>(sql: string) => (await client.query(sql)).rows as T[],
    close: () => client.end(),
  };
}

/** Spawns a gateway and waits until it listens (or throws with its output). */
export async function startChild(env: NodeJS.ProcessEnv): Promise<GatewayChild> {
  const c = spawnGateway(env);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!/listening on http:\/\//.test(c.output())) {
    if (!running(c)) throw new Error(`gateway exited while starting:\n${c.output().slice(-3000)}`);
    if (Date.now() > deadline) {
      await killHard(c);
      throw new Error(`gateway not ready after ${START_TIMEOUT_MS} ms:\n${c.output().slice(-3000)}`);
    }
    await sleep(50);
  }
  return c;
}

/** A scratch database (a SQLite file or a PostgreSQL schema) and the environment a child runs with. */
export async function childSetup(dialect: DialectName, extraEnv: Record<string, string> = {}) {
  const db = await scratchDatabase(dialect, 'wmx-crash-');
  const { dir } = db;
  const dbUrl = db.childUrl;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    PORT: String(port),
    WMX_HOST: '127.0.0.1',
    WMX_DATABASE_URL: dbUrl,
    WMX_DATA_DIR: dir,
    WMX_PUBLIC_URL: url,
    WMX_SECRET: crypto.randomBytes(32).toString('base64url'),
    WMX_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  let child: GatewayChild | undefined;
  return {
    dir,
    dbUrl,
    url,
    env,
    child: () => child,
    /** Starts the gateway and waits until it listens. */
    async start(): Promise<void> {
      child = await startChild(env);
    },
    kill: () => killHard(child),
    /** The wmx CLI against the same database. */
    wmx: (...args: string[]): Promise<CliResult> => runWmx(args, env, 30_000),
    async cleanup(): Promise<void> {
      for (const p of [...live]) p.kill('SIGKILL');
      await killHard(child);
      await db.drop();
    },
  };
}
