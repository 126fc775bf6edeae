/**
 * A migration is all or nothing: a process killed (or failing) in the middle of one must leave the
 * database as it was, so that the next start runs it again. On SQLite the migrator once ran each
 * statement on its own, and a kill during the first start left tables made but unrecorded: every
 * later start then failed on "table already exists".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { dropPgSchema, ensurePgSchema, openDatabase, type Db } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { dialects } from '../support/harness.js';

const pgUrl = process.env.WMX_TEST_PG_URL;

async function openScratch(
  dialect: 'sqlite' | 'postgres',
  dir: string,
): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const db = openDatabase(`sqlite:${path.join(dir, `m-${crypto.randomBytes(4).toString('hex')}.db`)}`);
    return { db, drop: async () => undefined };
  }
  const schema = `t_atomic_${crypto.randomBytes(4).toString('hex')}`;
  await ensurePgSchema(pgUrl!, schema); // dialects() lists postgres only with the URL
  const db = openDatabase(pgUrl!, { pgSchema: schema, pgPoolSize: 2 });
  return { db, drop: () => dropPgSchema(pgUrl!, schema) };
}

/** The tables of this database (SQLite) or of this connection's schema (PostgreSQL, shared with other tests). */
async function tableNames(db: Db): Promise<string[]> {
  const q =
    db.dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`
      : sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = current_schema()`;
  return (await q.execute(db.kysely)).rows.map((r) => r.name).sort();
}

for (const dialect of dialects()) {
  describe(`migrations are all or nothing (${dialect})`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-migr-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('a migration that fails after its first statement leaves nothing behind, and runs again in full', async () => {
      const { db, drop } = await openScratch(dialect, dir);
      try {
        let fail = true;
        const set = {
          '0001_two_tables': {
            async up(k: Kysely<unknown>) {
              await k.schema
                .createTable('first_t')
                .addColumn('id', 'text', (c) => c.primaryKey())
                .execute();
              await sql`insert into first_t (id) values ('a')`.execute(k);
              if (fail) throw new Error('killed here');
              await k.schema
                .createTable('second_t')
                .addColumn('id', 'text', (c) => c.primaryKey())
                .execute();
            },
          },
        };
        await assert.rejects(migrateToLatest(db.kysely, dialect, set), /0001_two_tables failed/);
        const left = (await tableNames(db)).filter((n) => !n.startsWith('kysely_'));
        assert.deepEqual(left, [], 'a failed migration left tables behind');
        fail = false;
        assert.deepEqual(await migrateToLatest(db.kysely, dialect, set), ['0001_two_tables']);
        assert.deepEqual(
          (await tableNames(db)).filter((n) => !n.startsWith('kysely_')),
          ['first_t', 'second_t'],
        );
      } finally {
        await db.close();
        await drop();
      }
    });

    if (dialect === 'sqlite') {
      it('`wmx migrate` killed at any moment of a first run leaves a database the next run completes', async () => {
        const cli = path.resolve('src/cli/wmx.ts');
        for (const delayMs of [0, 5, 10, 20, 40, 80, 160]) {
          const file = path.join(dir, `kill-${delayMs}.db`);
          const env = { ...process.env, WMX_DATABASE_URL: `sqlite:${file}` };
          const child = spawn(process.execPath, ['--import', 'tsx', cli, 'migrate'], { env, stdio: 'ignore' });
          const exited = new Promise((r) => child.on('exit', r));
          // Kill once the file exists (migrations have begun), after the given delay.
          while (!fs.existsSync(file) && child.exitCode === null) await new Promise((r) => setTimeout(r, 1));
          await new Promise((r) => setTimeout(r, delayMs));
          child.kill('SIGKILL');
          await exited;
          const db = openDatabase(`sqlite:${file}`);
          try {
            await migrateToLatest(db.kysely, 'sqlite'); // throws on "table already exists"
            const tables = await tableNames(db);
            assert.ok(tables.includes('payments') && tables.includes('merchants'), `after a kill at ${delayMs} ms`);
          } finally {
            await db.close();
          }
        }
      });
    }
  });
}
