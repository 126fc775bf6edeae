import { ConfigError, loadConfig } from './config.js';
import { createGateway, type Gateway } from './compose.js';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from './http/app.js';
import { buildMetricsApp } from './http/ops/metrics-app.js';
import { ensureDemoMerchant, ensureSandboxAdmin, ensureSimulatorRails, resolveSecret } from './bootstrap.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      process.exit(2);
    }
    throw e;
  }

  // The workers' troubles go to the app's logger, built after the gateway.
  const sink: { warn?: (detail: Record<string, unknown>, msg: string) => void } = {};
  const gw = await createGateway(config, {
    secret: resolveSecret(config),
    backgroundCheckpoints: true,
    watchChanges: true,
    log: (msg, detail) => sink.warn?.(detail, msg),
  });
  const out: string[] = [];
  const demoMerchant = config.mode === 'sandbox' ? await ensureDemoMerchant(gw) : undefined;
  // Set by the first SIGTERM / SIGINT: /readyz answers 503 and every answer closes its connection.
  const lifecycle = { closing: false };
  const app = await buildHttpApp(gw, {
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    ...(demoMerchant ? { demoMerchant: demoMerchant.demo } : {}),
    simulators: config.mode === 'sandbox',
    isShuttingDown: () => lifecycle.closing,
  });
  sink.warn = (detail, msg) => app.log.warn(detail, msg);

  if (demoMerchant) {
    const { demo, created, file } = demoMerchant;
    if (created) {
      out.push(
        'Sandbox demo merchant created (shown once; also kept in ' + file + ', readable by you only):',
        `  wmx_id          ${demo.wmx_id}`,
        `  access_app_key  ${demo.access_app_key}`,
        `  username        ${demo.username}`,
        `  password        ${demo.password}`,
        `  signing_secret  ${demo.signing_secret}`,
        `  api_key         ${demo.api_key}`,
      );
    } else {
      out.push(`Sandbox demo merchant ${demo.wmx_id}; its credentials are in ${file}`);
    }
    const admin = await ensureSandboxAdmin(gw);
    out.push(
      admin.created
        ? `Sandbox operator for ${config.publicUrl}/admin: ${admin.email} / ${admin.password} (also in ${admin.file})`
        : `Sandbox operator ${admin.email}; its password is in ${admin.file}`,
    );
  }

  await app.listen({ port: config.port, host: config.host });
  const port = (app.server.address() as { port: number }).port;
  // WMX_METRICS_LISTEN: /metrics (no token), /healthz and /readyz on a private address of their own.
  const ops = config.metricsListen
    ? await buildMetricsApp(gw, { logger: { level: config.logLevel }, isShuttingDown: () => lifecycle.closing })
    : undefined;
  if (ops && config.metricsListen) {
    await ops.listen({ ...config.metricsListen }); // a copy: Fastify writes into its options
    const a = ops.server.address() as { address: string; port: number };
    out.push(`Metrics: http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/metrics`);
  }
  if (demoMerchant) {
    // The gateway reaches its own simulators at its listening address (the public URL may be a proxy).
    const self = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    await ensureSimulatorRails(
      gw,
      `http://${self.includes(':') ? `[${self}]` : self}:${port}`,
      demoMerchant.demo.wmx_id,
    );
  }
  // Webhooks flow only once the gateway serves: a delivery never races the startup checks above.
  await gw.instance.start();
  gw.webhooks.worker.start();
  gw.expirySweeper.start();
  gw.reconciler.start();
  out.push(
    `wmx-gateway (${config.mode} mode, ${gw.db.dialect}) listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    `Public URL: ${config.publicUrl}  (check-server: ${config.publicUrl}/check-server)`,
    ...(demoMerchant
      ? [
          `Demo shop: ${config.publicUrl}/demo (bKash, Nagad and internet banking go through the bKash and SSLCommerz simulators)`,
        ]
      : []),
  );
  process.stdout.write(out.join('\n') + '\n');

  const shutdown = gracefulShutdown(app, ops, gw, lifecycle, config.shutdownTimeoutMs);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/**
 * The first SIGTERM or SIGINT drains the process: the listener stops accepting connections (a load
 * balancer's next connect is refused and it tries another instance; /readyz answers 503 to probes
 * on connections still open), the requests in flight finish (a payment whose bank call is running
 * gets its real outcome), the background workers finish their passes in flight and stop (their
 * leases are given back, not left to time out), and the database is closed: exit 0. Whatever is
 * still running after `timeoutMs` is abandoned with exit 1; a payment cut off mid-call keeps its
 * lease and upstream mark, so the reconciler of the next process asks the upstream about it. Later
 * signals change nothing.
 */
function gracefulShutdown(
  app: FastifyInstance,
  ops: FastifyInstance | undefined,
  gw: Gateway,
  lifecycle: { closing: boolean },
  timeoutMs: number,
): (signal: NodeJS.Signals) => void {
  return (signal) => {
    if (lifecycle.closing) {
      app.log.warn({ signal }, 'already shutting down; signal ignored');
      return;
    }
    lifecycle.closing = true;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const waitingFor = new Set<string>();
    const failures: unknown[] = [];
    const step = async (name: string, run: () => Promise<unknown>) => {
      waitingFor.add(name);
      try {
        await run();
      } catch (e) {
        failures.push(e);
        app.log.error({ err: e, step: name }, 'shutdown step failed');
      } finally {
        waitingFor.delete(name);
      }
    };
    app.log.info({ signal, timeoutMs }, 'shutting down: draining requests in flight and stopping the workers');
    // Not unref'd: should every handle close while a step never settles, this still ends the process.
    const bound = setTimeout(() => {
      app.log.error(
        { signal, durationMs: elapsed(), waitingFor: [...waitingFor] },
        `shutdown did not finish within ${timeoutMs} ms; exiting with code 1`,
      );
      process.exit(1);
    }, timeoutMs);
    void (async () => {
      await Promise.all([
        step('requests in flight', () => app.close()),
        step('reconciler', () => gw.reconciler.stop()),
        step('expiry sweeper', () => gw.expirySweeper.stop()),
        step('webhook worker', () => gw.webhooks.worker.stop()),
      ]);
      // The metrics listener answers probes (/readyz: draining) until the work above is done.
      if (ops) await step('metrics listener', () => ops.close());
      // Last: heartbeats, change feed and caches stop, this instance leaves the instances table.
      await step('database', () => gw.close());
      clearTimeout(bound);
      const code = failures.length === 0 ? 0 : 1;
      app.log.info({ durationMs: elapsed(), exitCode: code }, 'shutdown complete');
      process.exit(code);
    })();
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`wmx-gateway failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
