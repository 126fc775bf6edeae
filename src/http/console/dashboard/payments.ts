import type { FastifyInstance } from 'fastify';
import { formatMinor } from '../../../domain/money.js';
import type { Payment } from '../../../domain/payment.js';
import { html, type Html } from '../../html.js';
import { toCheckPaymentRecord } from '../../legacy/wire.js';
import {
  details,
  merchantOf,
  merchantOnly,
  notYetOpen,
  riskWarning,
  sendDashPage,
  sendMessage,
  sendNotOpen,
  statusBadge,
  textOf,
  upstreamSection,
  type DashCtx,
} from './common.js';
import { filterQuery, METHODS, parseFilter, STATUSES, type FilterValues, type ParsedFilter } from './filters.js';

export const PAGE_SIZE = 50;
const TOKEN_RE = /^[0-9a-f]{40}$/;

const methodLabel = (m: Payment['method']): string => METHODS.find(([k]) => k === m)?.[1] ?? '—';

function filterForm(values: FilterValues, errors: Partial<Record<keyof FilterValues, string>>): Html {
  const field = (name: keyof FilterValues, label: string, input: Html) =>
    html`<div class="field${errors[name] ? ' has-error' : ''}"><label for="f-${name}">${label}</label>${input}${errors[name] ? html`<p id="f-${name}-error" class="error">${errors[name]}</p>` : ''}</div>`;
  const aria = (name: keyof FilterValues) =>
    errors[name] ? html` aria-invalid="true" aria-describedby="f-${name}-error"` : '';
  const text = (name: keyof FilterValues, label: string, type = 'text', extra: Html = html``) =>
    field(
      name,
      label,
      html`<input id="f-${name}" name="${name}" type="${type}" value="${values[name]}"${aria(name)}${extra}>`,
    );
  const select = (name: keyof FilterValues, label: string, options: readonly (readonly [string, string])[]) =>
    field(
      name,
      label,
      html`<select id="f-${name}" name="${name}"${aria(name)}><option value="">Any</option>${options.map(
        ([v, l]) => html`<option value="${v}"${v === values[name] ? html` selected` : ''}>${l}</option>`,
      )}</select>`,
    );
  return html`<form method="get" action="/dashboard/payments" class="filters" role="search">
${text('q', 'Search', 'search', html` placeholder="Order id, token, ref id, phone or email"`)}
${select(
  'status',
  'Status',
  STATUSES.map((s) => [s, s] as const),
)}
${select('method', 'Method', METHODS)}
${text('from', 'From', 'date')}
${text('to', 'To', 'date')}
${text('min_amount', 'Min amount (BDT)', 'text', html` inputmode="decimal"`)}
${text('max_amount', 'Max amount (BDT)', 'text', html` inputmode="decimal"`)}
<div class="actions"><button type="submit" class="primary">Filter</button> <a href="/dashboard/payments">Clear</a></div>
</form>`;
}

/** Payments of the logged-in merchant: filters, keyset pages, and one payment's detail and timeline. */
export async function paymentRoutes(app: FastifyInstance, ctx: DashCtx): Promise<void> {
  const { gw } = ctx;

  app.get('/dashboard/payments', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const closed = notYetOpen(m);
    if (closed) return sendNotOpen(ctx, req, reply, m, closed);
    const parsed: ParsedFilter = parseFilter(gw, m.id, req.query);
    const zone = html`<p class="hint">Times and dates are in ${gw.config.timezone}. Search matches an exact order id, token, ref id, merchant ref id, customer phone or email.</p>`;
    if (!parsed.ok) {
      return sendDashPage(
        ctx,
        req,
        reply,
        { status: 400, title: 'Payments', merchant: m },
        html`<section><h1>Payments</h1>${zone}<p class="error" role="alert">Some filters are not valid: correct the fields marked below.</p>${filterForm(parsed.values, parsed.errors)}</section>`,
      );
    }
    const cursor = textOf(req.query, 'cursor', 200);
    const page = await gw.paymentSearch.page(parsed.filter, cursor || undefined, PAGE_SIZE);
    const rows = page.payments.map(
      (p) => html`<tr>
<td>${gw.formatTime(p.initAt)}</td>
<td><a href="/dashboard/payments/${p.token}">${p.merchantOrderId}</a></td>
<td><code>${p.token.slice(0, 10)}…</code></td>
<td>${p.customerName}<br><small>${p.customerPhone} · ${p.customerEmail}</small></td>
<td>${formatMinor(p.amountMinor)} ${p.currency}</td>
<td>${formatMinor(p.amountBdtMinor)}</td>
<td>${statusBadge(p.status)}</td>
<td>${methodLabel(p.method)}</td>
</tr>`,
    );
    return sendDashPage(
      ctx,
      req,
      reply,
      { title: 'Payments', merchant: m },
      html`<section><h1>Payments</h1>${zone}${filterForm(parsed.values, {})}
<p><a href="/dashboard/payments.csv${filterQuery(parsed.values)}" download>Download CSV</a> (every payment matching these filters)</p>
${
  rows.length === 0
    ? html`<p class="notice" role="status">No payments match${cursor ? ' on this page' : ''}.</p>`
    : html`<table id="payments">
<caption>Payments, newest first</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Order id</th><th scope="col">Token</th><th scope="col">Customer</th><th scope="col">Amount</th><th scope="col">BDT</th><th scope="col">Status</th><th scope="col">Method</th></tr></thead>
<tbody>${rows}</tbody></table>`
}
<nav class="pager" aria-label="Pages">${cursor ? html`<a href="/dashboard/payments${filterQuery(parsed.values)}">Newest</a>` : ''}${
        page.next
          ? html`<a href="/dashboard/payments${filterQuery(parsed.values, { cursor: page.next })}" rel="next">Older</a>`
          : ''
      }</nav></section>`,
    );
  });

  app.get<{ Params: { token: string } }>('/dashboard/payments/:token', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const token = req.params.token.toLowerCase();
    // Scoped in the query itself: another merchant's token is indistinguishable from a made-up one.
    const p = TOKEN_RE.test(token) ? await gw.paymentSearch.byToken(m.id, token) : undefined;
    if (!p)
      return sendMessage(ctx, req, reply, 404, 'Payment not found', 'No payment of yours has this token.', m, [
        '/dashboard/payments',
        'Back to payments',
      ]);
    const record = toCheckPaymentRecord(p, gw.formatTime);
    const fields = Object.entries(record).filter(([k]) => k !== 'statusCode');
    const timeline: Html[] = [
      html`<li><strong>${gw.formatTime(p.initAt)}</strong>: initiated (${formatMinor(p.amountMinor)} ${p.currency}, from ${p.requestIp})</li>`,
    ];
    if (p.txnAt !== null) {
      timeline.push(
        html`<li><strong>${gw.formatTime(p.txnAt)}</strong>: ${statusBadge(p.status)} ${p.txnDetails}</li>`,
      );
    } else if (p.status === 'pending') {
      timeline.push(
        html`<li>Waiting for the customer: ${p.txnDetails}. Expires <strong>${gw.formatTime(p.expiresAt)}</strong> unless paid.</li>`,
      );
    } else {
      timeline.push(html`<li>${statusBadge(p.status)} ${p.txnDetails}</li>`);
    }
    const upstream = await upstreamSection(gw, p, { operator: false });
    return sendDashPage(
      ctx,
      req,
      reply,
      { title: `Payment ${p.merchantOrderId}`, merchant: m },
      html`<section><h1>Payment for order ${p.merchantOrderId}</h1>
${riskWarning(p)}
${details([
  ['Status', statusBadge(p.status)],
  ['Amount', `${formatMinor(p.amountMinor)} ${p.currency}`],
  ['Amount (BDT)', formatMinor(p.amountBdtMinor)],
  ['Method', methodLabel(p.method)],
  ['Customer', `${p.customerName} · ${p.customerPhone} · ${p.customerEmail}`],
])}
<h2>Timeline</h2><p class="hint">Times in ${gw.config.timezone}.</p>
<ol class="timeline">${timeline}</ol>
${upstream}
${
  p.status === 'approved'
    ? html`<p><a href="/dashboard/payments/${p.token}/refunds">Refunds</a> (refunded so far: ${formatMinor(p.refundedMinor ?? 0n)} BDT)</p>`
    : ''
}
<h2>Check-payment record</h2>
<p class="hint">What <code>check-payment</code> answers for this token.</p>
<table id="record"><thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr></thead>
<tbody>${fields.map(([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td>${v === null ? html`<em>null</em>` : v}</td></tr>`)}</tbody></table>
<p><a href="/dashboard/payments">Back to payments</a></p></section>`,
    );
  });
}
