/** Shared by the SDK's suites: a client per merchant, paying on the hosted page, a raw webhook receiver. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IssuedCredentials } from '../../../src/app/merchant-admin.js';
import { WmxClient, type InitPaymentInput, type WmxClientOptions } from '../src/index.js';

export function clientFor(gatewayUrl: string, c: IssuedCredentials, extra: Partial<WmxClientOptions> = {}): WmxClient {
  return new WmxClient({
    baseUrl: gatewayUrl,
    wmxId: c.wmx_id,
    accessAppKey: c.access_app_key,
    username: c.username,
    password: c.password,
    apiKey: c.api_key,
    signingSecret: c.signing_secret,
    ...extra,
  });
}

let orderNo = 5000;
/** A complete order for initPayment; a fresh order id each time. */
export function order(overrides: Partial<InitPaymentInput> = {}): InitPaymentInput {
  const orderId = overrides.orderId ?? `ord-${++orderNo}`;
  return {
    orderId,
    amount: '100.00',
    currency: 'BDT',
    callbackUrl: `https://shop.test/callback?order=${orderId}`,
    customer: { name: 'Rahim Uddin', email: 'rahim@example.com', phone: '01712345678', city: 'Dhaka' },
    productDesc: '{1xTea set[100]=[100]}+{shipping rate:0}-{discount amount:0}=100.00',
    ...overrides,
  } as InitPaymentInput;
}

export const CARD = { method: 'card', card_number: '4111111111111111', expiry: '12/39', cvv: '123', card_name: 'R U' };
export const DECLINED_CARD = '4000000000000002';

export interface CallbackForm {
  /** Where the browser would POST it (the order's callback_url, verbatim). */
  action: string;
  fields: Record<string, string>;
}

const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The self-submitting form of the result page: what the gateway makes the browser send to the shop. */
export function callbackForm(html: string): CallbackForm {
  const form = /<form method="post" action="([^"]*)" data-autosubmit>([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form, 'the result page holds the form for the merchant');
  const fields: Record<string, string> = {};
  for (const m of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1] as string] = unescape(m[2] as string);
  return { action: unescape(form[1] as string), fields };
}

/**
 * What a customer's browser does on the hosted page without JavaScript: open the page, submit its
 * form (`pay` with a card, or `cancel`) with the form's own hidden fields, follow the 303 to the
 * token's page, and read the callback form it shows.
 */
export async function finishOnPage(
  paymentUrl: string,
  action: 'pay' | 'cancel',
  card: Partial<typeof CARD> = {},
): Promise<CallbackForm> {
  const shown = await fetch(paymentUrl);
  assert.equal(shown.status, 200);
  const html = await shown.text();
  const form = new RegExp(
    `<form method="post" action="([^"]*/${action})" class="${action}"[^>]*>([\\s\\S]*?)</form>`,
  ).exec(html);
  assert.ok(form, `the payment page has the ${action} form`);
  const fields: Record<string, string> = {};
  for (const m of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1] as string] = unescape(m[2] as string);
  const posted = await fetch(new URL(unescape(form[1] as string), paymentUrl), {
    method: 'POST',
    body: new URLSearchParams(action === 'pay' ? { ...fields, ...CARD, ...card } : fields),
    redirect: 'manual',
  });
  await posted.text();
  assert.equal(posted.status, 303, `${action} answers 303 to the token's page`);
  const location = posted.headers.get('location');
  assert.ok(location);
  const page = await fetch(new URL(location, paymentUrl));
  assert.equal(page.status, 200);
  return callbackForm(await page.text());
}

/** `t=…,v1=…` computed with node:crypto, independently of the SDK (to forge or to cross-check). */
export function nodeSignature(secret: string, payload: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex')}`;
}

export interface RawDelivery {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
}

/** A webhook receiver keeping each delivery's exact bytes and headers; answers 200. */
export async function startRawSink() {
  const received: RawDelivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo; // a TCP listener
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
