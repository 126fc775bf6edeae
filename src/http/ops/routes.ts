/**
 * Operations endpoints: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics),
 * and the hook that counts and times every request by its route pattern.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Gateway } from '../../compose.js';
import { METRICS_CONTENT_TYPE, type HttpStats } from '../../app/metrics.js';
import { withSecurityHeaders } from '../security-headers.js';

export interface OpsRoutesOptions {
  gw: Pick<Gateway, 'metrics' | 'readiness'>;
  /** True once the process has begun to shut down: /readyz then answers 503 (draining). */
  isShuttingDown?: () => boolean;
  /**
   * /metrics: 'open' (the separate metrics listener), a bearer token it requires (the public
   * listener with WMX_METRICS_TOKEN), or 'off' (not served: 404 like any unknown path).
   */
  metrics: 'open' | 'off' | { token: string };
}

const HEALTHY = '{"status":"ok"}';

/** Probes and scrapes come every few seconds: their request logs would drown the others. */
const QUIET = { logLevel: 'warn' } as const;

const noStore = (reply: FastifyReply): FastifyReply => withSecurityHeaders(reply).header('cache-control', 'no-store');

export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app, opts) => {
  const { gw } = opts;
  const shuttingDown = opts.isShuttingDown ?? (() => false);

  // Liveness: the process is up and its event loop turns. No database call, on purpose.
  app.get('/healthz', QUIET, (_req, reply) => {
    noStore(reply).type('application/json; charset=utf-8').send(HEALTHY);
  });

  app.get('/readyz', QUIET, async (_req, reply) => {
    const r = await gw.readiness.check(shuttingDown());
    return noStore(reply)
      .code(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
  });

  if (opts.metrics === 'off') return;
  const tokenHash = opts.metrics === 'open' ? undefined : sha256(`Bearer ${opts.metrics.token}`);
  app.get('/metrics', QUIET, async (req, reply) => {
    noStore(reply);
    // Hashes of equal length, compared in constant time: neither the token nor its length leaks.
    if (tokenHash && !crypto.timingSafeEqual(sha256(req.headers.authorization ?? ''), tokenHash)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({ error: { code: 'unauthorized', message: 'Send Authorization: Bearer <WMX_METRICS_TOKEN>.' } });
    }
    const text = await gw.metrics.render();
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });
};

const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();

/**
 * Counts and times every answer by the pattern of the route that answered (never the raw URL,
 * which carries payment tokens), 'unmatched' for the not-found handlers. Added to the root before
 * any route or not-found handler, so every scope inherits it. Callback style: no promise per request.
 */
export function recordRequestMetrics(app: FastifyInstance, stats: HttpStats): void {
  app.addHook('onResponse', (req, reply, done) => {
    stats.observe(
      req.method,
      req.is404 ? 'unmatched' : (req.routeOptions.url ?? 'unmatched'),
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}
