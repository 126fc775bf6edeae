import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../../compose.js';
import { consoleSessions } from './session.js';
import { publicConsoleRoutes } from './public-routes.js';
import { adminRoutes } from './admin-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { settlementRoutes } from './settlement-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import { doctorRoutes } from './doctor-routes.js';

export interface ConsoleDeps {
  gw: Gateway;
  /** Sandbox gateway: the console shows a sandbox banner. */
  sandbox: boolean;
}

/** The console: registration, login, the admin console (/admin) and the merchant dashboard (/dashboard). */
export async function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await consoleSessions(app, {
    accounts: deps.gw.accounts,
    secureCookies: deps.gw.config.publicUrl.startsWith('https:'),
  });
  await publicConsoleRoutes(app, deps);
  await adminRoutes(app, deps);
  await dashboardRoutes(app, deps);
  await settlementRoutes(app, deps);
  await webhookRoutes(app, deps);
  await doctorRoutes(app, deps);
}
