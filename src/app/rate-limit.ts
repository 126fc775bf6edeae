/**
 * Token buckets for abuse limits: in process (SQLite, one instance), or shared by every instance
 * through a BucketStore (PostgreSQL, or Redis when WMX_REDIS_URL is set), so N instances allow the
 * limit, not N times it. See SharedBuckets for how the hot path stays synchronous.
 */
import { RateLimitedError } from '../domain/errors.js';
import type { Merchant } from '../domain/merchant.js';
import type { MaybePromise } from '../domain/maybe-promise.js';

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

/** One atomic step on a shared bucket (store/rate-buckets.ts, store/redis-buckets.ts). */
export interface BucketStore {
  /**
   * Takes up to `want` tokens (`want` 0: spends one whether or not one is left, a failure that has
   * happened). Answers how many were taken and the tokens left after.
   */
  take(key: string, spec: RateSpec, want: number): Promise<{ taken: number; left: number }>;
  close(): Promise<void>;
}

/** How long tokens taken ahead stay usable, and how long a refusal is believed without asking. */
const CREDIT_MS = 1_000;

/**
 * Buckets shared by every instance. Asking the store on every request would put a round trip on
 * the hottest paths, so an instance takes a few tokens at a time (about 50 ms worth of the rate)
 * and spends them locally: the limit is never exceeded, since every token spent was taken from the
 * shared bucket; at worst an instance's unspent handful (kept at most CREDIT_MS) is lost to the
 * others. A refusal is kept locally until a token can be back, so a flood costs one ask per key
 * and refill. Failure limits (peek, charge) charge the store and mirror what it answers: another
 * instance's failures are known here after this instance's next failure for the same key, so N
 * instances allow at most N − 1 tries past the limit. If the store cannot be reached, the
 * in-process bucket decides (the limits fail towards the per-instance behaviour, never closed).
 */
export class SharedBuckets {
  private readonly credits = new Map<string, { n: number; until: number }>();
  private readonly refusedUntil = new Map<string, number>();
  private readonly mirror = new Map<string, { tokens: number; at: number }>();
  private readonly asking = new Map<string, Promise<void>>();
  private readonly local: TokenBuckets;
  private readonly chunk: number;

  constructor(
    private readonly name: string,
    private readonly spec: RateSpec | null,
    private readonly store: BucketStore,
    private readonly now: () => number = Date.now,
    private readonly log?: (msg: string, detail: Record<string, unknown>) => void,
  ) {
    this.local = new TokenBuckets(spec, now);
    this.chunk = spec ? Math.max(1, Math.min(Math.floor(spec.burst / 4), Math.ceil(spec.perSecond / 20))) : 1;
  }

  private bounded<V>(m: Map<string, V>, key: string, v: V): void {
    m.delete(key);
    m.set(key, v);
    if (m.size > 50_000) m.delete(m.keys().next().value as string);
  }

  private waitFor(left: number): number {
    return this.spec ? Math.max(1, Math.ceil(((1 - left) / this.spec.perSecond) * 1000)) : 0;
  }

  /** 0 when allowed (synchronously while this instance holds tokens), else the ms to wait. */
  take(key: string): MaybePromise<number> {
    if (this.spec === null) return 0;
    const t = this.now();
    const c = this.credits.get(key);
    if (c && c.n > 0 && c.until > t) {
      c.n--;
      return 0;
    }
    const refused = this.refusedUntil.get(key);
    if (refused !== undefined && refused > t) return refused - t;
    return this.ask(key).then(() => this.take(key));
  }

  /** One ask per key at a time: callers arriving meanwhile share its answer. */
  private ask(key: string): Promise<void> {
    let p = this.asking.get(key);
    if (p) return p;
    const spec = this.spec!; // take() asks only under a limit
    p = this.store
      .take(`${this.name}:${key}`, spec, this.chunk)
      .then(({ taken, left }) => {
        const t = this.now();
        if (taken > 0) {
          this.refusedUntil.delete(key);
          this.bounded(this.credits, key, { n: taken, until: t + CREDIT_MS });
        } else {
          this.credits.delete(key);
          this.bounded(this.refusedUntil, key, t + Math.min(CREDIT_MS, this.waitFor(left)));
        }
      })
      .catch((e: unknown) => {
        this.log?.('shared rate limit unreachable; deciding in process', { limit: this.name, err: String(e) });
        const wait = this.local.take(key);
        const t = this.now();
        if (wait === 0) this.bounded(this.credits, key, { n: 1, until: t + CREDIT_MS });
        else this.bounded(this.refusedUntil, key, t + wait);
      })
      .finally(() => this.asking.delete(key));
    this.asking.set(key, p);
    return p;
  }

  /** Like take() but only looks, at what the store last said of this key (failure limits). */
  peek(key: string): number {
    if (this.spec === null) return 0;
    const m = this.mirror.get(key);
    if (!m) return 0;
    const tokens = Math.min(this.spec.burst, m.tokens + ((this.now() - m.at) / 1000) * this.spec.perSecond);
    return tokens >= 1 ? 0 : this.waitFor(tokens);
  }

  /** Spends a token whether or not one is left, here at once and in the store. */
  charge(key: string): void {
    if (this.spec === null) return;
    const spec = this.spec;
    const t = this.now();
    const m = this.mirror.get(key);
    const before = m ? Math.min(spec.burst, m.tokens + ((t - m.at) / 1000) * spec.perSecond) : spec.burst;
    this.bounded(this.mirror, key, { tokens: Math.max(0, before - 1), at: t });
    this.store
      .take(`${this.name}:${key}`, spec, 0)
      .then(({ left }) => this.bounded(this.mirror, key, { tokens: left, at: this.now() }))
      .catch((e: unknown) =>
        this.log?.('shared rate limit unreachable; counting in process', { limit: this.name, err: String(e) }),
      );
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
export function createAbuseLimits(
  cfg: AbuseLimitConfig,
  opts: {
    now?: () => number;
    /** Shared buckets (several instances); in process without one. */
    store?: BucketStore | undefined;
    log?: (msg: string, detail: Record<string, unknown>) => void;
  } = {},
) {
  const now = opts.now ?? Date.now;
  const buckets = (name: string, spec: RateSpec | null, maxKeys?: number) =>
    opts.store ? new SharedBuckets(name, spec, opts.store, now, opts.log) : new TokenBuckets(spec, now, maxKeys);
  const init = buckets('init', cfg.rateInit, 20_000);
  const check = buckets('check', cfg.rateCheck, 20_000);
  const authFail = buckets('auth_fail', cfg.rateAuthFail);
  const payTries = buckets('pay_tries', cfg.ratePayTries);
  const orThrow = (waitMs: number): void => {
    if (waitMs > 0) throw new RateLimitedError(retryAfterSeconds(waitMs));
  };
  const limit = (wait: MaybePromise<number>): MaybePromise<void> =>
    typeof wait === 'number' ? orThrow(wait) : wait.then(orThrow);
  return {
    /** Throws (or rejects with) 2010 when this merchant has used up its init allowance. */
    init: (merchant: Pick<Merchant, 'id'>): MaybePromise<void> => limit(init.take(merchant.id)),
    check: (merchant: Pick<Merchant, 'id'>): MaybePromise<void> => limit(check.take(merchant.id)),
    /** Throws 2010 when this address has failed authentication too often lately. */
    authAllowed: (ip: string): void => orThrow(authFail.peek(ip)),
    authFailed: (ip: string): void => authFail.charge(ip),
    /** Milliseconds this address must wait before another OTP / PIN try; 0 when it may try. */
    payTryWaitMs: (ip: string): number => payTries.peek(ip),
    payTryFailed: (ip: string): void => payTries.charge(ip),
  };
}

export type AbuseLimits = ReturnType<typeof createAbuseLimits>;
