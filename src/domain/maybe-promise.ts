/**
 * A value now, or a promise of it later. The hottest request path (check-payment) stays
 * synchronous while everything it needs is in memory or on SQLite, and only turns asynchronous at
 * a step that has to wait (a cache miss, a password hash, PostgreSQL): each promise and `await` on
 * the way showed in its profile.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next(value)` now when `value` is at hand, or once it settles (a rejection passes through). */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
