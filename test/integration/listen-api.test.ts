/**
 * The listen sessions API behind `wmx listen` (/api/v1/listen-sessions), over HTTP on every dialect:
 * events queued for a session from its opening on, in order, the stored body byte for byte with
 * headers signed as a webhook's; a long poll that answers as soon as an event happens; deliveries
 * kept until acknowledged, acks recorded as attempts (dashboard log) and idempotent; the webhook
 * worker never touching them while http endpoints still get theirs; sessions apart from webhook
 * endpoints; other merchants kept out; ending, idle expiry, redelivery, and bad input.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { LISTEN_IDLE_MS } from '../../src/store/webhooks.js';
import { LISTEN_SESSIONS_MAX } from '../../src/app/listen.js';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';
import { loadContract } from '../support/openapi-contract.js';
import { apiClient, type Api, type ApiResponse } from '../support/api-client.js';
import { startWebhookSink } from '../support/webhook-sink.js';
import { signatureValid } from '../support/signatures.js';

interface Forwarded {
  delivery_id: string;
  event_id: string;
  type: string;
  created: number;
  headers: Record<string, string>;
  body: string;
}

/** What every suite below needs from a gateway. */
function listenClient(t: TestGateway, api: Api) {
  const merchantIdOf = async (c: IssuedCredentials) => (await t.gw.merchants.byWmxId(c.wmx_id))!.id;
  return {
    merchantIdOf,
    async open(c: IssuedCredentials, label?: string): Promise<string> {
      const r = await api('POST', '/api/v1/listen-sessions', { key: c.api_key, body: label ? { label } : {} });
      assert.equal(r.status, 201, r.text);
      return r.json.id as string;
    },
    poll(key: string | null, id: string, body: unknown = { wait_seconds: 0 }): Promise<ApiResponse> {
      return api('POST', `/api/v1/listen-sessions/${id}/poll`, { key, body });
    },
    /** Polls and expects 200; the forwarded events. */
    async events(c: IssuedCredentials, id: string, body: unknown = { wait_seconds: 0 }): Promise<Forwarded[]> {
      const r = await api('POST', `/api/v1/listen-sessions/${id}/poll`, { key: c.api_key, body });
      assert.equal(r.status, 200, r.text);
      return r.json.events as Forwarded[];
    },
    /** A sandbox payment in `outcome` (the helper API); its token and its event's id. */
    async pay(c: IssuedCredentials, outcome = 'succeeded'): Promise<{ token: string; eventId: string }> {
      const r = await api('POST', '/api/v1/sandbox/payments', { key: c.api_key, body: { outcome } });
      assert.equal(r.status, 201, r.text);
      const token = r.json.payment.token as string;
      const events = await t.gw.webhooks.events(await merchantIdOf(c));
      const ev = events.find((e) => (JSON.parse(e.payload) as { data: { token?: string } }).data.token === token);
      assert.ok(ev, `an event for ${token}`);
      return { token, eventId: ev.id };
    },
    /** The delivery of `eventId` to endpoint `endpointId`, as stored. */
    async delivery(eventId: string, endpointId: string) {
      return (await t.gw.webhooks.repo.deliveriesOfEvent(eventId)).find((d) => d.endpointId === endpointId);
    },
  };
}

for (const dialect of dialects()) {
  describe(`listen sessions API (${dialect})`, () => {
    let t: TestGateway;
    let api: Api;
    let L: ReturnType<typeof listenClient>;
    let shopNo = 0;
    const closers: (() => Promise<void>)[] = [];

    before(async () => {
      t = await startGateway(dialect);
      api = apiClient(t, await loadContract(t.url));
      L = listenClient(t, api);
    });
    after(async () => {
      await t.close();
      for (const c of closers) await c();
    });

    const shop = () => t.createMerchant({ name: `Listen Shop ${++shopNo}`, sandbox: true });

    it('opens a session; a later event is forwarded with its stored body and signed webhook headers', async () => {
      const c = await shop();
      const r = await api('POST', '/api/v1/listen-sessions', {
        key: c.api_key,
        body: { label: '  http://localhost:3000/hooks  ' },
      });
      assert.equal(r.status, 201, r.text);
      assert.match(r.json.id, /^whe_/);
      assert.equal(r.json.label, 'http://localhost:3000/hooks');
      assert.equal(r.json.active, true);
      assert.equal(r.json.idle_timeout_seconds, LISTEN_IDLE_MS / 1000);
      const bare = await api('POST', '/api/v1/listen-sessions', { key: c.api_key });
      assert.equal(bare.status, 201, bare.text);
      assert.equal(bare.json.label, 'wmx listen');

      const { token, eventId } = await L.pay(c);
      const events = await L.events(c, r.json.id, { wait_seconds: 5 });
      assert.equal(events.length, 1);
      const e = events[0]!;
      assert.equal(e.event_id, eventId);
      assert.equal(e.type, 'payment.succeeded');
      assert.match(e.delivery_id, /^whd_/);
      const stored = await t.gw.webhooks.repo.event(await L.merchantIdOf(c), eventId);
      assert.equal(e.body, stored?.payload, 'the stored body, byte for byte');
      const viaApi = await api('GET', `/api/v1/events/${eventId}`, { key: c.api_key });
      assert.deepEqual(JSON.parse(e.body), viaApi.json);
      assert.equal((JSON.parse(e.body) as { data: { token: string } }).data.token, token);
      assert.equal(e.created, Math.floor(stored!.createdAt / 1000));
      assert.deepEqual(Object.keys(e.headers).sort(), ['content-type', 'user-agent', 'wmx-event-id', 'wmx-signature']);
      assert.match(e.headers['content-type']!, /^application\/json/);
      assert.match(e.headers['user-agent']!, /^wmx-gateway-webhooks\//);
      assert.equal(e.headers['wmx-event-id'], eventId);
      assert.ok(signatureValid(c.signing_secret, e.headers['wmx-signature'], e.body), 'signed with the secret');
      assert.ok(!signatureValid(c.signing_secret, e.headers['wmx-signature'], `${e.body} `));
      const ts = Number(/^t=(\d+)/.exec(e.headers['wmx-signature']!)?.[1]);
      assert.ok(Math.abs(ts - Date.now() / 1000) < 60, 'signed now');
      // The other session got it too, with a delivery of its own.
      const second = await L.events(c, bare.json.id);
      assert.deepEqual(
        second.map((x) => x.event_id),
        [eventId],
      );
      assert.notEqual(second[0]!.delivery_id, e.delivery_id);
    });

    it('a waiting long poll answers as soon as an event happens', async () => {
      const c = await shop();
      const id = await L.open(c);
      // Know when the poll is waiting: its first look at the queue found nothing.
      const repo = t.gw.webhooks.repo;
      const original = repo.queuedFor;
      let waiting!: () => void;
      const isWaiting = new Promise<void>((r) => (waiting = r));
      repo.queuedFor = async (endpointId, limit) => {
        const q = await original(endpointId, limit);
        if (endpointId === id && q.length === 0) waiting();
        return q;
      };
      try {
        const started = performance.now();
        const polled = L.poll(c.api_key, id, { wait_seconds: 20 });
        await isWaiting;
        const { eventId } = await L.pay(c);
        const r = await polled;
        const took = performance.now() - started;
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(
          (r.json.events as Forwarded[]).map((e) => e.event_id),
          [eventId],
        );
        assert.ok(took < 15_000, `answered after ${Math.round(took)} ms, not at the end of its wait`);
      } finally {
        repo.queuedFor = original;
      }
    });

    it('a poll whose client went away stops waiting (on its own connection, nothing else held)', async () => {
      const c = await shop();
      const id = await L.open(c);
      const listen = t.gw.listen;
      const original = listen.poll;
      let settled!: (ms: number) => void;
      const done = new Promise<number>((r) => (settled = r));
      let started = 0;
      listen.poll = (...args) => {
        started = performance.now();
        return original(...args).finally(() => settled(performance.now() - started));
      };
      try {
        const body = JSON.stringify({ wait_seconds: 20 });
        const req = http.request(`${t.url}/api/v1/listen-sessions/${id}/poll`, {
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${c.api_key}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        });
        req.on('error', () => undefined); // destroyed below, on purpose
        req.end(body);
        // Wait until the gateway runs the poll, then hang up.
        while (started === 0) await new Promise((r) => setImmediate(r));
        req.destroy();
        const ms = await done;
        assert.ok(ms < 10_000, `the poll ended ${Math.round(ms)} ms after it began`);
      } finally {
        listen.poll = original;
      }
      // Many polls over one kept-alive connection leave no listener behind on it.
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 15; i++) {
          const status = await new Promise<number>((resolve, reject) => {
            const body = JSON.stringify({ wait_seconds: 0 });
            const req = http.request(`${t.url}/api/v1/listen-sessions/${id}/poll`, {
              method: 'POST',
              agent,
              headers: {
                authorization: `Bearer ${c.api_key}`,
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
              },
            });
            req.on('error', reject);
            req.on('response', (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.end(body);
          });
          assert.equal(status, 200);
        }
        await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
        assert.deepEqual(
          warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
          [],
        );
      } finally {
        process.off('warning', onWarning);
        agent.destroy();
      }
    });

    it('keeps a delivery until it is acknowledged; acks are attempts, once; a 500 closes it as failed', async () => {
      const c = await shop();
      const id = await L.open(c, 'http://localhost:9999/hooks');
      const m = await L.merchantIdOf(c);
      const one = await L.pay(c);
      const two = await L.pay(c, 'failed');
      const first = await L.events(c, id, { wait_seconds: 5 });
      assert.deepEqual(
        first.map((e) => e.event_id),
        [one.eventId, two.eventId],
      );
      // Not acknowledged (the answer was lost, say): the same deliveries again.
      const again = await L.events(c, id);
      assert.deepEqual(
        again.map((e) => e.delivery_id),
        first.map((e) => e.delivery_id),
      );
      assert.deepEqual(
        again.map((e) => e.body),
        first.map((e) => e.body),
      );
      const acks = first.map((e) => ({ delivery_id: e.delivery_id, status_code: 200, latency_ms: 5 }));
      const acked = await L.poll(c.api_key, id, { wait_seconds: 0, acks });
      assert.equal(acked.status, 200, acked.text);
      assert.equal(acked.json.acknowledged, 2);
      assert.deepEqual(acked.json.events, []);
      const twice = await L.poll(c.api_key, id, { wait_seconds: 0, acks });
      assert.equal(twice.json.acknowledged, 0, 'acknowledging twice changes nothing');
      for (const e of first) {
        const d = await L.delivery(e.event_id, id);
        assert.equal(d?.status, 'delivered');
        assert.equal(d?.attempts, 1);
        assert.equal(d?.lastStatusCode, 200);
        assert.equal((await t.gw.webhooks.repo.attemptsOf(e.delivery_id)).length, 1);
      }

      // A receiver's 500 closes the delivery as failed: nobody retries it.
      const three = await L.pay(c, 'cancelled');
      const [e3] = await L.events(c, id);
      assert.equal(e3?.event_id, three.eventId);
      const no = await L.poll(c.api_key, id, {
        wait_seconds: 0,
        acks: [{ delivery_id: e3.delivery_id, status_code: 500, latency_ms: 7, error: null }],
      });
      assert.equal(no.json.acknowledged, 1);
      assert.deepEqual(no.json.events, []);
      const d3 = await L.delivery(three.eventId, id);
      assert.equal(d3?.status, 'failed');
      assert.equal(d3?.lastStatusCode, 500);
      assert.equal(await t.gw.webhooks.worker.runOnce(), 0, 'the worker has nothing to send');
      assert.equal((await t.gw.webhooks.repo.attemptsOf(e3.delivery_id)).length, 1);
      assert.equal((await L.delivery(three.eventId, id))?.status, 'failed');
      assert.deepEqual(await L.events(c, id), [], 'not queued again either');
      // An unreachable receiver (null status) is recorded with its error.
      const four = await L.pay(c);
      const [e4] = await L.events(c, id);
      assert.equal(e4?.event_id, four.eventId);
      const unreachable = await L.poll(c.api_key, id, {
        wait_seconds: 0,
        acks: [{ delivery_id: e4.delivery_id, status_code: null, latency_ms: 3, error: 'ECONNREFUSED' }],
      });
      assert.equal(unreachable.json.acknowledged, 1);

      // The dashboard's delivery log shows each attempt with its status.
      const log = await t.gw.webhooks.recentDeliveries(m);
      const entry = (deliveryId: string) => log.find((x) => x.id === deliveryId);
      assert.equal(entry(first[0]!.delivery_id)?.status, 'delivered');
      assert.deepEqual(
        entry(first[0]!.delivery_id)?.attemptLog.map((a) => [a.statusCode, a.latencyMs]),
        [[200, 5]],
      );
      assert.equal(entry(e3.delivery_id)?.status, 'failed');
      assert.deepEqual(
        entry(e3.delivery_id)?.attemptLog.map((a) => [a.statusCode, a.latencyMs]),
        [[500, 7]],
      );
      assert.equal(entry(e3.delivery_id)?.url, 'listen:http://localhost:9999/hooks');
      assert.deepEqual(
        entry(e4.delivery_id)?.attemptLog.map((a) => [a.statusCode, a.error]),
        [[null, 'ECONNREFUSED']],
      );
    });

    it('queues only events after the session opened, oldest first', async () => {
      const c = await shop();
      const earlier = await L.pay(c);
      const id = await L.open(c);
      const later = [await L.pay(c, 'failed'), await L.pay(c, 'cancelled'), await L.pay(c, 'expired'), await L.pay(c)];
      const events = await L.events(c, id);
      assert.deepEqual(
        events.map((e) => e.event_id),
        later.map((x) => x.eventId),
      );
      assert.deepEqual(
        events.map((e) => e.type),
        ['payment.failed', 'payment.cancelled', 'payment.expired', 'payment.succeeded'],
      );
      assert.equal(await L.delivery(earlier.eventId, id), undefined, 'no delivery for an earlier event');
    });

    it('the webhook worker never claims listen deliveries; an http endpoint still gets its own', async () => {
      const c = await shop();
      const sink = await startWebhookSink();
      closers.push(sink.close);
      const added = await api('POST', '/api/v1/webhook-endpoints', { key: c.api_key, body: { url: sink.url } });
      assert.equal(added.status, 201, added.text);
      const id = await L.open(c);
      const { eventId } = await L.pay(c);
      const deliveries = await t.gw.webhooks.repo.deliveriesOfEvent(eventId);
      assert.deepEqual(
        deliveries.map((d) => [d.endpointId, d.status]).sort(),
        [
          [added.json.id, 'pending'],
          [id, 'queued'],
        ].sort(),
      );
      for (let i = 0; i < 100 && !sink.byId.has(eventId); i++) {
        await t.gw.webhooks.worker.runOnce();
        if (!sink.byId.has(eventId)) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(sink.byId.get(eventId)?.length, 1, 'the http endpoint got it once');
      assert.equal((await L.delivery(eventId, added.json.id))?.status, 'delivered');
      assert.equal(await t.gw.webhooks.worker.runOnce(), 0);
      const queued = await L.delivery(eventId, id);
      assert.equal(queued?.status, 'queued');
      assert.equal(queued?.attempts, 0);
      assert.equal(queued?.leaseUntil, null, 'never leased');
      const [e] = await L.events(c, id);
      assert.equal(e?.event_id, eventId);
      assert.equal(e.body, sink.byId.get(eventId)![0], 'the same bytes the endpoint received');
    });

    it('sessions are not webhook endpoints: not listed, not removable there, not counted in the cap', async () => {
      const c = await shop();
      const sessions = [await L.open(c), await L.open(c), await L.open(c)];
      const listed = await api('GET', '/api/v1/webhook-endpoints', { key: c.api_key });
      assert.deepEqual(listed.json.data, []);
      const del = await api('DELETE', `/api/v1/webhook-endpoints/${sessions[0]}`, { key: c.api_key });
      assert.equal(del.status, 404, del.text);
      assert.equal((await L.poll(c.api_key, sessions[0]!)).status, 200, 'the session still runs');
      const added: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await api('POST', '/api/v1/webhook-endpoints', {
          key: c.api_key,
          body: { url: `http://127.0.0.1:9/hook-${i}` },
        });
        assert.equal(r.status, 201, `endpoint ${i + 1}: ${r.text}`);
        added.push(r.json.id as string);
      }
      const eleventh = await api('POST', '/api/v1/webhook-endpoints', {
        key: c.api_key,
        body: { url: 'http://127.0.0.1:9/hook-10' },
      });
      assert.equal(eleventh.status, 422, 'the cap holds for http endpoints');
      assert.deepEqual(
        (await api('GET', '/api/v1/webhook-endpoints', { key: c.api_key })).json.data.map((e: { id: string }) => e.id),
        added,
      );
      // A session can still be opened with the cap reached.
      assert.match(await L.open(c), /^whe_/);
      // A listen session's id is not a listen session of the webhook kind either way round.
      const asSession = await L.poll(c.api_key, added[0]!);
      assert.equal(asSession.status, 404, asSession.text);
      assert.equal((await api('DELETE', `/api/v1/listen-sessions/${added[0]}`, { key: c.api_key })).status, 404);
      assert.equal((await api('GET', '/api/v1/webhook-endpoints', { key: c.api_key })).json.data.length, 10);
    });

    it('another merchant’s key can neither poll nor end the session; an unknown id is 404', async () => {
      const c = await shop();
      const stranger = await shop();
      const id = await L.open(c);
      const { eventId } = await L.pay(c);
      const poll = await L.poll(stranger.api_key, id);
      assert.equal(poll.status, 404, poll.text);
      assert.equal(poll.json.error.code, 'not_found');
      const end = await api('DELETE', `/api/v1/listen-sessions/${id}`, { key: stranger.api_key });
      assert.equal(end.status, 404, end.text);
      const unknown = 'whe_000000000000000000000000';
      assert.equal((await L.poll(c.api_key, unknown)).status, 404);
      assert.equal((await api('DELETE', `/api/v1/listen-sessions/${unknown}`, { key: c.api_key })).status, 404);
      // The stranger's acks for the owner's delivery change nothing either.
      const own = await L.open(stranger);
      const d = (await L.delivery(eventId, id))!;
      const foreignAck = await L.poll(stranger.api_key, own, {
        wait_seconds: 0,
        acks: [{ delivery_id: d.id, status_code: 200 }],
      });
      assert.equal(foreignAck.json.acknowledged, 0);
      assert.deepEqual(
        (await L.events(c, id)).map((e) => e.event_id),
        [eventId],
        'still there for the owner',
      );
    });

    it('an ended session answers 410 and gets no new events; what it had not fetched is given up', async () => {
      const c = await shop();
      const id = await L.open(c);
      const unfetched = await L.pay(c);
      const r = await api('DELETE', `/api/v1/listen-sessions/${id}`, { key: c.api_key });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, id);
      assert.equal(r.json.active, false);
      const p = await L.poll(c.api_key, id);
      assert.equal(p.status, 410, p.text);
      assert.equal(p.json.error.code, 'listen_session_ended');
      const after = await L.pay(c);
      assert.equal(await L.delivery(after.eventId, id), undefined, 'no delivery after the end');
      assert.equal((await L.delivery(unfetched.eventId, id))?.status, 'failed');
      assert.equal((await L.poll(c.api_key, id)).status, 410);
      // Ending twice answers the ended session.
      const twice = await api('DELETE', `/api/v1/listen-sessions/${id}`, { key: c.api_key });
      assert.equal(twice.status, 200);
      assert.equal(twice.json.active, false);
    });

    it(`at most ${LISTEN_SESSIONS_MAX} live sessions per merchant: the next is a 409, ending one frees a place`, async () => {
      const c = await shop();
      const ids: string[] = [];
      for (let i = 0; i < LISTEN_SESSIONS_MAX; i++) ids.push(await L.open(c, `laptop ${i}`));
      const over = await api('POST', '/api/v1/listen-sessions', { key: c.api_key, body: {} });
      assert.equal(over.status, 409, over.text);
      assert.equal(over.json.error.code, 'too_many_listen_sessions');
      // Every live session still gets the merchant's events; the refused one got nothing.
      const paid = await L.pay(c);
      for (const id of ids) assert.equal((await L.delivery(paid.eventId, id))?.status, 'queued', id);
      assert.equal((await api('DELETE', `/api/v1/listen-sessions/${ids[0]}`, { key: c.api_key })).status, 200);
      await L.open(c, 'another laptop');
      // Another merchant's sessions are its own count.
      await L.open(await shop());
    });

    it('redelivery puts an acknowledged delivery back in the session’s queue, not the worker’s', async () => {
      const c = await shop();
      const m = await L.merchantIdOf(c);
      const id = await L.open(c);
      const { eventId } = await L.pay(c);
      const [e] = await L.events(c, id);
      assert.equal(e?.event_id, eventId);
      const acks = [{ delivery_id: e.delivery_id, status_code: 200, latency_ms: 4 }];
      assert.equal((await L.poll(c.api_key, id, { wait_seconds: 0, acks })).json.acknowledged, 1);
      assert.deepEqual(await L.events(c, id), []);

      assert.equal(await t.gw.webhooks.redeliver(m, e.delivery_id), true);
      assert.equal((await L.delivery(eventId, id))?.status, 'queued');
      assert.equal(await t.gw.webhooks.worker.runOnce(), 0, 'the worker sends nothing');
      assert.equal((await t.gw.webhooks.repo.attemptsOf(e.delivery_id)).length, 1);
      const back = await L.events(c, id);
      assert.deepEqual(
        back.map((x) => [x.delivery_id, x.event_id, x.body]),
        [[e.delivery_id, eventId, e.body]],
      );
      assert.equal((await L.poll(c.api_key, id, { wait_seconds: 0, acks })).json.acknowledged, 1);
      assert.equal((await t.gw.webhooks.repo.attemptsOf(e.delivery_id)).length, 2);
      // Another merchant cannot redeliver it.
      const stranger = await L.merchantIdOf(await shop());
      assert.equal(await t.gw.webhooks.redeliver(stranger, e.delivery_id), false);
      assert.equal((await L.delivery(eventId, id))?.status, 'delivered');
      // Once the session has ended nobody would fetch it: closed at once, saying why, never left queued.
      assert.equal((await api('DELETE', `/api/v1/listen-sessions/${id}`, { key: c.api_key })).status, 200);
      assert.equal(await t.gw.webhooks.redeliver(m, e.delivery_id), true);
      assert.equal((await L.delivery(eventId, id))?.status, 'failed');
      const log = (await t.gw.webhooks.recentDeliveries(m)).find((x) => x.id === e.delivery_id);
      assert.deepEqual(
        log?.attemptLog.map((a) => [a.statusCode, a.error]),
        [
          [200, null],
          [200, null],
          [null, 'listen session ended'],
        ],
      );
      assert.equal(await t.gw.webhooks.worker.runOnce(), 0);
    });

    it('refuses bad input with 400/401/415, changing nothing', async () => {
      const c = await shop();
      const id = await L.open(c);
      const { eventId } = await L.pay(c);
      const d = (await L.delivery(eventId, id))!;
      const ack = { delivery_id: d.id, status_code: 200, latency_ms: 5 };
      const bad: unknown[] = [
        { wait_seconds: 31 },
        { wait_seconds: -1 },
        { wait_seconds: 1.5 },
        { wait_seconds: '5' },
        { acks: ack },
        { acks: 'x' },
        { acks: [{ ...ack, status_code: 99 }] },
        { acks: [{ ...ack, status_code: 600 }] },
        { acks: [{ ...ack, status_code: '200' }] },
        { acks: [{ ...ack, latency_ms: -1 }] },
        { acks: [{ status_code: 200 }] },
        { acks: [{ ...ack, colour: 'red' }] },
        { acks: [ack], extra: true },
        [ack],
      ];
      for (const body of bad) {
        const r = await L.poll(c.api_key, id, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.json.error.code, 'invalid_request');
      }
      const notJson = await api('POST', `/api/v1/listen-sessions/${id}/poll`, {
        key: c.api_key,
        rawBody: 'wait_seconds=0',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(notJson.status, 415, notJson.text);
      const broken = await api('POST', `/api/v1/listen-sessions/${id}/poll`, {
        key: c.api_key,
        rawBody: '{"wait_seconds":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(broken.status, 400, broken.text);
      const noKey = await L.poll(null, id, { wait_seconds: 0, acks: [ack] });
      assert.equal(noKey.status, 401);
      assert.equal((await api('POST', '/api/v1/listen-sessions', { key: null, body: {} })).status, 401);
      for (const body of [{ label: 'x'.repeat(201) }, { label: 5 }, { lable: 'typo' }]) {
        const r = await api('POST', '/api/v1/listen-sessions', { key: c.api_key, body });
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      }
      // Nothing was acknowledged: the delivery is still queued, with no attempt.
      const still = (await L.delivery(eventId, id))!;
      assert.equal(still.status, 'queued');
      assert.equal(still.attempts, 0);
      const events = await L.events(c, id);
      assert.deepEqual(
        events.map((e) => e.delivery_id),
        [d.id],
      );
      // And a poll body may be left out entirely (wait_seconds then defaults to 25: answered at once here).
      const bare = await api('POST', `/api/v1/listen-sessions/${id}/poll`, { key: c.api_key });
      assert.equal(bare.status, 200, bare.text);
      assert.equal(bare.json.events.length, 1);
    });
  });
}

for (const dialect of dialects()) {
  describe(`listen sessions: idle expiry (${dialect})`, () => {
    let t: TestGateway;
    let L: ReturnType<typeof listenClient>;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
      L = listenClient(t, apiClient(t, await loadContract(t.url)));
    });
    after(() => t.close());

    it('a session left idle past LISTEN_IDLE_MS gets no events and ends; one polled meanwhile keeps receiving', async () => {
      const c = await t.createMerchant({ name: 'Idle Shop', sandbox: true });
      const idle = await L.open(c);
      const busy = await L.open(c);
      t.clock.advance(LISTEN_IDLE_MS / 2);
      assert.deepEqual(await L.events(c, busy), []); // polled halfway
      t.clock.advance(LISTEN_IDLE_MS / 2 + 1_000); // idle: one second past its limit; busy: half of it
      const { eventId } = await L.pay(c);
      assert.equal(await L.delivery(eventId, idle), undefined, 'not queued for the idle session');
      assert.equal((await L.delivery(eventId, busy))?.status, 'queued');
      const r = await L.poll(c.api_key, idle);
      assert.equal(r.status, 410, r.text);
      assert.equal(r.json.error.code, 'listen_session_ended');
      assert.equal((await L.poll(c.api_key, idle)).status, 410, 'ended for good');
      assert.deepEqual(
        (await L.events(c, busy)).map((e) => e.event_id),
        [eventId],
      );
      // A delivery of a session gone idle is not queued again by a redelivery (nobody would fetch it).
      const [b1] = await L.events(c, busy);
      assert.equal(
        (
          await L.poll(c.api_key, busy, {
            wait_seconds: 0,
            acks: [{ delivery_id: b1!.delivery_id, status_code: 200 }],
          })
        ).json.acknowledged,
        1,
      );
      t.clock.advance(LISTEN_IDLE_MS + 1);
      const m = await L.merchantIdOf(c);
      assert.equal(await t.gw.webhooks.redeliver(m, b1!.delivery_id), true);
      assert.equal((await L.delivery(eventId, busy))?.status, 'failed');
      assert.equal((await L.poll(c.api_key, busy)).status, 410);
      // Exactly at the limit a session still receives.
      const edge = await L.open(c);
      t.clock.advance(LISTEN_IDLE_MS);
      const next = await L.pay(c);
      assert.equal((await L.delivery(next.eventId, edge))?.status, 'queued');
      assert.deepEqual(
        (await L.events(c, edge)).map((e) => e.event_id),
        [next.eventId],
      );
    });
  });
}
