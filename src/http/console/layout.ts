import { html, type Html } from '../html.js';
import type { Session } from '../../app/accounts.js';

export interface ConsoleLayout {
  title: string;
  session?: Session | undefined;
  csrf: string;
  /** The sandbox banner: sandbox and live must look different. */
  sandbox: boolean;
  area: 'admin' | 'dashboard' | 'public';
}

const NAV: Record<'admin' | 'dashboard', [string, string][]> = {
  admin: [
    ['/admin', 'Applications'],
    ['/admin/merchants', 'Merchants'],
    ['/admin/payments', 'Payments'],
    ['/admin/connectors', 'Connectors'],
    ['/admin/settlements', 'Settlements'],
    ['/admin/rates', 'Currency rates'],
    ['/admin/maintenance', 'Maintenance'],
    ['/admin/audit', 'Audit log'],
  ],
  dashboard: [
    ['/dashboard', 'Overview'],
    ['/dashboard/payments', 'Payments'],
    ['/dashboard/settlements', 'Settlements'],
    ['/dashboard/credentials', 'Credentials'],
    ['/dashboard/webhooks', 'Webhooks'],
    ['/dashboard/doctor', 'Callback doctor'],
    ['/dashboard/team', 'Team'],
  ],
};

/** The frame of every console page: navigation, who is logged in, logout, the sandbox banner. */
export function consolePage(o: ConsoleLayout, body: Html, extraHead: Html = html``): string {
  const nav = o.area === 'public' ? [] : NAV[o.area];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${o.title} · wmx-gateway</title>
<link rel="stylesheet" href="/assets/checkout.css">
<link rel="stylesheet" href="/assets/console.css">
${extraHead}
</head>
<body class="console">
<header class="top">
<a class="brand" href="/">wmx-gateway</a>
${
  o.session
    ? html`<span class="who">${o.session.user.name} · ${o.session.user.email} · ${o.session.user.role}</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${o.csrf}"><button type="submit" class="link">Log out</button></form>`
    : ''
}
</header>
${o.sandbox ? html`<p class="sandbox-banner" role="note"><strong>Sandbox</strong>: test mode, no real money moves.</p>` : html`<p class="live-banner" role="note">Live</p>`}
${nav.length > 0 && o.session ? html`<nav class="console-nav" aria-label="Sections"><ul>${nav.map(([href, label]) => html`<li><a href="${href}">${label}</a></li>`)}</ul></nav>` : ''}
<main class="console-main">
${body}
</main>
</body>
</html>`.value;
}

/** A labelled form field with its error next to it; the value is kept on a validation error. */
export function formField(
  name: string,
  label: string,
  opts: {
    value?: string;
    error?: string | undefined;
    type?: string;
    autocomplete?: string;
    hint?: string;
    required?: boolean;
    inputmode?: string;
  } = {},
): Html {
  const id = `f-${name}`;
  const describedBy = [opts.hint ? `${id}-hint` : '', opts.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field${opts.error ? ' has-error' : ''}">
<label for="${id}">${label}</label>
<input id="${id}" name="${name}" type="${opts.type ?? 'text'}"${opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : ''}${
    opts.inputmode ? html` inputmode="${opts.inputmode}"` : ''
  }${opts.required === false ? '' : html` required`}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${
    opts.error ? html` aria-invalid="true"` : ''
  } value="${opts.type === 'password' ? '' : (opts.value ?? '')}">
${opts.hint ? html`<small id="${id}-hint" class="hint">${opts.hint}</small>` : ''}
${opts.error ? html`<p id="${id}-error" class="error">${opts.error}</p>` : ''}
</div>`;
}

export const csrfInput = (token: string): Html => html`<input type="hidden" name="_csrf" value="${token}">`;

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
