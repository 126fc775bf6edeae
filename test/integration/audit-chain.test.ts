/**
 * The tamper-evident audit log: every record chains from the one before by hash; `wmx audit verify`
 * passes an intact chain and fails, naming the row, when one is edited or deleted behind the
 * gateway's back; concurrent writers never chain from the same predecessor.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Actor } from '../../src/app/audit.js';
import { AUDIT_GENESIS_HASH } from '../../src/domain/audit-chain.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { childUrlOf, inheritedEnv, runWmx } from '../support/cli.js';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';

const ADMIN: Actor = { kind: 'admin', id: 'ops@example.com', ip: '10.0.0.7' };

for (const dialect of dialects()) {
  describe(`audit log hash chain (${dialect})`, () => {
    let t: TestGateway;
    let cliEnv: Record<string, string>;

    const wmx = (...args: string[]) => runWmx(args, cliEnv);

    before(async () => {
      t = await startGateway(dialect);
      cliEnv = {
        ...inheritedEnv(),
        WMX_DATABASE_URL: await childUrlOf(t),
        WMX_DATA_DIR: t.dataDir,
        WMX_SECRET: crypto.randomBytes(32).toString('base64url'),
      };
    });
    after(async () => {
      await t?.close();
    });

    const rows = () => t.gw.db.kysely.selectFrom('audit_log').selectAll().orderBy('seq').execute();

    it('chains a run of actions from the genesis value, and verify passes', async () => {
      const { merchant } = await t.gw.merchantAdmin.create({
        name: 'Chain Shop',
        domains: ['shop.test'],
        sandbox: false,
        emiAllowed: true,
      });
      await t.gw.audit.record(ADMIN, 'merchant.created', merchant.id, { name: 'Chain Shop' });
      await t.gw.audit.record(ADMIN, 'merchant.suspended', merchant.id, { why: 'test' });
      await t.gw.audit.record(ADMIN, 'merchant.reactivated', merchant.id);
      await t.gw.audit.record(ADMIN, 'settings.changed', null, { bangla: 'বাংলা', nested: { a: [1, 2] } });
      const all = await rows();
      assert.ok(all.length >= 4);
      assert.equal(all[0]?.prev_hash, AUDIT_GENESIS_HASH);
      for (let i = 1; i < all.length; i++) assert.equal(all[i]?.prev_hash, all[i - 1]?.hash);
      const r = await t.gw.audit.verify();
      assert.equal(r.ok, true, JSON.stringify(r.problems));
      assert.equal(r.rows, all.length);

      const cli = await wmx('audit', 'verify');
      assert.equal(cli.code, 0, cli.stderr + cli.stdout);
      assert.match(cli.stdout, new RegExp(`Audit log OK: ${all.length} records`));
    });

    it('keeps one valid chain under 20 concurrent writers', async () => {
      const before = (await rows()).length;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => t.gw.audit.record(ADMIN, 'concurrent.write', null, { i })),
      );
      const all = await rows();
      assert.equal(all.length, before + 20);
      assert.deepEqual(
        all.map((r) => Number(r.seq)),
        all.map((_, i) => i + 1),
      );
      const r = await t.gw.audit.verify();
      assert.equal(r.ok, true, JSON.stringify(r.problems));
    });

    it('backfills the chain over rows written before migration 0008', async () => {
      const k = t.gw.db.kysely;
      const original = await rows();
      // Back to the pre-0008 shape: no hash columns, migration not applied.
      await sql`alter table audit_log drop column hash`.execute(k);
      await sql`alter table audit_log drop column prev_hash`.execute(k);
      // 0009 and 0010, which come after.
      await sql`drop index payments_pending_expiry_idx`.execute(k);
      await sql`drop index payments_live_ref_uq`.execute(k);
      await sql`drop index payments_merchant_ref_idx`.execute(k);
      await sql`create unique index payments_merchant_ref_uq on payments (merchant_id, merchant_ref_id)`.execute(k);
      // 0011, likewise.
      for (const table of ['connectors', 'connector_routes', 'upstream_calls'])
        await sql`drop table ${sql.table(table)}`.execute(k);
      for (const index of ['payments_reconcile_idx', 'payments_upstream_ref_idx', 'refunds_reconcile_idx']) {
        await sql`drop index ${sql.ref(index)}`.execute(k);
      }
      const upstreamColumns = ['connector_id', 'upstream_ref', 'upstream_data', 'reconcile_at', 'reconcile_attempts'];
      for (const col of [...upstreamColumns, 'upstream_state']) {
        await sql`alter table payments drop column ${sql.ref(col)}`.execute(k);
      }
      for (const col of upstreamColumns) await sql`alter table refunds drop column ${sql.ref(col)}`.execute(k);
      // 0012 and 0013, likewise.
      for (const table of ['changes', 'instances']) await sql`drop table ${sql.table(table)}`.execute(k);
      if (dialect === 'postgres') await sql`drop table rate_buckets`.execute(k);
      await sql`alter table webhook_deliveries drop column lease_owner`.execute(k);
      await sql`alter table api_idempotency drop column resource_id`.execute(k);
      // 0014, likewise.
      for (const col of ['kind', 'seen_at'])
        await sql`alter table webhook_endpoints drop column ${sql.ref(col)}`.execute(k);
      const later = [
        '0008_hardening',
        '0009_expiry_sweep',
        '0010_live_merchant_ref',
        '0011_connectors',
        '0012_instances',
        '0013_idempotency_resource',
        '0014_listen_sessions',
      ];
      await sql`delete from kysely_migration where name in (${sql.join(later)})`.execute(k);
      const applied = await migrateToLatest(k, dialect);
      assert.deepEqual(applied, later);
      const backfilled = await rows();
      assert.deepEqual(
        backfilled.map((r) => [r.prev_hash, r.hash]),
        original.map((r) => [r.prev_hash, r.hash]),
        'the backfill computes the same chain record() wrote',
      );
      assert.equal((await t.gw.audit.verify()).ok, true);
    });

    it('names a row whose detail was edited in the database, and fails', async () => {
      const victim = (await rows())[2];
      assert.ok(victim);
      await t.gw.db.kysely
        .updateTable('audit_log')
        .set({ detail: '{"why":"nothing to see"}' })
        .where('id', '=', victim.id)
        .execute();
      const r = await t.gw.audit.verify();
      assert.equal(r.ok, false);
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.equal(r.problems[0]?.kind, 'edited');
      assert.equal(r.problems[0]?.seq, Number(victim.seq));

      const cli = await wmx('audit', 'verify');
      assert.equal(cli.code, 1, cli.stdout);
      assert.match(cli.stdout, new RegExp(`row seq ${Number(victim.seq)} \\(${victim.id}, .*\\) was edited`));

      // Restoring the original text restores the chain: the hash covers the stored bytes exactly.
      await t.gw.db.kysely
        .updateTable('audit_log')
        .set({ detail: victim.detail })
        .where('id', '=', victim.id)
        .execute();
      assert.equal((await t.gw.audit.verify()).ok, true);
    });

    it('detects a re-hashed edit by the broken link to the next row', async () => {
      const all = await rows();
      const victim = all[1];
      assert.ok(victim);
      const { auditHash } = await import('../../src/domain/audit-chain.js');
      const forged = { ...victim, detail: '{}' };
      await t.gw.db.kysely
        .updateTable('audit_log')
        .set({ detail: '{}', hash: auditHash(victim.prev_hash as string, forged) })
        .where('id', '=', victim.id)
        .execute();
      const r = await t.gw.audit.verify();
      assert.equal(r.ok, false);
      assert.equal(r.problems[0]?.kind, 'broken-link');
      assert.equal(r.problems[0]?.seq, Number(victim.seq) + 1);
      await t.gw.db.kysely
        .updateTable('audit_log')
        .set({ detail: victim.detail, hash: victim.hash })
        .where('id', '=', victim.id)
        .execute();
      assert.equal((await t.gw.audit.verify()).ok, true);
    });

    it('detects a deleted middle row, and fails', async () => {
      const all = await rows();
      const victim = all[Math.floor(all.length / 2)];
      assert.ok(victim);
      await t.gw.db.kysely.deleteFrom('audit_log').where('id', '=', victim.id).execute();
      const r = await t.gw.audit.verify();
      assert.equal(r.ok, false);
      assert.equal(r.problems[0]?.kind, 'deleted');
      assert.equal(r.problems[0]?.seq, Number(victim.seq));

      const cli = await wmx('audit', 'verify');
      assert.equal(cli.code, 1, cli.stdout);
      assert.match(cli.stdout, new RegExp(`row seq ${Number(victim.seq)} is missing \\(deleted\\)`));
    });
  });
}
