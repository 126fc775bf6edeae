import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Merchant } from '../../domain/merchant.js';
import { html, type Html } from '../html.js';
import { csrfInput, formField } from './layout.js';
import type { ConsoleDeps } from './index.js';
import {
  merchantOf,
  merchantOnly,
  notYetOpen,
  sendDashPage,
  sendForbidden,
  sendMessage,
  sendNotOpen,
  statusBadge,
  textOf,
  userOf,
  type DashCtx,
} from './dashboard/common.js';

const BACK: [string, string] = ['/dashboard/webhooks', 'Back to webhooks'];

/**
 * /dashboard/webhooks: the merchant's endpoints (owners and developers add and remove them), the
 * latest deliveries with every attempt, and manual redelivery of one delivery.
 */
export async function webhookRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const ctx: DashCtx = { gw: deps.gw, sandbox: deps.sandbox };
  const { gw } = ctx;
  const mayEdit = (req: FastifyRequest) => ['owner', 'developer'].includes(userOf(req).role);

  async function page(
    req: FastifyRequest,
    reply: FastifyReply,
    m: Merchant,
    form: { url: string; error?: string; notice?: string } = { url: '' },
    status = 200,
  ) {
    const [endpoints, deliveries] = await Promise.all([gw.webhooks.list(m.id), gw.webhooks.recentDeliveries(m.id)]);
    const edit = mayEdit(req);
    const csrf = reply.csrfToken(req);
    const attemptsOf = (d: (typeof deliveries)[number]): Html =>
      d.attemptLog.length === 0
        ? html`<p class="hint">No attempt yet.</p>`
        : html`<ol class="attempts">${d.attemptLog.map(
            (a) =>
              html`<li>${gw.formatTime(a.attemptedAt)}: ${a.statusCode === null ? html`no answer (${a.error ?? 'error'})` : html`HTTP ${String(a.statusCode)}`}, ${String(a.latencyMs)} ms${
                a.responseExcerpt ? html` <code>${a.responseExcerpt}</code>` : ''
              }</li>`,
          )}</ol>`;
    return sendDashPage(
      ctx,
      req,
      reply,
      { status, title: 'Webhooks', merchant: m },
      html`<section><h1>Webhooks</h1>
<p>Events (<code>payment.succeeded</code>, <code>payment.failed</code>, <code>payment.cancelled</code>, <code>payment.expired</code>, <code>refund.succeeded</code>, <code>refund.failed</code>) are POSTed as JSON to every endpoint, signed in the <code>Wmx-Signature</code> header with your signing secret. Failed deliveries are retried for more than three days.</p>
${form.notice ? html`<p class="notice" role="status">${form.notice}</p>` : ''}
<table id="endpoints"><caption>Endpoints</caption>
<thead><tr><th scope="col">URL</th><th scope="col">Added</th>${edit ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''}</tr></thead>
<tbody>${
        endpoints.length === 0
          ? html`<tr><td colspan="3">No endpoints yet.</td></tr>`
          : endpoints.map(
              (e) =>
                html`<tr><td><code>${e.url}</code></td><td>${gw.formatTime(e.createdAt)}</td>${
                  edit
                    ? html`<td><form method="post" action="/dashboard/webhooks/endpoints/${e.id}/remove" class="inline">${csrfInput(csrf)}<button type="submit">Remove</button></form></td>`
                    : ''
                }</tr>`,
            )
      }</tbody></table>
${
  edit
    ? html`<form method="post" action="/dashboard/webhooks/endpoints" novalidate>${csrfInput(csrf)}
${formField('url', 'Endpoint URL', { type: 'url', value: form.url, error: form.error, hint: m.sandbox ? 'Any http(s) URL (sandbox).' : `On one of your registered domains: ${m.domains.join(', ')}.` })}
<button type="submit" class="primary">Add endpoint</button></form>`
    : html`<p class="hint">Your role (viewer) can read this page only.</p>`
}</section>
<section><h2>Recent deliveries</h2>
${
  deliveries.length === 0
    ? html`<p>None yet.</p>`
    : html`<table id="deliveries"><thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col">Attempts</th>${edit ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''}</tr></thead>
<tbody>${deliveries.map(
        (d) =>
          html`<tr id="${d.id}"><td>${gw.formatTime(d.createdAt)}</td><td>${d.eventType}<br><code>${d.eventId}</code></td><td><code>${d.url}</code></td><td>${statusBadge(d.status)}${
            d.status === 'pending' ? html`<br><small>next ${gw.formatTime(d.nextAttemptAt)}</small>` : ''
          }</td><td>${attemptsOf(d)}</td>${
            edit
              ? html`<td><form method="post" action="/dashboard/webhooks/deliveries/${d.id}/redeliver" class="inline">${csrfInput(csrf)}<button type="submit">Redeliver</button></form></td>`
              : ''
          }</tr>`,
      )}</tbody></table>`
}
<p class="hint">Times in ${gw.config.timezone}.</p></section>`,
    );
  }

  /** The merchant behind the session, or the answer already sent (gone, not yet approved, or not allowed). */
  async function editable(req: FastifyRequest, reply: FastifyReply): Promise<Merchant | undefined> {
    const m = await merchantOf(ctx, req);
    if (!m) {
      await sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
      return undefined;
    }
    // Checked here as well as by the dashboard's own hook: these routes live outside its scope.
    if (!mayEdit(req)) {
      await sendForbidden(ctx, req, reply, 'change webhooks', m);
      return undefined;
    }
    const closed = notYetOpen(m);
    if (closed) {
      await sendNotOpen(ctx, req, reply, m, closed, 409);
      return undefined;
    }
    return m;
  }

  app.get('/dashboard/webhooks', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const closed = notYetOpen(m);
    if (closed) return sendNotOpen(ctx, req, reply, m, closed);
    return page(req, reply, m);
  });

  app.post('/dashboard/webhooks/endpoints', merchantOnly, async (req, reply) => {
    const m = await editable(req, reply);
    if (!m) return reply;
    const url = textOf(req.body, 'url', 2100);
    const r = await gw.webhooks.add(m, url);
    if (!r.ok) return page(req, reply, m, { url, error: r.message }, 422);
    return reply.redirect('/dashboard/webhooks', 303);
  });

  app.post('/dashboard/webhooks/endpoints/:id/remove', merchantOnly, async (req, reply) => {
    const m = await editable(req, reply);
    if (!m) return reply;
    const { id } = req.params as { id: string };
    const removed = await gw.webhooks.remove(m.id, id);
    if (!removed) return sendMessage(ctx, req, reply, 404, 'Not found', 'No such endpoint.', m, BACK);
    return reply.redirect('/dashboard/webhooks', 303);
  });

  app.post('/dashboard/webhooks/deliveries/:id/redeliver', merchantOnly, async (req, reply) => {
    const m = await editable(req, reply);
    if (!m) return reply;
    const { id } = req.params as { id: string };
    if (!(await gw.webhooks.redeliver(m.id, id))) {
      return sendMessage(ctx, req, reply, 404, 'Not found', 'No such delivery.', m, BACK);
    }
    return page(req, reply, m, {
      url: '',
      notice: 'Queued for redelivery: it is sent again shortly, with the same event id.',
    });
  });
}
