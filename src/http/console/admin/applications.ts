import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WmxError } from '../../../domain/errors.js';
import type { Merchant, MerchantStatus } from '../../../domain/merchant.js';
import { html, type Html } from '../../html.js';
import { csrfInput } from '../layout.js';
import { actorOf } from '../session.js';
import {
  adminOnly,
  details,
  safeBack,
  sendAdminPage,
  sendNotFound,
  statusBadge,
  textOf,
  zoneNote,
  type AdminCtx,
} from './common.js';

/** The order operators work in: decisions waiting first, then the rest. */
const GROUPS: [MerchantStatus, string][] = [
  ['pending', 'Pending applications'],
  ['rejected', 'Rejected'],
  ['active', 'Active'],
  ['suspended', 'Suspended'],
];

type Action = 'approve' | 'reject' | 'suspend' | 'reactivate';
const DONE: Record<Action, string> = {
  approve: 'approved',
  reject: 'rejected',
  suspend: 'suspended',
  reactivate: 'reactivated',
};

/** Which decisions fit a status (reject keeps its reason; approve after a rejection is allowed). */
const ALLOWED: Record<MerchantStatus, Action[]> = {
  pending: ['approve', 'reject'],
  rejected: ['approve'],
  active: ['suspend'],
  suspended: ['reactivate'],
};

export const APPROVAL_NOTE =
  'Approving issues the credentials (Merchant ID, access app key, username, password, signing secret, API key). They are sealed and never shown here: the merchant’s owner reads them once in the dashboard.';

export interface RejectState {
  merchantId: string;
  reason: string;
  error: string;
}

/** The decision buttons that fit the merchant's status, each its own POST form with the CSRF token. */
export function merchantActions(m: Merchant, csrf: string, back: string, reject?: RejectState): Html {
  const allowed = ALLOWED[m.status];
  const button = (action: Action, label: string) =>
    html`<form method="post" action="/admin/merchants/${m.id}/${action}">${csrfInput(csrf)}<input type="hidden" name="back" value="${back}"><button type="submit" class="small">${label}</button></form>`;
  const mine = reject?.merchantId === m.id ? reject : undefined;
  const rid = `reason-${m.id}`;
  return html`<div class="actions">
${allowed.includes('approve') ? button('approve', 'Approve') : ''}
${
  allowed.includes('reject')
    ? html`<form method="post" action="/admin/merchants/${m.id}/reject">${csrfInput(csrf)}<input type="hidden" name="back" value="${back}">
<div class="field${mine ? ' has-error' : ''}"><label for="${rid}">Reason</label>
<textarea id="${rid}" name="reason" rows="2" maxlength="500" required${mine ? html` aria-invalid="true" aria-describedby="${rid}-error"` : ''}>${mine?.reason ?? ''}</textarea>
${mine ? html`<p id="${rid}-error" class="error">${mine.error}</p>` : ''}</div>
<button type="submit" class="small">Reject</button></form>`
    : ''
}
${allowed.includes('suspend') ? button('suspend', 'Suspend') : ''}
${allowed.includes('reactivate') ? button('reactivate', 'Reactivate') : ''}
</div>`;
}

/** What the merchant told us at registration, for the operator's decision. */
export function registrationDetails(ctx: AdminCtx, m: Merchant): Html {
  const p = m.profile;
  return details([
    ['Merchant ID', m.wmxId],
    ['Contact', p?.contactName],
    ['Email', p?.email],
    ['Phone', p?.phone],
    ['Business type', p?.businessType],
    ['Trade licence', p?.tradeLicence],
    [
      'Settlement account',
      p
        ? `${p.settlementAccountName}, ${p.settlementAccountNumber}, ${p.settlementBank}, ${p.settlementBranch}`
        : undefined,
    ],
    ['Domains', m.domains.join(', ')],
    ['Registered', ctx.gw.formatTime(m.createdAt)],
    ...(m.rejectionReason && m.status === 'rejected'
      ? ([['Rejection reason', m.rejectionReason]] as [string, string][])
      : []),
  ]);
}

function flashText(done: string, m: Merchant | undefined): string | undefined {
  const name = m ? m.name : 'The merchant';
  switch (done) {
    case 'approved':
      return `${name} is approved and active. Its credentials were issued; the owner reads them once in the dashboard.`;
    case 'rejected':
      return `${name} was rejected.`;
    case 'suspended':
      return `${name} is suspended: its credentials stop working at once.`;
    case 'reactivated':
      return `${name} is active again.`;
    case 'settings':
      return `Settings of ${name} saved.`;
    default:
      return undefined;
  }
}

export async function flashFor(ctx: AdminCtx, query: unknown): Promise<Html> {
  const done = textOf(query, 'done', 20);
  if (!done) return html``;
  const id = textOf(query, 'merchant', 64);
  const text = flashText(done, id ? await ctx.gw.merchants.byId(id) : undefined);
  return text ? html`<p class="flash" role="status">${text}</p>` : html``;
}

export async function applicationRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  const { gw } = ctx;

  async function applicationsPage(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    alert?: string,
    reject?: RejectState,
  ) {
    const all = await gw.merchants.list();
    const csrf = reply.csrfToken(req);
    const body = html`<section><h1>Applications</h1>
<p>Merchants register at <a href="/register">/register</a> and wait here as pending until an operator decides.</p>
<p class="hint">${APPROVAL_NOTE}</p>
${await flashFor(ctx, req.query)}
${alert ? html`<p class="notice" role="alert">${alert}</p>` : ''}
${zoneNote(ctx)}</section>
${GROUPS.map(([st, heading]) => {
  const ms = all.filter((m) => m.status === st).sort((a, b) => b.createdAt - a.createdAt);
  return html`<section aria-labelledby="g-${st}"><h2 id="g-${st}">${heading} (${ms.length})</h2>
${ms.length === 0 ? html`<p>None.</p>` : ''}
${ms.map(
  (m) => html`<article class="application" id="m-${m.id}" aria-labelledby="h-${m.id}">
<h3 id="h-${m.id}"><a href="/admin/merchants/${m.id}">${m.name}</a> ${statusBadge(m.status)}${m.sandbox ? ' (sandbox)' : ''}</h3>
${registrationDetails(ctx, m)}
${merchantActions(m, csrf, '/admin', reject)}
</article>`,
)}</section>`;
})}`;
    return sendAdminPage(ctx, req, reply, status, 'Applications', body);
  }

  app.get('/', adminOnly, async (req, reply) => applicationsPage(req, reply, 200));

  for (const action of Object.keys(DONE) as Action[]) {
    app.post<{ Params: { id: string } }>(`/merchants/:id/${action}`, adminOnly, async (req, reply) => {
      const m = await gw.merchants.byId(req.params.id);
      if (!m) return sendNotFound(ctx, req, reply, 'merchant', ['/admin', 'Back to applications']);
      const back = safeBack(textOf(req.body, 'back', 200), '/admin');
      if (!ALLOWED[m.status].includes(action)) {
        return applicationsPage(
          req,
          reply,
          409,
          `${m.name} is ${m.status}; it cannot be ${DONE[action]} now. Nothing was changed.`,
        );
      }
      const actor = actorOf(req);
      try {
        if (action === 'approve') await gw.onboarding.approve(m.id, actor);
        else if (action === 'reject') await gw.onboarding.reject(m.id, textOf(req.body, 'reason', 2000), actor);
        else if (action === 'suspend') await gw.onboarding.suspend(m.id, actor);
        else await gw.onboarding.reactivate(m.id, actor);
      } catch (e) {
        if (!(e instanceof WmxError)) throw e;
        if (action === 'reject' && e.field === 'reason') {
          return applicationsPage(req, reply, 422, `Rejecting ${m.name} needs a reason. Nothing was changed.`, {
            merchantId: m.id,
            reason: textOf(req.body, 'reason', 2000),
            error: 'Give a reason (at most 500 characters).',
          });
        }
        return applicationsPage(req, reply, 409, `${e.message}. Nothing was changed.`);
      }
      return reply.redirect(`${back}?done=${DONE[action]}&merchant=${encodeURIComponent(m.id)}`, 303);
    });
  }
}
