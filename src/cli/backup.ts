/**
 * `wmx backup FILE`: a consistent copy of the SQLite database, taken while gateways write to it,
 * through SQLite's online backup API (better-sqlite3's `backup`). It never migrates, writes to or
 * locks out the source: it reads it as one more WAL reader, which writers do not wait for.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** A backup that was refused before anything was written (exit 2). */
export class BackupRefused extends Error {}

export interface BackupResult {
  source: string;
  file: string;
  bytes: number;
  durationMs: number;
  /** Rows in the copy. */
  counts: {
    payments: number;
    refunds: number;
    ledger_transfers: number;
    ledger_postings: number;
    webhook_events: number;
  };
  /** The newest migration the copy holds. */
  migration: string | null;
}

/**
 * The whole database in one backup step: SQLite restarts a step-wise backup whenever another
 * connection writes between two steps, which on a busy gateway could go on for ever, while one step
 * reads a single snapshot (WAL writers do not wait for it).
 */
const ALL_PAGES = 0x7fffffff;

const COUNTED = ['payments', 'refunds', 'ledger_transfers', 'ledger_postings', 'webhook_events'] as const;

export async function backupSqlite(
  databaseUrl: string,
  target: string,
  opts: { force: boolean },
): Promise<BackupResult> {
  if (!databaseUrl.startsWith('sqlite:')) {
    throw new BackupRefused(
      'the database is PostgreSQL: back it up with pg_dump (e.g. pg_dump --format=custom --file=wmx.dump "$WMX_DATABASE_URL"); wmx backup copies SQLite databases only',
    );
  }
  const sourceName = databaseUrl.slice('sqlite:'.length);
  if (sourceName === ':memory:') throw new BackupRefused('the database is in memory: there is nothing to copy');
  const source = path.resolve(sourceName);
  if (!fs.statSync(source, { throwIfNoEntry: false })?.isFile()) {
    throw new BackupRefused(`there is no SQLite database at ${source} (WMX_DATABASE_URL)`);
  }
  const file = path.resolve(target);
  const dir = path.dirname(file);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new BackupRefused(`the folder ${dir} does not exist`);
  }
  const existing = fs.statSync(file, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new BackupRefused(`${file} is a folder; name the file to write`);
  // Renaming a copy over the live database (or its WAL) would cut the running gateway off its data.
  const real = (p: string) => path.join(fs.realpathSync(path.dirname(p)), path.basename(p));
  const live = [source, `${source}-wal`, `${source}-shm`, `${source}-journal`].map(real);
  if (live.includes(real(file))) throw new BackupRefused(`${file} is the live database itself (or one of its files)`);
  if (existing && !opts.force) throw new BackupRefused(`${file} exists; pass --force to replace it`);

  const started = performance.now();
  // Same folder, so the final rename is atomic; a copy cut short never carries the name.
  const partial = path.join(dir, `${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.partial`);
  try {
    // Owner-only from the first byte: the copy holds customers' details and sealed merchant secrets.
    fs.writeFileSync(partial, '', { mode: 0o600, flag: 'wx' });
    const src = new Database(source, { fileMustExist: true });
    try {
      src.pragma('busy_timeout = 10000');
      src.pragma('query_only = ON');
      await src.backup(partial, { progress: () => ALL_PAGES });
    } finally {
      src.close();
    }
    const { counts, migration } = checkCopy(partial);
    fsyncPath(partial);
    if (!opts.force && fs.existsSync(file)) throw new BackupRefused(`${file} appeared meanwhile; nothing replaced`);
    fs.renameSync(partial, file);
    fsyncPath(dir);
    return {
      source,
      file,
      bytes: fs.statSync(file).size,
      durationMs: Math.round(performance.now() - started),
      counts,
      migration,
    };
  } catch (e) {
    fs.rmSync(partial, { force: true });
    fs.rmSync(`${partial}-journal`, { force: true });
    throw e;
  }
}

/**
 * Opens the copy as the gateway would, makes it one self-contained file (rollback journal, so no
 * -wal or -shm has to travel with it; the gateway turns WAL back on when it opens it), checks its
 * structure and counts its rows.
 */
function checkCopy(file: string): Pick<BackupResult, 'counts' | 'migration'> {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy failed SQLite's quick_check: ${String(check)}`);
    const count = (table: string) =>
      Number((db.prepare(`select count(*) as n from ${table}`).get() as { n: number | bigint }).n);
    const counts = Object.fromEntries(COUNTED.map((t) => [t, count(t)])) as BackupResult['counts'];
    const last = db.prepare('select max(name) as name from kysely_migration').get() as { name: string | null };
    return { counts, migration: last.name };
  } finally {
    db.close();
  }
}

/** Makes a file's content, or a folder's entries (the rename), durable. */
function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function formatBackup(r: BackupResult): string[] {
  const size =
    r.bytes >= 1024 * 1024 ? `${(r.bytes / 1024 / 1024).toFixed(1)} MiB` : `${(r.bytes / 1024).toFixed(1)} KiB`;
  const rows: [string, number | string][] = [
    ['payments', r.counts.payments],
    ['refunds', r.counts.refunds],
    ['ledger transfers', r.counts.ledger_transfers],
    ['ledger postings', r.counts.ledger_postings],
    ['webhook events', r.counts.webhook_events],
    ['migration', r.migration ?? 'none'],
  ];
  return [
    `Backup of ${r.source} written to ${r.file}: ${size} (${r.bytes} bytes) in ${r.durationMs} ms; quick_check ok.`,
    ...rows.map(([k, v]) => `  ${k.padEnd(17)} ${v}`),
  ];
}
