import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../../../app/accounts.js';
import type { Merchant } from '../../../domain/merchant.js';
import { WmxError } from '../../../domain/errors.js';
import { html, type Html } from '../../html.js';
import { csrfInput, formField } from '../layout.js';
import {
  merchantOf,
  merchantOnly,
  notYetOpen,
  sendDashPage,
  sendForbidden,
  sendMessage,
  sendNotOpen,
  textOf,
  userOf,
  type DashCtx,
} from './common.js';

const ROLES: [Role, string][] = [
  ['owner', 'Owner: everything, including credentials and the team'],
  ['developer', 'Developer: everything but credentials and the team'],
  ['viewer', 'Viewer: read-only'],
];

interface InviteForm {
  values: { email: string; role: string };
  errors: { email?: string; role?: string };
  /** The one-time link just made; shown to the inviter on this response only. */
  link?: { url: string; email: string; role: string; expiresAt: number };
}

/** The team: members, pending invites, and (owner only) invitations with a one-time link. */
export async function teamRoutes(app: FastifyInstance, ctx: DashCtx): Promise<void> {
  const { gw } = ctx;

  async function teamPage(req: FastifyRequest, reply: FastifyReply, m: Merchant, form: InviteForm, status = 200) {
    const [members, invites] = await Promise.all([gw.accounts.listTeam(m.id), gw.onboarding.listInvites(m.id)]);
    const now = gw.now();
    const pending = invites.filter((i) => i.acceptedAt === null && i.expiresAt > now);
    const owner = userOf(req).role === 'owner';
    let inviteSection: Html = html`<p class="hint">Only an owner can invite members.</p>`;
    if (owner) {
      const roleError = form.errors.role;
      inviteSection = html`<section aria-labelledby="invite-h"><h2 id="invite-h">Invite a member</h2>
${
  form.link
    ? html`<div class="notice" role="status"><p>Invitation for ${form.link.email} as ${form.link.role}. Send this link yourself; it works once, until ${gw.formatTime(form.link.expiresAt)}, and is <strong>not shown again</strong>:</p>
<p><label for="invite-link">Invitation link</label> <input id="invite-link" type="text" readonly value="${form.link.url}"></p></div>`
    : ''
}
<form method="post" action="/dashboard/team/invite" novalidate>${csrfInput(reply.csrfToken(req))}
${formField('email', 'Email', { type: 'email', value: form.values.email, error: form.errors.email, autocomplete: 'off' })}
<div class="field${roleError ? ' has-error' : ''}"><label for="f-role">Role</label>
<select id="f-role" name="role" required${roleError ? html` aria-invalid="true" aria-describedby="f-role-error"` : ''}>${ROLES.map(
        ([r, label]) =>
          html`<option value="${r}"${r === (form.values.role || 'viewer') ? html` selected` : ''}>${label}</option>`,
      )}</select>
${roleError ? html`<p id="f-role-error" class="error">${roleError}</p>` : ''}</div>
<button type="submit" class="primary">Invite</button></form></section>`;
    }
    return sendDashPage(
      ctx,
      req,
      reply,
      { status, title: 'Team', merchant: m },
      html`<section><h1>Team</h1>
<table id="members"><caption>Members</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Last login</th></tr></thead>
<tbody>${members.map(
        (u) =>
          html`<tr><td>${u.name}</td><td>${u.email}</td><td>${u.role}</td><td>${u.lastLoginAt === null ? 'never' : gw.formatTime(u.lastLoginAt)}</td></tr>`,
      )}</tbody></table>
<p class="hint">Times in ${gw.config.timezone}.</p>
<h2>Pending invitations</h2>
${
  pending.length === 0
    ? html`<p>None.</p>`
    : html`<table id="invites"><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Invited by</th><th scope="col">Expires</th></tr></thead>
<tbody>${pending.map((i) => html`<tr><td>${i.email}</td><td>${i.role}</td><td>${i.createdBy}</td><td>${gw.formatTime(i.expiresAt)}</td></tr>`)}</tbody></table>`
}</section>
${inviteSection}`,
    );
  }

  app.get('/dashboard/team', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const closed = notYetOpen(m);
    if (closed) return sendNotOpen(ctx, req, reply, m, closed);
    return teamPage(req, reply, m, { values: { email: '', role: '' }, errors: {} });
  });

  app.post('/dashboard/team/invite', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const user = userOf(req);
    if (user.role !== 'owner') return sendForbidden(ctx, req, reply, 'invite team members', m);
    const closed = notYetOpen(m);
    if (closed) return sendNotOpen(ctx, req, reply, m, closed, 409);
    const values = { email: textOf(req.body, 'email', 254).trim(), role: textOf(req.body, 'role', 20) };
    const role = ROLES.find(([r]) => r === values.role)?.[0];
    if (!role) return teamPage(req, reply, m, { values, errors: { role: 'Choose owner, developer or viewer.' } }, 422);
    try {
      const { token, expiresAt } = await gw.onboarding.invite(user, values.email, role, req.ip);
      const url = `${gw.config.publicUrl}/invite/${token}`;
      return teamPage(req, reply, m, {
        values: { email: '', role: '' },
        errors: {},
        link: { url, email: values.email.toLowerCase(), role, expiresAt },
      });
    } catch (e) {
      if (e instanceof WmxError) {
        const errors = e.field === 'role' ? { role: e.message } : { email: e.message };
        return teamPage(req, reply, m, { values, errors }, 422);
      }
      throw e;
    }
  });
}
