import os from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Running gateway processes and their heartbeats (app/instances.ts). */
export function createInstanceRepo(k: Kysely<Database>) {
  return {
    async register(id: string, now: number): Promise<void> {
      await k
        .insertInto('instances')
        .values({ id, host: os.hostname(), pid: process.pid, started_at: now, heartbeat_at: now })
        .execute();
    },
    async beat(id: string, now: number): Promise<void> {
      await k.updateTable('instances').set({ heartbeat_at: now }).where('id', '=', id).execute();
    },
    async remove(id: string): Promise<void> {
      await k.deleteFrom('instances').where('id', '=', id).execute();
    },
    /** Rows of instances gone for longer than `before` (killed long ago) are of no more use. */
    async prune(before: number): Promise<void> {
      await k.deleteFrom('instances').where('heartbeat_at', '<', before).execute();
    },
    async live(since: number) {
      return k.selectFrom('instances').selectAll().where('heartbeat_at', '>=', since).orderBy('started_at').execute();
    },
  };
}

export type InstanceRepo = ReturnType<typeof createInstanceRepo>;
