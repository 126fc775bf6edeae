/**
 * Runs the example shop with its configuration from the environment:
 *
 *   WMX_BASE_URL=http://127.0.0.1:8080 WMX_ID=… WMX_APP_KEY=… WMX_USERNAME=… WMX_PASSWORD=… \
 *   WMX_SIGNING_SECRET=… [WMX_API_KEY=…] [PORT=3000] [SHOP_PUBLIC_URL=…] \
 *   node --import tsx examples/shop/main.ts
 */
import { startShop } from './shop.js';

const env = process.env;
const missing = ['WMX_BASE_URL', 'WMX_ID', 'WMX_APP_KEY', 'WMX_USERNAME', 'WMX_PASSWORD'].filter((k) => !env[k]);
if (missing.length > 0) {
  console.error(`Set ${missing.join(', ')} (see examples/shop/README.md).`);
  process.exit(2);
}

const shop = await startShop({
  baseUrl: env.WMX_BASE_URL!,
  wmxId: env.WMX_ID!,
  appKey: env.WMX_APP_KEY!,
  username: env.WMX_USERNAME!,
  password: env.WMX_PASSWORD!,
  ...(env.WMX_API_KEY ? { apiKey: env.WMX_API_KEY } : {}),
  ...(env.WMX_SIGNING_SECRET ? { signingSecret: env.WMX_SIGNING_SECRET } : {}),
  port: env.PORT ? Number(env.PORT) : 3000,
  ...(env.SHOP_PUBLIC_URL ? { publicUrl: env.SHOP_PUBLIC_URL } : {}),
});
console.log(`Shop at ${shop.url} (webhooks: ${shop.url}/webhooks)`);
if (!env.WMX_SIGNING_SECRET)
  console.warn('WMX_SIGNING_SECRET is not set: callback signatures are not checked and /webhooks is off.');

const stop = () => void shop.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
