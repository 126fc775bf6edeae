/**
 * Shared rate-limit buckets (issue 16, item 2): three SharedBuckets (as three instances) on one
 * store, PostgreSQL's unlogged table or Redis, allow the limit between them, not three times it;
 * failure limits learn of the others' failures; a store that cannot be reached leaves the decision
 * to the in-process bucket instead of refusing everyone. Redis tests run when Redis answers at
 * WMX_TEST_REDIS_URL (default redis://127.0.0.1:6379), else they are skipped with a message.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SharedBuckets, type BucketStore } from '../../src/app/rate-limit.js';
import { openDatabase, ensurePgSchema, dropPgSchema, type Db } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { createPgBucketStore } from '../../src/store/rate-buckets.js';
import { createRedisBucketStore } from '../../src/store/redis-buckets.js';

const REDIS_URL = process.env.WMX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(port || 6379), hostname);
    s.setTimeout(500);
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Everything three instances allow of `attempts` spread over them at once. */
async function allowedOf(buckets: SharedBuckets[], key: string, attempts: number): Promise<number> {
  const answers = await Promise.all(Array.from({ length: attempts }, (_, n) => buckets[n % buckets.length]!.take(key)));
  return answers.filter((w) => w === 0).length;
}

function suite(name: string, open: () => Promise<{ store: BucketStore; close: () => Promise<void> }>) {
  describe(`shared rate limits (${name})`, () => {
    let store: BucketStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await open()));
    after(() => close());

    it('three instances allow the burst between them, not three times it', async () => {
      const spec = { perSecond: 0.01, burst: 30 };
      const name = `b${crypto.randomBytes(4).toString('hex')}`;
      const buckets = [0, 1, 2].map(() => new SharedBuckets(name, spec, store));
      const allowed = await allowedOf(buckets, 'merchant-1', 90);
      assert.equal(allowed, 30);
      // A refused key answers at once (no ask) how long to wait: a refusal is believed up to 1 s.
      const wait = buckets[0]!.take('merchant-1');
      assert.equal(typeof wait, 'number');
      assert.ok((wait as number) > 0 && (wait as number) <= 1_000, String(wait));
      // Keys are independent.
      assert.equal(await allowedOf(buckets, 'merchant-2', 10), 10);
    });

    it('at a high rate, tokens taken a few at a time still never exceed the limit', async () => {
      const spec = { perSecond: 200, burst: 40 }; // 10 tokens per ask
      const name = `h${crypto.randomBytes(4).toString('hex')}`;
      const shared = [0, 1, 2].map(() => new SharedBuckets(name, spec, store));
      const started = Date.now();
      const allowed = await allowedOf(shared, 'k', 300);
      const most = spec.burst + Math.ceil(((Date.now() - started) / 1000) * spec.perSecond);
      assert.ok(allowed <= most, `${allowed} allowed, more than ${most}`);
      assert.ok(allowed >= spec.burst - 3 * 10, `${allowed} allowed: instances starved each other`);
    });

    it('a failure limit charged on two instances stops the address on the third after its own next failure', async () => {
      const spec = { perSecond: 0.001, burst: 5 };
      const name = `f${crypto.randomBytes(4).toString('hex')}`;
      const [a, b, c] = [0, 1, 2].map(() => new SharedBuckets(name, spec, store)) as [
        SharedBuckets,
        SharedBuckets,
        SharedBuckets,
      ];
      const settle = () => new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 3; i++) a.charge('203.0.113.9');
      for (let i = 0; i < 2; i++) b.charge('203.0.113.9');
      await settle();
      assert.ok(b.peek('203.0.113.9') > 0, 'b, whose charge spent the last token, knows of all five');
      assert.equal(a.peek('203.0.113.9'), 0, "a has not heard of b's failures yet");
      assert.equal(c.peek('203.0.113.9'), 0, 'c has not failed yet: it lets one more try through');
      c.charge('203.0.113.9');
      await settle();
      assert.ok(c.peek('203.0.113.9') > 0, 'c: stopped once the store told it');
      assert.equal(c.peek('198.51.100.1'), 0, 'another address is unaffected');
    });
  });
}

if (process.env.WMX_TEST_PG_URL) {
  const pgUrl = process.env.WMX_TEST_PG_URL;
  suite('postgres', async () => {
    const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    await ensurePgSchema(pgUrl, schema);
    const db: Db = openDatabase(pgUrl, { pgSchema: schema, pgPoolSize: 4 });
    await migrateToLatest(db.kysely, db.dialect);
    return {
      store: createPgBucketStore(db.kysely),
      close: async () => {
        await db.close();
        await dropPgSchema(pgUrl, schema);
      },
    };
  });
}

const redisUp = await redisAnswers(REDIS_URL);
if (redisUp) {
  suite('redis', async () => {
    const store = createRedisBucketStore(REDIS_URL, `wmx:test:${crypto.randomBytes(6).toString('hex')}:`);
    assert.equal(await store.ready(5_000), true);
    return { store, close: () => store.close() };
  });
} else {
  describe('shared rate limits (redis)', () => {
    it('runs when Redis answers', { skip: `no Redis at ${REDIS_URL}` }, () => undefined);
  });
}

describe('shared rate limits (store unreachable)', () => {
  it('decides in process, burst by burst, when Redis cannot be reached', async () => {
    const store = createRedisBucketStore('redis://127.0.0.1:1', 'wmx:down:');
    const logged: string[] = [];
    try {
      const b = new SharedBuckets('x', { perSecond: 0.01, burst: 4 }, store, Date.now, (m) => logged.push(m));
      const answers: number[] = [];
      for (let i = 0; i < 6; i++) answers.push(await b.take('k'));
      assert.deepEqual(
        answers.map((w) => w === 0),
        [true, true, true, true, false, false],
      );
      assert.ok(logged.length > 0, 'the fallback is logged');
    } finally {
      await store.close();
    }
  });
});
