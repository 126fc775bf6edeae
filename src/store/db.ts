import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  readonly dialect: Dialect;
  readonly kysely: Kysely<Database>;
  /** The raw better-sqlite3 handle (SQLite only); used for group commit. */
  readonly sqlite?: SqliteDatabase.Database;
  close(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL schema to use (created if missing); tests use one per file. */
  pgSchema?: string;
  pgPoolSize?: number;
}

/** Opens the database named by a WMX_DATABASE_URL: `sqlite:<path>` or `postgres://…`. */
export function openDatabase(url: string, opts: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, opts);
  throw new Error(`unsupported database URL: ${url}`);
}

function openSqlite(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  // WAL for concurrent readers; synchronous=FULL so every commit is durable (fsync of the WAL).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 10000');
  // Kysely prepares every query anew; preparing dominated the hot endpoints' CPU profile, so the
  // connection hands out cached statements (Kysely runs one query at a time on it, so reuse is safe).
  const statements = new Map<string, SqliteDatabase.Statement>();
  const cached = {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let stmt = statements.get(sqlText);
      if (!stmt) {
        stmt = sqlite.prepare(sqlText);
        if (statements.size >= 500) statements.delete(statements.keys().next().value as string);
        statements.set(sqlText, stmt);
      }
      return stmt;
    },
  };
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
  return {
    dialect: 'sqlite',
    kysely,
    sqlite,
    close: () => kysely.destroy(),
  };
}

function openPostgres(url: string, opts: DbOptions): Db {
  const schema = opts.pgSchema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.pgPoolSize ?? 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client that errors (server restart) must not crash the process.
  pool.on('error', () => undefined);
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { dialect: 'postgres', kysely, close: () => kysely.destroy() };
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
