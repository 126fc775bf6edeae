/**
 * `wmx simulate bkash|sslcommerz`: an upstream's simulator in the foreground, for trying a
 * connector without the real upstream (point a connector's base_url at it). Stops on Ctrl-C.
 */
export async function runSimulator(
  which: 'bkash' | 'sslcommerz',
  o: { port?: number; host?: string },
): Promise<number> {
  const port = o.port ?? (which === 'bkash' ? 4010 : 4020);
  const host = o.host ?? '127.0.0.1';
  const out = (s: string) => process.stdout.write(s + '\n');
  let close: () => Promise<void>;
  if (which === 'bkash') {
    const { startBkashSimulator } = await import('../acquirers/bkash/simulator.js');
    const sim = await startBkashSimulator({ port, host });
    close = sim.close;
    out(`bKash Tokenized Checkout simulator at ${sim.url}`);
    out(`  base URL      ${sim.baseUrl}`);
    out(`  username      ${sim.credentials.username}`);
    out(`  password      ${sim.credentials.password}`);
    out(`  app key       ${sim.credentials.appKey}`);
    out(`  app secret    ${sim.credentials.appSecret}`);
    out('Add it to the gateway:');
    out(
      `  npx wmx connector add bkash-sim --kind bkash --env sandbox --set base_url=${sim.baseUrl} ` +
        `--set username=${sim.credentials.username} --set app_key=${sim.credentials.appKey} ` +
        `--set password=${sim.credentials.password} --set app_secret=${sim.credentials.appSecret}`,
    );
    out('  npx wmx connector route bkash bkash-sim');
  } else {
    const { startSslcommerzSimulator } = await import('../acquirers/sslcommerz/simulator.js');
    const sim = await startSslcommerzSimulator({ port, host });
    close = sim.close;
    out(`SSLCommerz v4 simulator at ${sim.url}`);
    out(`  store id        ${sim.store.storeId}`);
    out(`  store password  ${sim.store.storePasswd}`);
    out('Add it to the gateway:');
    out(
      `  npx wmx connector add sslcommerz-sim --kind sslcommerz --env sandbox --set base_url=${sim.url} ` +
        `--set store_id=${sim.store.storeId} --set store_passwd=${sim.store.storePasswd}`,
    );
    out('  npx wmx connector route card sslcommerz-sim');
  }
  out('Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await close();
  return 0;
}
