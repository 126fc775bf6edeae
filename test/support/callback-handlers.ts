/**
 * Two small callback handlers of the kind shops write, for `wmx doctor`'s tests: one trusts the
 * browser's callback (the costly mistake the doctor exists to catch), one verifies it the way the
 * protocol says (check-payment with the shop's own credentials, compared with the order it stored
 * at init). Each is a real HTTP server on an ephemeral port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ShopCredentials {
  gatewayUrl: string;
  wmxId: string;
  accessAppKey: string;
  username: string;
  password: string;
}

export interface Order {
  orderId: string;
  amount: string;
  currency: string;
  token: string;
  paid: boolean;
  shipped: number;
}

export interface HandlerServer {
  url: string;
  /** The shop's orders: what it stored when it called init (keyed by merchant_order_id). */
  orders: Map<string, Order>;
  /** How many times anything was shipped (each would be a parcel leaving the warehouse). */
  shipments: () => number;
  close(): Promise<void>;
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

async function serve(
  handle: (form: URLSearchParams, orders: Map<string, Order>) => Promise<{ status: number; text: string }>,
): Promise<HandlerServer> {
  const orders = new Map<string, Order>();
  const server = http.createServer((req, res) => {
    readForm(req)
      .then((form) => handle(form, orders))
      .then(
        (r) => res.writeHead(r.status, { 'content-type': 'text/html; charset=utf-8' }).end(`<p>${r.text}</p>`),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/payment/callback`,
    orders,
    shipments: () => [...orders.values()].reduce((n, o) => n + o.shipped, 0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const parse = (form: URLSearchParams): Record<string, string> | undefined => {
  try {
    return JSON.parse(form.get('merchant_txn_data') ?? '') as Record<string, string>;
  } catch {
    return undefined;
  }
};

/** Reads txn_status from the callback and ships: anyone can post it. */
export function trustingHandler(): Promise<HandlerServer> {
  return serve(async (form, orders) => {
    const d = parse(form);
    if (!d) return { status: 400, text: 'Bad request' };
    if (d.txn_status !== '1000') return { status: 200, text: 'Payment failed. Please try again.' };
    const o = orders.get(d.merchant_order_id ?? '');
    if (o) {
      o.paid = true;
      o.shipped++;
    }
    return { status: 200, text: `Thank you! Order ${d.merchant_order_id} is paid and on its way.` };
  });
}

/** Asks check-payment about the order's own token and compares everything with the stored order. */
export function verifyingHandler(c: ShopCredentials): Promise<HandlerServer> {
  return serve(async (form, orders) => {
    const d = parse(form);
    const o = d && orders.get(d.merchant_order_id ?? '');
    if (!d || !o) return { status: 404, text: 'Unknown order' };
    if (d.token !== o.token) return { status: 400, text: 'This payment is not for this order' };
    const res = await fetch(`${c.gatewayUrl}/check-payment`, {
      method: 'POST',
      body: new URLSearchParams({
        wmx_id: c.wmxId,
        authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`,
        access_app_key: c.accessAppKey,
        token: o.token,
      }),
    });
    const r = (await res.json()) as Record<string, unknown>;
    const ok =
      r.txn_status === '1000' &&
      r.wmx_id === c.wmxId &&
      r.token === o.token &&
      r.merchant_order_id === o.orderId &&
      r.merchant_req_amount === o.amount &&
      r.merchant_currency === o.currency;
    if (!ok) return { status: 402, text: 'Payment not verified' };
    if (o.paid) return { status: 200, text: `Order ${o.orderId} was already paid.` };
    o.paid = true;
    o.shipped++;
    return { status: 200, text: `Thank you! Order ${o.orderId} is paid and on its way.` };
  });
}
