import type { FastifyRequest } from 'fastify';
import type { ApiKeyAuth } from '../../app/api-keys.js';
import type { Merchant } from '../../domain/merchant.js';
import { ApiError } from './errors.js';

const merchants = new WeakMap<FastifyRequest, Merchant>();

/** The merchant an authenticated request acts for (set by the auth hook). */
export function merchantOf(req: FastifyRequest): Merchant {
  const m = merchants.get(req);
  if (!m) throw new Error('merchantOf: the request was not authenticated');
  return m;
}

/**
 * Fixed-window counters. Per merchant they keep one client from starving the others; per IP, for
 * failed authentications, they make guessing keys pointless (it already is: keys carry 238 bits).
 */
class WindowLimiter {
  private readonly counts = new Map<string, number>();
  private windowStart = 0;
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}
  /** Counts a hit; returns the ms to wait when over the limit, else 0. */
  hit(key: string, now: number): number {
    if (now - this.windowStart >= this.windowMs) {
      this.counts.clear();
      this.windowStart = now;
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    // A burst of distinct keys cannot grow the map without bound.
    if (this.counts.size < 100_000 || this.counts.has(key)) this.counts.set(key, n);
    return n > this.max ? this.windowStart + this.windowMs - now : 0;
  }
}

export interface AuthOptions {
  /** Requests per merchant per second. */
  perMerchantPerSecond?: number;
  /** Failed authentications per client IP per minute. */
  failuresPerMinute?: number;
}

const BEARER_RE = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

const tooMany = (waitMs: number) =>
  new ApiError(429, 'rate_limited', 'Too many requests', undefined, {
    'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
  });

/** An onRequest hook: `Authorization: Bearer <api key>` → the merchant, or a 401/403/429 error. */
export function createAuthHook(apiKeys: ApiKeyAuth, opts: AuthOptions = {}) {
  const perMerchant = new WindowLimiter(opts.perMerchantPerSecond ?? 200, 1_000);
  const failures = new WindowLimiter(opts.failuresPerMinute ?? 60, 60_000);

  return async function authenticate(req: FastifyRequest): Promise<void> {
    const header = req.headers.authorization;
    const m = header === undefined ? null : BEARER_RE.exec(header);
    const fail = (message: string) => {
      const wait = failures.hit(req.ip, Date.now());
      return wait > 0
        ? tooMany(wait)
        : new ApiError(401, 'unauthenticated', message, undefined, {
            'www-authenticate': 'Bearer realm="wmx-gateway"',
          });
    };
    if (!m?.[1]) throw fail('Send the secret API key as "Authorization: Bearer <api_key>"');
    const r = await apiKeys.authenticate(m[1]);
    if (!r.ok) {
      if (r.reason === 'inactive') throw new ApiError(403, 'forbidden', 'The merchant is not active');
      throw fail('Unknown API key');
    }
    const wait = perMerchant.hit(r.merchant.id, Date.now());
    if (wait > 0) throw tooMany(wait);
    merchants.set(req, r.merchant);
  };
}
