/**
 * Operations endpoints: /healthz (no database), /readyz (database, migrations, draining), /metrics
 * behind a bearer token on the public listener or open on a separate listener (WMX_METRICS_LISTEN),
 * the metrics themselves (requests per route pattern, payments, webhook queue, upstream calls), and
 * that no payment token ever becomes a label.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildHttpApp } from '../../src/http/app.js';
import { buildMetricsApp } from '../../src/http/ops/metrics-app.js';
import { createReadiness } from '../../src/app/readiness.js';
import { createGatewayMetrics } from '../../src/app/metrics.js';
import { openDatabase } from '../../src/store/db.js';
import { createOpsStats } from '../../src/store/ops-stats.js';
import { latestMigrationName } from '../../src/store/migrations.js';
import { dialects, freePort, initPayment, postForm, startGateway, type TestGateway } from '../support/harness.js';

const TOKEN = 'metrics-token-0123456789abcdef';
const CARD = { method: 'card', card_number: '4111 1111 1111 1111', expiry: '12/39', cvv: '739', card_name: 'R U' };

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The value of one sample line of a Prometheus text answer (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
}

for (const dialect of dialects()) {
  describe(`health and readiness (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect);
    });
    after(() => t.close());

    it('answers /healthz and /readyz, uncached and without request logs', async () => {
      const health = await get(`${t.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
      assert.equal(health.headers.get('cache-control'), 'no-store');
      assert.match(health.headers.get('content-type') ?? '', /^application\/json/);

      const ready = await get(`${t.url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
      assert.deepEqual(JSON.parse(ready.text), {
        status: 'ready',
        checks: { database: 'ok', migrations: 'ok', shutdown: 'ok' },
      });
      assert.equal(ready.headers.get('cache-control'), 'no-store');
      // Once the migrations were found current, later probes are answered from the trivial query.
      assert.equal((await get(`${t.url}/readyz`)).status, 200);
      assert.ok(!t.logs.some((l) => l.includes('/healthz') || l.includes('/readyz')), 'probes are not logged');
    });

    it('serves no /metrics without WMX_METRICS_TOKEN', async () => {
      const r = await get(`${t.url}/metrics`);
      assert.equal(r.status, 404);
      assert.equal((await get(`${t.url}/metrics`, { authorization: `Bearer ${TOKEN}` })).status, 404);
    });

    it('answers /readyz 503 (draining) once the process shuts down', async () => {
      let closing = false;
      const app = await buildHttpApp(t.gw, { isShuttingDown: () => closing });
      try {
        const url = await listen(app);
        assert.equal((await get(`${url}/readyz`)).status, 200);
        closing = true;
        const r = await get(`${url}/readyz`);
        assert.equal(r.status, 503);
        assert.deepEqual(JSON.parse(r.text), {
          status: 'not_ready',
          checks: { database: 'ok', migrations: 'ok', shutdown: 'draining' },
        });
        assert.equal((await get(`${url}/healthz`)).status, 200, 'still alive while draining');
      } finally {
        await app.close();
      }
    });
  });

  describe(`readiness without a database (${dialect})`, () => {
    it('answers /readyz 503 (database unreachable) while /healthz stays 200', async () => {
      const t = await startGateway(dialect);
      const close = t.gw.db.close.bind(t.gw.db);
      let closed = false;
      try {
        await close();
        closed = true;
        const r = await get(`${t.url}/readyz`);
        assert.equal(r.status, 503);
        const body = JSON.parse(r.text) as { status: string; checks: Record<string, string> };
        assert.equal(body.status, 'not_ready');
        assert.equal(body.checks.database, 'unreachable');
        assert.equal(body.checks.shutdown, 'ok');
        assert.equal((await get(`${t.url}/healthz`)).status, 200);
      } finally {
        // The harness closes the database once more: make that a no-op.
        if (closed) (t.gw.db as { close: () => Promise<void> }).close = async () => {};
        await t.close();
      }
    });
  });

  describe(`metrics (${dialect})`, () => {
    let t: TestGateway;
    let ops: FastifyInstance;
    let opsUrl: string;
    const auth = { authorization: `Bearer ${TOKEN}` };
    before(async () => {
      t = await startGateway(dialect, { env: { WMX_METRICS_TOKEN: TOKEN, WMX_METRICS_LISTEN: '127.0.0.1:0' } });
      ops = await buildMetricsApp(t.gw, { isShuttingDown: () => false });
      const listenOn = t.gw.config.metricsListen;
      assert.ok(listenOn);
      await ops.listen({ ...listenOn }); // a copy: Fastify writes into the options it is given
      opsUrl = `http://127.0.0.1:${(ops.server.address() as net.AddressInfo).port}`;
    });
    after(async () => {
      await ops.close();
      await t.close();
    });

    // First: the store's aggregates are cached for 2 s from the first scrape on.
    it('counts requests by route pattern and shows payments, the webhook queue and upstream calls', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await get(`${t.url}/check-server`)).status, 200);
      await get(`${t.url}/no/such/page`);

      const c = await t.createMerchant({ sandbox: true, name: 'Metrics Shop' });
      const m = await t.gw.merchants.byWmxId(c.wmx_id);
      assert.ok(m);
      // The worker does not run in tests: the delivery of the approval event stays waiting.
      assert.ok((await t.gw.webhooks.add(m, 'http://127.0.0.1:9/hooks')).ok);
      const pending = await initPayment(t, c);
      assert.equal(pending.json.statusCode, '1000', pending.text);
      const paid = await initPayment(t, c);
      const token = paid.json.token as string;
      const pay = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        body: new URLSearchParams(CARD),
        redirect: 'manual',
      });
      assert.equal(pay.status, 303);
      await pay.text();
      await get(`${t.url}/bank-payment-process/${token}`);
      const check = await postForm(`${t.url}/check-payment`, {
        wmx_id: c.wmx_id,
        access_app_key: c.access_app_key,
        authorization: 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64'),
        token,
      });
      assert.equal(check.json.txn_status, '1000', check.text);

      const r = await get(`${t.url}/metrics`, auth);
      assert.equal(r.status, 200);
      const text = r.text;
      for (const secret of [token, pending.json.token as string, c.access_app_key, TOKEN]) {
        assert.ok(!text.includes(secret), 'no token or credential in the metrics');
      }

      const checkServer = { method: 'GET', route: '/check-server', status_code: '200' };
      assert.equal(sample(text, 'wmx_http_requests_total', checkServer), 3);
      assert.equal(sample(text, 'wmx_http_requests_total', { route: 'unmatched', status_code: '404' }), 1);
      assert.equal(
        sample(text, 'wmx_http_requests_total', { method: 'POST', route: '/init-payment-process', status_code: '200' }),
        2,
      );
      const page = { method: 'GET', route: '/bank-payment-process/:token', status_code: '200' };
      assert.equal(sample(text, 'wmx_http_requests_total', page), 1);
      assert.equal(
        sample(text, 'wmx_http_requests_total', { method: 'POST', route: '/bank-payment-process/:token/pay' }),
        1,
      );
      const durations = { method: 'GET', route: '/check-server', status_class: '2xx' };
      assert.equal(sample(text, 'wmx_http_request_duration_seconds_count', durations), 3);
      assert.equal(sample(text, 'wmx_http_request_duration_seconds_bucket', { ...durations, le: '+Inf' }), 3);
      assert.ok((sample(text, 'wmx_http_request_duration_seconds_sum', durations) ?? -1) >= 0);

      assert.equal(sample(text, 'wmx_payments', { status: 'pending', method: 'none' }), 1);
      assert.equal(sample(text, 'wmx_payments', { status: 'approved', method: 'card' }), 1);
      assert.equal(sample(text, 'wmx_webhook_deliveries_waiting'), 1);
      assert.ok((sample(text, 'wmx_webhook_oldest_waiting_age_seconds') ?? -1) >= 0);

      const upstream = { connector: 'sandbox', outcome: 'ok' };
      assert.ok((sample(text, 'wmx_upstream_call_duration_seconds_count', upstream) ?? 0) >= 1, text);
      assert.match(text, /^# TYPE wmx_upstream_call_errors_total counter$/m);

      // prom-client's default metrics, event-loop lag among them.
      assert.match(text, /^wmx_nodejs_eventloop_lag_seconds \d/m);
      assert.match(text, /^wmx_process_cpu_user_seconds_total \d/m);
    });

    it('requires the bearer token on the public listener', async () => {
      const wrong: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token-0123456789' },
        { authorization: TOKEN }, // no scheme
        { authorization: `Bearer ${TOKEN}x` },
      ];
      for (const headers of wrong) {
        const r = await get(`${t.url}/metrics`, headers);
        assert.equal(r.status, 401, JSON.stringify(headers));
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.doesNotMatch(r.text, /wmx_/);
      }
      const ok = await get(`${t.url}/metrics`, auth);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.equal(ok.headers.get('cache-control'), 'no-store');
    });

    it('serves /metrics, /healthz and /readyz without a token on the separate listener, and nothing else', async () => {
      const r = await get(`${opsUrl}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.text, /^# TYPE wmx_http_requests_total counter$/m);
      assert.match(r.text, /^# TYPE wmx_payments gauge$/m);
      assert.equal((await get(`${opsUrl}/healthz`)).status, 200);
      const ready = await get(`${opsUrl}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal((JSON.parse(ready.text) as { status: string }).status, 'ready');
      assert.equal((await get(`${opsUrl}/check-server`)).status, 404);
      assert.equal((await get(`${t.url}/metrics`)).status, 401, 'the public listener still wants the token');
    });
  });
}

describe('readiness probes', () => {
  const stats = (ping: () => Promise<void>, newest: () => Promise<string | null>) => ({
    ping,
    newestAppliedMigration: newest,
  });

  it('reports a PostgreSQL that refuses connections as unreachable', async () => {
    const db = openDatabase(`postgres://postgres@127.0.0.1:${await freePort()}/none`);
    try {
      const readiness = createReadiness({ stats: createOpsStats(db.kysely), latestMigration: latestMigrationName() });
      assert.deepEqual(await readiness.check(false), {
        ready: false,
        checks: { database: 'unreachable', migrations: 'unknown', shutdown: 'ok' },
      });
    } finally {
      await db.close();
    }
  });

  it('gives up on a database that does not answer in time, sharing one query among probes', async () => {
    // A server that takes connections and never says a word: the PostgreSQL handshake hangs.
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const db = openDatabase(`postgres://postgres@127.0.0.1:${(mute.address() as net.AddressInfo).port}/none`);
    try {
      const readiness = createReadiness({
        stats: createOpsStats(db.kysely),
        latestMigration: latestMigrationName(),
        timeoutMs: 100,
      });
      const [a, b] = await Promise.all([readiness.check(false), readiness.check(true)]);
      assert.deepEqual(a.checks, { database: 'timeout', migrations: 'unknown', shutdown: 'ok' });
      assert.deepEqual(b.checks, { database: 'timeout', migrations: 'unknown', shutdown: 'draining' });
      assert.equal(sockets.length, 1, 'one connection for both probes');
    } finally {
      for (const s of sockets) s.destroy();
      await db.close().catch(() => undefined);
      await new Promise((resolve) => mute.close(resolve));
    }
  });

  it('names pending and newer migrations, and keeps a positive answer', async () => {
    let newest: string | null = null;
    let queries = 0;
    const readiness = createReadiness({
      stats: stats(
        async () => void queries++,
        async () => {
          queries++;
          return newest;
        },
      ),
      latestMigration: '0005_x',
    });
    assert.equal((await readiness.check(false)).checks.migrations, 'pending');
    newest = '0004_y';
    assert.equal((await readiness.check(false)).checks.migrations, 'pending');
    newest = '0006_z';
    assert.equal((await readiness.check(false)).checks.migrations, 'ahead');
    newest = '0005_x';
    assert.equal((await readiness.check(false)).ready, true);
    newest = null; // no longer asked: only the trivial query runs
    assert.equal((await readiness.check(false)).ready, true);
    assert.equal(queries, 5);
  });
});

describe('metrics', () => {
  it('counts upstream errors per connector, operation and outcome', async () => {
    const metrics = createGatewayMetrics({
      stats: { paymentCounts: async () => [], webhookQueue: async () => ({ waiting: 0, oldestCreatedAt: null }) },
      now: Date.now,
    });
    const call = { startedAt: 0, httpStatus: null, code: null, message: null };
    metrics.observeUpstream('bkash', [
      { ...call, operation: 'grant_token', latencyMs: 120, outcome: 'ok' },
      { ...call, operation: 'create_payment', latencyMs: 10_000, outcome: 'timeout' },
      { ...call, operation: 'create_payment', latencyMs: 300, outcome: 'failed' },
    ]);
    const text = await metrics.render();
    const errors = (outcome: string) =>
      sample(text, 'wmx_upstream_call_errors_total', { connector: 'bkash', operation: 'create_payment', outcome });
    assert.equal(errors('timeout'), 1);
    assert.equal(errors('failed'), 1);
    assert.equal(sample(text, 'wmx_upstream_call_errors_total', { operation: 'grant_token' }), undefined);
    const grant = { connector: 'bkash', operation: 'grant_token', outcome: 'ok' };
    assert.equal(sample(text, 'wmx_upstream_call_duration_seconds_bucket', { ...grant, le: '0.1' }), 0);
    assert.equal(sample(text, 'wmx_upstream_call_duration_seconds_bucket', { ...grant, le: '0.25' }), 1);
    assert.equal(sample(text, 'wmx_webhook_deliveries_waiting'), 0);
    assert.equal(sample(text, 'wmx_webhook_oldest_waiting_age_seconds'), 0);
  });

  it('escapes label values and files unknown methods under OTHER', async () => {
    const metrics = createGatewayMetrics({
      stats: { paymentCounts: async () => [], webhookQueue: async () => ({ waiting: 0, oldestCreatedAt: null }) },
      now: Date.now,
    });
    metrics.http.observe('PROPFIND', 'a"b\\c', 207, 0.002);
    const text = await metrics.render();
    assert.match(text, /^wmx_http_requests_total\{method="OTHER",route="a\\"b\\\\c",status_code="207"\} 1$/m);
    assert.match(text, /status_class="2xx",le="0\.001"\} 0$/m);
    assert.match(text, /status_class="2xx",le="0\.0025"\} 1$/m);
  });

  it('keeps the store gauges and says the read failed when the store cannot be read', async () => {
    const logged: string[] = [];
    let fail = false;
    const metrics = createGatewayMetrics({
      stats: {
        paymentCounts: async () =>
          fail ? Promise.reject(new Error('gone')) : [{ status: 'approved', method: 'card', count: 2 }],
        webhookQueue: async () => ({ waiting: 3, oldestCreatedAt: Date.now() }),
      },
      now: Date.now,
      storeCacheMs: 0,
      log: (msg) => logged.push(msg),
    });
    const first = await metrics.render();
    assert.equal(sample(first, 'wmx_store_scrape_success'), 1);
    fail = true;
    const text = await metrics.render();
    assert.equal(sample(text, 'wmx_store_scrape_success'), 0);
    assert.equal(sample(text, 'wmx_payments', { status: 'approved', method: 'card' }), 2);
    assert.equal(sample(text, 'wmx_webhook_deliveries_waiting'), 3);
    assert.ok(logged.length > 0);
  });
});

describe('metrics configuration', () => {
  it('reads WMX_METRICS_TOKEN and WMX_METRICS_LISTEN', () => {
    const c = loadConfig({ WMX_METRICS_TOKEN: TOKEN, WMX_METRICS_LISTEN: '127.0.0.1:9464' });
    assert.equal(c.metricsToken, TOKEN);
    assert.deepEqual(c.metricsListen, { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(loadConfig({ WMX_METRICS_LISTEN: '[::1]:9464' }).metricsListen, { host: '::1', port: 9464 });
    const none = loadConfig({});
    assert.equal(none.metricsToken, undefined);
    assert.equal(none.metricsListen, undefined);
  });

  it('reports bad values, all at once', () => {
    assert.throws(
      () => loadConfig({ WMX_METRICS_TOKEN: 'short', WMX_METRICS_LISTEN: '9464' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.some((p) => p.startsWith('WMX_METRICS_TOKEN')) &&
        e.problems.some((p) => p.startsWith('WMX_METRICS_LISTEN')),
    );
    for (const listen of ['localhost', 'host:99999', ':9464', 'a b:1']) {
      assert.throws(() => loadConfig({ WMX_METRICS_LISTEN: listen }), ConfigError, listen);
    }
    assert.throws(() => loadConfig({ WMX_METRICS_TOKEN: 'has a space in it, sixteen+' }), ConfigError);
  });
});
