import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { METHOD_KEYS, isMethodKey, type MethodKey } from '../../../acquirers/port.js';
import type { MerchantSettings } from '../../../app/onboarding.js';
import { WmxError } from '../../../domain/errors.js';
import { DEFAULT_LIMITS, normaliseDomain, type Merchant, isRegistrableHost } from '../../../domain/merchant.js';
import { formatBps, formatMinor, parseAmount, parsePercent } from '../../../domain/money.js';
import { DEFAULT_SCOPE } from '../../../store/connectors.js';
import { html, type Html } from '../../html.js';
import { csrfInput, formField } from '../layout.js';
import { actorOf } from '../session.js';
import { flashFor, merchantActions, registrationDetails } from './applications.js';
import { auditTable } from './audit.js';
import {
  adminOnly,
  details,
  sendAdminPage,
  sendNotFound,
  sentence,
  statusBadge,
  textOf,
  type AdminCtx,
} from './common.js';
import { connectorSelect, METHOD_LABELS, takersByMethod } from './connectors.js';

const MAX_DOMAINS = 50;

/** The "Payment rails" section of a merchant's page: each method's override, default and what takes it now. */
async function railsSection(ctx: AdminCtx, m: Merchant, csrf: string, alert?: string): Promise<Html> {
  const [list, routes] = await Promise.all([ctx.gw.connectors.list(), ctx.gw.connectors.routes()]);
  const takers = await takersByMethod(ctx, list);
  const routed = (scope: string, key: MethodKey) =>
    routes.find((r) => r.scope === scope && r.method === key)?.connectorId;
  const rows: Html[] = [];
  for (const key of METHOD_KEYS) {
    const own = routed(m.id, key);
    const now = await ctx.gw.router.routeFor(m, key);
    rows.push(html`<tr><th scope="row">${METHOD_LABELS[key]}</th><td>${own ? html`<code>${own}</code>` : '—'}</td>
<td>${routed(DEFAULT_SCOPE, key) ?? '—'}</td><td>${now ? html`<code>${now.id}</code> (${now.displayName})` : html`<em>not offered</em>`}</td>
<td><form method="post" action="/admin/merchants/${m.id}/rails">${csrfInput(csrf)}<input type="hidden" name="method" value="${key}">
${connectorSelect(`${METHOD_LABELS[key]} for ${m.name}`, own ?? '', takers(key), 'Use the default')} <button type="submit" class="small">Save</button></form></td></tr>`);
  }
  return html`<section id="rails"><h2>Payment rails</h2>
${alert ? html`<p class="notice" role="alert">${alert}</p>` : ''}
<p class="hint">An override sends this merchant’s payments of a method to another connector than the default. A route counts only while its connector is enabled and of the merchant’s environment (${m.sandbox || ctx.sandbox ? 'sandbox' : 'live'}); ${m.sandbox || ctx.sandbox ? 'otherwise the Sandbox Bank takes it' : 'otherwise the method is not offered'}. <a href="/admin/connectors">Connectors and default routes</a></p>
<table><thead><tr><th scope="col">Method</th><th scope="col">Override</th><th scope="col">Default</th><th scope="col">Takes payments now</th><th scope="col">Change</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

interface SettingsForm {
  domains: string;
  min_amount: string;
  max_amount: string;
  fee_card: string;
  fee_mobile_wallet: string;
  fee_internet_banking: string;
  emi_allowed: boolean;
}
type SettingsErrors = Partial<Record<keyof SettingsForm, string>>;

const formOf = (m: Merchant): SettingsForm => ({
  domains: m.domains.join('\n'),
  min_amount: formatMinor(m.minAmountMinor),
  max_amount: formatMinor(m.maxAmountMinor),
  fee_card: formatBps(m.feesBps.card),
  fee_mobile_wallet: formatBps(m.feesBps.mobile_wallet),
  fee_internet_banking: formatBps(m.feesBps.internet_banking),
  emi_allowed: m.emiAllowed,
});

/** A BDT limit typed by an operator: a positive amount up to the gateway's ceiling. */
export function parseBdtLimit(text: string): { ok: true; minor: bigint } | { ok: false; error: string } {
  try {
    const minor = parseAmount(text);
    if (minor > DEFAULT_LIMITS.maxAmountMinor)
      return { ok: false, error: `At most ${formatMinor(DEFAULT_LIMITS.maxAmountMinor)} BDT.` };
    return { ok: true, minor };
  } catch (e) {
    if (e instanceof WmxError)
      return { ok: false, error: 'Enter a positive amount in BDT with at most 2 decimals, e.g. 10 or 10.50.' };
    throw e;
  }
}

/** Every field checked on its own, so the operator sees every problem at once. */
function validateSettings(
  f: SettingsForm,
  m: Merchant,
): { ok: true; value: MerchantSettings } | { ok: false; errors: SettingsErrors } {
  const errors: SettingsErrors = {};
  const typed = f.domains.split(/[\s,]+/).filter((d) => d !== '');
  const domains: string[] = [];
  const bad: string[] = [];
  for (const d of typed) {
    const n = normaliseDomain(d);
    if (n && isRegistrableHost(n)) domains.push(n);
    else bad.push(d);
  }
  if (bad.length > 0)
    errors.domains = `Not a valid domain: ${bad.slice(0, 3).join(', ')}. Write one host per line, e.g. shop.example.com.`;
  else if (domains.length === 0 && !m.sandbox)
    errors.domains = 'Register at least one domain: payment results can only return to these.';
  else if (domains.length > MAX_DOMAINS) errors.domains = `At most ${MAX_DOMAINS} domains.`;

  const min = parseBdtLimit(f.min_amount);
  const max = parseBdtLimit(f.max_amount);
  if (!min.ok) errors.min_amount = min.error;
  if (!max.ok) errors.max_amount = max.error;
  if (min.ok && max.ok && max.minor < min.minor) errors.max_amount = 'The maximum must not be below the minimum.';

  const fee = (k: 'fee_card' | 'fee_mobile_wallet' | 'fee_internet_banking'): number => {
    const bps = parsePercent(f[k]);
    if (bps === undefined) errors[k] = 'Enter a percent from 0 to 100 with at most 2 decimals, e.g. 2.5.';
    return bps ?? 0;
  };
  const feesBps = {
    card: fee('fee_card'),
    mobile_wallet: fee('fee_mobile_wallet'),
    internet_banking: fee('fee_internet_banking'),
  };
  if (Object.keys(errors).length > 0 || !min.ok || !max.ok) return { ok: false, errors };
  return {
    ok: true,
    value: { domains, minAmountMinor: min.minor, maxAmountMinor: max.minor, feesBps, emiAllowed: f.emi_allowed },
  };
}

/** The flash after a rail was routed (flashFor knows the merchant decisions, this one the rails). */
function railsFlash(m: Merchant, query: unknown) {
  const method = textOf(query, 'method', 40);
  if (textOf(query, 'done', 20) !== 'rails' || !isMethodKey(method)) return '';
  return html`<p class="flash" role="status">Payment rails of ${m.name} saved (${METHOD_LABELS[method]}).</p>`;
}

export async function merchantRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  const { gw } = ctx;

  app.get('/merchants', adminOnly, async (req, reply) => {
    const all = await gw.merchants.list();
    const body = html`<section><h1>Merchants</h1>
${all.length === 0 ? html`<p>No merchants yet.</p>` : ''}
<table><thead><tr><th scope="col">Name</th><th scope="col">Merchant ID</th><th scope="col">Status</th><th scope="col">Mode</th><th scope="col">Domains</th></tr></thead>
<tbody>${all.map(
      (m) =>
        html`<tr><td><a href="/admin/merchants/${m.id}">${m.name}</a></td><td><code>${m.wmxId}</code></td><td>${statusBadge(m.status)}</td><td>${m.sandbox ? 'sandbox' : 'live'}</td><td>${m.domains.join(', ')}</td></tr>`,
    )}</tbody></table></section>`;
    return sendAdminPage(ctx, req, reply, 200, 'Merchants', body);
  });

  async function detailPage(
    req: FastifyRequest,
    reply: FastifyReply,
    m: Merchant,
    status: number,
    form: SettingsForm,
    errors: SettingsErrors = {},
    railsAlert?: string,
  ) {
    const csrf = reply.csrfToken(req);
    const entries = await gw.audit.list({ merchantId: m.id, limit: 20 });
    const f = (name: Exclude<keyof SettingsForm, 'domains' | 'emi_allowed'>, label: string, hint?: string) =>
      formField(name, label, {
        value: form[name],
        error: errors[name],
        inputmode: 'decimal',
        ...(hint ? { hint } : {}),
      });
    const credentials = m.credentialsIssuedAt
      ? `Issued ${gw.formatTime(m.credentialsIssuedAt)} (version ${m.credentialsVersion})${m.pendingCredentialsSealed ? '; the owner has not read them yet' : ''}`
      : 'Not issued yet';
    const body = html`<section><h1>${m.name} ${statusBadge(m.status)}</h1>
${await flashFor(ctx, req.query)}
${railsFlash(m, req.query)}
${Object.keys(errors).length > 0 ? html`<p class="notice" role="alert">Please correct the fields marked below. Nothing was saved.</p>` : ''}
${registrationDetails(ctx, m)}
${details([
  ['Mode', m.sandbox ? 'sandbox' : 'live'],
  ['Credentials', credentials],
])}
${merchantActions(m, csrf, `/admin/merchants/${m.id}`)}
</section>
<section><h2>Settings</h2>
<form method="post" action="/admin/merchants/${m.id}/settings" novalidate>${csrfInput(csrf)}
<div class="field${errors.domains ? ' has-error' : ''}">
<label for="f-domains">Registered domains</label>
<textarea id="f-domains" name="domains" rows="3" aria-describedby="f-domains-hint${errors.domains ? ' f-domains-error' : ''}"${errors.domains ? html` aria-invalid="true"` : ''}>${form.domains}</textarea>
<small id="f-domains-hint" class="hint">One per line. callback_url and webhook URLs must be on one of these hosts exactly: list www.shop.example too if the shop uses it.</small>
${errors.domains ? html`<p id="f-domains-error" class="error">${errors.domains}</p>` : ''}
</div>
${f('min_amount', 'Minimum amount (BDT)')}
${f('max_amount', 'Maximum amount (BDT)')}
${f('fee_card', 'Card fee (%)', 'Also the service_ratio a payment starts with.')}
${f('fee_mobile_wallet', 'Mobile wallet fee (%)')}
${f('fee_internet_banking', 'Internet banking fee (%)')}
<div class="field"><input id="f-emi_allowed" name="emi_allowed" type="checkbox" value="1"${form.emi_allowed ? html` checked` : ''}> <label for="f-emi_allowed">EMI allowed</label></div>
<p class="hint">Changes apply to new payments; a payment keeps the fee and limits of its init.</p>
<button type="submit" class="primary">Save settings</button>
</form></section>
${await railsSection(ctx, m, csrf, railsAlert)}
<section><h2>Recent audit entries</h2>${auditTable(ctx, entries, new Map([[m.id, m]]))}
<p><a href="/admin/audit?merchant=${m.id}">All entries of this merchant</a></p></section>`;
    return sendAdminPage(ctx, req, reply, status, m.name, body);
  }

  app.get<{ Params: { id: string } }>('/merchants/:id', adminOnly, async (req, reply) => {
    const m = await gw.merchants.byId(req.params.id);
    if (!m) return sendNotFound(ctx, req, reply, 'merchant', ['/admin/merchants', 'All merchants']);
    return detailPage(req, reply, m, 200, formOf(m));
  });

  app.post<{ Params: { id: string } }>('/merchants/:id/settings', adminOnly, async (req, reply) => {
    const m = await gw.merchants.byId(req.params.id);
    if (!m) return sendNotFound(ctx, req, reply, 'merchant', ['/admin/merchants', 'All merchants']);
    const b = req.body;
    const emi = textOf(b, 'emi_allowed', 10);
    const form: SettingsForm = {
      domains: textOf(b, 'domains', 4000),
      min_amount: textOf(b, 'min_amount', 40),
      max_amount: textOf(b, 'max_amount', 40),
      fee_card: textOf(b, 'fee_card', 20),
      fee_mobile_wallet: textOf(b, 'fee_mobile_wallet', 20),
      fee_internet_banking: textOf(b, 'fee_internet_banking', 20),
      emi_allowed: emi === '1' || emi === 'on',
    };
    const v = validateSettings(form, m);
    if (!v.ok) return detailPage(req, reply, m, 422, form, v.errors);
    try {
      await gw.onboarding.updateSettings(m.id, v.value, actorOf(req));
    } catch (e) {
      if (!(e instanceof WmxError)) throw e;
      // The use case's own checks agree with the form's; map its field names onto the form just in case.
      const field: keyof SettingsForm =
        e.field === 'domains' ? 'domains' : e.field === 'fees' ? 'fee_card' : 'min_amount';
      return detailPage(req, reply, m, 422, form, { [field]: e.message });
    }
    return reply.redirect(
      `/admin/merchants/${encodeURIComponent(m.id)}?done=settings&merchant=${encodeURIComponent(m.id)}`,
      303,
    );
  });

  app.post<{ Params: { id: string } }>('/merchants/:id/rails', adminOnly, async (req, reply) => {
    const m = await gw.merchants.byId(req.params.id);
    if (!m) return sendNotFound(ctx, req, reply, 'merchant', ['/admin/merchants', 'All merchants']);
    const method = textOf(req.body, 'method', 40);
    const target = textOf(req.body, 'connector', 64).trim();
    // Empty: back to the default route (the override is removed).
    const r = await gw.connectors.route(m.id, method, target || null, actorOf(req));
    if (!r.ok) return detailPage(req, reply, m, 422, formOf(m), {}, `${sentence(r.message)} Nothing was changed.`);
    return reply.redirect(
      `/admin/merchants/${encodeURIComponent(m.id)}?done=rails&method=${encodeURIComponent(method)}#rails`,
      303,
    );
  });
}
