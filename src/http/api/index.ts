import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../../compose.js';
import { createAuthHook, type AuthOptions } from './auth.js';
import { ApiError, sendErrorAnswer, toErrorAnswer } from './errors.js';
import { paymentRoutes } from './payments.js';
import { refundRoutes } from './refunds.js';
import { reportRoutes } from './reports.js';
import { webhookRoutes } from './webhooks.js';
import { eventRoutes } from './events.js';
import { sandboxRoutes } from './sandbox.js';
import { listenRoutes } from './listen.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { apiServices, type ApiServices } from './services.js';

export const API_PREFIX = '/api/v1';
const API_BODY_LIMIT = 16 * 1024;

export interface ApiRouteOptions {
  gw: Gateway;
  auth?: AuthOptions;
}

/** The merchant JSON API under /api/v1: Bearer API keys, JSON only, `{"error":{code,message}}` errors. */
export async function apiRoutes(app: FastifyInstance, opts: ApiRouteOptions): Promise<void> {
  await app.register(v1, { prefix: API_PREFIX, services: apiServices(opts.gw), auth: opts.auth ?? {} });
}

async function v1(app: FastifyInstance, opts: { services: ApiServices; auth: AuthOptions }): Promise<void> {
  // JSON only; an empty body reads as {} so a full refund can be a bare POST.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: API_BODY_LIMIT }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, {});
    else parseJson(req, text, done);
  });

  app.setErrorHandler((err, req, reply) => sendErrorAnswer(reply, toErrorAnswer(err, req)));
  app.setNotFoundHandler((req, reply) =>
    sendErrorAnswer(
      reply,
      toErrorAnswer(new ApiError(404, 'not_found', `No route ${req.method} ${req.url.split('?', 1)[0]}`), req),
    ),
  );
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });
  // A POST without any body (no Content-Type) is a full refund too.
  app.addHook('preValidation', async (req) => {
    if (req.method === 'POST' && req.body === undefined) req.body = {};
  });

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Long polls of `wmx listen` answer at once when the server closes, so shutdown is not held up.
  app.addHook('preClose', (done) => {
    opts.services.listen.close();
    done();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('access-control-allow-origin', '*');
    return app.swagger();
  });

  await app.register(async (authed) => {
    authed.addHook('onRequest', createAuthHook(opts.services.apiKeys, opts.auth));
    await paymentRoutes(authed, opts.services);
    await refundRoutes(authed, opts.services);
    await reportRoutes(authed, opts.services);
    await webhookRoutes(authed, opts.services);
    await eventRoutes(authed, opts.services);
    await sandboxRoutes(authed, opts.services);
    await listenRoutes(authed, opts.services);
  });
}
