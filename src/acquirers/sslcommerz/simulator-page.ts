/**
 * The hosted page of the SSLCommerz simulator (GatewayPageURL), server-rendered with escaping by
 * default. No stored material describes the real sandbox page (notes §10), so this one has what a
 * simulator needs: a method picker grouped as desc[] is (cards, mobile banking, internet banking),
 * card → OTP, wallet number + OTP, bank login, a Cancel on every page, and an expiry.
 * It works without JavaScript; the one script (served by the simulator, CSP-friendly) only submits the
 * return form by itself.
 */
import { html, type Html } from '../../http/html.js';
import { CARD_TYPES, type Gateway } from './simulator-catalog.js';
import type { OutcomeStatus } from './simulator-state.js';

export interface PageView {
  /** The plugin's public base URL (assets) and this session's page URL (form actions). */
  base: string;
  page: string;
  storeName: string;
  tranId: string;
  /** "100.00 BDT". */
  amount: string;
}

/** The pages' policy: scripts and styles from the simulator only; forms may post to the merchant. */
export function pageCsp(base: string): string {
  const origin = new URL(base).origin;
  return `default-src 'none'; script-src 'self' ${origin}; style-src 'self' ${origin}; img-src 'self' ${origin} data:; frame-ancestors 'none'; base-uri 'none'`;
}

function layout(v: PageView, body: Html, opts: { script?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SSLCommerz (simulator)</title>
<link rel="stylesheet" href="${v.base}/_sim/page.css">
${opts.script ? html`<script src="${v.base}/_sim/autosubmit.js" defer></script>` : ''}
</head>
<body>
<main>
<header>
<h1>SSLCommerz (simulator)</h1>
<p class="store">${v.storeName}</p>
<dl><dt>Transaction</dt><dd>${v.tranId}</dd><dt>Amount</dt><dd class="amount">${v.amount}</dd></dl>
</header>
${body}
</main>
</body>
</html>
`.value;
}

const errorLine = (error: string | undefined) => (error ? html`<p class="error" role="alert">${error}</p>` : '');

const cancelForm = (v: PageView) =>
  html`<form method="post" action="${v.page}/cancel" class="cancel"><button type="submit">Cancel</button></form>`;

function cardForm(v: PageView, error?: string): Html {
  return html`<section>
<h2>Cards</h2>
${errorLine(error)}
<form method="post" action="${v.page}/card">
<label>Card number <input name="card_number" inputmode="numeric" autocomplete="cc-number" required></label>
<label>Expiry (MM/YY) <input name="card_expiry" placeholder="MM/YY" autocomplete="cc-exp" required></label>
<label>CVV <input name="card_cvv" inputmode="numeric" autocomplete="cc-csc" required></label>
<button type="submit">Pay</button>
</form>
</section>`;
}

const gatewayButtons = (v: PageView, step: string, gateways: readonly Gateway[]) =>
  gateways.map(
    (g) =>
      html`<form method="post" action="${v.page}/${step}"><input type="hidden" name="gw" value="${g.gw}"><button type="submit">${g.label}</button></form>`,
  );

/** The method picker: the session's gateways, grouped by desc[].type; only the card form when `cardsOnly`. */
export function choosePage(v: PageView, gateways: readonly Gateway[], error?: string, cardsOnly = false): string {
  const cards = gateways.some((g) => CARD_TYPES.has(g.type));
  const wallets = cardsOnly ? [] : gateways.filter((g) => g.type === 'mobilebanking');
  const banks = cardsOnly ? [] : gateways.filter((g) => g.type === 'internetbanking');
  return layout(
    v,
    html`${cards ? cardForm(v, error) : errorLine(error)}
${wallets.length > 0 ? html`<section><h2>Mobile banking</h2><div class="buttons">${gatewayButtons(v, 'wallet', wallets)}</div></section>` : ''}
${banks.length > 0 ? html`<section><h2>Internet banking</h2><div class="buttons">${gatewayButtons(v, 'bank', banks)}</div></section>` : ''}
${cancelForm(v)}`,
  );
}

export function otpPage(v: PageView, cardNo: string, error?: string): string {
  return layout(
    v,
    html`<section>
<h2>OTP verification</h2>
<p>A one-time password was sent for card ${cardNo}.</p>
${errorLine(error)}
<form method="post" action="${v.page}/otp">
<label>OTP <input name="otp" inputmode="numeric" autocomplete="one-time-code" required></label>
<button type="submit">Verify</button>
</form>
</section>
${cancelForm(v)}`,
  );
}

export function walletPage(v: PageView, g: Gateway, error?: string): string {
  return layout(
    v,
    html`<section>
<h2>${g.label}</h2>
${errorLine(error)}
<form method="post" action="${v.page}/wallet-pay">
<input type="hidden" name="gw" value="${g.gw}">
<label>Wallet number <input name="wallet" inputmode="tel" autocomplete="tel" required></label>
<label>OTP <input name="otp" inputmode="numeric" autocomplete="one-time-code" required></label>
<button type="submit">Pay</button>
</form>
</section>
${cancelForm(v)}`,
  );
}

export function bankPage(v: PageView, g: Gateway, error?: string): string {
  return layout(
    v,
    html`<section>
<h2>${g.label}</h2>
${errorLine(error)}
<form method="post" action="${v.page}/bank-login">
<input type="hidden" name="gw" value="${g.gw}">
<label>User ID <input name="user_id" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
</section>
${cancelForm(v)}`,
  );
}

const HEADINGS: Readonly<Record<OutcomeStatus, string>> = {
  VALID: 'Payment successful',
  FAILED: 'Payment failed',
  CANCELLED: 'Payment cancelled',
  EXPIRED: 'Session expired',
};

const hiddenFields = (fields: Record<string, string>) =>
  Object.entries(fields).map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`);

/**
 * The end of the page: the signed fields in a form posted to the merchant, by itself (the served
 * script) or by the visible button. An expired session's form waits for the button ("Back to merchant").
 * With no action (knob `no-return`) the browser is told to close the window and posts nothing.
 */
export function resultPage(
  v: PageView,
  r: { status: OutcomeStatus; error: string; action: string | null; fields: Record<string, string> },
): string {
  const heading = HEADINGS[r.status];
  if (r.action === null)
    return layout(v, html`<section><h2>${heading}</h2><p>${heading}. You may close this window.</p></section>`);
  const detail = r.status === 'VALID' || r.error === '' ? '' : html`<p class="error">${r.error}</p>`;
  if (r.status === 'EXPIRED')
    return layout(
      v,
      html`<section><h2>${heading}</h2><p>This payment session has timed out.</p>
<form method="post" action="${r.action}">${hiddenFields(r.fields)}<button type="submit">Back to merchant</button></form></section>`,
    );
  return layout(
    v,
    html`<section><h2>${heading}</h2>${detail}<p>Returning you to the merchant…</p>
<form method="post" action="${r.action}" data-autosubmit>${hiddenFields(r.fields)}<button type="submit">Continue to merchant</button></form></section>`,
    { script: true },
  );
}

export function notFoundPage(base: string): string {
  return layout(
    { base, page: base, storeName: '', tranId: '', amount: '' },
    html`<section><h2>Session not found</h2><p>This payment link is not valid.</p></section>`,
  );
}

/** Submits the return form; a page without it still works by its button. */
export const AUTOSUBMIT_JS = `(function () {
  var form = document.querySelector('form[data-autosubmit]');
  if (form) form.submit();
})();
`;

export const PAGE_CSS = `body{font-family:system-ui,sans-serif;background:#f3f5f8;margin:0;color:#1d2733}
main{max-width:28rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.1rem;color:#2b5fab;margin:0}h2{font-size:1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dd{margin:0}
label{display:block;margin:.5rem 0}input{display:block;width:100%;padding:.4rem;box-sizing:border-box}
button{margin:.5rem .5rem 0 0;padding:.5rem 1rem}.buttons form{display:inline}
.error{color:#b00020}.cancel button{background:none;border:1px solid #999}
`;

/** A stand-in for logos and banners: the name, drawn. */
export function logoSvg(name: string): string {
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect width="120" height="40" rx="6" fill="#2b5fab"/><text x="60" y="25" font-family="sans-serif" font-size="12" fill="#fff" text-anchor="middle">${name}</text></svg>`
    .value;
}
