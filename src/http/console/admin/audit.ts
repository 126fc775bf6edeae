import type { FastifyInstance } from 'fastify';
import type { AuditEntry } from '../../../app/audit.js';
import type { Merchant } from '../../../domain/merchant.js';
import { html, type Html } from '../../html.js';
import { adminOnly, merchantNames, sendAdminPage, sendMessagePage, textOf, zoneNote, type AdminCtx } from './common.js';

const PAGE_SIZE = 50;

/** Who, what, when, from where and on which merchant: newest first. */
export function auditTable(ctx: AdminCtx, entries: AuditEntry[], merchants: Map<string, Merchant>): Html {
  if (entries.length === 0) return html`<p>No entries.</p>`;
  return html`<table class="audit"><thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Merchant</th><th scope="col">IP</th><th scope="col">Detail</th></tr></thead>
<tbody>${entries.map((e) => {
    const m = e.merchantId ? merchants.get(e.merchantId) : undefined;
    const detail = Object.keys(e.detail).length > 0 ? JSON.stringify(e.detail) : '';
    return html`<tr><td>${e.seq}</td><td>${ctx.gw.formatTime(e.at)}</td><td>${e.actor} <small>(${e.actorKind})</small></td><td>${e.action}</td>
<td>${e.merchantId ? html`<a href="/admin/merchants/${e.merchantId}">${m?.name ?? e.merchantId}</a>` : ''}</td><td>${e.ip}</td><td><code>${detail}</code></td></tr>`;
  })}</tbody></table>`;
}

export async function auditRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  app.get('/audit', adminOnly, async (req, reply) => {
    const beforeText = textOf(req.query, 'before', 20);
    const merchantId = textOf(req.query, 'merchant', 64);
    const before = beforeText === '' ? undefined : Number(beforeText);
    if (before !== undefined && (!/^\d+$/.test(beforeText) || !Number.isSafeInteger(before))) {
      return sendMessagePage(ctx, req, reply, 400, 'Audit log', 'The page position is not valid.', [
        '/admin/audit',
        'Newest entries',
      ]);
    }
    const merchants = await merchantNames(ctx);
    if (merchantId && !merchants.has(merchantId)) {
      return sendMessagePage(ctx, req, reply, 404, 'Audit log', 'No merchant with this id.', [
        '/admin/audit',
        'All entries',
      ]);
    }
    const entries = await ctx.gw.audit.list({
      limit: PAGE_SIZE,
      ...(before !== undefined ? { beforeSeq: before } : {}),
      ...(merchantId ? { merchantId } : {}),
    });
    const last = entries[entries.length - 1];
    const keep = merchantId ? `&merchant=${encodeURIComponent(merchantId)}` : '';
    const olderHref = entries.length === PAGE_SIZE && last ? `/admin/audit?before=${last.seq}${keep}` : undefined;
    const m = merchantId ? merchants.get(merchantId) : undefined;
    const body = html`<section><h1>Audit log${m ? html` of ${m.name}` : ''}</h1>
<p>Every operator and merchant action: who, what, when and from which address.${m ? html` <a href="/admin/audit">Show all merchants</a>.` : ''}</p>
${zoneNote(ctx)}
${auditTable(ctx, entries, merchants)}
<nav class="pager" aria-label="Pages">${before !== undefined ? html`<a href="/admin/audit${m ? html`?merchant=${merchantId}` : ''}">Newest</a>` : ''}${
      olderHref ? html`<a href="${olderHref}" rel="next">Older</a>` : ''
    }</nav></section>`;
    return sendAdminPage(ctx, req, reply, 200, 'Audit log', body);
  });
}
