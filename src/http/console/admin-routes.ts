import { logRequestError } from '../client-errors.js';
import type { FastifyError, FastifyInstance } from 'fastify';
import { WmxError } from '../../domain/errors.js';
import type { ConsoleDeps } from './index.js';
import { applicationRoutes } from './admin/applications.js';
import { auditRoutes } from './admin/audit.js';
import { sendMessagePage, type AdminCtx } from './admin/common.js';
import { connectorRoutes } from './admin/connectors.js';
import { maintenanceRoutes } from './admin/maintenance.js';
import { merchantRoutes } from './admin/merchants.js';
import { paymentRoutes } from './admin/payments.js';
import { rateRoutes } from './admin/rates.js';

/**
 * The operators' console under /admin: applications, merchants and their settings and payment rails,
 * connectors and default routes, currency rates, maintenance, payment search and the audit log. Every route needs an operator login; /admin/login
 * itself lives with the public routes.
 */
export async function adminRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const ctx: AdminCtx = { gw: deps.gw, sandbox: deps.sandbox };
  // Its own scope, so the error and not-found pages below cover /admin only.
  await app.register(
    async (admin) => {
      admin.setErrorHandler((err: FastifyError, req, reply) => {
        // Bad input (an unparsable or oversized body, a coded domain error) is the client's: a 4xx page.
        const status =
          err instanceof WmxError
            ? 422
            : err.statusCode && err.statusCode >= 400 && err.statusCode < 500
              ? err.statusCode
              : 500;
        if (status >= 500) logRequestError(req, err, 'admin console request failed');
        const message =
          status >= 500
            ? 'Something went wrong on our side. Nothing was changed; try again.'
            : `${err.message}. Nothing was changed.`;
        return sendMessagePage(ctx, req, reply, status, status >= 500 ? 'Error' : 'Request not accepted', message, [
          '/admin',
          'Back to the console',
        ]);
      });
      admin.setNotFoundHandler((req, reply) =>
        sendMessagePage(ctx, req, reply, 404, 'Not found', 'There is no such page in the console.', [
          '/admin',
          'Back to the console',
        ]),
      );
      await applicationRoutes(admin, ctx);
      await merchantRoutes(admin, ctx);
      await rateRoutes(admin, ctx);
      await maintenanceRoutes(admin, ctx);
      await paymentRoutes(admin, ctx);
      await connectorRoutes(admin, ctx);
      await auditRoutes(admin, ctx);
    },
    { prefix: '/admin' },
  );
}
