import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, type DialectAdapter } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { DEFAULT_WAL_SIZE_LIMIT, startCheckpointer } from './sqlite-checkpointer.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  readonly dialect: Dialect;
  readonly kysely: Kysely<Database>;
  /** The raw better-sqlite3 handle (SQLite only); used for group commit. */
  readonly sqlite?: SqliteDatabase.Database;
  /**
   * A second, read-only connection (SQLite only) for the hot reads. It sees committed data only:
   * the main connection may be inside a transaction, between two awaits, when a request reads.
   */
  readonly sqliteReader?: SqliteDatabase.Database;
  /** The PostgreSQL pool (PostgreSQL only), for named prepared statements on hot reads. */
  readonly pgPool?: pg.Pool;
  /** PostgreSQL only: a new client outside the pool, on the same schema (for LISTEN). */
  readonly pgClient?: () => pg.Client;
  /** SQLite file databases: commits whose fsync happens off the event loop (see createWalSync). */
  readonly walSync?: WalSync;
  close(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL schema to use (created if missing); tests use one per file. */
  pgSchema?: string;
  pgPoolSize?: number;
  /** SQLite: checkpoint the WAL on a worker thread instead of inside commits (the server does). */
  backgroundCheckpoints?: boolean;
}

/** Opens the database named by a WMX_DATABASE_URL: `sqlite:<path>` or `postgres://…`. */
export function openDatabase(url: string, opts: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), opts);
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, opts);
  throw new Error(`unsupported database URL: ${url}`);
}

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it cannot, so its migrator ran
 * every statement of a migration on its own: a process killed in the middle (first start, upgrade)
 * left tables made and the migration unrecorded, and every later start failed on "table already
 * exists". Saying so makes the migrator run the pending migrations in one transaction (taken with
 * BEGIN IMMEDIATE, see `prepare` below, so a second process waits and then finds them done).
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

function openSqlite(file: string, opts: DbOptions): Db {
  const inMemory = file === ':memory:';
  if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  // WAL for concurrent readers; synchronous=FULL so every commit is durable (fsync of the WAL).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 10000');
  // A WAL that grew under a burst is cut back to this size when it next restarts (the checkpoint
  // worker raises it while it runs: see walSizeLimit).
  sqlite.pragma(`journal_size_limit = ${DEFAULT_WAL_SIZE_LIMIT}`);
  // Opened read-write but with query_only: a read-only connection cannot create or recover the WAL
  // index (-shm) should it need to; query_only makes it refuse writes all the same.
  const reader = inMemory ? sqlite : new SqliteDatabase(file);
  if (reader !== sqlite) {
    reader.pragma('busy_timeout = 10000');
    reader.pragma('query_only = ON');
  }
  const checkpointer =
    opts.backgroundCheckpoints && !inMemory ? startCheckpointer(sqlite, path.resolve(file)) : undefined;
  // Kysely prepares every query anew; preparing dominated the hot endpoints' CPU profile, so the
  // connection hands out cached statements (Kysely runs one query at a time on it, so reuse is safe).
  const statements = new Map<string, SqliteDatabase.Statement>();
  const cached = {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      // Kysely opens transactions with a deferred BEGIN. Another connection (the CLI, a second
      // process) may commit between a transaction's first read and its first write, and SQLite then
      // fails that write (SQLITE_BUSY_SNAPSHOT) instead of waiting: take the write lock up front.
      if (sqlText === 'begin') sqlText = 'begin immediate';
      let stmt = statements.get(sqlText);
      if (!stmt) {
        stmt = sqlite.prepare(sqlText);
        if (statements.size >= 500) statements.delete(statements.keys().next().value as string);
        statements.set(sqlText, stmt);
      }
      return stmt;
    },
  };
  const kysely = new Kysely<Database>({ dialect: new TransactionalDdlSqliteDialect({ database: cached }) });
  const walSync = inMemory ? undefined : createWalSync(sqlite, path.resolve(file) + '-wal');
  return {
    dialect: 'sqlite',
    kysely,
    sqlite,
    sqliteReader: reader,
    ...(walSync ? { walSync } : {}),
    close: async () => {
      await (await checkpointer)?.stop();
      walSync?.close();
      if (reader !== sqlite) reader.close();
      await kysely.destroy();
    },
  };
}

export interface WalSync {
  /** Runs `write` (one transaction) with synchronous=NORMAL: its COMMIT does not wait for the disk. */
  withoutSync<T>(write: () => T): T;
  /** Resolves once an fdatasync of the WAL that started after this call has completed. */
  afterSync(): Promise<void>;
  close(): void;
}

/**
 * Durable commits without blocking the event loop: a transaction committed under synchronous=NORMAL
 * has its WAL frames written but not synced; an fdatasync of the WAL file on libuv's thread pool,
 * started after the COMMIT, then makes it exactly as durable as synchronous=FULL would have. Linux
 * flushes a file's dirty pages whichever descriptor asks, and the WAL keeps its inode while any
 * connection is open (a checkpoint fsyncs what it copies before the WAL may restart). One sync
 * serves every caller that asked before it started; callers arriving during a sync share the next.
 */
function createWalSync(sqlite: SqliteDatabase.Database, walFile: string): WalSync {
  const normal = sqlite.prepare('PRAGMA synchronous = NORMAL');
  const full = sqlite.prepare('PRAGMA synchronous = FULL');
  type Waiter = { resolve: () => void; reject: (e: Error) => void };
  let fd: number | undefined;
  let waiting: Waiter[] = [];
  let syncing = false;

  const start = () => {
    syncing = true;
    const group = waiting;
    waiting = [];
    const done = (e: Error | null) => {
      syncing = false;
      for (const w of group) {
        if (e) w.reject(e);
        else w.resolve();
      }
      if (waiting.length > 0) start();
    };
    try {
      fd ??= fs.openSync(walFile, 'r');
    } catch (e) {
      done(e as Error);
      return;
    }
    fs.fdatasync(fd, done);
  };

  return {
    withoutSync(write) {
      normal.run();
      try {
        return write();
      } finally {
        full.run();
      }
    },
    afterSync() {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        if (!syncing) start();
      });
    },
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

function openPostgres(url: string, opts: DbOptions): Db {
  const schema = opts.pgSchema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const clientConfig = { connectionString: url, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
  const pool = new pg.Pool({ ...clientConfig, max: opts.pgPoolSize ?? 10 });
  // An idle client that errors (server restart) must not crash the process.
  pool.on('error', () => undefined);
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    dialect: 'postgres',
    kysely,
    pgPool: pool,
    pgClient: () => new pg.Client(clientConfig),
    close: () => kysely.destroy(),
  };
}

/** Creates a PostgreSQL schema (for tests and isolated deployments). */
export async function ensurePgSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create schema if not exists "${schema}"`);
  } finally {
    await client.end();
  }
}

export async function dropPgSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
