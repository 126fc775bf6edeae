import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { AUDIT_GENESIS_HASH, auditHash } from '../domain/audit-chain.js';
import { newId } from '../domain/ids.js';
import type { Database } from '../store/schema.js';

export interface Actor {
  kind: 'admin' | 'merchant' | 'system' | 'cli';
  /** Who: an email for people, a name for the system and the CLI. */
  id: string;
  ip: string;
}

export const SYSTEM_ACTOR: Actor = { kind: 'system', id: 'system', ip: '' };
export const CLI_ACTOR: Actor = { kind: 'cli', id: 'wmx cli', ip: '' };

export interface AuditEntry {
  seq: number;
  at: number;
  actorKind: string;
  actor: string;
  merchantId: string | null;
  action: string;
  detail: Record<string, unknown>;
  ip: string;
}

/** What `wmx audit verify` found: ok, or the problems (first ones) in seq order. */
export interface AuditVerifyResult {
  ok: boolean;
  rows: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The newest hash: noted elsewhere, it also exposes deleting the newest rows later. */
  headHash: string;
  problems: { seq: number; id: string | null; kind: 'edited' | 'deleted' | 'broken-link'; message: string }[];
}

/**
 * An arbitrary fixed key for pg_advisory_xact_lock: serialises audit writers on PostgreSQL, so two
 * transactions never chain from the same predecessor (under READ COMMITTED both would read the same
 * last row). Released at commit or rollback.
 */
const AUDIT_CHAIN_LOCK_KEY = 0x77_6d_78_61; // "wmxa"

/** The audit log of every admin and merchant action: who, what, when, from which address. */
export function createAuditLog(db: Kysely<Database>, now: () => number = Date.now) {
  // Read from the adapter so callers (compose.ts) need not pass the dialect.
  const onPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return {
    async record(
      actor: Actor,
      action: string,
      merchantId: string | null,
      detail: Record<string, unknown> = {},
    ): Promise<void> {
      // seq orders the log and each row chains from the row before. Writers are serialised (the
      // advisory lock on PostgreSQL; SQLite runs one write transaction at a time), so the retry is
      // only a backstop should a seq still collide (UNIQUE rejects the second).
      for (let attempt = 0; ; attempt++) {
        try {
          await db.transaction().execute(async (trx) => {
            if (onPostgres) {
              await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_KEY})`.execute(trx);
            } else {
              // Another process (the wmx CLI) may share the SQLite file: take the write lock first
              // (waiting out busy_timeout) rather than fail upgrading a read snapshot it moved past.
              await sql`delete from audit_log where 0 = 1`.execute(trx);
            }
            const last = await trx
              .selectFrom('audit_log')
              .select(['seq', 'hash'])
              .orderBy('seq', 'desc')
              .limit(1)
              .executeTakeFirst();
            const row = {
              seq: Number(last?.seq ?? 0) + 1,
              at: now(),
              actor_kind: actor.kind,
              actor: actor.id,
              merchant_id: merchantId,
              action,
              detail: JSON.stringify(detail),
              ip: actor.ip,
            };
            const prevHash = last ? (last.hash ?? '') : AUDIT_GENESIS_HASH;
            await trx
              .insertInto('audit_log')
              .values({
                id: newId('evt').replace('evt_', 'aud_'),
                ...row,
                prev_hash: prevHash,
                hash: auditHash(prevHash, row),
              })
              .execute();
          });
          return;
        } catch (e) {
          if (attempt >= 5) throw e;
        }
      }
    },
    /**
     * Walks the whole chain in seq order. An edited row fails its own hash; a deleted row leaves a
     * seq gap and a prev_hash that no longer matches. Deleting the newest rows leaves no trace in
     * the chain itself: compare headHash with one noted earlier to catch that.
     */
    async verify(maxProblems = 20): Promise<AuditVerifyResult> {
      const problems: AuditVerifyResult['problems'] = [];
      let prevHash = AUDIT_GENESIS_HASH;
      let prevSeq = 0;
      let rows = 0;
      let firstSeq: number | null = null;
      for (;;) {
        const page = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>', prevSeq)
          .orderBy('seq')
          .limit(1000)
          .execute();
        if (page.length === 0) break;
        for (const r of page) {
          const seq = Number(r.seq);
          firstSeq ??= seq;
          rows++;
          if (seq !== prevSeq + 1) {
            const gap = seq - prevSeq - 1;
            problems.push({
              seq: prevSeq + 1,
              id: null,
              kind: 'deleted',
              message:
                gap === 1
                  ? `row seq ${prevSeq + 1} is missing (deleted)`
                  : `rows seq ${prevSeq + 1}–${seq - 1} are missing (deleted)`,
            });
          } else if (r.prev_hash !== prevHash) {
            problems.push({
              seq,
              id: r.id,
              kind: 'broken-link',
              message: `row seq ${seq} (${r.id}) does not chain from row seq ${prevSeq}: a row was deleted, replaced or re-hashed`,
            });
          }
          if (r.hash === null || r.prev_hash === null || auditHash(r.prev_hash, r) !== r.hash) {
            problems.push({
              seq,
              id: r.id,
              kind: 'edited',
              message: `row seq ${seq} (${r.id}, ${r.action}) was edited: its hash does not match its contents`,
            });
          }
          // Go on from the stored hash, so one edited row is reported once, not as every later row.
          prevHash = r.hash ?? '';
          prevSeq = seq;
        }
        if (problems.length >= maxProblems) break;
      }
      return {
        ok: problems.length === 0,
        rows,
        firstSeq,
        lastSeq: rows > 0 ? prevSeq : null,
        headHash: prevHash,
        problems: problems.slice(0, maxProblems),
      };
    },
    async list(filter: { merchantId?: string; limit?: number; beforeSeq?: number } = {}): Promise<AuditEntry[]> {
      let q = db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('seq', 'desc')
        .limit(filter.limit ?? 100);
      if (filter.merchantId) q = q.where('merchant_id', '=', filter.merchantId);
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
      const rows = await q.execute();
      return rows.map((r) => ({
        seq: Number(r.seq),
        at: Number(r.at),
        actorKind: r.actor_kind,
        actor: r.actor,
        merchantId: r.merchant_id,
        action: r.action,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
        ip: r.ip,
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
