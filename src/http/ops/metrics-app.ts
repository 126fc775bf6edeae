import Fastify, { type FastifyInstance } from 'fastify';
import type { Gateway } from '../../compose.js';
import { withLogRedaction } from '../app.js';
import { withSecurityHeaders } from '../security-headers.js';
import { opsRoutes } from './routes.js';

export interface MetricsAppOptions {
  logger?: boolean | object;
  /** True once the process has begun to shut down (main.ts: `() => closing`). */
  isShuttingDown?: () => boolean;
}

/**
 * The separate plain listener of WMX_METRICS_LISTEN: /metrics (no token: the operator keeps the
 * address private), /healthz and /readyz, nothing else. Listening is the caller's business.
 */
export async function buildMetricsApp(
  gw: Pick<Gateway, 'metrics' | 'readiness'>,
  opts: MetricsAppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: withLogRedaction(opts.logger),
    requestIdHeader: false,
    return503OnClosing: true,
    // Scrapers send small GETs; anything slower than this is not one.
    requestTimeout: 10_000,
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 2_500 },
  });
  app.setNotFoundHandler((_req, reply) => {
    withSecurityHeaders(reply)
      .code(404)
      .send({ error: { code: 'not_found', message: 'Only /metrics, /healthz and /readyz are served here.' } });
  });
  await app.register(opsRoutes, {
    gw,
    metrics: 'open',
    ...(opts.isShuttingDown ? { isShuttingDown: opts.isShuttingDown } : {}),
  });
  return app;
}
