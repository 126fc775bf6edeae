/**
 * Signed webhooks on every dialect: events written with the state change (outbox), signed over the
 * raw body, data equal to check-payment's record; retries on 5xx, none on 400; delivery once the sink
 * comes back; redelivery from the dashboard with the same event id; two workers never send one
 * delivery at once; endpoint rules and the JSON API.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { expireIfDue } from '../../src/app/expire.js';
import { createWebhookWorker } from '../../src/delivery/webhook-worker.js';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';
import { approvedPayment, ConsoleClient, REFUND_FAIL_CARD } from '../support/money.js';
import { apiClient } from '../support/api-client.js';
import { loadContract } from '../support/openapi-contract.js';
import { signatureValid } from '../support/signatures.js';

const ACTOR = { kind: 'merchant' as const, id: 'owner@shop.test', ip: '127.0.0.1' };

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  json: { id: string; type: string; created: number; data: Record<string, unknown> };
}

/** A merchant's webhook receiver; `answer` picks the status of the n-th request (0-based), or 'drop'. */
async function startSink(answer: (n: number) => number | 'drop' = () => 200, delayMs = 0) {
  const received: Received[] = [];
  let requests = 0;
  let inFlight = new Map<string, number>();
  let overlaps = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests++;
      const a = answer(n);
      if (a === 'drop') {
        req.socket.destroy();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(raw) as Received['json'];
      received.push({ headers: req.headers, raw, json: parsed });
      const busy = inFlight.get(parsed.id) ?? 0;
      if (busy > 0) overlaps++;
      inFlight.set(parsed.id, busy + 1);
      setTimeout(() => {
        inFlight.set(parsed.id, (inFlight.get(parsed.id) ?? 1) - 1);
        res.writeHead(a, { 'content-type': 'text/plain' });
        res.end(`answer ${a} #${n}`);
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo; // a TCP listener
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    get requests() {
      return requests;
    },
    get overlaps() {
      return overlaps;
    },
    reset() {
      inFlight = new Map();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of dialects()) {
  describe(`webhooks (${dialect})`, () => {
    let t: TestGateway;
    const sinks: { close(): Promise<void> }[] = [];
    let shopNo = 0;

    before(async () => {
      t = await startGateway(dialect, { env: { WMX_WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,200ms' } });
    });
    after(async () => {
      await t.close();
      for (const s of sinks) await s.close();
    });

    /** A sandbox merchant with one endpoint at a fresh sink. */
    async function merchantWithSink(...args: Parameters<typeof startSink>) {
      const sink = await startSink(...args);
      sinks.push(sink);
      const c = await t.createMerchant({ sandbox: true, name: `Hook Shop ${++shopNo}` });
      const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      const added = await t.gw.webhooks.add(m, sink.url);
      assert.ok(added.ok);
      return { sink, c, m, endpoint: added.endpoint };
    }

    /** Runs worker passes until `done` holds (no timers in the worker: the test drives it). */
    async function drain(done: () => boolean | Promise<boolean>, ms = 8000) {
      const deadline = Date.now() + ms;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error('webhook not delivered in time');
        await t.gw.webhooks.worker.runOnce();
        await sleep(30);
      }
    }

    const deliveriesOf = async (eventId: string) => t.gw.webhooks.repo.deliveriesOfEvent(eventId);

    /** A payment declined on the hosted page (sandbox card 4000 0000 0000 0002); its token. */
    async function declinedPayment(c: IssuedCredentials): Promise<string> {
      const token = (await initPayment(t, c)).json.token as string;
      const r = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams({
          method: 'card',
          card_number: '4000000000000002',
          expiry: '12/39',
          cvv: '123',
          card_name: 'X',
        }),
      });
      assert.match(await r.text(), /declined/i);
      return token;
    }

    it('sends payment.succeeded for a card paid over HTTP, signed over the raw body, data = check-payment', async () => {
      const { sink, c, endpoint } = await merchantWithSink();
      const p = await approvedPayment(t, c, { http: true, amount: '250' });
      await drain(() => sink.received.length >= 1);
      const got = sink.received[0]!;
      assert.equal(got.json.type, 'payment.succeeded');
      assert.match(got.json.id, /^evt_/);
      assert.equal(got.headers['wmx-event-id'], got.json.id);
      assert.match(String(got.headers['content-type']), /^application\/json/);
      assert.ok(signatureValid(c.signing_secret, got.headers['wmx-signature'] as string, got.raw));
      assert.ok(!signatureValid('wrong', got.headers['wmx-signature'] as string, got.raw));
      assert.ok(Math.abs(got.json.created - Date.now() / 1000) < 60);
      const record = await checkPayment(t, c, p.token);
      assert.deepEqual(got.json.data, record.json);
      const [d] = await deliveriesOf(got.json.id);
      assert.equal(d?.status, 'delivered');
      assert.equal(d?.endpointId, endpoint.id);
      const attempts = await t.gw.webhooks.repo.attemptsOf(d!.id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.statusCode, 200);
      assert.match(attempts[0]!.responseExcerpt ?? '', /^answer 200/);
    });

    it('sends payment.failed, payment.cancelled and payment.expired', async () => {
      const { sink, c } = await merchantWithSink();
      const declined = await declinedPayment(c);
      const cancelled = (await initPayment(t, c)).json.token as string;
      await fetch(`${t.url}/bank-payment-process/${cancelled}/cancel`, { method: 'POST', body: new URLSearchParams() });
      const expiring = (await initPayment(t, c)).json.token as string;
      const p = (await t.gw.payments.byToken(expiring))!;
      assert.equal((await expireIfDue(t.gw.payments, p, p.expiresAt + 1)).status, 'expired');

      await drain(() => sink.received.length >= 3);
      const byToken = new Map(sink.received.map((x) => [x.json.data.token, x.json]));
      assert.equal(byToken.get(declined)?.type, 'payment.failed');
      assert.equal(byToken.get(declined)?.data.txn_status, '1001');
      assert.equal(byToken.get(cancelled)?.type, 'payment.cancelled');
      assert.equal(byToken.get(cancelled)?.data.txn_status, '1009');
      assert.equal(byToken.get(expiring)?.type, 'payment.expired');
      for (const token of [declined, cancelled]) {
        assert.deepEqual(byToken.get(token)?.data, (await checkPayment(t, c, token)).json);
      }
      // A second look at a final payment writes no second event.
      await expireIfDue(t.gw.payments, p, p.expiresAt + 2);
      await t.gw.webhooks.worker.runOnce();
      assert.equal(sink.received.length, 3);
    });

    it('sends refund.succeeded and refund.failed with the refund and the payment record', async () => {
      const { sink, c, m } = await merchantWithSink();
      const p = await approvedPayment(t, c, { amount: '100' });
      const bad = await approvedPayment(t, c, { amount: '40', card: REFUND_FAIL_CARD });
      await drain(() => sink.received.length >= 2);
      const ok = await t.gw.refunds.create(m.id, p.token, 1250n, ACTOR);
      const failed = await t.gw.refunds.create(m.id, bad.token, null, ACTOR);
      assert.equal(failed.status, 'failed');
      await drain(() => sink.received.length >= 4);
      const refundEvents = sink.received.slice(2).map((x) => x.json);
      const s = refundEvents.find((e) => e.type === 'refund.succeeded')!;
      assert.equal(s.data.id, ok.id);
      assert.equal(s.data.amount, '12.50');
      assert.equal(s.data.status, 'succeeded');
      assert.deepEqual(s.data.payment, (await checkPayment(t, c, p.token)).json);
      assert.equal((s.data.payment as Record<string, unknown>).refunded_amount_bdt, '12.50');
      const f = refundEvents.find((e) => e.type === 'refund.failed')!;
      assert.equal(f.data.id, failed.id);
      assert.equal(f.data.status, 'failed');
    });

    it('retries 500s and delivers on the third attempt, logging every attempt', async () => {
      const { sink, c } = await merchantWithSink((n) => (n < 2 ? 500 : 200));
      await approvedPayment(t, c);
      await drain(() => sink.requests >= 3);
      const evt = sink.received[2]!.json;
      assert.deepEqual(
        sink.received.map((x) => x.json.id),
        [evt.id, evt.id, evt.id],
      );
      const [d] = await deliveriesOf(evt.id);
      assert.equal(d?.status, 'delivered');
      const attempts = await t.gw.webhooks.repo.attemptsOf(d!.id);
      assert.deepEqual(
        attempts.map((a) => a.statusCode),
        [500, 500, 200],
      );
      for (const a of attempts) assert.ok(a.latencyMs >= 0);
    });

    it('gives up at once on a 400', async () => {
      const { sink, c } = await merchantWithSink(() => 400);
      await approvedPayment(t, c);
      await drain(() => sink.requests >= 1);
      await sleep(400); // past every step of the retry schedule
      await t.gw.webhooks.worker.runOnce();
      await t.gw.webhooks.worker.runOnce();
      assert.equal(sink.requests, 1);
      const [d] = await deliveriesOf(sink.received[0]!.json.id);
      assert.equal(d?.status, 'failed');
      assert.equal(d?.lastStatusCode, 400);
    });

    it('writes the event while the sink is down and delivers it when it is back', async () => {
      let down = true;
      const { sink, c, m } = await merchantWithSink(() => (down ? 'drop' : 200));
      const p = await approvedPayment(t, c);
      const events = await t.gw.webhooks.events(m.id);
      assert.equal(events.length, 1, 'the event is written with the approval');
      assert.equal((JSON.parse(events[0]!.payload) as { data: { token: string } }).data.token, p.token);
      await drain(() => sink.requests >= 1);
      const [d] = await deliveriesOf(events[0]!.id);
      assert.equal(d?.status, 'pending');
      const first = await t.gw.webhooks.repo.attemptsOf(d!.id);
      assert.equal(first[0]?.statusCode, null);
      assert.ok(first[0]?.error);
      down = false;
      await drain(() => sink.received.length >= 1);
      assert.equal(sink.received[0]!.json.id, events[0]!.id);
      assert.equal(sink.received[0]!.raw, events[0]!.payload, 'the stored body is sent byte for byte');
    });

    it('redelivers from the dashboard with the same event id; viewers cannot', async () => {
      const { sink, c, m } = await merchantWithSink();
      await approvedPayment(t, c);
      await drain(() => sink.received.length >= 1);
      const eventId = sink.received[0]!.json.id;
      const password = 'correct horse battery';
      for (const role of ['owner', 'viewer'] as const) {
        await t.gw.accounts.createUser({
          kind: 'merchant',
          email: `${role}@hooks${shopNo}.test`,
          password,
          name: role,
          merchantId: m.id,
          role,
        });
      }
      const owner = new ConsoleClient(t.url);
      await owner.login('merchant', `owner@hooks${shopNo}.test`, password);
      const pageText = (await owner.get('/dashboard/webhooks')).text;
      assert.match(pageText, /href="\/dashboard\/webhooks"/);
      assert.ok(pageText.includes(eventId));
      assert.match(pageText, /HTTP 200/);
      const action = /action="(\/dashboard\/webhooks\/deliveries\/whd_[A-Za-z0-9]+\/redeliver)"/.exec(pageText);
      assert.ok(action, 'a Redeliver button');

      const viewer = new ConsoleClient(t.url);
      await viewer.login('merchant', `viewer@hooks${shopNo}.test`, password);
      const shown = await viewer.get('/dashboard/webhooks');
      assert.equal(shown.status, 200);
      assert.doesNotMatch(shown.text, /redeliver"/);
      assert.equal((await viewer.post(action[1]!, {})).status, 403);
      assert.equal((await viewer.post('/dashboard/webhooks/endpoints', { url: 'http://x.test/' })).status, 403);

      const r = await owner.post(action[1]!, {});
      assert.equal(r.status, 200, r.text);
      await drain(() => sink.received.length >= 2);
      assert.equal(sink.received[1]!.json.id, eventId);
      assert.equal(sink.received[1]!.raw, sink.received[0]!.raw);

      // Owners add and remove endpoints from the page.
      const added = await owner.post('/dashboard/webhooks/endpoints', { url: 'https://other.example/hook' });
      assert.equal(added.status, 303);
      const list = await t.gw.webhooks.list(m.id);
      assert.equal(list.length, 2);
      await owner.get('/dashboard/webhooks');
      const removed = await owner.post(`/dashboard/webhooks/endpoints/${list[1]!.id}/remove`, {});
      assert.equal(removed.status, 303);
      assert.equal((await t.gw.webhooks.list(m.id)).length, 1);
      const bad = await owner.post('/dashboard/webhooks/endpoints', { url: 'ftp://x.test/' });
      assert.equal(bad.status, 422);
    });

    it('a receiver slow to answer does not hold back another merchant’s events (the running worker)', async () => {
      const slow = await merchantWithSink(() => 200, 3000);
      const fast = await merchantWithSink();
      await approvedPayment(t, slow.c);
      t.gw.webhooks.worker.start();
      try {
        for (let i = 0; i < 400 && slow.sink.requests === 0; i++) await sleep(10);
        assert.equal(slow.sink.requests, 1, 'the slow receiver got its event');
        await approvedPayment(t, fast.c);
        for (let i = 0; i < 400 && fast.sink.received.length === 0; i++) await sleep(10);
        assert.equal(fast.sink.received.length, 1, 'the other merchant’s event arrived');
        // …while the slow receiver still had not answered: its attempt is not recorded yet.
        const [d] = await deliveriesOf(slow.sink.received[0]!.json.id);
        assert.equal((await t.gw.webhooks.repo.attemptsOf(d!.id)).length, 0);
      } finally {
        await t.gw.webhooks.worker.stop();
      }
      const [d] = await deliveriesOf(slow.sink.received[0]!.json.id);
      assert.equal(d?.status, 'delivered'); // stop() waited for it
    });

    it('a receiver that hangs with a backlog holds only its share of the worker: others are still sent at once', async () => {
      const slow = await merchantWithSink(() => 200, 3000);
      const fast = await merchantWithSink();
      for (let i = 0; i < 6; i++) await approvedPayment(t, slow.c); // six events due for the slow one
      // A worker with four slots, at most one per endpoint (the gateway's: fifty, ten per endpoint).
      const worker = createWebhookWorker({
        repo: t.gw.webhooks.repo,
        merchantById: t.gw.merchantById,
        signingSecretOf: t.gw.signingSecretOf,
        retryScheduleMs: [1000],
        timeoutMs: 5000,
        now: () => Date.now(),
        batchSize: 4,
        perEndpoint: 1,
        pollMs: 50,
      });
      worker.start();
      try {
        for (let i = 0; i < 300 && slow.sink.requests === 0; i++) await sleep(10);
        await approvedPayment(t, fast.c);
        for (let i = 0; i < 800 && fast.sink.received.length === 0; i++) await sleep(10);
        assert.equal(fast.sink.received.length, 1, 'the other merchant’s event arrived');
        // …before the slow receiver answered anything: none of its attempts is recorded yet.
        const [d] = await deliveriesOf(slow.sink.received[0]!.json.id);
        assert.equal((await t.gw.webhooks.repo.attemptsOf(d!.id)).length, 0);
        assert.equal(slow.sink.requests, 1, 'one delivery at a time to the receiver that hangs');
      } finally {
        await worker.stop();
      }
    });

    it('lists every event in the JSON API, newest first, by type and page, as sent; another merchant’s is 404', async () => {
      const api = apiClient(t, await loadContract(t.url));
      const { sink, c } = await merchantWithSink();
      const paid = await approvedPayment(t, c);
      const declined = await declinedPayment(c);
      await drain(() => sink.received.length >= 2);
      const key = c.api_key;

      const all = await api('GET', '/api/v1/events', { key });
      assert.equal(all.status, 200);
      const events = all.json.data as { id: string; type: string; data: { token: string } }[];
      assert.deepEqual(
        events.map((e) => [e.type, e.data.token]),
        [
          ['payment.failed', declined],
          ['payment.succeeded', paid.token],
        ],
      );
      assert.equal(all.json.next_cursor, null);
      // Exactly the body the endpoint received (and the signature covered).
      const sent = new Map(sink.received.map((r) => [r.json.id, JSON.parse(r.raw) as unknown]));
      for (const e of events) assert.deepEqual(e, sent.get(e.id));

      const first = await api('GET', '/api/v1/events?limit=1', { key });
      assert.equal((first.json.data as { id: string }[])[0]!.id, events[0]!.id);
      const second = await api('GET', `/api/v1/events?limit=1&cursor=${String(first.json.next_cursor)}`, { key });
      assert.deepEqual(
        (second.json.data as { id: string }[]).map((e) => e.id),
        [events[1]!.id],
      );
      assert.equal(second.json.next_cursor, null);
      const succeeded = await api('GET', '/api/v1/events?type=payment.succeeded', { key });
      assert.deepEqual(
        (succeeded.json.data as { id: string }[]).map((e) => e.id),
        [events[1]!.id],
      );
      assert.equal((await api('GET', '/api/v1/events?cursor=bm9wZQ', { key })).status, 400);
      assert.equal((await api('GET', '/api/v1/events?type=payment.bogus', { key })).status, 400);

      const one = await api('GET', `/api/v1/events/${events[0]!.id}`, { key });
      assert.deepEqual(one.json, events[0]);
      const stranger = await t.createMerchant({ sandbox: true, name: 'Stranger Shop' });
      const theirs = await api('GET', `/api/v1/events/${events[0]!.id}`, { key: stranger.api_key });
      assert.equal(theirs.status, 404);
      assert.deepEqual((await api('GET', '/api/v1/events', { key: stranger.api_key })).json, {
        data: [],
        next_cursor: null,
      });
    });

    it('never sends one delivery twice at once from concurrent workers', async () => {
      const { sink, c } = await merchantWithSink(() => 200, 150);
      for (let i = 0; i < 8; i++) await approvedPayment(t, c);
      const counts = await Promise.all([t.gw.webhooks.worker.runOnce(), t.gw.webhooks.worker.runOnce()]);
      await drain(() => sink.received.length >= 8);
      assert.equal(sink.overlaps, 0);
      const ids = sink.received.map((x) => x.json.id);
      assert.equal(new Set(ids).size, ids.length, 'each event once');
      assert.ok(counts[0] + counts[1] >= 8);
    });

    it('keeps a live merchant’s endpoints on its registered domains; the JSON API manages them', async () => {
      const live = await t.createMerchant({ sandbox: false, domains: ['shop.test'], name: 'Live Hook Shop' });
      const m = (await t.gw.merchants.byWmxId(live.wmx_id))!;
      assert.equal((await t.gw.webhooks.add(m, 'https://evil.example/hook')).ok, false);
      assert.equal((await t.gw.webhooks.add(m, 'javascript:alert(1)')).ok, false);
      assert.equal((await t.gw.webhooks.add(m, 'https://api.shop.test/hook')).ok, false); // a subdomain is another host
      assert.equal((await t.gw.webhooks.add(m, 'https://shop.test/hook')).ok, true);
      const twice = await t.gw.webhooks.add(m, ' https://shop.test/hook ');
      assert.ok(
        !twice.ok && /already registered/.test(twice.message),
        'the same URL twice would get every event twice',
      );

      const sandbox = await t.createMerchant({ sandbox: true, name: 'Api Hook Shop' });
      const auth = { authorization: `Bearer ${sandbox.api_key}` };
      const json = { ...auth, 'content-type': 'application/json' };
      const post = (body: unknown, key?: string) =>
        fetch(`${t.url}/api/v1/webhook-endpoints`, {
          method: 'POST',
          headers: { ...json, ...(key ? { 'idempotency-key': key } : {}) },
          body: JSON.stringify(body),
        });
      const created = await post({ url: 'http://127.0.0.1:9/x' }, 'k1');
      assert.equal(created.status, 201);
      const ep = (await created.json()) as { id: string; url: string; enabled: boolean };
      assert.match(ep.id, /^whe_/);
      const replay = await post({ url: 'http://127.0.0.1:9/x' }, 'k1');
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(((await replay.json()) as { id: string }).id, ep.id);
      assert.equal((await post({ url: 'gopher://x' })).status, 422);
      const listed = (await (await fetch(`${t.url}/api/v1/webhook-endpoints`, { headers: auth })).json()) as {
        data: { id: string }[];
      };
      assert.deepEqual(
        listed.data.map((e) => e.id),
        [ep.id],
      );
      const del = await fetch(`${t.url}/api/v1/webhook-endpoints/${ep.id}`, { method: 'DELETE', headers: auth });
      assert.equal(del.status, 200);
      assert.equal(((await del.json()) as { enabled: boolean }).enabled, false);
      const again = await fetch(`${t.url}/api/v1/webhook-endpoints/${ep.id}`, { method: 'DELETE', headers: auth });
      assert.equal(again.status, 404);
      const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
      assert.ok(doc.paths['/api/v1/webhook-endpoints']);
      assert.ok(doc.paths['/api/v1/webhook-endpoints/{id}']);
    });
  });
}

for (const dialect of dialects()) {
  describe(`expiry without a lookup (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect, { fakeClock: true });
    });
    after(() => t.close());

    it('the sweeper expires overdue payments nobody looks at: payment.expired is sent and the API lists them', async () => {
      const sink = await startSink();
      try {
        const c = await t.createMerchant({ sandbox: true, name: 'Sleepy Shop' });
        const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
        assert.ok((await t.gw.webhooks.add(m, sink.url)).ok);
        const overdue = (await initPayment(t, c)).json.token as string;
        t.clock.advance(31 * 60_000); // past the 30-minute time to live
        const fresh = (await initPayment(t, c)).json.token as string;

        assert.equal(await t.gw.expirySweeper.runOnce(), 1);
        // Read straight from the JSON API (which does not expire anything itself).
        const api = async (token: string) => {
          const r = await fetch(`${t.url}/api/v1/payments/${token}`, {
            headers: { authorization: `Bearer ${c.api_key}` },
          });
          return (await r.json()) as Record<string, unknown>;
        };
        assert.equal((await api(overdue)).status, 'expired');
        assert.equal((await api(fresh)).status, 'pending');
        const listed = await fetch(`${t.url}/api/v1/payments?status=expired`, {
          headers: { authorization: `Bearer ${c.api_key}` },
        });
        const page = (await listed.json()) as { data: { token: string }[] };
        assert.deepEqual(
          page.data.map((p) => p.token),
          [overdue],
        );

        await t.gw.webhooks.worker.runOnce();
        for (let i = 0; i < 200 && sink.received.length === 0; i++) await sleep(10);
        assert.equal(sink.received.length, 1);
        assert.equal(sink.received[0]!.json.type, 'payment.expired');
        assert.equal(sink.received[0]!.json.data.token, overdue);
        assert.equal(sink.received[0]!.json.data.txn_status, '1009');
        assert.equal(await t.gw.expirySweeper.runOnce(), 0, 'nothing left to expire');
      } finally {
        await sink.close();
      }
    });
  });
}
