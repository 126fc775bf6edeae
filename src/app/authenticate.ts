import { WmxError, fieldMissing } from '../domain/errors.js';
import type { Merchant } from '../domain/merchant.js';
import { keyedCacheKey, safeEqual, sha256Hex, verifyPassword } from './crypto.js';
import { andThen, type MaybePromise } from '../domain/maybe-promise.js';
import { TtlCache } from '../domain/ttl-cache.js';
import type { MerchantRepo } from '../store/merchants.js';

export interface PresentedCredentials {
  wmx_id?: string | undefined;
  access_app_key?: string | undefined;
  authorization?: string | undefined;
}

export interface AuthenticatorDeps {
  merchants: Pick<MerchantRepo, 'byWmxId'>;
  serverSecret: string;
  /** How long a merchant row is trusted in memory; bounds how late a CLI rotation takes effect. */
  merchantTtlMs?: number;
}

/**
 * Splits `Basic base64(user:pass)`; tolerant of case, surrounding whitespace and unescaped `+` (a
 * hand-built form body delivers each as a space, PROTOCOL.md section 2). Spaces inside the value are
 * `+`. Spaces at its end are ambiguous: a base64 value ending in `+`, or whitespace after the value.
 * Encoders pad to a multiple of 4 characters, so after a padded value they are whitespace, and
 * otherwise as many of them are `+` as complete the last group of 4 (all of them if none does).
 */
export function parseBasicAuthorization(value: string): { username: string; password: string } | undefined {
  const m = /^\s*basic\s+(\S(?:.*\S)?)(\s*)$/is.exec(value);
  if (!m) return undefined;
  let b64 = (m[1] as string).replace(/ /g, '+');
  const trailingSpaces = (m[2] as string).split(' ').length - 1;
  if (trailingSpaces > 0 && !b64.endsWith('=')) {
    const missing = (4 - (b64.length % 4)) % 4;
    b64 += '+'.repeat(Math.min(missing, trailingSpaces));
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) return undefined;
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/**
 * Verifies the three body credentials. A verified combination is cached under a keyed hash of the
 * presented secrets, tied to the merchant's credentials version, so the slow password hash runs once
 * per client rather than once per request; a rotation changes the version and so misses the cache.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const merchantCache = new TtlCache<string, Merchant | null>(10_000, deps.merchantTtlMs ?? 2_000);
  const verified = new TtlCache<string, { merchantId: string; version: number }>(10_000, 10 * 60_000);
  const inflight = new Map<string, Promise<boolean>>();
  // Bumped by forget(): a lookup that started before a change must not put the old row back.
  let epoch = 0;

  /** Synchronous on a cache hit: the hot path takes no extra turn of the microtask queue. */
  function merchantByWmxId(wmxId: string): MaybePromise<Merchant | undefined> {
    const cached = merchantCache.get(wmxId);
    if (cached !== undefined) return cached ?? undefined;
    const started = epoch;
    return deps.merchants.byWmxId(wmxId).then((m) => {
      if (started === epoch) merchantCache.set(wmxId, m ?? null);
      return m;
    });
  }

  async function slowVerify(m: Merchant | undefined, appKey: string, user: string, pass: string): Promise<boolean> {
    // Always run the password hash, also for unknown merchants, so timing reveals nothing.
    const passwordOk = await verifyPassword(pass, m?.passwordHash ?? null);
    if (!m || m.accessAppKeyHash === null || m.username === null) return false;
    const keyOk = safeEqual(sha256Hex(appKey), m.accessAppKeyHash);
    const userOk = safeEqual(user, m.username);
    return passwordOk && keyOk && userOk;
  }

  /** Active or 2002: the last check, once the credentials are known to be right. */
  function usable(m: Merchant): Merchant {
    if (m.status !== 'active') throw new WmxError('2002', `Merchant is not active (${m.status})`);
    return m;
  }

  /** Synchronous when this client's credentials were verified lately (the cache hit). */
  function verify(
    m: Merchant | undefined,
    wmxId: string,
    appKey: string,
    authorization: string,
  ): MaybePromise<Merchant> {
    // Keyed by what was presented, before any parsing: a repeat caller costs one hash and a lookup.
    const cacheKey = keyedCacheKey(deps.serverSecret, `${wmxId}\0${appKey}\0${authorization}`);
    const hit = verified.get(cacheKey);
    if (m !== undefined && hit !== undefined && hit.merchantId === m.id && hit.version === m.credentialsVersion) {
      return usable(m);
    }
    return verifySlowly(m, cacheKey, appKey, authorization);
  }

  async function verifySlowly(
    m: Merchant | undefined,
    cacheKey: string,
    appKey: string,
    authorization: string,
  ): Promise<Merchant> {
    const basic = parseBasicAuthorization(authorization);
    if (!basic) {
      await verifyPassword('', null); // same cost as any other failure
      throw new WmxError('2001');
    }
    let p = inflight.get(cacheKey);
    if (!p) {
      p = slowVerify(m, appKey, basic.username, basic.password).finally(() => inflight.delete(cacheKey));
      inflight.set(cacheKey, p);
    }
    const ok = await p;
    if (!ok || !m) throw new WmxError('2001');
    verified.set(cacheKey, { merchantId: m.id, version: m.credentialsVersion });
    return usable(m);
  }

  return {
    /**
     * Returns the active merchant, or throws 2003 / 2001 / 2002 — synchronously when the merchant
     * and this client's credentials are cached (then no promise is made), else through a promise.
     */
    authenticate(c: PresentedCredentials): MaybePromise<Merchant> {
      if (!c.wmx_id) throw fieldMissing('wmx_id');
      if (!c.access_app_key) throw fieldMissing('access_app_key');
      if (!c.authorization) throw fieldMissing('authorization');
      const wmxId = c.wmx_id.trim();
      const appKey = c.access_app_key.trim();
      const authorization = c.authorization;
      // An id no merchant can have is never looked up (PostgreSQL would refuse a NUL in it).
      const found = wmxId.length <= 64 && !wmxId.includes('\u0000') ? merchantByWmxId(wmxId) : undefined;
      return andThen(found, (m) => verify(m, wmxId, appKey, authorization));
    },
    /** Forget what is cached about a merchant (after rotation, suspension or a settings change). */
    forget(wmxId: string): void {
      epoch++;
      merchantCache.delete(wmxId);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
