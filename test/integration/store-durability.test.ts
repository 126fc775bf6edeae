/**
 * The write and read paths behind the hot endpoints, as a merchant sees them over HTTP:
 * group-committed inits (committed, then the WAL synced off the event loop) are all answered, all
 * stored and all checkable; check-payment answers from committed data only; on SQLite the WAL is
 * checkpointed by the background worker, not inside commits, and everything reaches the database
 * file by the time the gateway stops.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { newId, newRefId } from '../../src/domain/ids.js';
import { DEFAULT_WAL_SIZE_LIMIT, RESTART_PAGES, startCheckpointer } from '../../src/store/sqlite-checkpointer.js';
import { credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import { assertInitOk, assertRecord, postUrlencoded, TOKEN_RE } from './protocol-helpers.js';

const ref = () => crypto.randomBytes(7).toString('hex').slice(0, 13);

describe('identifiers', () => {
  it('payment ids and ref_ids made later sort later, and keep their published shapes', async () => {
    const first = { id: newId('pay'), ref: newRefId() };
    await new Promise((r) => setTimeout(r, 1100)); // ref_id's time part counts seconds
    const later = { id: newId('pay'), ref: newRefId() };
    assert.ok(first.id < later.id, `${first.id} !< ${later.id}`);
    assert.ok(first.ref < later.ref, `${first.ref} !< ${later.ref}`);
    for (const x of [first, later]) {
      assert.match(x.id, /^pay_[0-9A-Za-z]{23}$/);
      assert.match(x.ref, /^[A-Za-z0-9]{15}$/); // PROTOCOL.md section 7
    }
    // Still unpredictable: many made in the same millisecond all differ.
    const same = new Set(Array.from({ length: 1000 }, () => newRefId()));
    assert.equal(same.size, 1000);
  });
});

for (const dialect of dialects()) {
  describe(`store: group commit and hot reads (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;

    before(async () => {
      // Bursts from one merchant on purpose: the per-merchant rate limits are tested elsewhere.
      t = await startGateway(dialect, { env: { WMX_RATE_INIT: 'off', WMX_RATE_CHECK: 'off' } });
      c = await t.createMerchant();
    });
    after(async () => t.close());

    const init = async (overrides: Record<string, string> = {}) =>
      postUrlencoded(`${t.url}/init-payment-process`, initFields(c, { merchant_ref_id: ref(), ...overrides }));
    const check = async (token: string) =>
      assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token }));

    it('a burst of concurrent inits is answered in full: distinct tokens, every one stored and checkable', async () => {
      const answers = await Promise.all(Array.from({ length: 150 }, () => init()));
      const tokens = answers.map(assertInitOk);
      assert.equal(new Set(tokens).size, tokens.length);
      for (const token of tokens) assert.match(token, TOKEN_RE);
      const stored = await t.gw.db.kysely.selectFrom('payments').select('token').where('token', 'in', tokens).execute();
      assert.equal(stored.length, tokens.length);
      const records = await Promise.all(tokens.slice(0, 20).map(check));
      for (const [i, r] of records.entries()) {
        assert.equal(r.token, tokens[i]);
        assert.equal(r.txn_status, null);
      }
    });

    it('in one burst, one merchant_ref_id makes one payment: its twin gets the same token, a different order 2008', async () => {
      const mref = ref();
      const [a, b, changed] = await Promise.all([
        init({ merchant_ref_id: mref }),
        init({ merchant_ref_id: mref }),
        init({ merchant_ref_id: mref, amount: '999.00' }),
      ]);
      const rows = await t.gw.db.kysely
        .selectFrom('payments')
        .select(['token', 'amount_minor'])
        .where('merchant_ref_id', '=', mref)
        .execute();
      assert.equal(rows.length, 1);
      const stored = rows[0]!;
      // The requests race on separate connections: whichever order was stored first wins.
      if (Number(stored.amount_minor) === 99_900) {
        assert.equal(assertInitOk(changed), stored.token);
        for (const r of [a, b]) assert.equal(r.json.statusCode, '2008', r.text);
      } else {
        assert.equal(assertInitOk(a), stored.token);
        assert.equal(assertInitOk(b), stored.token);
        assert.equal(changed.json.statusCode, '2008', changed.text);
      }
    });

    it('text that looks like SQL or array syntax is stored exactly as sent', async () => {
      const odd = {
        customer_name: 'NULL',
        customer_add: 'a\\b {c}, "d", \'e\'; drop table payments; --',
        customer_city: '{}',
        merchant_order_id: '{1,2}',
      };
      const token = assertInitOk(await init(odd));
      const r = await check(token);
      assert.equal(r.merchant_order_id, '{1,2}');
      const details = JSON.parse(r.customer_details as string) as Record<string, string>;
      assert.equal(details.customer_name, 'NULL');
      assert.equal(details.customer_add, odd.customer_add);
      assert.equal(details.customer_city, '{}');
    });

    it('check-payment never shows a change that is not committed', async () => {
      const token = assertInitOk(await init());
      let seenInside: unknown;
      await assert.rejects(
        t.gw.db.kysely.transaction().execute(async (trx) => {
          await trx
            .updateTable('payments')
            .set({ status: 'approved', txn_details: 'uncommitted' })
            .where('token', '=', token)
            .execute();
          seenInside = (await check(token)).txn_status; // answered while the transaction is open
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal(seenInside, null);
      const after = await check(token);
      assert.equal(after.txn_status, null);
      assert.notEqual(after.txn_details, 'uncommitted');
    });

    it('check-payment shows a change committed elsewhere at once: a payment finalised, then refunded', async () => {
      const token = assertInitOk(await init());
      const before = await check(token);
      assert.equal(before.txn_details, 'Awaiting payment');
      assert.equal((await check(token)).txn_status, null); // read twice: the second answer may be a kept one
      // As another gateway instance (or the CLI) would: straight in the database, not through this process.
      await t.gw.db.kysely
        .updateTable('payments')
        .set({ status: 'approved', txn_details: 'Approved elsewhere', txn_at: Date.now() })
        .where('token', '=', token)
        .execute();
      const approved = await check(token);
      assert.equal(approved.txn_status, '1000');
      assert.equal(approved.txn_details, 'Approved elsewhere');
      assert.equal(approved.refunded_amount_bdt, '0.00');
      await t.gw.db.kysely.updateTable('payments').set({ refunded_minor: '250' }).where('token', '=', token).execute();
      assert.equal((await check(token)).refunded_amount_bdt, '2.50');
    });

    if (dialect === 'sqlite') {
      it('check-payment shows at once what another process commits to the file, however often it was read', async () => {
        const token = assertInitOk(await init());
        // Read many times with nothing committed in between: the record is kept and served as is.
        for (let i = 0; i < 5; i++) assert.equal((await check(token)).txn_status, null);
        const other = new SqliteDatabase(path.join(t.dataDir, 'wmx.db'));
        try {
          other
            .prepare(
              "update payments set status = 'approved', txn_details = 'Approved by another process' where token = ?",
            )
            .run(token);
          const approved = await check(token);
          assert.equal(approved.txn_status, '1000');
          assert.equal(approved.txn_details, 'Approved by another process');
          for (let i = 0; i < 3; i++) assert.equal((await check(token)).txn_status, '1000');
          other.prepare("update payments set refunded_minor = '125' where token = ?").run(token);
          assert.equal((await check(token)).refunded_amount_bdt, '1.25');
        } finally {
          other.close();
        }
      });

      it('a transaction that reads, then writes is not failed by another process committing in between', async () => {
        const token = assertInitOk(await init());
        // Another process on the same file (the CLI, say); it does not wait for locks.
        const other = new SqliteDatabase(path.join(t.dataDir, 'wmx.db'));
        other.pragma('busy_timeout = 0');
        let otherCommitted = false;
        try {
          await t.gw.db.kysely.transaction().execute(async (trx) => {
            await trx.selectFrom('payments').select('status').where('token', '=', token).executeTakeFirstOrThrow();
            try {
              other.prepare("update payments set txn_details = 'other' where token = ?").run(token);
              otherCommitted = true;
            } catch (e) {
              assert.equal((e as { code?: string }).code, 'SQLITE_BUSY'); // it must wait its turn instead
            }
            await trx.updateTable('payments').set({ txn_details: 'ours' }).where('token', '=', token).execute();
          });
        } finally {
          other.close();
        }
        assert.equal(otherCommitted, false);
        assert.equal((await check(token)).txn_details, 'ours');
      });

      it('the WAL is checkpointed in the background, never inside a commit, and all of it reaches the file', async () => {
        const main = t.gw.db.sqlite!;
        assert.equal(main.pragma('wal_autocheckpoint', { simple: true }), 0);
        const tokens = (await Promise.all(Array.from({ length: 100 }, () => init()))).map(assertInitOk);
        // The worker runs every 50 ms; give it a few rounds to copy everything committed.
        const file = path.join(t.dataDir, 'wmx.db');
        const probe = new SqliteDatabase(file);
        try {
          let left = Infinity;
          for (let i = 0; i < 100 && left > 0; i++) {
            await new Promise((r) => setTimeout(r, 50));
            // What a no-op PASSIVE checkpoint reports: frames in the WAL vs frames already copied.
            const r = probe.prepare('PRAGMA wal_checkpoint(NOOP)').get() as
              { log: number; checkpointed: number } | undefined;
            left = r ? r.log - r.checkpointed : 0;
          }
          assert.equal(left, 0, 'frames were left in the WAL');
        } finally {
          probe.close();
        }
        const found = await t.gw.db.kysely
          .selectFrom('payments')
          .select(sql<number>`count(*)`.as('n'))
          .where('token', 'in', tokens)
          .executeTakeFirstOrThrow();
        assert.equal(Number(found.n), tokens.length);
      });
    }
  });
}

describe('store: stopping the gateway leaves everything in the database file (sqlite)', () => {
  it('after close, the WAL is empty and a fresh connection finds every payment', async () => {
    const t = await startGateway('sqlite');
    const c = await t.createMerchant();
    const tokens = (
      await Promise.all(
        Array.from({ length: 60 }, () =>
          postUrlencoded(`${t.url}/init-payment-process`, initFields(c, { merchant_ref_id: ref() })),
        ),
      )
    ).map(assertInitOk);
    const file = path.join(t.dataDir, 'wmx.db');
    await t.app.close();
    await t.gw.close();
    try {
      const wal = file + '-wal';
      assert.ok(!fs.existsSync(wal) || fs.statSync(wal).size === 0, 'the WAL still holds frames');
      const db = new SqliteDatabase(file, { readonly: true });
      try {
        const n = db
          .prepare(`select count(*) from payments where token in (${tokens.map(() => '?').join(',')})`)
          .pluck()
          .get(...tokens);
        assert.equal(n, tokens.length);
      } finally {
        db.close();
      }
    } finally {
      fs.rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});

describe('store: the checkpoint worker (sqlite)', () => {
  const scratch = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-ckpt-'));
    const file = path.join(dir, 'x.db');
    const db = new SqliteDatabase(file);
    db.pragma('journal_mode = WAL');
    return { dir, file, db };
  };
  const autocheckpoint = (db: SqliteDatabase.Database) => db.pragma('wal_autocheckpoint', { simple: true });
  const walLimit = (db: SqliteDatabase.Database) => db.pragma('journal_size_limit', { simple: true }) as number;

  it('takes checkpoints over while it runs and hands them back when stopped', async () => {
    const { dir, file, db } = scratch();
    try {
      const cp = await startCheckpointer(db, file, { idleMs: 10 });
      assert.equal(autocheckpoint(db), 0);
      // A WAL that grew to the worker's restart size keeps its file when it resets (overwritten in
      // place, not truncated and grown again block by block).
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      assert.ok(walLimit(db) >= RESTART_PAGES * (pageSize + 24), `journal_size_limit ${walLimit(db)}`);
      db.exec('create table t (x text)');
      const insert = db.prepare('insert into t values (?)');
      for (let i = 0; i < 2000; i++) insert.run(crypto.randomBytes(64).toString('hex'));
      await cp.stop();
      assert.equal(autocheckpoint(db), 1000);
      assert.equal(walLimit(db), DEFAULT_WAL_SIZE_LIMIT);
      const probe = db.prepare('PRAGMA wal_checkpoint(NOOP)').get() as { log: number; checkpointed: number };
      assert.equal(probe.log - probe.checkpointed, 0);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker that cannot open the database leaves SQLite checkpointing inside commits', async () => {
    const { dir, db } = scratch();
    try {
      const cp = await startCheckpointer(db, path.join(dir, 'missing.db'));
      assert.equal(autocheckpoint(db), 1000);
      await cp.stop();
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
