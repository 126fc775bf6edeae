import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../../html.js';
import { csrfInput } from '../layout.js';
import { actorOf } from '../session.js';
import { adminOnly, sendAdminPage, textOf, type AdminCtx } from './common.js';

const MAX_MESSAGE = 500;

export async function maintenanceRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  const { gw } = ctx;

  function maintenancePage(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    opts: { message?: string; error?: string; flash?: string } = {},
  ) {
    const current = gw.reference.current().maintenance;
    const csrf = reply.csrfToken(req);
    const body = html`<section><h1>Maintenance</h1>
<p>While maintenance is on, <code>/check-server</code> answers <code>selectedServer:false</code> with the message and new payments are refused; payments already started can still finish.</p>
${opts.flash ? html`<p class="flash" role="status">${opts.flash}</p>` : ''}
${
  current === undefined
    ? html`<p><strong>Maintenance is off</strong>: the gateway accepts payments.</p>
<form method="post" action="/admin/maintenance" novalidate>${csrfInput(csrf)}<input type="hidden" name="action" value="on">
<div class="field${opts.error ? ' has-error' : ''}"><label for="f-message">Message</label>
<textarea id="f-message" name="message" rows="2" maxlength="${MAX_MESSAGE}" aria-describedby="f-message-hint${opts.error ? ' f-message-error' : ''}"${opts.error ? html` aria-invalid="true"` : ''}>${opts.message ?? ''}</textarea>
<small id="f-message-hint" class="hint">Shown to clients that ask /check-server. Empty means “Scheduled maintenance”.</small>
${opts.error ? html`<p id="f-message-error" class="error">${opts.error}</p>` : ''}</div>
<button type="submit" class="primary">Turn maintenance on</button></form>`
    : html`<p class="notice" role="status"><strong>Maintenance is on</strong>: ${current}</p>
<form method="post" action="/admin/maintenance">${csrfInput(csrf)}<input type="hidden" name="action" value="off">
<button type="submit" class="primary">Turn maintenance off</button></form>`
}</section>`;
    return sendAdminPage(ctx, req, reply, status, 'Maintenance', body);
  }

  app.get('/maintenance', adminOnly, async (req, reply) => {
    const done = textOf(req.query, 'done', 5);
    const flash = done === 'on' ? 'Maintenance is now on.' : done === 'off' ? 'Maintenance is now off.' : undefined;
    return maintenancePage(req, reply, 200, flash ? { flash } : {});
  });

  app.post('/maintenance', adminOnly, async (req, reply) => {
    const action = textOf(req.body, 'action', 5);
    if (action === 'off') {
      await gw.onboarding.setMaintenance(null, actorOf(req));
      return reply.redirect('/admin/maintenance?done=off', 303);
    }
    const message = textOf(req.body, 'message', 5000).trim();
    if (action !== 'on')
      return maintenancePage(req, reply, 400, { message, error: 'Choose whether to turn maintenance on or off.' });
    if (message.length > MAX_MESSAGE)
      return maintenancePage(req, reply, 422, { message, error: `At most ${MAX_MESSAGE} characters.` });
    await gw.onboarding.setMaintenance(message, actorOf(req));
    return reply.redirect('/admin/maintenance?done=on', 303);
  });
}
