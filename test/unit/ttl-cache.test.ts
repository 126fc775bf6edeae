import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TtlCache } from '../../src/domain/ttl-cache.js';

describe('TtlCache', () => {
  it('forgets an entry once its time is up', () => {
    const c = new TtlCache<string, number>(10, 1_000);
    c.set('a', 1, 0);
    assert.equal(c.get('a', 999), 1);
    assert.equal(c.get('a', 1_000), undefined);
    assert.equal(c.get('a', 0), undefined); // gone, not merely hidden
  });

  it('evicts the least recently used entry when full; a hit more than a second after the last one counts as use', () => {
    const c = new TtlCache<string, number>(2, 60_000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    assert.equal(c.get('a', 5_000), 1); // 'a' is now the younger one
    c.set('c', 3, 5_000);
    assert.equal(c.get('b', 5_000), undefined);
    assert.equal(c.get('a', 5_000), 1);
    assert.equal(c.get('c', 5_000), 3);
  });

  it('does not reorder on hits within a second of the last reorder (eviction stays that close to LRU)', () => {
    const c = new TtlCache<string, number>(2, 60_000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    assert.equal(c.get('a', 500), 1); // too soon: 'a' stays the older one
    c.set('c', 3, 500);
    assert.equal(c.get('a', 500), undefined);
    assert.equal(c.get('b', 500), 2);
  });

  it('a set replaces the value and restarts the time', () => {
    const c = new TtlCache<string, number>(10, 1_000);
    c.set('a', 1, 0);
    c.set('a', 2, 900);
    assert.equal(c.get('a', 1_500), 2);
    c.delete('a');
    assert.equal(c.get('a', 1_500), undefined);
  });
});
