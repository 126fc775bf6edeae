import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Gateway } from '../compose.js';
import type { IssuedCredentials } from '../app/merchant-admin.js';
import { legacyRoutes } from './legacy/routes.js';
import { drainOversizedBody, frameworkErrors, rootErrorHandler, rootNotFound } from './client-errors.js';
import { checkoutRoutes } from './checkout/routes.js';
import { upstreamRoutes } from './checkout/upstream-routes.js';
import { demoRoutes } from './demo/routes.js';
import { siteRoutes } from './site/pages.js';
import { consoleRoutes } from './console/index.js';
import { apiRoutes } from './api/index.js';
import { registerApiDocPages, registerApiDocument } from './api/openapi.js';
import { withSecurityHeaders } from './security-headers.js';
import { refuseNulCharacters } from './nul-guard.js';
import { INSTRUMENT_CODES, SANDBOX_INSTRUMENTS } from '../acquirers/sandbox/bank.js';
import { createAbuseLimits } from '../app/rate-limit.js';
import { SIMULATOR_PATHS } from '../bootstrap.js';
import { opsRoutes, recordRequestMetrics } from './ops/routes.js';

export interface HttpOptions {
  logger?: boolean | object;
  /** The sandbox demo merchant; /demo exists only when given (sandbox mode). */
  demoMerchant?: IssuedCredentials & { name: string };
  /** How long a client may take to send one whole request (default REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
  /** Sandbox: serve the bKash and SSLCommerz simulators under SIMULATOR_PATHS (bootstrap.ts). */
  simulators?: boolean;
  /** True once the process has begun to shut down: /readyz then answers 503 (main.ts: `() => closing`). */
  isShuttingDown?: () => boolean;
}

/**
 * A request whose body never arrives (a Content-Length never filled, a chunked body never ended, a
 * body trickled a byte at a time) is answered 408 and its connection closed after this long:
 * without it such sockets stayed open for ever, and enough of them used up the process's file
 * descriptors. A minute is ample for any body the gateway takes over a slow mobile link.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

// src/http and dist/http are both two levels below the package root.
const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

const SECRET_FIELDS = [
  'password',
  'pin',
  'otp',
  'cvv',
  'card_number',
  'access_app_key',
  'authorization',
  'signing_secret',
  'api_key',
  'cookie',
];

/**
 * Log paths that may carry secrets. The default request serializer logs neither headers nor bodies;
 * these hold should a serializer, an error object or a child logger ever include them.
 */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'req.body',
  'body',
  // Secret-bearing field names at the top level of a log object and one level down.
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
];

const SECRET_QUERY_KEY = new RegExp(SECRET_FIELDS.join('|'), 'i');

/** A URL for the logs: a query string with any secret-looking parameter is left out whole. */
function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const keys = url
    .slice(q + 1)
    .split('&')
    .map((pair) => pair.split('=', 1)[0] ?? '');
  const secret = keys.some((key) => {
    try {
      return SECRET_QUERY_KEY.test(decodeURIComponent(key.replaceAll('+', ' ')));
    } catch {
      return SECRET_QUERY_KEY.test(key); // a malformed escape: judge the key as sent
    }
  });
  return secret ? `${url.slice(0, q)}?[redacted]` : url;
}

/** Fastify's default request serializer, with the URL passed through redactUrl. */
function serializeRequest(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Adds the redaction paths and the request serializer to the logger options the caller gave (main.ts, tests). */
export function withLogRedaction(logger: boolean | object | undefined): boolean | object {
  if (logger === undefined || logger === false) return false;
  const base = (logger === true ? {} : logger) as {
    redact?: string[] | { paths: string[]; censor?: string };
    serializers?: Record<string, unknown>;
  };
  const given = Array.isArray(base.redact) ? base.redact : (base.redact?.paths ?? []);
  return {
    ...base,
    redact: { paths: [...new Set([...given, ...LOG_REDACT_PATHS])], censor: '[redacted]' },
    serializers: { ...base.serializers, req: serializeRequest },
  };
}

/** Builds the Fastify app over a gateway. Listening is the caller's business (main.ts, tests). */
export async function buildHttpApp(gw: Gateway, opts: HttpOptions = {}): Promise<FastifyInstance> {
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: withLogRedaction(opts.logger),
    requestTimeout,
    // Node looks for requests over their time every connectionsCheckingInterval (30 s by default),
    // and silently checks nothing while headersTimeout (60 s by default) exceeds requestTimeout.
    http: {
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(requestTimeout / 4))),
    },
    // Fastify accepts a hop count at run time; its typings list only the other forms.
    trustProxy: gw.config.trustProxy as boolean | string,
    // Credentials travel in bodies, which the default request log never includes.
    requestIdHeader: false,
    // A shop whose base URL ends in a slash calls `//check-payment`; others add one at the end.
    // Both reach the endpoint (a 404 there would be a non-200 answer with a numeric statusCode).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    return503OnClosing: true,
    frameworkErrors,
    // A child logger per request exists to stamp request logs with reqId. With request logging off
    // (level above info, as in production tuning and the benchmark) nothing would use it, and making
    // one per request showed in the hot endpoints' profile: error logs then carry reqId themselves
    // (logRequestError).
    childLoggerFactory: (logger, bindings, opts) =>
      (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === false
        ? logger
        : logger.child(bindings, opts),
  });

  // First, so that every route and not-found handler inherits it.
  recordRequestMetrics(app, gw.metrics.http);
  // While the process drains, every answer (those in flight when it began too) ends its connection:
  // a kept-alive one would hold close() until keepAliveTimeout (72 s), past the shutdown bound.
  const shuttingDown = opts.isShuttingDown;
  if (shuttingDown) {
    app.addHook('onSend', (_req, reply, payload, done) => {
      if (shuttingDown()) reply.header('connection', 'close');
      done(null, payload);
    });
  }
  // Pages (checkout, console, demo) answer body-parsing errors with HTML; other scopes set their own.
  app.setErrorHandler(rootErrorHandler);
  app.setNotFoundHandler(rootNotFound);
  // Before every scope's error handler, on every surface: an oversized body is drained, not cut off.
  app.addHook('onError', (req, reply, err, done) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') drainOversizedBody(req, reply);
    done();
  });

  // Before every documented route: the OpenAPI document collects routes as they are registered.
  await registerApiDocument(app, { publicUrl: gw.config.publicUrl });

  // Abuse limits are shared by the instances on one database (gw.limitStore: PostgreSQL or Redis;
  // in process on SQLite) and run on the wall clock, not gw.now: they meter real request rates,
  // and a test's frozen clock must not freeze their refill.
  const limits = createAbuseLimits(gw.config, {
    store: gw.limitStore,
    log: (msg, detail) => app.log.warn(detail, msg),
  });

  // The legacy endpoints set the security headers in their own handlers (see withSecurityHeaders).
  if (opts.simulators) {
    // Upstreams, not gateway pages: their own scopes, parsers and pages, outside the site's hooks.
    const { bkashSimulatorPlugin } = await import('../acquirers/bkash/simulator.js');
    const { sslcommerzSimulatorPlugin } = await import('../acquirers/sslcommerz/simulator.js');
    const base = gw.config.publicUrl;
    await app.register(bkashSimulatorPlugin({ publicUrl: `${base}${SIMULATOR_PATHS.bkash}` }), {
      prefix: SIMULATOR_PATHS.bkash,
    });
    await app.register(sslcommerzSimulatorPlugin({ publicUrl: `${base}${SIMULATOR_PATHS.sslcommerz}` }), {
      prefix: SIMULATOR_PATHS.sslcommerz,
    });
  }

  // /healthz, /readyz; /metrics only behind WMX_METRICS_TOKEN (else on WMX_METRICS_LISTEN alone, or nowhere).
  await app.register(opsRoutes, {
    gw,
    metrics: gw.config.metricsToken ? { token: gw.config.metricsToken } : 'off',
    ...(opts.isShuttingDown ? { isShuttingDown: opts.isShuttingDown } : {}),
  });

  await app.register(legacyRoutes, {
    limits,
    publicUrl: gw.config.publicUrl,
    reference: gw.reference,
    initPayment: gw.initPayment,
    checkPayment: gw.checkPayment,
    formatTime: gw.formatTime,
  });

  await app.register(async (site) => {
    // Callback style, not async: a promise per response showed in the profiles.
    site.addHook('onSend', (_req, reply, payload, done) => {
      withSecurityHeaders(reply);
      done(null, payload);
    });
    await registerSiteScopes(site, gw, opts, limits);
  });

  return app;
}

/** Pages, assets, API docs and the JSON API: every surface but the legacy endpoints. */
async function registerSiteScopes(
  app: FastifyInstance,
  gw: Gateway,
  opts: HttpOptions,
  limits: ReturnType<typeof createAbuseLimits>,
): Promise<void> {
  app.addHook('preValidation', refuseNulCharacters);
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/assets/', maxAge: '1h', index: false });
  await registerApiDocPages(app);

  const instruments = SANDBOX_INSTRUMENTS.map((i) => ({ instrument: i.instrument, outcome: i.outcome }));
  await app.register(checkoutRoutes, {
    load: gw.pay.load,
    offers: gw.pay.offers,
    submit: gw.pay.submit,
    nudge: gw.reconciler.nudge,
    connectorName: async (id) => (id ? ((await gw.router.connector(id))?.displayName ?? id) : ''),
    verify: gw.pay.verify,
    cancel: gw.cancelPayment,
    merchantById: gw.merchantById,
    signingSecretOf: gw.signingSecretOf,
    emiBanks: () => gw.reference.current().emiBanks,
    instruments,
    sandboxMode: gw.config.mode === 'sandbox',
    now: gw.now,
    payTries: limits,
  });

  await app.register(upstreamRoutes, {
    returned: gw.sync.returned,
    notified: gw.sync.notified,
    sandboxBank: gw.sandboxBank,
  });

  if (opts.demoMerchant) {
    await app.register(demoRoutes, {
      merchant: opts.demoMerchant,
      db: gw.db.kysely,
      initPayment: gw.initPayment,
      checkPayment: gw.checkPayment,
      formatTime: gw.formatTime,
      now: gw.now,
    });
  }

  await app.register(apiRoutes, { gw });

  await app.register(consoleRoutes, { gw, sandbox: gw.config.mode === 'sandbox' });

  await app.register(siteRoutes, {
    mode: gw.config.mode,
    publicUrl: gw.config.publicUrl,
    demoAvailable: opts.demoMerchant !== undefined,
    instruments,
    codes: INSTRUMENT_CODES,
  });
}
