import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { andThen } from '../../src/domain/maybe-promise.js';

describe('andThen', () => {
  it('continues at once with a value at hand: the result is a value, not a promise', () => {
    const r = andThen(2, (n) => n * 21);
    assert.equal(r, 42);
  });

  it('continues after a promise settles, and a continuation may itself answer later', async () => {
    const r = andThen(Promise.resolve(2), (n) => Promise.resolve(n * 21));
    assert.ok(r instanceof Promise);
    assert.equal(await r, 42);
  });

  it('passes a rejection through without running the continuation; a throw now is thrown now', async () => {
    let ran = false;
    const r = andThen(Promise.reject(new Error('no')), () => (ran = true));
    assert.ok(r instanceof Promise);
    await assert.rejects(r, /no/);
    assert.equal(ran, false);
    assert.throws(
      () =>
        andThen(1, () => {
          throw new Error('now');
        }),
      /now/,
    );
  });
});
