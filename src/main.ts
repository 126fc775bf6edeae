import { ConfigError, loadConfig } from './config.js';
import { createGateway } from './compose.js';
import { buildHttpApp } from './http/app.js';
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
  const app = await buildHttpApp(gw, {
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    ...(demoMerchant ? { demoMerchant: demoMerchant.demo } : {}),
    simulators: config.mode === 'sandbox',
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

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await gw.reconciler.stop();
    await gw.expirySweeper.stop();
    await gw.webhooks.worker.stop();
    await app.close();
    await gw.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`wmx-gateway failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
