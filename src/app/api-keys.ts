import type { Kysely } from 'kysely';
import type { Merchant } from '../domain/merchant.js';
import type { Database } from '../store/schema.js';
import { toMerchant } from '../store/merchants.js';
import { safeEqual, sha256Hex } from './crypto.js';
import { TtlCache } from '../domain/ttl-cache.js';

export type ApiKeyResult = { ok: true; merchant: Merchant } | { ok: false; reason: 'unknown' | 'inactive' };

/**
 * Resolves a secret API key (a Bearer token) to its merchant. Keys are high-entropy, so a SHA-256 is
 * the stored form and the lookup key. Answers are cached a few seconds (including "unknown", so a
 * flood of bad keys does not reach the database); suspension or rotation takes effect within the TTL,
 * or at once where the admin paths call forget().
 */
export function createApiKeyAuth(deps: { db: Kysely<Database>; ttlMs?: number }) {
  const cache = new TtlCache<string, Merchant | null>(10_000, deps.ttlMs ?? 5_000);
  // Bumped by forget(): a lookup that started before a change must not put the old row back.
  let epoch = 0;

  return {
    async authenticate(apiKey: string): Promise<ApiKeyResult> {
      const hash = sha256Hex(apiKey);
      let merchant = cache.get(hash);
      if (merchant === undefined) {
        const started = epoch;
        const row = await deps.db
          .selectFrom('merchants')
          .selectAll()
          .where('api_key_hash', '=', hash)
          .executeTakeFirst();
        merchant = row ? toMerchant(row) : null;
        if (started === epoch) cache.set(hash, merchant);
      }
      // The index lookup already matched the hash; the constant-time compare keeps the final
      // decision independent of where two hashes first differ.
      if (!merchant || merchant.apiKeyHash === null || !safeEqual(merchant.apiKeyHash, hash))
        return { ok: false, reason: 'unknown' };
      if (merchant.status !== 'active') return { ok: false, reason: 'inactive' };
      return { ok: true, merchant };
    },
    /** Drops cached answers (after a merchant's key or status changed). */
    forget(): void {
      epoch++;
      cache.clear();
    },
  };
}

export type ApiKeyAuth = ReturnType<typeof createApiKeyAuth>;
