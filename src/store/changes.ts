/**
 * The store side of the change feed (src/app/change-feed.ts): rows in `changes`, and how an instance
 * learns that another process wrote one.
 *
 * - PostgreSQL: the writer's `pg_notify` and a `LISTEN` on a client outside the pool. NOTIFY is
 *   delivered at commit, within milliseconds. While the listening client is down (database restart,
 *   network), the table is polled instead, and read once more on reconnection: nothing is missed,
 *   since the rows, not the notifications, carry the changes.
 * - SQLite (processes sharing one file): `PRAGMA data_version`, which changes when another
 *   connection commits, is read every `pollMs` (a pragma costs about a microsecond); the table is
 *   read only when it moved.
 */
import { sql } from 'kysely';
import type pg from 'pg';
import type { Db } from './db.js';

export interface ChangeRow {
  seq: number;
  topic: string;
  key: string;
  origin: string;
}

export interface ChangeWatch {
  stop(): Promise<void>;
}

export function createChangeStore(
  db: Db,
  opts: { pollMs?: number; log?: (msg: string, detail: Record<string, unknown>) => void } = {},
) {
  const k = db.kysely;
  const pollMs = opts.pollMs ?? 100;
  let channel: string | undefined;

  /** One channel per schema: NOTIFY is database-wide, and tests (or tenants) share a database. */
  async function channelName(): Promise<string> {
    if (channel) return channel;
    const r = await sql<{ s: string }>`select current_schema() as s`.execute(k);
    channel = `wmx_changes_${r.rows[0]?.s ?? 'public'}`;
    return channel;
  }

  async function watchPostgres(onWake: () => void): Promise<ChangeWatch> {
    const name = await channelName();
    let stopped = false;
    let client: pg.Client | undefined;
    let poll: NodeJS.Timeout | undefined;
    let retry: NodeJS.Timeout | undefined;
    const startPolling = () => (poll ??= setInterval(onWake, Math.max(pollMs, 250)).unref());
    const stopPolling = () => {
      clearInterval(poll);
      poll = undefined;
    };

    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = db.pgClient!();
      c.on('notification', (n) => {
        if (n.channel === name) onWake();
      });
      const lost = (e: unknown) => {
        if (client !== c) return;
        client = undefined;
        c.end().catch(() => undefined);
        if (stopped) return;
        opts.log?.('change feed: listening connection lost; polling until it is back', { err: String(e) });
        startPolling();
        retry = setTimeout(() => void connect(), 1_000).unref();
      };
      c.on('error', lost);
      c.on('end', () => lost(new Error('connection ended')));
      try {
        await c.connect();
        await c.query(`listen "${name}"`);
      } catch (e) {
        client = c;
        lost(e);
        return;
      }
      if (stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      client = c;
      stopPolling();
      onWake(); // whatever was written while nobody listened
    };

    startPolling(); // until the first LISTEN is in place
    await connect();
    return {
      async stop() {
        stopped = true;
        stopPolling();
        clearTimeout(retry);
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
      },
    };
  }

  function watchSqlite(onWake: () => void): ChangeWatch {
    const conn = db.sqlite!;
    const version = conn.prepare('PRAGMA data_version').pluck();
    let last = version.get() as number;
    const timer = setInterval(() => {
      if (!conn.open) return;
      const v = version.get() as number;
      if (v === last) return;
      last = v;
      onWake();
    }, pollMs).unref();
    return {
      async stop() {
        clearInterval(timer);
      },
    };
  }

  return {
    /** Records a change and, on PostgreSQL, wakes every listening instance when it commits. */
    async publish(topic: string, key: string, origin: string, at: number): Promise<void> {
      if (db.dialect === 'postgres') {
        const name = await channelName();
        await sql`with i as (
            insert into changes (topic, key, origin, at) values (${topic}, ${key}, ${origin}, ${at}) returning seq
          ) select pg_notify(${name}, (select seq from i)::text)`.execute(k);
        return;
      }
      await k.insertInto('changes').values({ topic, key, origin, at }).execute();
    },

    /** The changes after `seq`, oldest first. */
    async since(seq: number, limit = 1_000): Promise<ChangeRow[]> {
      const rows = await k
        .selectFrom('changes')
        .select(['seq', 'topic', 'key', 'origin'])
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ seq: Number(r.seq), topic: r.topic, key: r.key, origin: r.origin }));
    },

    async latest(): Promise<number> {
      const r = await k
        .selectFrom('changes')
        .select((e) => e.fn.max('seq').as('m'))
        .executeTakeFirst();
      return Number(r?.m ?? 0);
    },

    async prune(before: number): Promise<void> {
      await k.deleteFrom('changes').where('at', '<', before).execute();
    },

    /** Calls `onWake` (soon) after another process may have written a change. */
    watch(onWake: () => void): Promise<ChangeWatch> {
      return db.dialect === 'postgres' ? watchPostgres(onWake) : Promise.resolve(watchSqlite(onWake));
    },
  };
}

export type ChangeStore = ReturnType<typeof createChangeStore>;
