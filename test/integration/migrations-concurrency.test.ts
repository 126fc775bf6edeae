/**
 * On a shared PostgreSQL database, the gateway's start (migrations) must not fail because some other
 * schema is being dropped at that moment: Kysely's migrator looks at every schema's tables first,
 * and that look fails while a concurrent DROP SCHEMA … CASCADE is in progress (seen in CI, where
 * test files drop their schemas side by side).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { dropPgSchema, ensurePgSchema, openDatabase } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrations.js';

const pgUrl = process.env.WMX_TEST_PG_URL;

describe(
  'migrations while other schemas come and go (postgres)',
  { skip: pgUrl ? false : 'WMX_TEST_PG_URL not set' },
  () => {
    it('every migration run succeeds while two clients keep creating and dropping schemas', async () => {
      const url = pgUrl!; // the suite is skipped without it
      const tag = crypto.randomBytes(4).toString('hex');
      let stop = false;
      const churn = async (id: number) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          for (let i = 0; !stop; i++) {
            const name = `churn_${tag}_${id}_${i}`;
            await c.query(
              `create schema ${name}; create table ${name}.a (x int, y text); create table ${name}.b (x int)`,
            );
            await c.query(`drop schema ${name} cascade`);
          }
        } finally {
          await c.end();
        }
      };
      const churners = [churn(1), churn(2)];
      const failures: string[] = [];
      try {
        for (let k = 0; k < 8; k++) {
          const schema = `t_${tag}_m${k}`;
          await ensurePgSchema(url, schema);
          const db = openDatabase(url, { pgSchema: schema, pgPoolSize: 2 });
          try {
            await migrateToLatest(db.kysely, 'postgres');
          } catch (e) {
            failures.push(String(e));
          } finally {
            await db.close();
            await dropPgSchema(url, schema);
          }
        }
      } finally {
        stop = true;
        await Promise.all(churners);
      }
      assert.deepEqual(failures, []);
    });
  },
);
