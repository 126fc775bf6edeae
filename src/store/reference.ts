import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Currency rates, EMI banks and gateway settings: small tables read often, written rarely. */
export function createReferenceRepo(db: Kysely<Database>) {
  return {
    async rates(): Promise<Map<string, bigint>> {
      const rows = await db.selectFrom('currency_rates').select(['currency', 'rate_scaled']).execute();
      return new Map(rows.map((r) => [r.currency, BigInt(r.rate_scaled)]));
    },
    async setRate(currency: string, rateScaled: bigint): Promise<void> {
      const now = Date.now();
      await db
        .insertInto('currency_rates')
        .values({ currency, rate_scaled: rateScaled.toString(), updated_at: now })
        .onConflict((oc) => oc.column('currency').doUpdateSet({ rate_scaled: rateScaled.toString(), updated_at: now }))
        .execute();
    },
    async emiBanks(): Promise<{ key: string; name: string }[]> {
      const rows = await db
        .selectFrom('emi_banks')
        .select(['bank_key', 'name'])
        .where('active', '=', 1)
        .orderBy('sort_order')
        .execute();
      return rows.map((r) => ({ key: r.bank_key, name: r.name }));
    },
    async getSetting(key: string): Promise<string | undefined> {
      const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return r?.value;
    },
    async setSetting(key: string, value: string): Promise<void> {
      const now = Date.now();
      await db
        .insertInto('settings')
        .values({ key, value, updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
        .execute();
    },
    async deleteSetting(key: string): Promise<void> {
      await db.deleteFrom('settings').where('key', '=', key).execute();
    },
  };
}

export type ReferenceRepo = ReturnType<typeof createReferenceRepo>;
