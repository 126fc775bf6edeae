import { formatMinor, formatRate, formatBps } from '../../domain/money.js';
import type { Payment } from '../../domain/payment.js';
import type { RedirectTarget, WalletProvider } from '../../acquirers/port.js';
import type { ParsedOrder } from '../../domain/product-desc.js';
import { html, type Html } from '../html.js';
import { bankText, type Lang, type Translate } from './i18n.js';
import { layout } from './layout.js';

export interface PageContext {
  lang: Lang;
  t: Translate;
  /** The page's own path without query ("/bank-payment-process/<token>[/<extra>]"). */
  basePath: string;
  extra: string | null;
  sandbox: boolean;
}

export interface EmiOffer {
  period: number;
  bps: number;
  chargeMinor: bigint;
  totalMinor: bigint;
}

/**
 * A choice in the method chooser: cards, the wallets our page collects (one "Mobile wallet" form with
 * a provider list), internet banking, and each wallet paid on its own page (bKash …).
 */
export type Choice = 'card' | 'mobile_wallet' | 'internet_banking' | WalletProvider;

export interface ChoiceView {
  choice: Choice;
  label: string;
  /** The upstream whose page takes the customer (a redirect connector); absent when our form collects. */
  redirectTo?: string;
}

export interface CheckoutView {
  merchantName: string;
  payment: Payment;
  order: ParsedOrder | undefined;
  method: Choice;
  choices: ChoiceView[];
  /** The wallets the "Mobile wallet" form offers. */
  walletProviders: WalletProvider[];
  emi: { banks: { key: string; name: string }[]; offers: EmiOffer[] } | undefined;
  values: Record<string, string>;
  errors: Record<string, string>;
  notice?: string | undefined;
  instruments: { instrument: string; outcome: string }[];
}

const WALLET_NAMES: Readonly<Record<WalletProvider, string>> = { bkash: 'bKash', nagad: 'Nagad', rocket: 'Rocket' };

const withLang = (path: string, lang: Lang) => `${path}?lang=${lang}`;

function field(id: string, label: string, input: Html, error: string | undefined, hint?: string): Html {
  return html`<div class="field${error ? ' has-error' : ''}">
<label for="${id}">${label}</label>
${input}
${hint ? html`<small id="${id}-hint" class="hint">${hint}</small>` : ''}
${error ? html`<p id="${id}-error" class="error" role="alert">${error}</p>` : ''}
</div>`;
}

const describedBy = (id: string, hint: boolean, error: string | undefined) =>
  [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

function textInput(
  id: string,
  v: CheckoutView,
  attrs: {
    autocomplete: string;
    inputmode?: string;
    type?: string;
    maxlength?: number;
    hint?: boolean;
    keep?: boolean;
  },
): Html {
  const err = v.errors[id];
  const by = describedBy(id, attrs.hint ?? false, err);
  return html`<input id="${id}" name="${id}" type="${attrs.type ?? 'text'}" autocomplete="${attrs.autocomplete}"${
    attrs.inputmode ? html` inputmode="${attrs.inputmode}"` : ''
  }${attrs.maxlength ? html` maxlength="${attrs.maxlength}"` : ''}${by ? html` aria-describedby="${by}"` : ''}${
    err ? html` aria-invalid="true"` : ''
  } required value="${attrs.keep === false ? '' : (v.values[id] ?? '')}">`;
}

function orderSummary(ctx: PageContext, v: CheckoutView): Html {
  const { t } = ctx;
  const p = v.payment;
  const o = v.order;
  const lines = o
    ? html`<table class="lines">
<thead><tr><th scope="col">${t('item')}</th><th scope="col">${t('qty')}</th><th scope="col">${t('unitPrice')}</th><th scope="col">${t('lineTotal')}</th></tr></thead>
<tbody>${o.items.map(
        (i) => html`<tr><td>${i.name}</td><td>${i.quantity}</td><td>${i.unitPrice}</td><td>${i.lineTotal}</td></tr>`,
      )}</tbody>
<tfoot>
<tr><th scope="row" colspan="3">${t('shipping')}</th><td>${o.shipping}</td></tr>
${o.charges.map((ch) => html`<tr><th scope="row" colspan="3">${ch.label}</th><td>${ch.amount}</td></tr>`)}
<tr><th scope="row" colspan="3">${t('discount')}</th><td>−${o.discount}</td></tr>
<tr><th scope="row" colspan="3">${t('total')}</th><td>${o.total}</td></tr>
</tfoot></table>
${o.consistent && o.total === formatMinor(p.amountMinor) ? '' : html`<p class="notice">${t('orderMismatch')}</p>`}`
    : html`<p class="desc">${p.productDesc}</p>`;
  return html`<section class="order" aria-labelledby="order-h">
<h1 id="order-h">${t('payTo', { merchant: v.merchantName })}</h1>
<p class="muted">${t('orderRef', { id: p.merchantOrderId })}</p>
${lines}
<dl class="amounts">
<dt>${t('amountToPay')}</dt><dd class="amount">${formatMinor(p.amountMinor)} ${p.currency}</dd>
${
  p.currency === 'BDT'
    ? ''
    : html`<dt>${t('inBdt')}</dt><dd>${formatMinor(p.amountBdtMinor)} BDT <small>(${t('rateNote', { rate: formatRate(p.rateScaled), currency: p.currency })})</small></dd>`
}
${p.emiChargeMinor > 0n && v.method === 'card' ? html`<dt>EMI</dt><dd>+${formatMinor(p.emiChargeMinor)} BDT</dd>` : ''}
</dl>
</section>`;
}

function methodChooser(ctx: PageContext, v: CheckoutView): Html {
  const { t } = ctx;
  return html`<form class="methods" method="get" action="${ctx.basePath}">
<input type="hidden" name="lang" value="${ctx.lang}">
<fieldset><legend>${t('chooseMethod')}</legend>
${v.choices.map(
  (c) =>
    html`<button type="submit" name="method" value="${c.choice}" class="method${c.choice === v.method ? ' selected' : ''}" aria-pressed="${c.choice === v.method ? 'true' : 'false'}">${c.label}</button>`,
)}
</fieldset></form>`;
}

function cardFields(ctx: PageContext, v: CheckoutView): Html {
  const { t } = ctx;
  const e = v.errors;
  return html`<p class="muted">${t('cardsAccepted')}</p>
${field('card_number', t('cardNumber'), textInput('card_number', v, { autocomplete: 'cc-number', inputmode: 'numeric', maxlength: 23 }), e.card_number)}
<div class="row">
${field('expiry', t('expiry'), textInput('expiry', v, { autocomplete: 'cc-exp', inputmode: 'numeric', maxlength: 7, hint: true }), e.expiry, t('expiryHint'))}
${field('cvv', t('cvv'), textInput('cvv', v, { autocomplete: 'cc-csc', inputmode: 'numeric', maxlength: 4, type: 'password', hint: true, keep: false }), e.cvv, t('cvvHint'))}
</div>
${field('card_name', t('nameOnCard'), textInput('card_name', v, { autocomplete: 'cc-name', maxlength: 64 }), e.card_name)}
${v.emi ? emiFields(ctx, v) : ''}`;
}

function emiFields(ctx: PageContext, v: CheckoutView): Html {
  const { t } = ctx;
  const emi = v.emi!;
  const chosenPeriod = v.values.emi_period ?? (v.payment.emiPeriod ? String(v.payment.emiPeriod) : '');
  const chosenBank = v.values.emi_bank ?? v.payment.emiBank ?? '';
  return html`<fieldset class="emi"><legend>${t('emiTitle')}</legend>
${field(
  'emi_period',
  t('emiPeriod'),
  html`<select id="emi_period" name="emi_period">
<option value="">${t('emiNone')}</option>
${emi.offers.map(
  (o) =>
    html`<option value="${o.period}"${String(o.period) === chosenPeriod ? html` selected` : ''}>${t('emiOption', {
      n: o.period,
      ratio: formatBps(o.bps),
      charge: formatMinor(o.chargeMinor),
      total: formatMinor(o.totalMinor),
    })}</option>`,
)}
</select>`,
  v.errors.emi_period,
)}
${field(
  'emi_bank',
  t('emiBank'),
  html`<select id="emi_bank" name="emi_bank">
${emi.banks.map((b) => html`<option value="${b.key}"${b.key === chosenBank ? html` selected` : ''}>${b.name}</option>`)}
</select>`,
  undefined,
)}
<p class="muted">${t('emiNote')}</p>
</fieldset>`;
}

function walletFields(ctx: PageContext, v: CheckoutView): Html {
  const { t } = ctx;
  const provider = v.values.provider ?? v.walletProviders[0] ?? 'bkash';
  const opt = (value: WalletProvider) =>
    html`<option value="${value}"${value === provider ? html` selected` : ''}>${WALLET_NAMES[value]}</option>`;
  return html`${field('provider', t('provider'), html`<select id="provider" name="provider">${v.walletProviders.map(opt)}</select>`, undefined)}
${field('wallet_number', t('walletNumber'), textInput('wallet_number', v, { autocomplete: 'tel', inputmode: 'tel', maxlength: 16, hint: true }), v.errors.wallet_number, t('walletHint'))}
${field('pin', t('pin'), textInput('pin', v, { autocomplete: 'off', inputmode: 'numeric', maxlength: 8, type: 'password', keep: false }), v.errors.pin)}`;
}

function bankFields(ctx: PageContext, v: CheckoutView): Html {
  const { t } = ctx;
  return html`${field('bank', t('bank'), html`<select id="bank" name="bank"><option value="sandbox">Sandbox Bank</option></select>`, undefined)}
${field('username', t('username'), textInput('username', v, { autocomplete: 'username', maxlength: 64 }), v.errors.username)}
${field('password', t('password'), textInput('password', v, { autocomplete: 'current-password', maxlength: 128, type: 'password', keep: false }), v.errors.password)}`;
}

function hidden(ctx: PageContext): Html {
  return html`<input type="hidden" name="lang" value="${ctx.lang}">${
    ctx.extra !== null ? html`<input type="hidden" name="extra" value="${ctx.extra}">` : ''
  }`;
}

function cancelForm(ctx: PageContext): Html {
  return html`<form method="post" action="${actionBase(ctx)}/cancel" class="cancel">
${hidden(ctx)}<button type="submit" class="secondary">${ctx.t('cancel')}</button></form>`;
}

function instrumentsTable(ctx: PageContext, v: CheckoutView): Html {
  if (!ctx.sandbox || v.instruments.length === 0) return html``;
  return html`<details class="instruments"><summary>${ctx.t('testInstruments')}</summary>
<table><tbody>${v.instruments.map((i) => html`<tr><td><code>${i.instrument}</code></td><td>${i.outcome}</td></tr>`)}</tbody></table>
</details>`;
}

const actionBase = (ctx: PageContext) => ctx.basePath.replace(/^(\/bank-payment-process\/[^/]+).*$/, '$1');

/** A method paid on the upstream's own page: what happens, and one button. */
function redirectFields(ctx: PageContext, v: CheckoutView, c: ChoiceView): Html {
  const { t } = ctx;
  const name = c.redirectTo ?? '';
  return html`<p class="muted">${t('redirectNote', { amount: formatMinor(v.payment.amountBdtMinor - v.payment.discountMinor), name })}</p>`;
}

function submitLabel(ctx: PageContext, c: ChoiceView | undefined): string {
  if (!c?.redirectTo) return ctx.t('pay');
  if (c.choice === 'bkash' || c.choice === 'nagad' || c.choice === 'rocket') {
    return ctx.t('payWith', { name: WALLET_NAMES[c.choice] });
  }
  return ctx.t('continueTo', { name: c.redirectTo });
}

export function checkoutPage(ctx: PageContext, v: CheckoutView): string {
  const { t } = ctx;
  const chosen = v.choices.find((c) => c.choice === v.method);
  if (!chosen) {
    return layout(
      { lang: ctx.lang, t, title: `${t('htmlTitle')} · ${v.merchantName}`, sandbox: ctx.sandbox },
      html`${orderSummary(ctx, v)}<p class="notice" role="alert">${t('noMethods')}</p>${cancelForm(ctx)}`,
    );
  }
  const fields = chosen.redirectTo
    ? redirectFields(ctx, v, chosen)
    : v.method === 'card'
      ? cardFields(ctx, v)
      : v.method === 'mobile_wallet'
        ? walletFields(ctx, v)
        : bankFields(ctx, v);
  const body = html`${orderSummary(ctx, v)}
${methodChooser(ctx, v)}
<form method="post" action="${actionBase(ctx)}/pay" class="pay" novalidate data-once>
${hidden(ctx)}<input type="hidden" name="method" value="${v.method}">
${Object.keys(v.errors).length > 0 ? html`<p class="error" role="alert">${t('fixErrors')}</p>` : ''}
${v.notice ? html`<p class="notice" role="alert">${v.notice}</p>` : ''}
${fields}
<button type="submit" class="primary">${submitLabel(ctx, chosen)}</button>
</form>
${cancelForm(ctx)}
${v.method === 'card' && !chosen.redirectTo ? html`<p class="muted small">${t('secured')}</p>` : ''}
${instrumentsTable(ctx, v)}`;
  return layout(
    {
      lang: ctx.lang,
      t,
      title: `${t('htmlTitle')} · ${v.merchantName}`,
      sandbox: ctx.sandbox,
      switchHref: withLang(ctx.basePath, ctx.lang === 'en' ? 'bn' : 'en') + `&method=${v.method}`,
    },
    body,
  );
}

export function otpPage(
  ctx: PageContext,
  v: {
    merchantName: string;
    payment: Payment;
    /** The instrument the code was sent for (`VISA 400000******3220`); empty when unknown. */
    what: string;
    /** What this payment charges in BDT, the chosen EMI surcharge included. */
    chargedBdtMinor: bigint;
    error?: string | undefined;
    notice?: string | undefined;
  },
): string {
  const { t } = ctx;
  const err = v.error;
  const p = v.payment;
  const body = html`<section class="order"><h1>${t('payTo', { merchant: v.merchantName })}</h1>
<dl class="amounts">
<dt>${t('amountToPay')}</dt><dd class="amount">${formatMinor(p.amountMinor)} ${p.currency}</dd>
<dt>${t('charged')}</dt><dd>${formatMinor(v.chargedBdtMinor)} BDT</dd>
</dl></section>
<form method="post" action="${actionBase(ctx)}/verify" class="pay" novalidate data-once>
${hidden(ctx)}
<p>${v.what === '' ? t('otpPromptPlain') : t('otpPrompt', { what: v.what })}</p>
${v.notice ? html`<p class="notice" role="alert">${v.notice}</p>` : ''}
${field(
  'otp',
  t('otp'),
  html`<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required${
    err ? html` aria-invalid="true" aria-describedby="otp-error"` : ''
  }>`,
  err,
)}
<button type="submit" class="primary">${t('verify')}</button>
</form>
${cancelForm(ctx)}
${ctx.sandbox ? html`<p class="muted small">Sandbox OTP: 123456</p>` : ''}`;
  return layout(
    {
      lang: ctx.lang,
      t,
      title: `${t('otp')} · ${v.merchantName}`,
      sandbox: ctx.sandbox,
      switchHref: withLang(ctx.basePath, ctx.lang === 'en' ? 'bn' : 'en'),
    },
    body,
  );
}

export interface ResultView {
  merchantName: string;
  payment: Payment;
  callbackUrl: string;
  fields: Record<string, string>;
}

/** The final page: a form that posts the result to the merchant's callback_url, by itself when JS runs. */
export function resultPage(ctx: PageContext, v: ResultView): string {
  const { t } = ctx;
  const p = v.payment;
  const [heading, text] =
    p.status === 'approved'
      ? [t('paid'), `${formatMinor(p.bankAmountMinor)} BDT · ${p.paymentCard ?? ''} ${p.cardDetails ?? ''}`]
      : p.status === 'declined'
        ? [t('declined'), /timeout/i.test(p.txnDetails) ? t('timeoutText') : bankText(ctx.lang, p.txnDetails)]
        : p.status === 'expired'
          ? [t('expired'), t('expiredText')]
          : [t('cancelled'), bankText(ctx.lang, p.txnDetails)];
  const body = html`<section class="result result-${p.status}" aria-live="polite">
<h1>${heading}</h1>
<p>${text}</p>
<p class="muted">${t('reference')}: ${p.refId}</p>
<form method="post" action="${v.callbackUrl}" data-autosubmit>
${Object.entries(v.fields).map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`)}
<p class="muted">${t('returning', { merchant: v.merchantName })}</p>
<button type="submit" class="primary">${t('returnButton', { merchant: v.merchantName })}</button>
</form>
</section>`;
  return layout({ lang: ctx.lang, t, title: `${heading} · ${v.merchantName}`, sandbox: ctx.sandbox }, body);
}

/**
 * A way to the upstream's page: a link for a GET target (a GET form would replace the target's own
 * query string), a form of its fields for a POST one (`auto`: it submits itself).
 */
function continueTo(target: RedirectTarget, label: string, auto = false): Html {
  if (target.method === 'GET') return html`<p><a class="button primary" href="${target.url}">${label}</a></p>`;
  return html`<form method="post" action="${target.url}"${auto ? html` data-autosubmit` : ''}>
${Object.entries(target.fields).map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`)}
<button type="submit" class="primary">${label}</button>
</form>`;
}

/** Sends the browser to an upstream's page that takes a POST, with a form that submits itself. */
export function redirectPage(ctx: PageContext, name: string, target: RedirectTarget): string {
  const { t } = ctx;
  return layout(
    { lang: ctx.lang, t, title: t('redirectingTo', { name }) },
    html`<section class="message"><h1>${t('redirectingTo', { name })}</h1>
${continueTo(target, t('continueTo', { name }), true)}</section>`,
  );
}

/** The customer came back to our page while the payment is started on the upstream's. */
export function atUpstreamPage(
  ctx: PageContext,
  v: { merchantName: string; payment: Payment; name: string; target: RedirectTarget },
): string {
  const { t } = ctx;
  return layout(
    { lang: ctx.lang, t, title: `${t('atUpstream', { name: v.name })} · ${v.merchantName}`, sandbox: ctx.sandbox },
    html`<section class="message"><h1>${t('atUpstream', { name: v.name })}</h1>
<p>${t('atUpstreamText', { name: v.name })}</p>
${continueTo(v.target, t('continueTo', { name: v.name }))}
${cancelForm(ctx)}</section>`,
  );
}

export function messagePage(
  ctx: Pick<PageContext, 'lang' | 't'>,
  heading: string,
  text: string,
  opts: { refresh?: { seconds: number; url: string }; cancel?: PageContext } = {},
): string {
  const { refresh, cancel } = opts;
  return layout(
    {
      lang: ctx.lang,
      t: ctx.t,
      title: heading,
      ...(refresh ? { refreshSeconds: refresh.seconds, refreshUrl: refresh.url } : {}),
    },
    // With `cancel`, a way back to the shop: cancelling sends the customer there with the result.
    html`<section class="message"><h1>${heading}</h1><p>${text}</p>${cancel ? cancelForm(cancel) : ''}</section>`,
  );
}
