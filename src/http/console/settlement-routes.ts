import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Refund } from '../../app/refunds.js';
import type { SettlementBatch } from '../../app/settlements.js';
import { WmxError } from '../../domain/errors.js';
import { TOKEN_RE } from '../../domain/ids.js';
import { formatMinor, parseAmount } from '../../domain/money.js';
import { html, type Html } from '../html.js';
import type { ConsoleDeps } from './index.js';
import { consolePage, csrfInput, formField } from './layout.js';
import { sendConsole } from './public-routes.js';
import { actorOf, requireLogin } from './session.js';

const PAGE_SIZE = 50;
const merchantOnly = { preHandler: requireLogin('merchant') };
const adminOnly = { preHandler: requireLogin('admin') };

/** One text value of a parsed form or query (repeated keys or objects read as the first string or empty). */
function textOf(source: unknown, name: string, max = 200): string {
  if (typeof source !== 'object' || source === null) return '';
  let v = (source as Record<string, unknown>)[name]; // a parsed body or query: a plain record
  if (Array.isArray(v)) v = v.find((x) => typeof x === 'string');
  return typeof v === 'string' ? v.slice(0, max) : '';
}

const money = (m: bigint): string => formatMinor(m);

function batchRows(batches: SettlementBatch[], csvBase: string, names?: Map<string, string>): Html {
  return html`${batches.map(
    (
      b,
    ) => html`<tr><td>${b.date}</td>${names ? html`<td>${names.get(b.merchantId) ?? b.merchantId}</td>` : ''}<td>${b.paymentCount}</td>
<td>${money(b.grossMinor)}</td><td>${money(b.feesMinor)}</td><td>${money(b.emiMinor)}</td><td>${money(b.refundsMinor)}</td>
<td><strong>${money(b.netMinor)}</strong></td><td><a href="${csvBase}/${b.id}/csv" download>CSV</a></td></tr>`,
  )}`;
}

const BATCH_HEAD = (withMerchant: boolean): Html =>
  html`<thead><tr><th scope="col">Day</th>${withMerchant ? html`<th scope="col">Merchant</th>` : ''}<th scope="col">Payments</th><th scope="col">Gross</th><th scope="col">Fees</th><th scope="col">EMI</th><th scope="col">Refunds</th><th scope="col">Net (BDT)</th><th scope="col">Report</th></tr></thead>`;

/**
 * Settlements in the console: the merchant's batches and balance (/dashboard/settlements, with a CSV
 * per batch), every batch for operators (/admin/settlements), and the dashboard's refund form
 * (/dashboard/payments/:token/refunds; owners and developers only).
 */
export async function settlementRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const { gw } = deps;

  async function page(
    req: FastifyRequest,
    reply: FastifyReply,
    area: 'admin' | 'dashboard',
    status: number,
    title: string,
    body: Html,
  ) {
    let sandbox = deps.sandbox;
    const merchantId = req.consoleSession?.user.merchantId;
    if (area === 'dashboard' && merchantId) sandbox ||= (await gw.merchants.byId(merchantId))?.sandbox ?? false;
    return sendConsole(
      reply,
      status,
      consolePage({ title, session: req.consoleSession, csrf: reply.csrfToken(req), sandbox, area }, body),
    );
  }
  const message = (
    req: FastifyRequest,
    reply: FastifyReply,
    area: 'admin' | 'dashboard',
    status: number,
    title: string,
    text: string,
    back: [string, string],
  ) =>
    page(
      req,
      reply,
      area,
      status,
      title,
      html`<section><h1>${title}</h1><p class="notice" role="alert">${text}</p><p><a href="${back[0]}">${back[1]}</a></p></section>`,
    );

  function sendCsv(reply: FastifyReply, b: SettlementBatch) {
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="settlement-${b.date}-${b.id}.csv"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(gw.settlements.csv(b.id)));
  }

  app.get('/dashboard/settlements', merchantOnly, async (req, reply) => {
    const merchantId = req.consoleSession?.user.merchantId;
    if (!merchantId)
      return message(req, reply, 'dashboard', 404, 'Not found', 'Your login has no merchant account.', [
        '/dashboard',
        'Back to the overview',
      ]);
    const cursor = textOf(req.query, 'cursor') || undefined;
    const [list, bal] = await Promise.all([gw.settlements.list(merchantId, cursor, PAGE_SIZE), gw.balance(merchantId)]);
    return page(
      req,
      reply,
      'dashboard',
      200,
      'Settlements',
      html`<section><h1>Settlements</h1>
<table id="balance"><caption>Balance (BDT)</caption><tbody>
<tr><th scope="row">Available (to be settled)</th><td>${money(bal.available_minor)}</td></tr>
<tr><th scope="row">Refunds in progress</th><td>${money(bal.pending_refunds_minor)}</td></tr>
<tr><th scope="row">Settled so far</th><td>${money(bal.settled_minor)}</td></tr>
<tr><th scope="row">Fees charged</th><td>${money(bal.fees_minor)}</td></tr></tbody></table>
<p class="hint">One batch per day (${gw.config.timezone}): net = gross − fees − refunds. The EMI surcharge is the customer's and is not part of net.</p>
${
  list.items.length === 0
    ? html`<p class="notice" role="status">No settlements${cursor ? ' on this page' : ' yet'}.</p>`
    : html`<table id="settlements"><caption>Settlement batches, newest first</caption>${BATCH_HEAD(false)}<tbody>${batchRows(list.items, '/dashboard/settlements')}</tbody></table>`
}
<nav class="pager" aria-label="Pages">${cursor ? html`<a href="/dashboard/settlements">Newest</a>` : ''}${
        list.nextCursor ? html`<a href="/dashboard/settlements?cursor=${list.nextCursor}" rel="next">Older</a>` : ''
      }</nav></section>`,
    );
  });

  app.get<{ Params: { id: string } }>('/dashboard/settlements/:id/csv', merchantOnly, async (req, reply) => {
    const merchantId = req.consoleSession?.user.merchantId;
    // Scoped to the merchant: another merchant's batch reads exactly like an unknown one.
    const b = merchantId ? await gw.settlements.get(merchantId, req.params.id) : undefined;
    if (!b)
      return message(req, reply, 'dashboard', 404, 'Not found', 'No settlement of yours has this id.', [
        '/dashboard/settlements',
        'Back to settlements',
      ]);
    return sendCsv(reply, b);
  });

  app.get('/admin/settlements', adminOnly, async (req, reply) => {
    const cursor = textOf(req.query, 'cursor') || undefined;
    const merchant = textOf(req.query, 'merchant') || undefined;
    const [list, merchants] = await Promise.all([
      gw.settlements.list(merchant, cursor, PAGE_SIZE),
      gw.merchants.list(),
    ]);
    const names = new Map(merchants.map((m) => [m.id, `${m.name} (${m.wmxId})`]));
    const q = (extra: Record<string, string>) => {
      const s = new URLSearchParams({ ...(merchant ? { merchant } : {}), ...extra }).toString();
      return s ? `?${s}` : '';
    };
    return page(
      req,
      reply,
      'admin',
      200,
      'Settlements',
      html`<section><h1>Settlements</h1>
<form method="get" action="/admin/settlements" class="filters"><div class="field"><label for="f-merchant">Merchant</label>
<select id="f-merchant" name="merchant"><option value="">All merchants</option>${merchants.map(
        (m) => html`<option value="${m.id}"${m.id === merchant ? html` selected` : ''}>${m.name} (${m.wmxId})</option>`,
      )}</select></div><button type="submit" class="small">Show</button></form>
<p class="hint">Batches are made by <code>wmx settle</code> (default: yesterday in ${gw.config.timezone}); net = gross − fees − refunds.</p>
${
  list.items.length === 0
    ? html`<p class="notice" role="status">No settlement batches.</p>`
    : html`<table id="settlements"><caption>Settlement batches, newest first</caption>${BATCH_HEAD(true)}<tbody>${batchRows(list.items, '/admin/settlements', names)}</tbody></table>`
}
<nav class="pager" aria-label="Pages">${cursor ? html`<a href="/admin/settlements${q({})}">Newest</a>` : ''}${
        list.nextCursor ? html`<a href="/admin/settlements${q({ cursor: list.nextCursor })}" rel="next">Older</a>` : ''
      }</nav></section>`,
    );
  });

  app.get<{ Params: { id: string } }>('/admin/settlements/:id/csv', adminOnly, async (req, reply) => {
    const b = await gw.settlements.get(undefined, req.params.id);
    if (!b)
      return message(req, reply, 'admin', 404, 'Not found', 'No settlement batch has this id.', [
        '/admin/settlements',
        'Back to settlements',
      ]);
    return sendCsv(reply, b);
  });

  /** The payment's refunds and, for owners and developers, the refund form. */
  async function refundPage(
    req: FastifyRequest,
    reply: FastifyReply,
    token: string,
    status: number,
    notice?: Html,
    amount = '',
    error?: string,
  ) {
    const user = req.consoleSession?.user;
    const merchantId = user?.merchantId;
    const p = merchantId && TOKEN_RE.test(token) ? await gw.payments.byToken(token) : undefined;
    if (!merchantId || !p || p.merchantId !== merchantId) {
      return message(req, reply, 'dashboard', 404, 'Payment not found', 'No payment of yours has this token.', [
        '/dashboard/payments',
        'Back to payments',
      ]);
    }
    const refunds = await gw.refunds.listForPayment(merchantId, token);
    const reserved = refunds.filter((r) => r.status !== 'failed').reduce((s, r) => s + r.amountMinor, 0n);
    const left = p.status === 'approved' ? p.amountBdtMinor - reserved : 0n;
    const mayRefund = user.role === 'owner' || user.role === 'developer';
    const row = (r: Refund) =>
      html`<tr><td><code>${r.id}</code></td><td>${gw.formatTime(r.createdAt)}</td><td>${money(r.amountMinor)}</td><td><span class="status status-${r.status}">${r.status}</span></td><td>${r.reason ?? ''}</td></tr>`;
    return page(
      req,
      reply,
      'dashboard',
      status,
      `Refunds for order ${p.merchantOrderId}`,
      html`<section><h1>Refunds for order ${p.merchantOrderId}</h1>
${notice ?? ''}
<p>Paid ${money(p.amountBdtMinor)} BDT (${p.status}); refunded ${money(p.refundedMinor ?? 0n)} BDT; <strong>${money(left > 0n ? left : 0n)} BDT</strong> can still be refunded.
The EMI surcharge (${money(p.emiChargeMinor)} BDT) and the gateway fee are not refunded.</p>
${
  refunds.length === 0
    ? html`<p class="notice" role="status">No refunds yet.</p>`
    : html`<table id="refunds"><thead><tr><th scope="col">Refund</th><th scope="col">Requested</th><th scope="col">BDT</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead><tbody>${refunds.map(row)}</tbody></table>`
}
${
  mayRefund && left > 0n
    ? html`<form method="post" action="/dashboard/payments/${p.token}/refunds">${csrfInput(reply.csrfToken(req))}
${formField('amount', 'Amount to refund (BDT)', { value: amount, error, required: false, inputmode: 'decimal', hint: `Leave blank to refund everything left (${money(left)} BDT).` })}
<button type="submit" class="primary">Refund</button></form>`
    : ''
}
<p><a href="/dashboard/payments/${p.token}">Back to the payment</a></p></section>`,
    );
  }

  app.get<{ Params: { token: string } }>('/dashboard/payments/:token/refunds', merchantOnly, async (req, reply) =>
    refundPage(req, reply, req.params.token.toLowerCase(), 200),
  );

  app.post<{ Params: { token: string } }>('/dashboard/payments/:token/refunds', merchantOnly, async (req, reply) => {
    const user = req.consoleSession?.user;
    const token = req.params.token.toLowerCase();
    if (!user || (user.role !== 'owner' && user.role !== 'developer')) {
      return message(
        req,
        reply,
        'dashboard',
        403,
        'Not allowed',
        `Your role (${user?.role ?? 'none'}) cannot refund payments.`,
        [`/dashboard/payments/${token}`, 'Back to the payment'],
      );
    }
    const text = textOf(req.body, 'amount', 40).trim();
    try {
      const amount = text === '' ? null : parseAmount(text, 'amount');
      const r = await gw.refunds.create(user.merchantId ?? '', token, amount, actorOf(req));
      const notice =
        r.status === 'succeeded'
          ? html`<p class="notice" role="status">Refund <code>${r.id}</code> of ${money(r.amountMinor)} BDT <strong>succeeded</strong>.</p>`
          : html`<p class="error" role="alert">Refund <code>${r.id}</code> of ${money(r.amountMinor)} BDT <strong>${r.status}</strong>: ${r.reason ?? 'the bank refused it'}.</p>`;
      return refundPage(req, reply, token, 200, notice);
    } catch (e) {
      if (!(e instanceof WmxError)) throw e;
      if (e.code === '2009') return refundPage(req, reply, token, 404);
      const status = e.code === '4002' ? 409 : e.code === '4003' ? 502 : 422;
      return refundPage(req, reply, token, status, undefined, text, e.message);
    }
  });
}
