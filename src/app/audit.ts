import type { Kysely } from 'kysely';
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

/** The audit log of every admin and merchant action: who, what, when, from which address. */
export function createAuditLog(db: Kysely<Database>, now: () => number = Date.now) {
  return {
    async record(
      actor: Actor,
      action: string,
      merchantId: string | null,
      detail: Record<string, unknown> = {},
    ): Promise<void> {
      // seq orders the log; two writers racing for the same number retry with the next one.
      for (let attempt = 0; ; attempt++) {
        try {
          await db.transaction().execute(async (trx) => {
            const last = await trx
              .selectFrom('audit_log')
              .select((eb) => eb.fn.max('seq').as('m'))
              .executeTakeFirst();
            await trx
              .insertInto('audit_log')
              .values({
                id: newId('evt').replace('evt_', 'aud_'),
                seq: Number(last?.m ?? 0) + 1,
                at: now(),
                actor_kind: actor.kind,
                actor: actor.id,
                merchant_id: merchantId,
                action,
                detail: JSON.stringify(detail),
                ip: actor.ip,
              })
              .execute();
          });
          return;
        } catch (e) {
          if (attempt >= 5) throw e;
        }
      }
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
