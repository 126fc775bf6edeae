import { html, type Html } from '../html.js';
import type { Lang, Translate } from './i18n.js';

export interface LayoutOptions {
  lang: Lang;
  t: Translate;
  title: string;
  /** Link that switches the language, keeping the page; omitted on pages that must not be re-requested. */
  switchHref?: string;
  sandbox?: boolean;
  /** Seconds after which the page reloads itself (no JavaScript needed). */
  refreshSeconds?: number;
  /** Where the refresh goes; without it the browser re-requests the page's own URL. */
  refreshUrl?: string;
}

/** The page frame shared by the checkout, result and demo pages. Assets come from /assets (CSP: 'self'). */
export function layout(o: LayoutOptions, body: Html): string {
  return html`<!doctype html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${o.refreshSeconds ? html`<meta http-equiv="refresh" content="${o.refreshSeconds}${o.refreshUrl ? `; url=${o.refreshUrl}` : ''}">` : ''}
<title>${o.title}</title>
<link rel="stylesheet" href="/assets/checkout.css">
<script src="/assets/checkout.js" defer></script>
</head>
<body>
<header class="top">
<span class="brand">wmx-gateway</span>
${o.switchHref ? html`<a class="lang" href="${o.switchHref}" lang="${o.lang === 'en' ? 'bn' : 'en'}">${o.t('switchLang')}</a>` : ''}
</header>
${o.sandbox ? html`<p class="sandbox-banner" role="note">${o.t('sandbox')}</p>` : ''}
<main>
${body}
</main>
</body>
</html>`.value;
}
