import { ConfigError, loadConfig } from './config.js';
import { createGateway } from './compose.js';
import { buildHttpApp } from './http/app.js';
import { ensureDemoMerchant, ensureSandboxAdmin, resolveSecret } from './bootstrap.js';

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

  const gw = await createGateway(config, { secret: resolveSecret(config), backgroundCheckpoints: true });
  const out: string[] = [];
  const demoMerchant = config.mode === 'sandbox' ? await ensureDemoMerchant(gw) : undefined;
  const app = await buildHttpApp(gw, {
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    ...(demoMerchant ? { demoMerchant: demoMerchant.demo } : {}),
  });

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
  // Webhooks flow only once the gateway serves: a delivery never races the startup checks above.
  gw.webhooks.worker.start();
  gw.expirySweeper.start();
  out.push(
    `wmx-gateway (${config.mode} mode, ${gw.db.dialect}) listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${
      (app.server.address() as { port: number }).port
    }`,
    `Public URL: ${config.publicUrl}  (check-server: ${config.publicUrl}/check-server)`,
    ...(demoMerchant ? [`Demo shop: ${config.publicUrl}/demo`] : []),
  );
  process.stdout.write(out.join('\n') + '\n');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
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
