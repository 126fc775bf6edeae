import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WmxError } from '../../../domain/errors.js';
import { RATE_SCALE, formatRate, parseRate } from '../../../domain/money.js';
import { html } from '../../html.js';
import { csrfInput, formField } from '../layout.js';
import { actorOf } from '../session.js';
import { adminOnly, sendAdminPage, textOf, zoneNote, type AdminCtx } from './common.js';

interface RateForm {
  currency: string;
  rate: string;
}
type RateErrors = Partial<Record<keyof RateForm, string>>;

export async function rateRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  const { gw } = ctx;

  async function ratesPage(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    form: RateForm,
    errors: RateErrors = {},
    saved?: string,
  ) {
    const rates = [...(await gw.referenceRepo.rates()).entries()].sort(([a], [b]) =>
      a === 'BDT' ? -1 : b === 'BDT' ? 1 : a.localeCompare(b),
    );
    const history = await gw.onboarding.rateHistory();
    const body = html`<section><h1>Currency rates</h1>
<p>How many BDT one unit of each currency is worth when a payment starts. A payment keeps the rate locked at its init: changing a rate here affects new payments only.</p>
${saved ? html`<p class="flash" role="status">${saved}</p>` : ''}
${Object.keys(errors).length > 0 ? html`<p class="notice" role="alert">Please correct the fields marked below. Nothing was changed.</p>` : ''}
<table><thead><tr><th scope="col">Currency</th><th scope="col">BDT per unit</th></tr></thead>
<tbody>${rates.map(([c, r]) => html`<tr><td>${c}</td><td>${formatRate(r)}</td></tr>`)}</tbody></table>
</section>
<section><h2>Set a rate</h2>
<form method="post" action="/admin/rates" novalidate>${csrfInput(reply.csrfToken(req))}
${formField('currency', 'Currency', { value: form.currency, error: errors.currency, hint: 'Three letters, e.g. USD. A new code adds a currency. BDT is fixed at 1.', autocomplete: 'off' })}
${formField('rate', 'Rate (BDT per unit)', { value: form.rate, error: errors.rate, inputmode: 'decimal', hint: 'Up to 6 decimals, e.g. 121.4567.' })}
<button type="submit" class="primary">Save rate</button>
</form></section>
<section><h2>Rate history</h2>${zoneNote(ctx)}
${
  history.length === 0
    ? html`<p>No changes yet.</p>`
    : html`<table><thead><tr><th scope="col">When</th><th scope="col">Currency</th><th scope="col">BDT per unit</th><th scope="col">By</th></tr></thead>
<tbody>${history.map((h) => html`<tr><td>${gw.formatTime(h.changedAt)}</td><td>${h.currency}</td><td>${h.rate}</td><td>${h.changedBy}</td></tr>`)}</tbody></table>`
}</section>`;
    return sendAdminPage(ctx, req, reply, status, 'Currency rates', body);
  }

  app.get('/rates', adminOnly, async (req, reply) => {
    const c = textOf(req.query, 'done', 3);
    const saved = /^[A-Z]{3}$/.test(c) ? `The ${c} rate is saved; new payments use it.` : undefined;
    return ratesPage(req, reply, 200, { currency: '', rate: '' }, {}, saved);
  });

  app.post('/rates', adminOnly, async (req, reply) => {
    const form: RateForm = {
      currency: textOf(req.body, 'currency', 20).trim(),
      rate: textOf(req.body, 'rate', 40).trim(),
    };
    const errors: RateErrors = {};
    const currency = form.currency.toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) errors.currency = 'Enter a three-letter currency code, e.g. USD.';
    const rate = parseRate(form.rate);
    if (rate === undefined) errors.rate = 'Enter a positive number with at most 6 decimals, e.g. 121.4567.';
    else if (currency === 'BDT' && rate !== RATE_SCALE)
      errors.rate = 'BDT is the settlement currency: its rate is always 1.';
    if (Object.keys(errors).length > 0 || rate === undefined) return ratesPage(req, reply, 422, form, errors);
    try {
      await gw.onboarding.setRate(currency, rate, actorOf(req));
    } catch (e) {
      if (!(e instanceof WmxError)) throw e;
      return ratesPage(req, reply, 422, form, { [e.field === 'currency' ? 'currency' : 'rate']: e.message });
    }
    return reply.redirect(`/admin/rates?done=${currency}`, 303);
  });
}
