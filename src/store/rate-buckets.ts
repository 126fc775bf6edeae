/**
 * Shared rate-limit buckets in PostgreSQL (an unlogged table, migration 0012): one statement per
 * ask, timed by the database's clock so instances with skewed clocks agree. See SharedBuckets.
 */
import { sql, type Kysely } from 'kysely';
import type { BucketStore, RateSpec } from '../app/rate-limit.js';
import type { Database } from './schema.js';

export function createPgBucketStore(k: Kysely<Database>): BucketStore {
  return {
    async take(key: string, spec: RateSpec, want: number) {
      const rate = spec.perSecond / 1000; // tokens per millisecond
      const burst = spec.burst;
      // avail: the bucket refilled up to now; want 0 spends one whatever is left (a failure).
      const r = await sql<{ taken: number; left: number }>`
        with t as (select (extract(epoch from clock_timestamp()) * 1000)::bigint as now)
        insert into rate_buckets as b (key, tokens, at, taken)
          select ${key}, greatest(0, ${burst}::float8 - g.n), t.now, g.n
          from t, (select case when ${want}::int = 0 then 1 else least(${want}::int, floor(${burst}::float8)::int) end as n) g
        on conflict (key) do update set
          taken = case when ${want}::int = 0 then 1 else least(${want}::int,
            floor(least(${burst}::float8, b.tokens + greatest(0, excluded.at - b.at) * ${rate}::float8))::int) end,
          tokens = greatest(0, least(${burst}::float8, b.tokens + greatest(0, excluded.at - b.at) * ${rate}::float8)
            - case when ${want}::int = 0 then 1 else least(${want}::int,
            floor(least(${burst}::float8, b.tokens + greatest(0, excluded.at - b.at) * ${rate}::float8))::int) end),
          at = greatest(b.at, excluded.at)
        returning taken, tokens as left`.execute(k);
      const row = r.rows[0];
      return { taken: Number(row?.taken ?? 0), left: Number(row?.left ?? 0) };
    },
    close: async () => undefined,
  };
}
