import type { FastifyInstance } from 'fastify';
import { ERROR_MESSAGES } from '../../domain/errors.js';
import { EMI_RATES_BPS } from '../../domain/emi.js';
import { formatBps } from '../../domain/money.js';
import { PAYMENT_METHOD_CODES } from '../../domain/payment.js';
import { html } from '../html.js';
import { layout } from '../checkout/layout.js';
import { translator } from '../checkout/i18n.js';

export interface SiteDeps {
  mode: 'sandbox' | 'live';
  publicUrl: string;
  demoAvailable: boolean;
  instruments: { instrument: string; outcome: string }[];
  codes: { label: string; cardCode: string }[];
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const t = translator('en');

/**
 * The home page and /docs/protocol: what the gateway is, and the protocol's published tables.
 * /docs itself is the API reference (Swagger UI over the OpenAPI document, src/http/api/openapi.ts).
 */
export async function siteRoutes(app: FastifyInstance, deps: SiteDeps): Promise<void> {
  const home = layout(
    { lang: 'en', t, title: 'wmx-gateway', sandbox: deps.mode === 'sandbox' },
    html`<section><h1>wmx-gateway</h1>
<p>An open-source payment gateway that speaks the Walletmix v2 merchant protocol: shops already integrated with Walletmix work by changing only the base URL.
Merchants call <code>check-server</code>, <code>init-payment-process</code> and <code>check-payment</code>; customers pay on the hosted page by card, mobile wallet, internet banking or EMI.</p>
<ul>
${deps.demoAvailable ? html`<li><a href="/demo">Try the demo shop</a>: a whole sandbox payment in a minute.</li>` : ''}
<li><a href="/docs/protocol">The merchant protocol</a> (base URL <code>${deps.publicUrl}</code>): endpoints, error codes, payment codes and sandbox test instruments.</li>
<li><a href="/docs">API reference</a>: the JSON API (<code>/api/v1</code>: payments, refunds, balance, settlements) and the legacy protocol, from the <a href="/api/v1/openapi.json">OpenAPI document</a>.</li>
</ul></section>`,
  );

  const docs = layout(
    { lang: 'en', t, title: 'wmx-gateway documentation', sandbox: deps.mode === 'sandbox' },
    html`<section id="protocol"><h1>Merchant protocol</h1>
<p>Base URL: <code>${deps.publicUrl}</code>. The <a href="/docs">API reference</a> describes these endpoints and the JSON API (<code>/api/v1</code>) field by field. Business answers are HTTP 200 JSON; POST bodies may be urlencoded, multipart or JSON.
Credentials travel in the body: <code>wmx_id</code>, <code>access_app_key</code> and <code>authorization</code> = <code>Basic base64(username:password)</code>.</p>
<table><thead><tr><th>Endpoint</th><th>Purpose</th></tr></thead><tbody>
<tr><td><code>GET /check-server</code></td><td>Where to send init, and the payment page base URL</td></tr>
<tr><td><code>POST /init-payment-process</code></td><td>Create a payment; answers <code>{"statusCode":"1000","statusMsg":"Success","token":"…"}</code>. Idempotent on <code>merchant_ref_id</code> for 24 h.</td></tr>
<tr><td><code>GET /bank-payment-process/{token}</code></td><td>The hosted payment page; the result is posted to <code>callback_url</code> as <code>merchant_txn_data</code> with <code>wmx_signature</code></td></tr>
<tr><td><code>POST /check-payment</code></td><td>The authoritative record: verify <code>wmx_id</code>, <code>txn_status == "1000"</code> and the amounts</td></tr>
<tr><td><code>GET /get-emi-bank-list</code></td><td>Banks offering EMI</td></tr>
<tr><td><code>GET /abort</code></td><td>The page the mobile SDKs watch for</td></tr>
</tbody></table>
<h2>Error codes</h2>
<table><tbody>${Object.entries(ERROR_MESSAGES).map(([code, msg]) => html`<tr><td><code>${code}</code></td><td>${msg}</td></tr>`)}</tbody></table>
<p><code>txn_status</code>: <code>"1000"</code> paid, <code>"1001"</code> rejected by the bank, <code>"1009"</code> cancelled or expired, <code>null</code> not finished.
check-payment's <code>statusCode</code> is the number 1000 when paid, else 1008.</p>
<h2>Payment codes</h2>
<table><thead><tr><th><code>payment_method</code></th><th>Method</th></tr></thead><tbody>${Object.entries(
      PAYMENT_METHOD_CODES,
    ).map(([m, code]) => html`<tr><td><code>${code}</code></td><td>${m.replace('_', ' ')}</td></tr>`)}</tbody></table>
<table><thead><tr><th><code>card_code</code></th><th><code>payment_card</code></th></tr></thead><tbody>${deps.codes.map(
      (c) => html`<tr><td><code>${c.cardCode}</code></td><td>${c.label}</td></tr>`,
    )}</tbody></table>
<h2>EMI surcharge</h2>
<table><tbody>${Object.entries(EMI_RATES_BPS).map(([n, bps]) => html`<tr><td>${n} months</td><td>${formatBps(bps)} %</td></tr>`)}</tbody></table>
</section>
<section id="sandbox"><h2>Sandbox test instruments</h2>
<p>Cards take any future expiry and any CVV of the right length (4 for Amex).</p>
<table><tbody>${deps.instruments.map((i) => html`<tr><td><code>${i.instrument}</code></td><td>${i.outcome}</td></tr>`)}</tbody></table>
</section>`,
  );

  const send = (body: string) => (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(body);
  app.get('/', send(home));
  app.get('/docs/protocol', send(docs));
  // Browsers ask for it on every page: no icon, said once a day instead of a 404 per page view.
  app.get('/favicon.ico', (_req, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());
}
