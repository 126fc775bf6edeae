import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Merchant } from '../../domain/merchant.js';
import { runDoctorChecks, type DoctorReport } from '../../app/doctor.js';
import { doctorFixturesFor } from '../../app/doctor-fixtures.js';
import { SandboxHelperError } from '../../app/sandbox-helpers.js';
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
  textOf,
  userOf,
  type DashCtx,
} from './dashboard/common.js';

const RESULT_TEXT = { pass: 'Pass', fail: 'Fail', warn: 'Check' } as const;

/** Why a callback URL cannot be tested, or undefined. */
function urlProblem(text: string): string | undefined {
  if (text === '') return 'Enter your callback URL, e.g. https://shop.example.com/payment/callback.';
  try {
    const u = new URL(text);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'The URL must start with http:// or https://.';
    if (u.username || u.password) return 'The URL must not carry a user name or password.';
  } catch {
    return 'Enter an absolute http(s) URL.';
  }
  return undefined;
}

function reportSection(r: DoctorReport): Html {
  const said = (c: DoctorReport['checks'][number]) =>
    c.answer.status === null
      ? html`no answer (${c.answer.error ?? 'error'})`
      : html`HTTP ${String(c.answer.status)}${c.answer.location ? html` → <code>${c.answer.location}</code>` : ''}${
          c.answer.excerpt ? html`<br><code>${c.answer.excerpt.replace(/\s+/g, ' ').slice(0, 160)}</code>` : ''
        }`;
  return html`<section id="doctor-report"><h2>Report</h2>
<p class="notice doctor-${r.verdict}" role="status"><strong>${r.summary}</strong></p>
<p>Order ${r.order.orderId} (${r.order.amount} ${r.order.currency}), ${
    r.order.shopsOwn
      ? html`your shop’s own pending payment <code>${r.order.token}</code>.`
      : html`made by the doctor: your shop had no pending payment for this callback URL.`
  } Posted to <code>${r.callbackUrl}</code>.</p>
<table id="doctor-checks"><thead><tr><th scope="col">Result</th><th scope="col">What was posted</th><th scope="col">The gateway’s record</th><th scope="col">Your handler answered</th><th scope="col">To fix</th></tr></thead>
<tbody>${r.checks.map(
    (c) =>
      html`<tr id="check-${c.id}" class="doctor-${c.result}"><td><strong>${RESULT_TEXT[c.result]}</strong></td><td>${c.title}</td><td>${c.truth}</td><td>${said(c)} (${c.classified})</td><td>${c.fix ?? ''}</td></tr>`,
  )}</tbody></table></section>`;
}

/**
 * /dashboard/doctor: the Callback doctor (app/doctor.ts) for a sandbox merchant, run by the gateway
 * itself against a callback URL it can reach (a laptop's handler: use `wmx doctor` instead). It
 * makes real sandbox payments, so owners and developers run it; viewers read the page only.
 */
export async function doctorRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const ctx: DashCtx = { gw: deps.gw, sandbox: deps.sandbox };
  const { gw } = ctx;
  const mayRun = (req: FastifyRequest) => ['owner', 'developer'].includes(userOf(req).role);

  function page(
    req: FastifyRequest,
    reply: FastifyReply,
    m: Merchant,
    form: { url: string; token: string; error?: string | undefined },
    report?: DoctorReport,
    status = 200,
  ) {
    const intro = html`<p>The most costly mistake with a hosted payment page is trusting the browser’s callback (<code>merchant_txn_data</code>) without asking <code>check-payment</code>, or without comparing the amount with the order: anyone can post a “paid” callback. The doctor posts to your callback handler what an attacker could — a “paid” callback for an unpaid token, unsigned, another merchant’s token, a cheaper payment for the same order, a paid token of another order — then the genuine result and a replay of it, and tells you from your handler’s answers whether your shop would ship an order nobody paid for.</p>
<p class="hint">Start a checkout on your shop first and leave it unpaid: the doctor tests with that order (its own pending payment for this callback URL, or the token you give). Without one it makes an order of its own, which a shop that looks orders up refuses. Answer a refused callback with HTTP 4xx (or words such as “payment failed”), a paid one with 2xx. Every payment the doctor makes is a real sandbox payment; your webhook endpoints receive its events. For a handler on your own computer, run <code>npx wmx doctor --callback-url URL</code> there.</p>`;
    if (!m.sandbox) {
      return sendDashPage(
        ctx,
        req,
        reply,
        { status, title: 'Callback doctor', merchant: m },
        html`<section><h1>Callback doctor</h1>${intro}<p class="notice" role="status">The doctor makes sandbox payments, so it runs for sandbox merchants only. Test your handler with a sandbox merchant’s credentials, then switch them for these.</p></section>`,
      );
    }
    const csrf = reply.csrfToken(req);
    return sendDashPage(
      ctx,
      req,
      reply,
      { status, title: 'Callback doctor', merchant: m },
      html`<section><h1>Callback doctor</h1>${intro}
${
  mayRun(req)
    ? html`<form method="post" action="/dashboard/doctor" novalidate>${csrfInput(csrf)}
${formField('callback_url', 'Callback URL', { type: 'url', value: form.url, error: form.error, hint: 'The callback_url your shop sends at init (the query string is kept when the doctor finds your order).' })}
${formField('token', 'Payment token (optional)', { value: form.token, hint: 'A pending payment of an order your shop started; default: its newest one for this callback URL.' })}
<button type="submit" class="primary">Run the doctor</button></form>`
    : html`<p class="hint">Your role (viewer) can read this page only.</p>`
}</section>${report ? reportSection(report) : ''}`,
    );
  }

  async function opened(req: FastifyRequest, reply: FastifyReply): Promise<Merchant | undefined> {
    const m = await merchantOf(ctx, req);
    if (!m) {
      await sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
      return undefined;
    }
    const closed = notYetOpen(m);
    if (closed) {
      await sendNotOpen(ctx, req, reply, m, closed);
      return undefined;
    }
    return m;
  }

  app.get('/dashboard/doctor', merchantOnly, async (req, reply) => {
    const m = await opened(req, reply);
    if (!m) return reply;
    return page(req, reply, m, { url: '', token: '' });
  });

  app.post('/dashboard/doctor', merchantOnly, async (req, reply) => {
    const m = await opened(req, reply);
    if (!m) return reply;
    if (!mayRun(req)) return sendForbidden(ctx, req, reply, 'run the callback doctor', m);
    if (!m.sandbox) return page(req, reply, m, { url: '', token: '' }, undefined, 409);
    const url = textOf(req.body, 'callback_url', 2100).trim();
    const token = textOf(req.body, 'token', 100).trim();
    const form = { url, token };
    const problem = urlProblem(url);
    if (problem) return page(req, reply, m, { ...form, error: problem }, undefined, 422);
    if (token !== '' && !/^[0-9a-f]{40}$/.test(token))
      return page(req, reply, m, { ...form, error: 'A payment token is 40 lowercase hex characters.' }, undefined, 422);
    try {
      const report = await runDoctorChecks(doctorFixturesFor(gw.sandboxHelpers, m, req.ip), {
        callbackUrl: url,
        ...(token ? { token } : {}),
      });
      return page(req, reply, m, form, report);
    } catch (e) {
      if (!(e instanceof SandboxHelperError)) throw e;
      return page(req, reply, m, { ...form, error: e.message }, undefined, e.status === 404 ? 404 : 409);
    }
  });
}
