import Fastify, { type FastifyInstance } from 'fastify';
import type { Gateway } from '../compose.js';
import { legacyRoutes } from './legacy/routes.js';

export interface HttpOptions {
  logger?: boolean | object;
}

/** Builds the Fastify app over a gateway. Listening is the caller's business (main.ts, tests). */
export async function buildHttpApp(gw: Gateway, opts: HttpOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    // Fastify accepts a hop count at run time; its typings list only the other forms.
    trustProxy: gw.config.trustProxy as boolean | string,
    // Credentials travel in bodies, which the default request log never includes.
    requestIdHeader: false,
    return503OnClosing: true,
  });

  await app.register(legacyRoutes, {
    publicUrl: gw.config.publicUrl,
    reference: gw.reference,
    initPayment: gw.initPayment,
    checkPayment: gw.checkPayment,
    formatTime: gw.formatTime,
  });

  return app;
}
