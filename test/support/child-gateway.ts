/**
 * A gateway run as a child process (`node --import tsx src/main.ts`) on a scratch database, for
 * the tests that kill it (crash-safety, crash-rails): starting and SIGKILLing it, the `wmx` CLI
 * against the same database, a seeded RNG for the kill schedule, and read-only SQL.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { dropPgSchema, ensurePgSchema } from '../../src/store/db.js';
import { freePort, type DialectName } from './harness.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'main.ts');
const CLI = path.join(ROOT, 'src', 'cli', 'wmx.ts');
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

/** A scratch database (a SQLite file or a PostgreSQL schema) and the environment a child runs with. */
export async function childSetup(dialect: DialectName, extraEnv: Record<string, string> = {}) {
  const pgUrl = process.env.WMX_TEST_PG_URL;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-crash-'));
  let dbUrl = `sqlite:${path.join(dir, 'wmx.db')}`;
  let pgSchema: string | undefined;
  if (dialect === 'postgres') {
    if (!pgUrl) throw new Error('WMX_TEST_PG_URL is not set');
    pgSchema = `t_${crypto.randomBytes(6).toString('hex')}`;
    await ensurePgSchema(pgUrl, pgSchema);
    // main.ts has no schema option: select the schema through libpq's `options` URL parameter.
    dbUrl = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${pgSchema}`)}`;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('WMX_') && e[1] !== undefined),
  );
  const env: NodeJS.ProcessEnv = {
    ...inherited,
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
      const c = spawnGateway(env);
      child = c;
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!/listening on http:\/\//.test(c.output())) {
        if (!running(c)) throw new Error(`gateway exited while starting:\n${c.output().slice(-3000)}`);
        if (Date.now() > deadline) {
          await killHard(c);
          throw new Error(`gateway not ready after ${START_TIMEOUT_MS} ms:\n${c.output().slice(-3000)}`);
        }
        await sleep(50);
      }
    },
    kill: () => killHard(child),
    /** The wmx CLI against the same database. */
    wmx(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', CLI, ...args],
          { cwd: ROOT, env, timeout: 30_000 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      });
    },
    async cleanup(): Promise<void> {
      for (const p of [...live]) p.kill('SIGKILL');
      await killHard(child);
      if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
