/**
 * The real `wmx` CLI run as a child process, and the scratch database it shares with a gateway (a
 * SQLite file, or a PostgreSQL schema selected for the child through libpq's `options`), for the
 * CLI suites and the tests that run the gateway as a child (child-gateway.ts).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { dropPgSchema, ensurePgSchema } from '../../src/store/db.js';
import type { DialectName, TestGateway } from './harness.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'src', 'cli', 'wmx.ts');

/**
 * How to start the CLI: src/cli/wmx.ts bundled once per test process with esbuild (tsx's own
 * compiler), as `node dist/cli/wmx.js` runs compiled code; its packages stay external, so the
 * bundle lives under node_modules to resolve them. Through tsx each run pays ~1 s of CPU compiling
 * and loading the sources (the connector suite starts the CLI some forty times per dialect: 58 s
 * through tsx, 18 s bundled, measured on this 2-core machine). Without esbuild, tsx.
 */
const BUNDLE_DIR = path.join(
  ROOT,
  'node_modules',
  '.cache',
  `wmx-cli-test-${process.pid}-${crypto.randomBytes(4).toString('hex')}`,
);
let cliArgv: Promise<string[]> | undefined;
export function cliCommand(): Promise<string[]> {
  cliArgv ??= (async () => {
    try {
      const esbuild = await import('esbuild');
      const outfile = path.join(BUNDLE_DIR, 'wmx.mjs');
      await esbuild.build({
        entryPoints: [CLI],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        outfile,
        logLevel: 'error',
      });
      process.once('exit', () => fs.rmSync(BUNDLE_DIR, { recursive: true, force: true }));
      return [outfile];
    } catch {
      return ['--import', 'tsx', CLI];
    }
  })();
  return cliArgv;
}

export interface CliResult {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wmx ARGS` with `env`; never rejects (a failed run is a non-zero code, -1 when killed). */
export async function runWmx(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  const argv = await cliCommand();
  return new Promise((resolve) => {
    execFile(process.execPath, [...argv, ...args], { cwd: ROOT, env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ args, code, stdout, stderr });
    });
  });
}

/** This process's environment without any WMX_ setting (a child gets only the ones a test gives it). */
export function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('WMX_') && e[1] !== undefined),
  );
}

/** A PostgreSQL URL whose sessions use `schema` (main.ts and wmx have no schema option: libpq's `options`). */
function pgUrlWithSchema(pgUrl: string, schema: string): string {
  return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** WMX_DATABASE_URL for a child process on the database of a gateway from startGateway. */
export async function childUrlOf(t: TestGateway): Promise<string> {
  if (t.dialect !== 'postgres') return `sqlite:${path.join(t.dataDir, 'wmx.db')}`;
  const r = await sql<{ s: string }>`select current_schema() as s`.execute(t.gw.db.kysely);
  return pgUrlWithSchema(process.env.WMX_TEST_PG_URL ?? '', r.rows[0]?.s ?? 'public');
}

export interface ScratchDatabase {
  /** A fresh directory (WMX_DATA_DIR; the SQLite file lives there). */
  dir: string;
  /** WMX_DATABASE_URL for a child process (main.ts, wmx): it has no schema option. */
  childUrl: string;
  /** WMX_DATABASE_URL for a gateway in this process, which takes `pgSchema` as an option. */
  inProcessUrl: string;
  pgSchema?: string;
  /** Drops the schema and removes the directory. */
  drop(): Promise<void>;
}

export async function scratchDatabase(dialect: DialectName, prefix: string): Promise<ScratchDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const sqliteUrl = `sqlite:${path.join(dir, 'wmx.db')}`;
  const drop = async (pgUrl?: string, pgSchema?: string) => {
    if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (dialect !== 'postgres') return { dir, childUrl: sqliteUrl, inProcessUrl: sqliteUrl, drop: () => drop() };
  const pgUrl = process.env.WMX_TEST_PG_URL;
  if (!pgUrl) throw new Error('WMX_TEST_PG_URL is not set');
  const pgSchema = `t_${crypto.randomBytes(6).toString('hex')}`;
  await ensurePgSchema(pgUrl, pgSchema);
  return {
    dir,
    childUrl: pgUrlWithSchema(pgUrl, pgSchema),
    inProcessUrl: pgUrl,
    pgSchema,
    drop: () => drop(pgUrl, pgSchema),
  };
}
