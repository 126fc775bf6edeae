import type { FastifyInstance } from 'fastify';
import { expireIfDue } from '../../../app/expire.js';
import { TOKEN_RE } from '../../../domain/ids.js';
import { formatMinor } from '../../../domain/money.js';
import type { PaymentMethod, PaymentStatus } from '../../../domain/payment.js';
import type { PaymentFilter } from '../../../store/payment-search.js';
import { html, type Html } from '../../html.js';
import { toCheckPaymentRecord } from '../../legacy/wire.js';
import { riskWarning, upstreamSection } from '../dashboard/common.js';
import { formField } from '../layout.js';
import { parseBdtLimit } from './merchants.js';
import {
  adminOnly,
  details,
  merchantNames,
  sendAdminPage,
  sendNotFound,
  statusBadge,
  textOf,
  zoneNote,
  type AdminCtx,
} from './common.js';

const PAGE_SIZE = 50;
const STATUSES: PaymentStatus[] = ['pending', 'approved', 'declined', 'cancelled', 'expired'];
const METHODS: [PaymentMethod, string][] = [
  ['card', 'Card'],
  ['mobile_wallet', 'Mobile wallet'],
  ['internet_banking', 'Internet banking'],
];
const methodLabel = (m: PaymentMethod | null): string => METHODS.find(([k]) => k === m)?.[1] ?? '—';

/** The filters exactly as typed: they are redisplayed and carried into the "Older" link. */
const FILTER_KEYS = ['q', 'merchant', 'status', 'method', 'from', 'to', 'min_amount', 'max_amount'] as const;
type FilterForm = Record<(typeof FILTER_KEYS)[number], string>;
type FilterErrors = Partial<Record<keyof FilterForm, string>>;

/**
 * Epoch ms at which a calendar day starts in the gateway's zone. The zone's offset is read back
 * from the gateway's own formatter (so it agrees with every time shown), twice to settle on the
 * offset in force at that midnight rather than at UTC midnight.
 */
export function dayStartIn(formatTime: (ms: number) => string, ymd: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(y, mo - 1, d);
  const back = new Date(utc);
  if (y < 1970 || back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  const offsetAt = (ms: number) => Date.parse(`${formatTime(ms).replace(' ', 'T')}Z`) - ms;
  return utc - offsetAt(utc - offsetAt(utc));
}

function parseFilters(
  f: FilterForm,
  formatTime: (ms: number) => string,
): { filter: PaymentFilter; errors: FilterErrors } {
  const errors: FilterErrors = {};
  const filter: PaymentFilter = {};
  if (f.q.trim()) filter.q = f.q.trim();
  if (f.merchant) filter.merchantId = f.merchant;
  if (f.status) {
    if ((STATUSES as string[]).includes(f.status))
      filter.status = f.status as PaymentStatus; // checked just above
    else errors.status = 'Choose a status from the list.';
  }
  if (f.method) {
    const m = METHODS.find(([k]) => k === f.method);
    if (m) filter.method = m[0];
    else errors.method = 'Choose a method from the list.';
  }
  if (f.from) {
    const t = dayStartIn(formatTime, f.from);
    if (t === undefined) errors.from = 'Enter a date as YYYY-MM-DD.';
    else filter.from = t;
  }
  if (f.to) {
    const t = dayStartIn(formatTime, f.to);
    // "To" includes its whole day: the range ends where the next day starts.
    const next =
      t === undefined
        ? undefined
        : dayStartIn(formatTime, new Date(Date.parse(`${f.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10));
    if (next === undefined) errors.to = 'Enter a date as YYYY-MM-DD.';
    else filter.to = next;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.to <= filter.from)
    errors.to = '“To” must not be before “From”.';
  for (const [key, prop] of [
    ['min_amount', 'minAmountMinor'],
    ['max_amount', 'maxAmountMinor'],
  ] as const) {
    if (!f[key].trim()) continue;
    const r = parseBdtLimit(f[key]);
    if (r.ok) filter[prop] = r.minor;
    else errors[key] = r.error;
  }
  if (
    filter.minAmountMinor !== undefined &&
    filter.maxAmountMinor !== undefined &&
    filter.maxAmountMinor < filter.minAmountMinor
  ) {
    errors.max_amount = 'The maximum must not be below the minimum.';
  }
  return { filter, errors };
}

function select(name: string, label: string, value: string, options: [string, string][], error?: string): Html {
  const id = `f-${name}`;
  return html`<div class="field${error ? ' has-error' : ''}"><label for="${id}">${label}</label>
<select id="${id}" name="${name}"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
${options.map(([v, l]) => html`<option value="${v}"${v === value ? html` selected` : ''}>${l}</option>`)}</select>
${error ? html`<p id="${id}-error" class="error">${error}</p>` : ''}</div>`;
}

export async function paymentRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  const { gw } = ctx;

  app.get('/payments', adminOnly, async (req, reply) => {
    const form = Object.fromEntries(FILTER_KEYS.map((k) => [k, textOf(req.query, k, 200)])) as FilterForm; // every key set just now
    const cursor = textOf(req.query, 'cursor', 200);
    const { filter, errors } = parseFilters(form, gw.formatTime);
    const merchants = await merchantNames(ctx);
    if (form.merchant && !merchants.has(form.merchant)) errors.merchant = 'Choose a merchant from the list.';
    const bad = Object.keys(errors).length > 0;
    const page = bad ? undefined : await gw.paymentSearch.page(filter, cursor || undefined, PAGE_SIZE);
    const keep = new URLSearchParams(
      FILTER_KEYS.filter((k) => form[k] !== '').map((k): [string, string] => [k, form[k]]),
    );
    const olderHref = page?.next
      ? `/admin/payments?${new URLSearchParams([...keep, ['cursor', page.next]]).toString()}`
      : undefined;
    const field = (name: keyof FilterForm, label: string, type = 'text', extra: Parameters<typeof formField>[2] = {}) =>
      formField(name, label, { value: form[name], error: errors[name], type, required: false, ...extra });

    const body = html`<section><h1>Payments</h1>
<form method="get" action="/admin/payments" class="filters" role="search">
${field('q', 'Search', 'search', { hint: 'Order id, token, ref id, customer phone or email (exact)' })}
${select('merchant', 'Merchant', form.merchant, [['', 'Any'], ...[...merchants.values()].map((m): [string, string] => [m.id, m.name])], errors.merchant)}
${select('status', 'Status', form.status, [['', 'Any'], ...STATUSES.map((s): [string, string] => [s, s])], errors.status)}
${select('method', 'Method', form.method, [['', 'Any'], ...METHODS], errors.method)}
${field('from', 'From', 'date')}
${field('to', 'To', 'date')}
${field('min_amount', 'Min amount (BDT)', 'text', { inputmode: 'decimal' })}
${field('max_amount', 'Max amount (BDT)', 'text', { inputmode: 'decimal' })}
<div class="field"><button type="submit" class="small">Search</button> <a href="/admin/payments">Clear</a></div>
</form>
${zoneNote(ctx)}
${bad ? html`<p class="notice" role="alert">Please correct the filters marked above.</p>` : ''}
${
  page === undefined
    ? ''
    : page.payments.length === 0
      ? html`<p>No payments match.</p>`
      : html`<table><thead><tr><th scope="col">Time</th><th scope="col">Merchant</th><th scope="col">Order id</th><th scope="col">Token</th><th scope="col">Amount</th><th scope="col">BDT</th><th scope="col">Status</th><th scope="col">Method</th></tr></thead>
<tbody>${page.payments.map(
          (
            p,
          ) => html`<tr><td>${gw.formatTime(p.initAt)}</td><td>${merchants.get(p.merchantId)?.name ?? p.merchantId}</td><td>${p.merchantOrderId}</td>
<td><a href="/admin/payments/${p.token}"><code>${p.token}</code></a></td><td>${formatMinor(p.amountMinor)} ${p.currency}</td><td>${formatMinor(p.amountBdtMinor)}</td>
<td>${statusBadge(p.status)}</td><td>${methodLabel(p.method)}</td></tr>`,
        )}</tbody></table>`
}
<nav class="pager" aria-label="Pages">${cursor ? html`<a href="/admin/payments${keep.size > 0 ? `?${keep.toString()}` : ''}">Newest</a>` : ''}${
      olderHref ? html`<a href="${olderHref}" rel="next">Older</a>` : ''
    }</nav></section>`;
    return sendAdminPage(ctx, req, reply, bad ? 400 : 200, 'Payments', body);
  });

  app.get<{ Params: { token: string } }>('/payments/:token', adminOnly, async (req, reply) => {
    const token = req.params.token.toLowerCase();
    const found = TOKEN_RE.test(token) ? await gw.payments.byToken(token) : undefined;
    if (!found) return sendNotFound(ctx, req, reply, 'payment', ['/admin/payments', 'Search payments']);
    // Looking at a pending payment past its expiry settles it, as check-payment would.
    const p = await expireIfDue(gw.payments, found, gw.now());
    const m = await gw.merchants.byId(p.merchantId);
    const record = toCheckPaymentRecord(p, gw.formatTime);
    const { statusCode: _statusCode, ...fields } = record;
    const upstream = await upstreamSection(gw, p, { operator: true });
    const body = html`<section><h1>Payment ${statusBadge(p.status)}</h1>
${riskWarning(p)}
${details([
  ['Merchant', m ? html`<a href="/admin/merchants/${m.id}">${m.name}</a>` : p.merchantId],
  ['Order id', p.merchantOrderId],
  ['Amount', `${formatMinor(p.amountMinor)} ${p.currency}`],
  ['BDT amount', formatMinor(p.amountBdtMinor)],
  ['Method', methodLabel(p.method)],
  ['Customer', `${p.customerName} · ${p.customerEmail} · ${p.customerPhone}`],
  ['Callback URL', p.callbackUrl],
  ['Expires', gw.formatTime(p.expiresAt)],
])}
</section>
<section><h2>Timeline</h2>${zoneNote(ctx)}
<ol class="timeline">
<li><strong>${gw.formatTime(p.initAt)}</strong>: initiated by the merchant from ${p.requestIp || 'an unknown address'}, ${formatMinor(p.amountMinor)} ${p.currency} at rate ${record.conversion_rate}.</li>
${
  p.txnAt !== null
    ? html`<li><strong>${gw.formatTime(p.txnAt)}</strong>: ${p.status}. ${p.txnDetails}</li>`
    : html`<li>Still pending; it expires at ${gw.formatTime(p.expiresAt)} if not paid.</li>`
}
</ol></section>
${upstream}
<section><h2>As check-payment reports it</h2>
${details(Object.entries(fields).map(([k, v]): [string, Html] => [k, html`<code>${v ?? 'null'}</code>`]))}
</section>`;
    return sendAdminPage(ctx, req, reply, 200, 'Payment', body);
  });
}
