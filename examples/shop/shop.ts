/**
 * A tiny shop on plain node:http that takes payments through wmx-gateway with @wmx-gateway/sdk:
 *
 *   GET  /                 products, each with a checkout form
 *   POST /checkout         stores the order, initPayment → 303 to the gateway's payment page
 *   POST /callback?order=  the customer's browser coming back: handleCallback against the stored
 *                          order (id, amount, currency, token); marks it paid once
 *   POST /webhooks         verifyWebhook on the raw bytes, dedupe on the event id, marks paid once
 *   GET  /orders/<id>      the order (HTML; `/orders/<id>.json` for JSON)
 *
 * Orders live in memory: a real shop keeps them (and the seen event ids) in its database.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  isPaymentEvent,
  verifyPaymentRecord,
  WebhookSignatureError,
  WmxClient,
  WmxSdkError,
  type CallbackVerdict,
  type WebhookEvent,
} from '../../packages/sdk/src/index.js';

export interface ShopConfig {
  /** WMX_BASE_URL: the gateway, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** WMX_ID */
  wmxId: string;
  /** WMX_APP_KEY */
  appKey: string;
  /** WMX_USERNAME */
  username: string;
  /** WMX_PASSWORD */
  password: string;
  /** WMX_API_KEY (optional: only for the JSON API) */
  apiKey?: string;
  /** WMX_SIGNING_SECRET: verifies callback signatures and webhooks (the webhook route needs it). */
  signingSecret?: string;
  /** PORT (0: any free port). Default 3000. */
  port?: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** SHOP_PUBLIC_URL: how browsers reach the shop (for callback URLs); default http://host:port. */
  publicUrl?: string;
}

export interface Product {
  id: string;
  name: string;
  /** Decimal string: money is never a float. */
  price: string;
}

export const PRODUCTS: readonly Product[] = [
  { id: 'tea', name: 'Sylhet tea, 500 g', price: '450.00' },
  { id: 'jamdani', name: 'Jamdani scarf', price: '2750.50' },
];

export type OrderStatus = 'awaiting_payment' | 'paid' | 'declined' | 'cancelled' | 'expired';

export interface Order {
  id: string;
  product: Product;
  amount: string;
  currency: 'BDT';
  /** The payment token initPayment returned. */
  token: string | null;
  status: OrderStatus;
  paidAt: number | null;
  /** Who told us first that it was paid. */
  paidVia: 'callback' | 'webhook' | null;
  /** How many times the order was fulfilled: exactly once when paid, whatever arrives how often. */
  fulfilments: number;
  /** Webhook event types received for it, in arrival order. */
  events: string[];
}

export interface Shop {
  url: string;
  orders: Map<string, Order>;
  /** Event ids seen on /webhooks, and how many deliveries were duplicates. */
  webhooks: { seen: Set<string>; duplicates: number };
  close(): Promise<void>;
}

const BODY_MAX = 64 * 1024;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Tea &amp; Jamdani</title></head>` +
  `<body><header><a href="/">Tea &amp; Jamdani</a></header><main>${body}</main></body></html>`;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_MAX) {
        reject(new HttpError(413, 'Body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Marks an order paid exactly once (no await between the check and the change: atomic in Node). */
function markPaid(order: Order, via: 'callback' | 'webhook'): boolean {
  if (order.status === 'paid') return false;
  order.status = 'paid';
  order.paidAt = Date.now();
  order.paidVia = via;
  order.fulfilments += 1; // ship it: here, once
  return true;
}

const expectedOf = (order: Order) => ({
  orderId: order.id,
  amount: order.amount,
  currency: order.currency,
  ...(order.token !== null ? { token: order.token } : {}),
});

export async function startShop(config: ShopConfig): Promise<Shop> {
  const wmx = new WmxClient({
    baseUrl: config.baseUrl,
    wmxId: config.wmxId,
    accessAppKey: config.appKey,
    username: config.username,
    password: config.password,
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    ...(config.signingSecret ? { signingSecret: config.signingSecret } : {}),
  });
  const orders = new Map<string, Order>();
  const webhooks = { seen: new Set<string>(), duplicates: 0 };
  let orderNo = 0;
  let publicUrl = config.publicUrl?.replace(/\/+$/, '') ?? '';

  function productsPage(): string {
    const items = PRODUCTS.map(
      (p) => `<li><h2>${escapeHtml(p.name)}</h2><p>${p.price} BDT</p>
<form method="post" action="/checkout">
<input type="hidden" name="product" value="${p.id}">
<label>Name <input name="name" required autocomplete="name"></label>
<label>Email <input name="email" type="email" required autocomplete="email"></label>
<label>Phone <input name="phone" required autocomplete="tel"></label>
<button type="submit">Buy ${escapeHtml(p.name)}</button>
</form></li>`,
    ).join('\n');
    return page('Products', `<h1>Products</h1><ul>${items}</ul>`);
  }

  async function checkout(form: URLSearchParams): Promise<string> {
    const product = PRODUCTS.find((p) => p.id === form.get('product'));
    if (!product) throw new HttpError(400, 'Unknown product');
    const order: Order = {
      id: `o${Date.now().toString(36)}${++orderNo}`,
      product,
      amount: product.price,
      currency: 'BDT',
      token: null,
      status: 'awaiting_payment',
      paidAt: null,
      paidVia: null,
      fulfilments: 0,
      events: [],
    };
    orders.set(order.id, order);
    const started = await wmx.initPayment({
      orderId: order.id,
      // Derived from the order: a retried checkout of the same order gets the same payment back.
      refId: `ref-${order.id}`,
      amount: order.amount,
      currency: order.currency,
      callbackUrl: `${publicUrl}/callback?order=${encodeURIComponent(order.id)}`,
      customer: {
        name: form.get('name') || 'Customer',
        email: form.get('email') || 'customer@example.com',
        phone: form.get('phone') || '01700000000',
      },
      productDesc: `{1x${product.name}[${product.price}]=[${product.price}]}+{shipping rate:0}-{discount amount:0}=${product.price}`,
    });
    order.token = started.token;
    return started.paymentUrl;
  }

  /** The browser coming back from the payment page. Never trusted: handleCallback asks check-payment. */
  async function callback(orderId: string | null, body: string): Promise<{ status: number; html: string }> {
    const order = orderId === null ? undefined : orders.get(orderId);
    if (!order) throw new HttpError(404, 'Unknown order');
    let verdict: CallbackVerdict;
    try {
      verdict = await wmx.handleCallback(body, expectedOf(order));
    } catch (e) {
      // The gateway could not be asked: nothing is decided; the webhook (or a later look) will tell.
      if (e instanceof WmxSdkError)
        return {
          status: 503,
          html: page(
            'Confirming',
            '<h1>We are confirming your payment</h1><p>Please check your order page in a minute.</p>',
          ),
        };
      throw e;
    }
    const link = `<p><a href="/orders/${encodeURIComponent(order.id)}">Your order ${escapeHtml(order.id)}</a></p>`;
    if (verdict.ok) {
      markPaid(order, 'callback');
      return {
        status: 200,
        html: page('Paid', `<h1>Payment received</h1><p>Thank you! ${order.amount} BDT paid.</p>${link}`),
      };
    }
    if (verdict.status === 'rejected')
      // A forged, tampered or misdirected callback: the order is left as it is.
      return {
        status: 400,
        html: page('Not confirmed', `<h1>Payment not confirmed</h1><p>${escapeHtml(verdict.message)}</p>${link}`),
      };
    if (verdict.status === 'pending')
      return { status: 200, html: page('Pending', `<h1>Payment not finished yet</h1>${link}`) };
    // declined, cancelled, expired: a paid order is never downgraded.
    if (order.status !== 'paid') order.status = verdict.status;
    return {
      status: 200,
      html: page(
        'Not paid',
        `<h1>Payment ${verdict.status}</h1><p>${escapeHtml(verdict.record.txn_details)}</p>${link}`,
      ),
    };
  }

  /** A signed event from the gateway; answered at once, deduplicated on its id. */
  async function webhook(raw: Buffer, signature: string | string[] | undefined): Promise<string> {
    if (!config.signingSecret) throw new HttpError(404, 'Webhooks are off (no signing secret)');
    let event: WebhookEvent;
    try {
      event = await wmx.verifyWebhook(raw, signature);
    } catch (e) {
      if (e instanceof WebhookSignatureError) throw new HttpError(400, e.reason);
      throw e;
    }
    if (webhooks.seen.has(event.id)) {
      webhooks.duplicates += 1;
      return 'duplicate';
    }
    webhooks.seen.add(event.id);
    const record = isPaymentEvent(event) ? event.data : null;
    const order = record ? orders.get(record.merchant_order_id) : undefined;
    if (record && order) {
      order.events.push(event.type);
      // Signed by the gateway, so the record is authoritative; it must still be this order's.
      const verdict = verifyPaymentRecord(record, expectedOf(order), wmx.wmxId);
      if (verdict.ok) markPaid(order, 'webhook');
      else if (verdict.status !== 'rejected' && verdict.status !== 'pending' && order.status !== 'paid')
        order.status = verdict.status;
    }
    return 'ok';
  }

  function orderView(id: string, asJson: boolean): { type: string; body: string } {
    const order = orders.get(id);
    if (!order) throw new HttpError(404, 'Unknown order');
    if (asJson) return { type: 'application/json', body: JSON.stringify(order) };
    return {
      type: 'text/html; charset=utf-8',
      body: page(
        `Order ${order.id}`,
        `<h1>Order ${escapeHtml(order.id)}</h1><p>${escapeHtml(order.product.name)}: ${order.amount} BDT</p><p>Status: <strong>${order.status}</strong></p>`,
      ),
    };
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://shop.local');
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers }).end(body);
    const html = 'text/html; charset=utf-8';
    if (req.method === 'GET' && url.pathname === '/') return void send(200, html, productsPage());
    if (req.method === 'POST' && url.pathname === '/checkout') {
      let paymentUrl: string;
      try {
        paymentUrl = await checkout(new URLSearchParams((await readBody(req)).toString('utf8')));
      } catch (e) {
        // WmxError (a legacy code such as 3001 maintenance), or the gateway could not be reached.
        if (!(e instanceof WmxSdkError)) throw e;
        return void send(
          502,
          html,
          page('Payment unavailable', `<h1>Payment could not be started</h1><p>${escapeHtml(e.message)}</p>`),
        );
      }
      return void send(303, html, '', { location: paymentUrl });
    }
    if (req.method === 'POST' && url.pathname === '/callback') {
      const r = await callback(url.searchParams.get('order'), (await readBody(req)).toString('utf8'));
      return void send(r.status, html, r.html);
    }
    if (req.method === 'POST' && url.pathname === '/webhooks') {
      // The raw bytes: the signature covers them, not a re-serialised JSON.
      return void send(200, 'text/plain', await webhook(await readBody(req), req.headers['wmx-signature']));
    }
    const m = /^\/orders\/([A-Za-z0-9]+)(\.json)?$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const v = orderView(m[1] as string, m[2] !== undefined);
      return void send(200, v.type, v.body);
    }
    throw new HttpError(404, 'Not found');
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof HttpError ? e.message : 'Something went wrong';
      if (!(e instanceof HttpError)) console.error(e);
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(message);
    });
  });
  const host = config.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 3000, host, resolve);
  });
  const { port } = server.address() as AddressInfo; // a TCP listener
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (publicUrl === '') publicUrl = url;
  return {
    url,
    orders,
    webhooks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
