import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gateway } from '../../../compose.js';
import type { Merchant } from '../../../domain/merchant.js';
import { html, type Html } from '../../html.js';
import { consolePage } from '../layout.js';
import { sendConsole } from '../public-routes.js';
import { requireLogin } from '../session.js';

export interface AdminCtx {
  gw: Gateway;
  sandbox: boolean;
}

/** Every admin route sits behind an operator login. */
export const adminOnly = { preHandler: requireLogin('admin') };

/** Sends a page in the admin frame (CSP, no-store via sendConsole). */
export function sendAdminPage(
  ctx: AdminCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  body: Html,
) {
  return sendConsole(
    reply,
    status,
    consolePage(
      { title, session: req.consoleSession, csrf: reply.csrfToken(req), sandbox: ctx.sandbox, area: 'admin' },
      body,
    ),
  );
}

/** A page that only says what went wrong, with a way back; for 4xx answers that have no form to redisplay. */
export function sendMessagePage(
  ctx: AdminCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  message: string,
  back?: [string, string],
) {
  return sendAdminPage(
    ctx,
    req,
    reply,
    status,
    title,
    html`<section><h1>${title}</h1><p class="notice" role="alert">${message}</p>${back ? html`<p><a href="${back[0]}">${back[1]}</a></p>` : ''}</section>`,
  );
}

export const sendNotFound = (
  ctx: AdminCtx,
  req: FastifyRequest,
  reply: FastifyReply,
  what: string,
  back: [string, string],
) => sendMessagePage(ctx, req, reply, 404, 'Not found', `No ${what} with this id.`, back);

/**
 * One text value from a parsed body or query string. Anything else a client can send (arrays from
 * repeated keys, objects from JSON bodies) reads as the first string or as empty, never as a crash.
 */
export function textOf(source: unknown, name: string, max = 2000): string {
  if (typeof source !== 'object' || source === null) return '';
  let v = (source as Record<string, unknown>)[name]; // a parsed body or query: a plain record
  if (Array.isArray(v)) v = v.find((x) => typeof x === 'string');
  return typeof v === 'string' ? v.slice(0, max) : '';
}

export const statusBadge = (status: string): Html => html`<span class="status status-${status}">${status}</span>`;

/** Merchant names by id, for tables that show payments or audit entries of many merchants. */
export async function merchantNames(ctx: AdminCtx): Promise<Map<string, Merchant>> {
  return new Map((await ctx.gw.merchants.list()).map((m) => [m.id, m]));
}

/** Times are shown in the gateway's zone, which the page names once. */
export const zoneNote = (ctx: AdminCtx): Html => html`<p class="hint">Times are in ${ctx.gw.config.timezone}.</p>`;

/** A definition list of label/value pairs (values escaped like everything else). */
export function details(rows: [string, Html | string | null | undefined][]): Html {
  return html`<dl class="details">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v === null || v === undefined || v === '' ? '—' : v}</dd>`)}</dl>`;
}

/** Where an action may send the operator back to: only admin pages this console serves. */
export function safeBack(back: string, fallback: string): string {
  return /^\/admin(\/merchants\/[A-Za-z0-9_]{1,64}|\/connectors(\/[a-z0-9-]{2,40})?)?$/.test(back) ? back : fallback;
}

/**
 * A use case's lower-case message as a sentence on a page: one full stop, and a capital first letter
 * unless the first word is a name (bKash, a connector id such as bk-live) that keeps its spelling.
 */
export function sentence(message: string): string {
  const s = message.trim();
  if (s === '') return s;
  const head = /^[a-z]+(\s|$)/.test(s) ? `${s.charAt(0).toUpperCase()}${s.slice(1)}` : s;
  return /[.!?]$/.test(head) ? head : `${head}.`;
}
