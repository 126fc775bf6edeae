/**
 * Prometheus metrics of one gateway: its own Registry (tests run many gateways in one process, and
 * the global default registry would mix them), the process's default metrics, HTTP request counts
 * and latencies, upstream call latencies and errors, and the store's payments and webhook queue.
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UpstreamCall } from '../acquirers/port.js';
import type { OpsStats, PaymentCount, WebhookQueue } from '../store/ops-stats.js';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Sub-millisecond buckets at the low end: the hot endpoints answer in a fraction of one. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upstream calls take tens of milliseconds to WMX_BANK_TIMEOUT (10 s) and, per operation, three times it. */
const UPSTREAM_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

let processRegistry: Registry | undefined;

/**
 * The process's default metrics (CPU, memory, event-loop lag, GC, handles), made on the first scrape
 * and shared by every gateway of the process: they describe the process, and each
 * collectDefaultMetrics call starts an event-loop-delay monitor and a GC observer that never stop.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'wmx_' });
  }
  return processRegistry;
}

export interface GatewayMetricsDeps {
  stats: Pick<OpsStats, 'paymentCounts' | 'webhookQueue'>;
  now: () => number;
  /** How long one read of the store's aggregates serves scrapes (default 2 s). */
  storeCacheMs?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

export function createGatewayMetrics(deps: GatewayMetricsDeps) {
  const registry = new Registry();
  const http = createHttpStats();

  const upstreamDuration = new Histogram({
    name: 'wmx_upstream_call_duration_seconds',
    help: 'Upstream (bank, wallet, gateway) HTTP calls by connector, operation and outcome.',
    labelNames: ['connector', 'operation', 'outcome'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'wmx_upstream_call_errors_total',
    help: 'Upstream calls without a usable answer: failed (an error answer), timeout, error (no answer), refused.',
    labelNames: ['connector', 'operation', 'outcome'] as const,
    registers: [registry],
  });

  const store = cached(deps.storeCacheMs ?? 2_000, async () => {
    const [payments, webhooks] = await Promise.all([deps.stats.paymentCounts(), deps.stats.webhookQueue()]);
    return { payments, webhooks };
  });
  const readStore = (): Promise<{ payments: PaymentCount[]; webhooks: WebhookQueue } | undefined> =>
    store().catch((e: unknown) => {
      deps.log?.('metrics: store not read', { err: String(e) });
      return undefined;
    });

  // A failed read leaves the store gauges at their last values and says so here: the scrape itself
  // (and the process and HTTP metrics in it) must not fail because the database did.
  new Gauge({
    name: 'wmx_store_scrape_success',
    help: '1 when the store gauges (payments, webhook queue) were read for this scrape, 0 when that failed.',
    registers: [registry],
    async collect() {
      this.set((await readStore()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'wmx_payments',
    help: 'Payments in the store by status and method (none: not chosen yet); read at scrape, cached briefly.',
    labelNames: ['status', 'method'] as const,
    registers: [registry],
    async collect() {
      const s = await readStore();
      if (!s) return;
      this.reset();
      for (const p of s.payments) this.set({ status: p.status, method: p.method ?? 'none' }, p.count);
    },
  });
  new Gauge({
    name: 'wmx_webhook_deliveries_waiting',
    help: 'Webhook deliveries not yet delivered or given up (due, waiting for a retry, or being sent).',
    registers: [registry],
    async collect() {
      const s = await readStore();
      if (s) this.set(s.webhooks.waiting);
    },
  });
  new Gauge({
    name: 'wmx_webhook_oldest_waiting_age_seconds',
    help: 'Age of the oldest webhook delivery still waiting (0 when none waits).',
    registers: [registry],
    async collect() {
      const s = await readStore();
      if (!s) return;
      const oldest = s.webhooks.oldestCreatedAt;
      this.set(oldest === null ? 0 : Math.max(0, (deps.now() - oldest) / 1000));
    },
  });

  return {
    registry,
    http,
    /** Every upstream call a connector operation made (connector-calls.ts reports them all). */
    observeUpstream(connectorId: string, records: readonly UpstreamCall[]): void {
      for (const r of records) {
        const labels = { connector: connectorId, operation: r.operation, outcome: r.outcome };
        upstreamDuration.observe(labels, Math.max(0, r.latencyMs) / 1000);
        if (r.outcome !== 'ok') upstreamErrors.inc(labels);
      }
    },
    /** The text a Prometheus scrape gets (content type METRICS_CONTENT_TYPE). */
    async render(): Promise<string> {
      const [proc, own] = await Promise.all([processMetrics().metrics(), registry.metrics()]);
      return `${proc}\n${own}\n${http.render()}`;
    },
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** A read shared by every caller while it runs and for ttlMs after it succeeded (monotonic clock). */
function cached<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  let doneAt: number | undefined; // undefined while the read runs
  return () => {
    if (value && (doneAt === undefined || performance.now() - doneAt < ttlMs)) return value;
    const p = read();
    value = p;
    doneAt = undefined;
    p.then(
      () => {
        if (value === p) doneAt = performance.now();
      },
      () => {
        if (value === p) value = undefined; // a failure is not kept: the next scrape tries again
      },
    );
    return p;
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

interface ClassSeries {
  /** Per bucket (not cumulative), the last one +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

interface RouteSeries {
  codes: Map<number, number>;
  /** Indexed by status class (1 … 5). */
  classes: (ClassSeries | undefined)[];
}

/**
 * HTTP request counts and latencies, kept here rather than in prom-client's Counter and Histogram:
 * those validate and hash their labels on every observation (about 0.6 µs for the pair), a few
 * per cent of a hot endpoint's CPU; this costs about a fifth of it. Rendered in the text format.
 */
export function createHttpStats() {
  const byRoute = new Map<string, Map<string, RouteSeries>>();

  return {
    /** route: the route's pattern (never the raw URL: tokens must not become labels), or 'unmatched'. */
    observe(method: string, route: string, statusCode: number, seconds: number): void {
      if (!METHODS.has(method)) method = 'OTHER';
      let methods = byRoute.get(route);
      if (!methods) byRoute.set(route, (methods = new Map()));
      let s = methods.get(method);
      if (!s) methods.set(method, (s = { codes: new Map(), classes: [] }));
      s.codes.set(statusCode, (s.codes.get(statusCode) ?? 0) + 1);
      const cls = Math.min(5, Math.max(1, Math.floor(statusCode / 100)));
      let c = s.classes[cls];
      if (!c) s.classes[cls] = c = { buckets: new Float64Array(HTTP_BUCKETS.length + 1), sum: 0, count: 0 };
      let i = 0;
      while (i < HTTP_BUCKETS.length && seconds > HTTP_BUCKETS[i]!) i++;
      c.buckets[i]!++;
      c.sum += seconds;
      c.count++;
    },

    render(): string {
      const counts = [
        '# HELP wmx_http_requests_total HTTP requests answered, by route pattern, method and status code.',
        '# TYPE wmx_http_requests_total counter',
      ];
      const durations = [
        '# HELP wmx_http_request_duration_seconds Time to answer HTTP requests, by route pattern, method and status class.',
        '# TYPE wmx_http_request_duration_seconds histogram',
      ];
      for (const [route, methods] of byRoute) {
        for (const [method, s] of methods) {
          const base = `method="${escapeLabel(method)}",route="${escapeLabel(route)}"`;
          for (const [code, n] of s.codes) counts.push(`wmx_http_requests_total{${base},status_code="${code}"} ${n}`);
          s.classes.forEach((c, cls) => {
            if (!c) return;
            const labels = `${base},status_class="${cls}xx"`;
            let acc = 0;
            HTTP_BUCKETS.forEach((le, i) => {
              acc += c.buckets[i]!;
              durations.push(`wmx_http_request_duration_seconds_bucket{${labels},le="${le}"} ${acc}`);
            });
            durations.push(`wmx_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${c.count}`);
            durations.push(`wmx_http_request_duration_seconds_sum{${labels}} ${c.sum}`);
            durations.push(`wmx_http_request_duration_seconds_count{${labels}} ${c.count}`);
          });
        }
      }
      return `${counts.join('\n')}\n\n${durations.join('\n')}\n`;
    },
  };
}

export type HttpStats = ReturnType<typeof createHttpStats>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
