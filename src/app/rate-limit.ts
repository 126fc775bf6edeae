/**
 * In-memory token buckets for abuse limits. Per process: several gateway processes behind a load
 * balancer each allow the configured rate, which is acceptable for limits meant to stop floods and
 * guessing rather than to meter usage exactly.
 */
import { RateLimitedError } from '../domain/errors.js';
import type { Merchant } from '../domain/merchant.js';

/** A rate: `perSecond` tokens refill every second, up to `burst` saved up. */
export interface RateSpec {
  perSecond: number;
  burst: number;
}

/** Parses "50/s,200", "20/m,20", "10/m" (burst = one period's worth) or "off" (no limit). */
export function parseRate(text: string): RateSpec | null | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none' || t === '0') return null;
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)\s*(?:,\s*(\d+))?$/.exec(t);
  if (!m) return undefined;
  const count = Number(m[1]);
  const seconds = { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  const burst = m[3] !== undefined ? Number(m[3]) : Math.max(1, Math.ceil(count));
  if (!(count > 0) || !(burst >= 1)) return undefined;
  return { perSecond: count / seconds, burst };
}

export const formatRateSpec = (r: RateSpec | null): string =>
  r === null ? 'off' : `${Number(r.perSecond.toFixed(6))}/s,${r.burst}`;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One bucket per key (merchant id, client address). Keys are bounded: the least recently used bucket
 * is dropped past maxKeys, so a flood of distinct addresses costs bounded memory (a dropped bucket
 * starts full again, which only ever errs on the side of letting a request through).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    private readonly spec: RateSpec | null,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  private refill(key: string): Bucket | undefined {
    if (this.spec === null) return undefined;
    const t = this.now();
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.spec.burst, at: t };
    b.tokens = Math.min(this.spec.burst, b.tokens + ((t - b.at) / 1000) * this.spec.perSecond);
    b.at = t;
    return b;
  }

  private store(key: string, b: Bucket): void {
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  /** Milliseconds until one token is available; 0 when one is available now. */
  private waitMs(b: Bucket): number {
    if (b.tokens >= 1 || this.spec === null) return 0;
    return Math.ceil(((1 - b.tokens) / this.spec.perSecond) * 1000);
  }

  /** Takes a token: 0 when allowed, else the milliseconds to wait (and nothing is taken). */
  take(key: string): number {
    const b = this.refill(key);
    if (!b) return 0;
    const wait = this.waitMs(b);
    if (wait === 0) b.tokens -= 1;
    this.store(key, b);
    return wait;
  }

  /** Like take() but only looks: for limits that count failures, checked before the attempt. */
  peek(key: string): number {
    const b = this.refill(key);
    if (!b) return 0;
    if (this.buckets.has(key)) this.store(key, b);
    return this.waitMs(b);
  }

  /** Spends a token whether or not one is left (a failure that has already happened). */
  charge(key: string): void {
    const b = this.refill(key);
    if (!b) return;
    b.tokens = Math.max(0, b.tokens - 1);
    this.store(key, b);
  }
}

/** Retry-After in whole seconds (at least 1, as the header has no finer unit). */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export interface AbuseLimitConfig {
  rateInit: RateSpec | null;
  rateCheck: RateSpec | null;
  rateAuthFail: RateSpec | null;
  ratePayTries: RateSpec | null;
}

/**
 * The gateway's abuse limits. Merchant limits are keyed by merchant id and only ever spent by
 * authenticated requests; address limits count failures (wrong credentials, wrong OTP / PIN), so an
 * honest client is never slowed by them and a guesser is stopped after a handful of tries.
 */
export function createAbuseLimits(cfg: AbuseLimitConfig, now: () => number = Date.now) {
  const init = new TokenBuckets(cfg.rateInit, now, 20_000);
  const check = new TokenBuckets(cfg.rateCheck, now, 20_000);
  const authFail = new TokenBuckets(cfg.rateAuthFail, now);
  const payTries = new TokenBuckets(cfg.ratePayTries, now);
  const orThrow = (waitMs: number): void => {
    if (waitMs > 0) throw new RateLimitedError(retryAfterSeconds(waitMs));
  };
  return {
    /** Throws 2010 when this merchant has used up its init allowance. */
    init: (merchant: Pick<Merchant, 'id'>): void => orThrow(init.take(merchant.id)),
    check: (merchant: Pick<Merchant, 'id'>): void => orThrow(check.take(merchant.id)),
    /** Throws 2010 when this address has failed authentication too often lately. */
    authAllowed: (ip: string): void => orThrow(authFail.peek(ip)),
    authFailed: (ip: string): void => authFail.charge(ip),
    /** Milliseconds this address must wait before another OTP / PIN try; 0 when it may try. */
    payTryWaitMs: (ip: string): number => payTries.peek(ip),
    payTryFailed: (ip: string): void => payTries.charge(ip),
  };
}

export type AbuseLimits = ReturnType<typeof createAbuseLimits>;
