/**
 * Idempotency-Key semantics of the JSON API (src/app/api-idempotency.ts) over the real store on an
 * in-memory SQLite: replay, conflict, waiting for a running first request, giving the key back after
 * a failure, taking over an abandoned key, and expiry; and runBound, whose key is written with the
 * resource in one transaction (refunds).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createApiIdempotency,
  IdempotencyKeyTaken,
  type BoundResponse,
  type IdempotencyBinding,
  type IdempotentOutcome,
  type StoredResponse,
} from '../../src/app/api-idempotency.js';
import { bindIdempotencyKey, createIdempotencyStore } from '../../src/store/api-idempotency.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrations.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('API idempotency keys', () => {
  let db: Db;
  let clock = Date.now();
  let n = 0;
  const key = () => `k${++n}`;
  const make = (opts: { waitMs?: number; staleMs?: number; ttlMs?: number } = {}) =>
    createApiIdempotency({ store: createIdempotencyStore(db.kysely), now: () => clock, ...opts });
  const answer =
    (status: number, body = `{"n":${Math.random()}}`) =>
    async (): Promise<StoredResponse> => ({ status, body });

  before(async () => {
    db = openDatabase('sqlite::memory:');
    await migrateToLatest(db.kysely, 'sqlite');
  });
  after(() => db.close());

  it('replays the stored answer for the same request, and refuses a different one', async () => {
    const idem = make();
    const k = key();
    const first = await idem.run('mer_a', k, 'h1', answer(201));
    assert.equal(first.kind, 'fresh');
    const again = await idem.run('mer_a', k, 'h1', async () => assert.fail('must not run twice'));
    assert.deepEqual(again, { kind: 'replay', response: first.kind === 'fresh' ? first.response : undefined });
    assert.deepEqual(await idem.run('mer_a', k, 'h2', answer(201)), { kind: 'conflict' });
    // Keys are per merchant.
    assert.equal((await idem.run('mer_b', k, 'h2', answer(201))).kind, 'fresh');
  });

  it('makes a second request wait for the first one’s answer', async () => {
    const idem = make();
    const k = key();
    let runs = 0;
    const slow = async (): Promise<StoredResponse> => {
      runs++;
      await sleep(150);
      return { status: 201, body: '{"slow":true}' };
    };
    const [a, b] = await Promise.all([
      idem.run('mer_a', k, 'h', slow),
      (async () => (await sleep(20), idem.run('mer_a', k, 'h', slow)))(),
    ]);
    assert.equal(runs, 1);
    assert.equal(a.kind, 'fresh');
    assert.deepEqual(b, { kind: 'replay', response: { status: 201, body: '{"slow":true}' } });
  });

  it('answers in_progress when the first request outlasts the wait', async () => {
    const idem = make({ waitMs: 50 });
    const k = key();
    const first = idem.run('mer_a', k, 'h', async () => (await sleep(300), { status: 201, body: '{}' }));
    await sleep(10);
    assert.deepEqual(await idem.run('mer_a', k, 'h', answer(201)), { kind: 'in_progress' });
    assert.equal((await first).kind, 'fresh');
  });

  it('gives the key back after a 5xx or a thrown error, so a retry runs again', async () => {
    const idem = make();
    const k = key();
    assert.equal((await idem.run('mer_a', k, 'h', answer(500))).kind, 'fresh');
    await assert.rejects(
      idem.run('mer_a', k, 'h', async () => assert.fail('boom')),
      /boom/,
    );
    const retry = await idem.run('mer_a', k, 'h', answer(201, '{"ok":1}'));
    assert.deepEqual(retry, { kind: 'fresh', response: { status: 201, body: '{"ok":1}' } });
  });

  it('takes over a key abandoned in progress (a crash), and forgets keys after the TTL', async () => {
    const idem = make({ staleMs: 60_000, ttlMs: 3_600_000 });
    const k = key();
    assert.ok(await createIdempotencyStore(db.kysely).claim('mer_a', k, 'h', clock)); // a request that never finished
    assert.deepEqual(await make({ waitMs: 30 }).run('mer_a', k, 'h', answer(201)), { kind: 'in_progress' });
    clock += 60_000;
    assert.equal((await idem.run('mer_a', k, 'h', answer(201))).kind, 'fresh');
    assert.equal((await idem.run('mer_a', k, 'other', answer(201))).kind, 'conflict');
    clock += 3_600_000;
    assert.equal((await idem.run('mer_a', k, 'other', answer(201))).kind, 'fresh', 'an expired key is free again');
  });

  describe('runBound: the key written with the resource it creates', () => {
    /** Work that "creates" resource `id` and writes the key with it in one transaction, as refunds do. */
    const creating =
      (
        id: string,
        then: (id: string) => Promise<BoundResponse> = async () => ({ status: 201, body: `{"id":"${id}"}` }),
      ) =>
      async (b: IdempotencyBinding): Promise<BoundResponse> => {
        const bound = await db.kysely.transaction().execute((trx) => bindIdempotencyKey(trx, b, id));
        if (!bound) throw new IdempotencyKeyTaken();
        return { ...(await then(id)), resourceId: id };
      };
    const noCurrent = async () => assert.fail('the stored answer must be used');

    it('replays the first answer, and refuses another body', async () => {
      const idem = make();
      const k = key();
      const first = await idem.runBound('mer_a', k, 'h', creating('r1'), noCurrent);
      assert.deepEqual(first, { kind: 'fresh', response: { status: 201, body: '{"id":"r1"}' } });
      const again = await idem.runBound('mer_a', k, 'h', async () => assert.fail('must not run twice'), noCurrent);
      assert.deepEqual(again, { kind: 'replay', response: { status: 201, body: '{"id":"r1"}' } });
      assert.deepEqual(await idem.runBound('mer_a', k, 'h2', creating('r2'), noCurrent), { kind: 'conflict' });
    });

    it('after a failure past the commit, answers the resource as it stands, then repeats that answer', async () => {
      const idem = make();
      const k = key();
      await assert.rejects(
        idem.runBound(
          'mer_a',
          k,
          'h',
          creating('r3', async () => assert.fail('died before answering')),
          noCurrent,
        ),
        /died before answering/,
      );
      let state = 'pending';
      const current = async (id: string) => ({ status: 201, body: `{"id":"${id}","status":"${state}"}` });
      // A fresh process (nothing in flight) with the key left `created`: not 409, not a second resource.
      const retry = await make().runBound('mer_a', k, 'h', async () => assert.fail('must not run again'), current);
      assert.deepEqual(retry, { kind: 'replay', response: { status: 201, body: '{"id":"r3","status":"pending"}' } });
      state = 'succeeded';
      const later = await make().runBound('mer_a', k, 'h', async () => assert.fail('must not run again'), current);
      assert.deepEqual(later, retry, 'the first answer given stands');
    });

    it('a failure before the commit leaves the key free; a refusal is stored and replayed', async () => {
      const idem = make();
      const k = key();
      await assert.rejects(
        idem.runBound('mer_a', k, 'h', async () => assert.fail('boom'), noCurrent),
        /boom/,
      );
      const refused = await idem.runBound('mer_a', k, 'h', async () => ({ status: 422, body: '{"no":1}' }), noCurrent);
      assert.equal(refused.kind, 'fresh');
      const again = await idem.runBound('mer_a', k, 'h', creating('r4'), noCurrent);
      assert.deepEqual(again, { kind: 'replay', response: { status: 422, body: '{"no":1}' } });
    });

    it('concurrent requests with one key in one process: the work runs once, the others replay it', async () => {
      const idem = make();
      const k = key();
      let runs = 0;
      const slow = creating('r5', async (id) => {
        runs++;
        await sleep(100);
        return { status: 201, body: `{"id":"${id}"}` };
      });
      const all = await Promise.all(Array.from({ length: 5 }, () => idem.runBound('mer_a', k, 'h', slow, noCurrent)));
      assert.equal(runs, 1);
      assert.deepEqual(all.map((o) => o.kind).sort(), ['fresh', 'replay', 'replay', 'replay', 'replay']);
      const waited = make({ waitMs: 30 });
      const k2 = key();
      const long = waited.runBound(
        'mer_a',
        k2,
        'h',
        creating('r6', async (id) => (await sleep(200), { status: 201, body: id })),
        noCurrent,
      );
      await sleep(10);
      assert.deepEqual(await waited.runBound('mer_a', k2, 'h', slow, noCurrent), { kind: 'in_progress' });
      assert.equal((await long).kind, 'fresh');
    });

    it('two processes racing one key: the later transaction finds the key taken and replays the first', async () => {
      const k = key();
      let first: IdempotentOutcome | undefined;
      const late = await make().runBound(
        'mer_a',
        k,
        'h',
        async (b) => {
          // Between this request's look (no record) and its transaction, the other process commits.
          first = await make().runBound('mer_a', k, 'h', creating('r7'), noCurrent);
          return creating('r8')(b);
        },
        noCurrent,
      );
      assert.equal(first?.kind, 'fresh');
      assert.deepEqual(late, { kind: 'replay', response: { status: 201, body: '{"id":"r7"}' } });
    });
  });
});
