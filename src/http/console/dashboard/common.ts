import type { FastifyReply, FastifyRequest } from 'fastify';
import type { User } from '../../../app/accounts.js';
import type { Gateway } from '../../../compose.js';
import type { Merchant } from '../../../domain/merchant.js';
import type { Payment, UpstreamState } from '../../../domain/payment.js';
import { html, type Html } from '../../html.js';
import { consolePage } from '../layout.js';
import { sendConsole } from '../public-routes.js';
import { requireLogin } from '../session.js';

export interface DashCtx {
  gw: Gateway;
  /** The gateway runs in sandbox mode (a sandbox merchant shows the banner too). */
  sandbox: boolean;
}

/** Every dashboard route sits behind a merchant login. */
export const merchantOnly = { preHandler: requireLogin('merchant') };

/**
 * The logged-in merchant user. requireLogin('merchant') ran first, so a session exists; the throw
 * only guards against a route registered without it.
 */
export function userOf(req: FastifyRequest): User {
  const user = req.consoleSession?.user;
  if (!user || user.kind !== 'merchant') throw new Error('dashboard route without requireLogin');
  return user;
}

/** The merchant of the logged-in user: the only merchant whose data any dashboard page may read. */
export async function merchantOf(ctx: DashCtx, req: FastifyRequest): Promise<Merchant | undefined> {
  const id = userOf(req).merchantId;
  return id ? ctx.gw.merchants.byId(id) : undefined;
}

/** Sends a page in the dashboard frame (CSP and no-store via sendConsole). */
export function sendDashPage(
  ctx: DashCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  o: { status?: number; title: string; merchant: Merchant | undefined; extraHead?: Html },
  body: Html,
) {
  return sendConsole(
    reply,
    o.status ?? 200,
    consolePage(
      {
        title: o.title,
        session: req.consoleSession,
        csrf: reply.csrfToken(req),
        sandbox: ctx.sandbox || (o.merchant?.sandbox ?? false),
        area: 'dashboard',
      },
      body,
      o.extraHead,
    ),
  );
}

/** A page that only says what happened, with a way back; used for 4xx answers without a form to redisplay. */
export function sendMessage(
  ctx: DashCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  message: string,
  merchant?: Merchant,
  back: [string, string] = ['/dashboard', 'Back to the overview'],
) {
  return sendDashPage(
    ctx,
    req,
    reply,
    { status, title, merchant },
    html`<section><h1>${title}</h1><p class="notice" role="alert">${message}</p><p><a href="${back[0]}">${back[1]}</a></p></section>`,
  );
}

export const sendForbidden = (
  ctx: DashCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  what: string,
  merchant?: Merchant,
) =>
  sendMessage(
    ctx,
    req,
    reply,
    403,
    'Not allowed',
    `Your role (${req.consoleSession?.user.role ?? 'none'}) cannot ${what}.`,
    merchant,
  );

/**
 * Until an operator approves the merchant (or after a rejection) the dashboard has nothing to show
 * but its status: returns that explanation, or undefined when the merchant may use the dashboard.
 */
export function notYetOpen(m: Merchant): Html | undefined {
  if (m.status === 'pending') {
    return html`<p class="notice" role="status">Your application is <strong>awaiting approval</strong>. An operator reviews it; once approved, your credentials appear here.</p>`;
  }
  if (m.status === 'rejected') {
    return html`<p class="notice" role="status">Your application was <strong>rejected</strong>: ${m.rejectionReason ?? 'no reason given'}. Contact the operator if you think this is a mistake.</p>`;
  }
  return undefined;
}

/** The page a pending or rejected merchant gets in place of any dashboard section. */
export function sendNotOpen(
  ctx: DashCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  m: Merchant,
  notice: Html,
  status = 200,
) {
  return sendDashPage(
    ctx,
    req,
    reply,
    { status, title: m.name, merchant: m },
    html`<section><h1>${m.name}</h1>${notice}<p><a href="/dashboard">Overview</a></p></section>`,
  );
}

/**
 * One text value from a parsed body or query string. Repeated keys (arrays) read as their first
 * string and anything else as empty, so odd input never crashes a handler.
 */
export function textOf(source: unknown, name: string, max = 2000): string {
  if (typeof source !== 'object' || source === null) return '';
  let v = (source as Record<string, unknown>)[name]; // a parsed body or query: a plain record
  if (Array.isArray(v)) v = v.find((x) => typeof x === 'string');
  return typeof v === 'string' ? v.slice(0, max) : '';
}

export const statusBadge = (status: string): Html => html`<span class="status status-${status}">${status}</span>`;

/** A definition list of label/value pairs (values escaped like everything else). */
export function details(rows: [string, Html | string | null | undefined][]): Html {
  return html`<dl class="details">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v === null || v === undefined || v === '' ? '—' : v}</dd>`)}</dl>`;
}

export const DAY_MS = 86_400_000;

/**
 * The gateway zone's UTC offset at an instant, read back from the gateway's own time formatter so
 * dates on these pages agree with the times in check-payment records.
 */
export function zoneOffsetAt(gw: Gateway, epochMs: number): number {
  const wall = Date.parse(gw.formatTime(epochMs).replace(' ', 'T') + 'Z');
  return wall - Math.floor(epochMs / 1000) * 1000;
}

/** The instant a calendar date (YYYY-MM-DD) starts in the gateway zone; undefined when not a real date. */
export function zoneDayStart(gw: Gateway, date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(wall) || new Date(wall).toISOString().slice(0, 10) !== date) return undefined;
  // Two passes: the offset that applies is the one at the resulting instant (matters across DST changes).
  const guess = wall - zoneOffsetAt(gw, wall);
  return wall - zoneOffsetAt(gw, guess);
}

/** What a payment's upstream state means, in words (it is set only while the payment is pending there). */
const UPSTREAM_STATE_TEXT: Readonly<Record<UpstreamState, string>> = {
  authorizing: 'the instrument is with the bank; its answer is awaited',
  creating: 'a payment session is being opened there',
  redirected: 'the customer was sent to its page and has not come back yet',
  confirming: 'the outcome is being confirmed with it',
};

/** txn_details of an approval SSLCommerz rated risk_level 1 (settle.ts writes "Approved; <note>"). */
const RISK_PREFIX = 'Approved; risk_level 1';

/** A visible warning when the upstream flagged the payment as risky (SSLCommerz risk_level 1); empty otherwise. */
export function riskWarning(p: Payment): Html {
  const fromDetails = p.txnDetails.startsWith(RISK_PREFIX) ? p.txnDetails.slice('Approved; '.length) : undefined;
  if (!fromDetails && p.upstreamData.risk_level !== '1') return html``;
  const note =
    fromDetails ??
    `risk_level 1 (${p.upstreamData.risk_title || 'Not Safe'}): SSLCommerz advises holding the order and verifying the customer`;
  return html`<p class="notice warning" role="alert"><strong>Risk warning</strong>: ${note}. Hold the goods or service until the customer is verified.</p>`;
}

/**
 * "At the upstream": the rail that took the payment, its reference there, where it stands and every
 * call made about it (no secrets are ever logged in those rows). Shown only for real rails, or when
 * calls were made. Operators see the connector id; merchants the rail's name.
 */
export async function upstreamSection(gw: Gateway, p: Payment, o: { operator: boolean }): Promise<Html> {
  const [calls, connector] = await Promise.all([
    gw.upstreamCalls.forPayment(p.id),
    p.connectorId ? gw.router.connector(p.connectorId) : Promise.resolve(undefined),
  ]);
  const real = p.connectorId !== null && connector?.kind !== 'sandbox';
  if (!real && calls.length === 0) return html``;
  const rail: Html | string = o.operator
    ? p.connectorId
      ? html`<a href="/admin/connectors/${p.connectorId}"><code>${p.connectorId}</code></a>${connector ? ` (${connector.displayName})` : ''}`
      : '—'
    : (connector?.displayName ?? 'The payment rail');
  const state =
    p.status === 'pending' && p.upstreamState !== null
      ? html`<code>${p.upstreamState}</code>: ${UPSTREAM_STATE_TEXT[p.upstreamState]}`
      : undefined;
  const notes = Object.entries(p.upstreamData).filter(([, v]) => v !== '');
  const rows = calls.map(
    (
      c,
    ) => html`<tr><td>${gw.formatTime(c.startedAt)}</td>${o.operator ? html`<td><code>${c.connectorId}</code></td>` : ''}
<td>${c.operation}${c.refundId ? html` <small>(refund ${c.refundId})</small>` : ''}</td><td><span class="status status-${c.outcome === 'ok' ? 'approved' : 'declined'}">${c.outcome}</span></td>
<td>${c.latencyMs}</td><td>${c.httpStatus ?? '—'}</td><td>${c.code === null ? '—' : html`<code>${c.code}</code>`}</td><td>${c.message ?? '—'}</td></tr>`,
  );
  return html`<section id="upstream"><h2>At the upstream</h2>
${details([
  [o.operator ? 'Connector' : 'Payment rail', rail],
  ['Upstream reference', p.upstreamRef ? html`<code>${p.upstreamRef}</code>` : undefined],
  ['Upstream transaction', p.authCode && real ? html`<code>${p.authCode}</code>` : undefined],
  ...(state ? ([['Upstream state', state]] as [string, Html][]) : []),
  ...(o.operator && notes.length > 0
    ? ([['Upstream notes', html`${notes.map(([k, v]) => html`<code>${k}</code>=${v}<br>`)}`]] as [string, Html][])
    : []),
])}
${
  calls.length === 0
    ? html`<p>No call to the upstream is logged for this payment.</p>`
    : html`<table id="upstream-calls"><caption>Calls to the upstream, oldest first (times in ${gw.config.timezone})</caption>
<thead><tr><th scope="col">Time</th>${o.operator ? html`<th scope="col">Connector</th>` : ''}<th scope="col">Operation</th><th scope="col">Outcome</th><th scope="col">Latency (ms)</th><th scope="col">HTTP</th><th scope="col">Code</th><th scope="col">Detail</th></tr></thead>
<tbody>${rows}</tbody></table>`
}</section>`;
}
