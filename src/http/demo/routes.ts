import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { newMerchantRefId } from '../../domain/ids.js';
import { formatMinor } from '../../domain/money.js';
import { WmxError } from '../../domain/errors.js';
import type { Fields } from '../../app/init-payment.js';
import type { IssuedCredentials } from '../../app/merchant-admin.js';
import type { PaymentRecordView } from '../../domain/payment.js';
import type { MaybePromise } from '../../domain/maybe-promise.js';
import { toCheckPaymentRecord, type CheckPaymentRecord } from '../legacy/wire.js';
import type { Database } from '../../store/schema.js';
import { html } from '../html.js';
import { layout } from '../checkout/layout.js';
import { translator } from '../checkout/i18n.js';
import { DEMO_PRODUCTS, type DemoLine } from './catalog.js';

export interface DemoDeps {
  merchant: IssuedCredentials & { name: string };
  db: Kysely<Database>;
  initPayment(fields: Fields, ip: string): Promise<{ token: string }>;
  checkPayment(fields: Fields): MaybePromise<PaymentRecordView>;
  formatTime(ms: number): string;
  now(): number;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const t = translator('en');

function page(reply: FastifyReply, status: number, title: string, body: ReturnType<typeof html>) {
  return reply
    .code(status)
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(layout({ lang: 'en', t, title, sandbox: true }, body));
}

/** The official grammar: {2xItem A[5]=[10]}+{shipping rate:0}-{discount amount:0}=10.00 */
export function productDesc(lines: DemoLine[], totalMinor: bigint): string {
  const items = lines.map(
    (l) =>
      `{${l.quantity}x${l.name}[${formatMinor(l.priceMinor)}]=[${formatMinor(l.priceMinor * BigInt(l.quantity))}]}`,
  );
  return `${items.join('+')}+{shipping rate:0}-{discount amount:0}=${formatMinor(totalMinor)}`;
}

/**
 * Verifies a payment the way the official Walletmix client does: never trust the posted result,
 * ask check-payment and compare wmx_id, status, amounts and currency with our own order.
 */
export function verifyLikeOfficialClient(r: CheckPaymentRecord, wmxId: string, orderTotal: string): string | undefined {
  if (r.wmx_id !== wmxId) return 'the payment belongs to another merchant';
  if (r.txn_status !== '1000') return r.txn_details ?? 'not paid';
  const amount = Number(orderTotal);
  if (!(Number(r.bank_amount_bdt) >= amount)) return 'the bank amount is lower than the order total';
  if (r.merchant_amount_bdt !== orderTotal) return 'the merchant amount differs from the order total';
  if (!(Number(r.merchant_req_amount) >= amount)) return 'the requested amount is lower than the order total';
  if (r.merchant_currency !== 'BDT') return 'the currency differs';
  return undefined;
}

export async function demoRoutes(app: FastifyInstance, deps: DemoDeps): Promise<void> {
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const creds = () => ({
    wmx_id: deps.merchant.wmx_id,
    access_app_key: deps.merchant.access_app_key,
    authorization: 'Basic ' + Buffer.from(`${deps.merchant.username}:${deps.merchant.password}`).toString('base64'),
  });

  app.get('/demo', async (_req, reply) =>
    page(
      reply,
      200,
      'Demo shop',
      html`<section><h1>Demo shop</h1>
<p>This shop is a merchant of this gateway (${deps.merchant.name}, ${deps.merchant.wmx_id}). Pick some items and pay on the hosted page with a test card such as <code>4111 1111 1111 1111</code>, any future expiry and any CVV.</p>
<form method="post" action="/demo/checkout" class="products">
${DEMO_PRODUCTS.map(
  (p) => html`<label for="qty-${p.id}"><span>${p.name} · ${formatMinor(p.priceMinor)} BDT</span>
<input id="qty-${p.id}" name="qty_${p.id}" type="number" min="0" max="20" value="${p.id === 'tea' ? 1 : 0}" aria-label="Quantity of ${p.name}"></label>`,
)}
<p><button type="submit" class="primary">Checkout</button></p>
</form></section>`,
    ),
  );

  app.post('/demo/checkout', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    const lines: DemoLine[] = [];
    for (const p of DEMO_PRODUCTS) {
      const q = Number(body[`qty_${p.id}`] ?? 0);
      if (Number.isInteger(q) && q > 0 && q <= 20)
        lines.push({ id: p.id, name: p.name, quantity: q, priceMinor: p.priceMinor });
    }
    if (lines.length === 0) {
      return page(
        reply,
        422,
        'Demo shop',
        html`<section><h1>Your basket is empty</h1><p><a href="/demo">Choose at least one item.</a></p></section>`,
      );
    }
    const total = lines.reduce((s, l) => s + l.priceMinor * BigInt(l.quantity), 0n);
    const ref = newMerchantRefId();
    const origin = `${req.protocol}://${req.host}`;
    let token: string;
    try {
      ({ token } = await deps.initPayment(
        {
          ...creds(),
          merchant_order_id: `DEMO-${ref.slice(0, 6).toUpperCase()}`,
          merchant_ref_id: ref,
          app_name: 'Demo shop',
          cart_info: `${deps.merchant.wmx_id},${req.host},Demo shop`,
          customer_name: 'Demo Customer',
          customer_email: 'customer@example.com',
          customer_phone: '01700000000',
          product_desc: productDesc(lines, total),
          amount: formatMinor(total),
          currency: 'BDT',
          callback_url: `${origin}/demo/callback`,
          extra_json: '[]',
        },
        req.ip,
      ));
    } catch (e) {
      const why = e instanceof WmxError ? `${e.code}: ${e.message}` : 'internal error';
      return page(
        reply,
        502,
        'Demo shop',
        html`<section><h1>Could not start the payment</h1><p>${why}</p><p><a href="/demo">Back to the shop</a></p></section>`,
      );
    }
    await deps.db
      .insertInto('demo_orders')
      .values({
        token,
        merchant_ref_id: ref,
        lines: JSON.stringify(lines.map((l) => ({ ...l, priceMinor: l.priceMinor.toString() }))),
        total_minor: total.toString(),
        status: 'pending',
        created_at: deps.now(),
      })
      .execute();
    return reply.redirect(`/bank-payment-process/${token}`, 303);
  });

  app.post('/demo/callback', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    let token = '';
    try {
      const data = JSON.parse(body.merchant_txn_data ?? '') as { token?: unknown };
      token = typeof data.token === 'string' ? data.token : '';
    } catch {
      // handled below: no token
    }
    const order = token
      ? await deps.db.selectFrom('demo_orders').selectAll().where('token', '=', token).executeTakeFirst()
      : undefined;
    if (!order) {
      return page(
        reply,
        400,
        'Demo shop',
        html`<section><h1>Unknown order</h1><p>The gateway posted a result this shop cannot match to an order.</p><p><a href="/demo">Back to the shop</a></p></section>`,
      );
    }
    const total = formatMinor(BigInt(order.total_minor));
    let verdict: string | undefined;
    let record: CheckPaymentRecord | undefined;
    try {
      record = toCheckPaymentRecord(await deps.checkPayment({ ...creds(), token }), deps.formatTime);
      verdict = verifyLikeOfficialClient(record, deps.merchant.wmx_id, total);
    } catch (e) {
      verdict = e instanceof WmxError ? `check-payment failed: ${e.code} ${e.message}` : 'check-payment failed';
    }
    const paid = verdict === undefined;
    await deps.db
      .updateTable('demo_orders')
      .set({ status: paid ? 'paid' : 'unpaid' })
      .where('token', '=', token)
      .execute();
    return page(
      reply,
      200,
      paid ? 'Paid' : 'Not paid',
      html`<section class="result result-${paid ? 'approved' : 'declined'}"><h1>${paid ? 'Paid' : 'Not paid'}</h1>
<p>${paid ? `Thank you! Order ${order.merchant_ref_id} is paid: ${total} BDT.` : `Order ${order.merchant_ref_id} is not paid: ${verdict}.`}</p>
${
  record
    ? html`<table><tbody>${(
        [
          'txn_status',
          'txn_details',
          'merchant_amount_bdt',
          'bank_amount_bdt',
          'payment_card',
          'card_details',
          'ref_id',
          'txn_time',
        ] as const
      ).map((k) => html`<tr><th scope="row">${k}</th><td>${record[k] ?? 'null'}</td></tr>`)}</tbody></table>`
    : ''
}
<p><a href="/demo">Shop again</a></p></section>`,
    );
  });
}
