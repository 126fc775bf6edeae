/**
 * What upstreams send us: the customer's browser coming back from an upstream's page (GET or POST,
 * whatever the upstream does) and the upstream's server-to-server notifications. Both only start a
 * confirmation with the upstream (app/upstream-sync.ts); neither is believed on its own word.
 * Also the sandbox bank's own authentication page (3-D Secure by redirect).
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TOKEN_RE } from '../../domain/ids.js';
import { formatMinor } from '../../domain/money.js';
import type { Payment } from '../../domain/payment.js';
import type { SandboxBank } from '../../acquirers/sandbox/bank.js';
import { readAttemptState } from '../../app/attempt.js';
import type { NotifyResult } from '../../app/upstream-sync.js';
import { html } from '../html.js';
import { pickLang, translator, type Lang } from './i18n.js';
import { layout } from './layout.js';
import { messagePage } from './pages.js';

export interface UpstreamRouteDeps {
  returned(connectorId: string, token: string, params: Readonly<Record<string, string>>): Promise<Payment | undefined>;
  notified(connectorId: string, rawBody: string, headers: Readonly<Record<string, string>>): Promise<NotifyResult>;
  sandboxBank: SandboxBank;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const MAX_BODY = 64 * 1024;

/** Text fields of a query string or form body (anything else is dropped). */
function textFields(...sources: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const src of sources) {
    if (src === null || typeof src !== 'object') continue;
    for (const [k, v] of Object.entries(src)) if (typeof v === 'string' && !(k in out)) out[k] = v.slice(0, 4096);
  }
  return out;
}

const sendPage = (reply: FastifyReply, status: number, page: string) =>
  reply
    .code(status)
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(page);

function langOf(req: FastifyRequest, fallback?: string): Lang {
  return pickLang(fallback, undefined, req.headers['accept-language']);
}

export async function upstreamRoutes(app: FastifyInstance, deps: UpstreamRouteDeps): Promise<void> {
  // The browser's return: a query string (bKash) or a form post (SSLCommerz).
  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: MAX_BODY });
    const back = async (req: FastifyRequest<{ Params: { connector: string; token: string } }>, reply: FastifyReply) => {
      const { connector, token } = req.params;
      const notFound = () => {
        const t = translator(langOf(req));
        return sendPage(reply, 404, messagePage({ lang: langOf(req), t }, t('notFound'), t('notFoundText')));
      };
      if (!TOKEN_RE.test(token)) return notFound();
      const p = await deps.returned(connector, token, textFields(req.query, req.body));
      if (!p) return notFound();
      // The payment page shows what is known now: the result (and the merchant callback), or a
      // page that waits for the confirmation. It keeps the page's extra segment and language.
      const st = readAttemptState(p.challengeInfo);
      const extra = p.pageExtra ?? st?.extra ?? null;
      const lang = langOf(req, st?.lang);
      const path = `/bank-payment-process/${token}${extra !== null ? `/${encodeURIComponent(extra)}` : ''}`;
      return reply.code(303).header('location', `${path}?lang=${lang}`).header('cache-control', 'no-store').send();
    };
    scope.get('/upstream/:connector/return/:token', back);
    scope.post('/upstream/:connector/return/:token', back);
  });

  // Notifications are verified over their raw bytes, so the body is kept as sent.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY }, (_req, body, done) => done(null, body));
    scope.post<{ Params: { connector: string } }>('/upstream/:connector/notify', async (req, reply) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
      const raw = typeof req.body === 'string' ? req.body : '';
      const r = await deps.notified(req.params.connector, raw, headers);
      if (!r.ok) req.log.warn({ connector: req.params.connector, reason: r.reason }, 'upstream notification refused');
      return reply
        .code(r.ok ? 200 : 400)
        .type('text/plain; charset=utf-8')
        .send(r.ok ? 'OK' : 'refused');
    });
  });

  // The sandbox bank's own page, where a 3-D Secure card is authenticated.
  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 4 * 1024 });
    type Req = FastifyRequest<{ Params: { id: string } }>;
    const view = (req: Req, reply: FastifyReply) => {
      const lang = langOf(req, (req.query as Record<string, string | undefined>).lang);
      const t = translator(lang);
      const s = deps.sandboxBank.authentication(req.params.id);
      if (!s) return sendPage(reply, 404, messagePage({ lang, t }, t('notFound'), t('notFoundText')));
      const body = html`<section class="message"><h1>${t('bankAuthTitle')}</h1>
<p>${t('bankAuthText', { amount: formatMinor(s.amountMinor), merchant: s.merchantName, card: s.masked ?? '' })}</p>
<form method="post" action="/sandbox-bank/authenticate/${req.params.id}">
<button type="submit" name="choice" value="approve" class="primary">${t('bankAuthApprove')}</button>
<button type="submit" name="choice" value="fail" class="secondary">${t('bankAuthFail')}</button>
<button type="submit" name="choice" value="cancel" class="secondary">${t('cancel')}</button>
</form></section>`;
      return sendPage(reply, 200, layout({ lang, t, title: t('bankAuthTitle'), sandbox: true }, body));
    };
    scope.get('/sandbox-bank/authenticate/:id', view);
    scope.post('/sandbox-bank/authenticate/:id', async (req: Req, reply) => {
      const choice = textFields(req.body).choice;
      const c = choice === 'approve' || choice === 'fail' || choice === 'cancel' ? choice : undefined;
      const to = c && deps.sandboxBank.authenticate(req.params.id, c);
      if (!to) return view(req, reply);
      return reply.code(303).header('location', to).header('cache-control', 'no-store').send();
    });
  });
}
