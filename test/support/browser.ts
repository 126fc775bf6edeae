import fs from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.WMX_CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser suite cannot run here, or undefined when Chromium is available. */
export function browserSkipReason(): string | undefined {
  if (fs.existsSync(CHROMIUM_PATH)) return undefined;
  return `Chromium not found at ${CHROMIUM_PATH}: browser tests skipped (apt-get install chromium, or set WMX_CHROMIUM_PATH)`;
}

export async function launchChromium(opts: { javaScriptEnabled?: boolean } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  void opts;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}
