import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IssuedCredentials } from '../../../app/merchant-admin.js';
import type { Merchant } from '../../../domain/merchant.js';
import { WmxError } from '../../../domain/errors.js';
import { html, type Html } from '../../html.js';
import { csrfInput } from '../layout.js';
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

/** The labels an operator's checker (and a person) reads the secrets by; keep them exactly. */
const SECRET_FIELDS: [keyof IssuedCredentials, string][] = [
  ['wmx_id', 'Merchant ID'],
  ['access_app_key', 'Access app key'],
  ['username', 'Username'],
  ['password', 'Password'],
  ['signing_secret', 'Signing secret'],
  ['api_key', 'API key'],
];

const CONFIRM_LABEL = 'I understand the old credentials stop working now';

/** Which credentials exist and when they were made; the secrets themselves only ever once, to the owner. */
export async function credentialsRoutes(app: FastifyInstance, ctx: DashCtx): Promise<void> {
  const isOwner = (req: FastifyRequest) => userOf(req).role === 'owner';

  function metadataPage(
    req: FastifyRequest,
    reply: FastifyReply,
    m: Merchant,
    opts: { status?: number; confirmError?: string } = {},
  ) {
    const issued = m.accessAppKeyHash !== null;
    const has = (v: string | null) => (v !== null ? 'issued' : 'not issued');
    const owner = isOwner(req);
    return sendDashPage(
      ctx,
      req,
      reply,
      { status: opts.status ?? 200, title: 'Credentials', merchant: m },
      html`<section><h1>Credentials</h1>
<p>The secrets are stored only as hashes (the signing secret sealed): nobody, operators included, can read them again. If one is lost, rotate.</p>
<table>
<caption>Your credentials</caption>
<thead><tr><th scope="col">Credential</th><th scope="col">State</th></tr></thead>
<tbody>
<tr><th scope="row">Merchant ID (wmx_id)</th><td><code>${m.wmxId}</code></td></tr>
<tr><th scope="row">Access app key</th><td>${has(m.accessAppKeyHash)}</td></tr>
<tr><th scope="row">Username and password</th><td>${has(m.passwordHash)}</td></tr>
<tr><th scope="row">Signing secret</th><td>${has(m.signingSecretSealed)}</td></tr>
<tr><th scope="row">API key</th><td>${has(m.apiKeyHash)}</td></tr>
</tbody></table>
<p>Version ${m.credentialsVersion}${issued && m.credentialsIssuedAt !== null ? html`, issued ${ctx.gw.formatTime(m.credentialsIssuedAt)} (${ctx.gw.config.timezone})` : ', not issued yet'}.</p>
</section>
${
  m.pendingCredentialsSealed
    ? owner
      ? html`<section><h2>Your new credentials</h2><p>Your application was approved. Read your credentials once: after that they cannot be shown again.</p>
<form method="post" action="/dashboard/credentials/reveal">${csrfInput(reply.csrfToken(req))}<button type="submit" class="primary">Show my credentials</button></form></section>`
      : html`<section><p class="notice">Credentials were issued at approval; the owner reads them once here.</p></section>`
    : ''
}
${
  owner && m.status === 'active'
    ? html`<section><h2>Rotate credentials</h2><p>Makes a new access app key, username, password, signing secret and API key. The Merchant ID stays. Your shop stops working until you put the new ones in.</p>
<form method="post" action="/dashboard/credentials/rotate">${csrfInput(reply.csrfToken(req))}
<div class="field${opts.confirmError ? ' has-error' : ''}"><label><input type="checkbox" name="confirm" value="yes" required${
        opts.confirmError ? html` aria-invalid="true" aria-describedby="confirm-error"` : ''
      }> ${CONFIRM_LABEL}</label>${opts.confirmError ? html`<p id="confirm-error" class="error">${opts.confirmError}</p>` : ''}</div>
<button type="submit">Rotate credentials</button></form></section>`
    : ''
}
${owner ? '' : html`<p class="hint">Only the owner can read or rotate credentials.</p>`}`,
    );
  }

  function secretsPage(req: FastifyRequest, reply: FastifyReply, m: Merchant, creds: IssuedCredentials, intro: Html) {
    return sendDashPage(
      ctx,
      req,
      reply,
      { title: 'Your credentials', merchant: m },
      html`<section class="secret"><h1>Your credentials</h1>
${intro}
<p class="error" role="alert"><strong>Copy them now: they will not be shown again.</strong> Store them in your shop's configuration or a password manager.</p>
${SECRET_FIELDS.map(
  ([key, label]) => html`<div class="field"><label for="cred-${key}">${label}</label>
<input id="cred-${key}" name="${key}" type="text" readonly autocomplete="off" spellcheck="false" value="${creds[key]}"></div>`,
)}
<p><a href="/dashboard/credentials">I have stored them</a></p></section>`,
    );
  }

  app.get('/dashboard/credentials', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const closed = notYetOpen(m);
    if (closed) return sendNotOpen(ctx, req, reply, m, closed);
    return metadataPage(req, reply, m);
  });

  app.post('/dashboard/credentials/reveal', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    if (!isOwner(req)) return sendForbidden(ctx, req, reply, 'read credentials', m);
    const creds = await ctx.gw.onboarding.revealIssuedCredentials(userOf(req), req.ip);
    if (!creds) {
      return sendMessage(
        ctx,
        req,
        reply,
        410,
        'Already shown',
        'The credentials issued at approval were already shown once and cannot be shown again. Rotate them to get new ones.',
        m,
        ['/dashboard/credentials', 'Back to credentials'],
      );
    }
    return secretsPage(
      req,
      reply,
      m,
      creds,
      html`<p>These are the credentials issued when your application was approved.</p>`,
    );
  });

  app.post('/dashboard/credentials/rotate', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    if (!isOwner(req)) return sendForbidden(ctx, req, reply, 'rotate credentials', m);
    if (textOf(req.body, 'confirm') !== 'yes') {
      const closed = notYetOpen(m);
      if (closed) return sendNotOpen(ctx, req, reply, m, closed, 409);
      return metadataPage(req, reply, m, { status: 422, confirmError: `Tick “${CONFIRM_LABEL}” to rotate.` });
    }
    let creds: IssuedCredentials;
    try {
      creds = await ctx.gw.onboarding.rotate(userOf(req), req.ip);
    } catch (e) {
      if (e instanceof WmxError)
        return sendMessage(ctx, req, reply, 409, 'Cannot rotate', e.message, m, [
          '/dashboard/credentials',
          'Back to credentials',
        ]);
      throw e;
    }
    return secretsPage(
      req,
      reply,
      m,
      creds,
      html`<p>Rotated: the old credentials stopped working just now. Put these in your shop.</p>`,
    );
  });
}
