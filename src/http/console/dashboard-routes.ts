import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ConsoleDeps } from './index.js';
import { sendForbidden, type DashCtx } from './dashboard/common.js';
import { credentialsRoutes } from './dashboard/credentials.js';
import { overviewRoutes } from './dashboard/overview.js';
import { paymentsCsvRoutes } from './dashboard/payments-csv.js';
import { paymentRoutes } from './dashboard/payments.js';
import { teamRoutes } from './dashboard/team.js';

/** Chart.js's browser build, served from node_modules: the machines are offline, and no CDN is trusted. */
export const CHART_JS_PATH = '/assets/vendor/chart.umd.min.js';

function chartJsFile(): { file: string; etag: string } {
  // The package's exports hide dist/ subpaths; its main entry sits in dist/, next to the UMD build.
  const main = createRequire(import.meta.url).resolve('chart.js');
  const file = path.join(path.dirname(main), 'chart.umd.min.js');
  const st = fs.statSync(file);
  return { file, etag: `"chartjs-${st.size}-${Math.trunc(st.mtimeMs)}"` };
}

/** The merchant dashboard at /dashboard: overview and charts, credentials, payments and CSV, team. */
export async function dashboardRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const ctx: DashCtx = { gw: deps.gw, sandbox: deps.sandbox };
  const chart = chartJsFile();

  app.get(CHART_JS_PATH, async (req, reply) => {
    reply.header('cache-control', 'public, max-age=86400').header('etag', chart.etag);
    if (req.headers['if-none-match'] === chart.etag) return reply.code(304).send();
    return reply.type('application/javascript; charset=utf-8').send(fs.createReadStream(chart.file));
  });

  // A scope of its own, so the hook below only sees dashboard routes.
  await app.register(async (scope) => {
    // Viewers are read-only: every state-changing dashboard request is refused here, whatever the
    // route (each route checks its own role too; this also covers routes added later).
    scope.addHook('preHandler', async (req, reply) => {
      const user = req.consoleSession?.user;
      if (req.method !== 'GET' && req.method !== 'HEAD' && user?.kind === 'merchant' && user.role === 'viewer') {
        return sendForbidden(ctx, req, reply, 'change anything');
      }
    });
    await overviewRoutes(scope, ctx);
    await credentialsRoutes(scope, ctx);
    await paymentRoutes(scope, ctx);
    await paymentsCsvRoutes(scope, ctx);
    await teamRoutes(scope, ctx);
  });
}
