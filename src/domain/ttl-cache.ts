/**
 * A small bounded map with per-entry expiry. Insertion order doubles as LRU order: a hit moves its
 * entry to the young end, at most once a second per entry (moving it on every hit was two map
 * writes per lookup on the hottest paths; eviction order stays right to within that second).
 */
const REFRESH_MS = 1_000;

export class TtlCache<K, V> {
  private readonly map = new Map<K, { value: V; expires: number; touched: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get(key: K, now = Date.now()): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    if (now - e.touched >= REFRESH_MS) {
      e.touched = now;
      this.map.delete(key);
      this.map.set(key, e);
    }
    return e.value;
  }

  set(key: K, value: V, now = Date.now()): void {
    this.map.delete(key);
    this.map.set(key, { value, expires: now + this.ttlMs, touched: now });
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
