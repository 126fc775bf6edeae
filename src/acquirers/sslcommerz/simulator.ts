/**
 * A simulator of SSLCommerz v4 (hosted checkout), following the contract in the research notes
 * (/work/notes/sslcommerz-spec.md) and the sources they cite (developer.sslcommerz.com/doc/v4, the
 * official SDKs sslcommerz/SSLCommerz-PHP and sslcommerz/SSLCommerz-Python): a real HTTP server
 * holding its state in memory. It serves the gateway's tests, `wmx simulate sslcommerz`, and the
 * sandbox gateway (mounted under a prefix) so the demo shop can pay through it.
 *
 * Server to server (every answer HTTP 200 with JSON, failures included):
 *   POST /gwprocess/v4/api.php                               session → GatewayPageURL
 *   GET  /validator/api/validationserverAPI.php              order validation by val_id
 *   GET  /validator/api/merchantTransIDvalidationAPI.php     query by tran_id or sessionkey,
 *                                                           refund initiate, refund query
 * The customer's page: GET /EasyCheckOut/testcde<sessionkey> (cards → OTP, wallets, internet
 * banking, Cancel), which ends by posting the signed fields to success_url / fail_url / cancel_url;
 * the IPN goes to ipn_url before that (see simulator-outcome.ts).
 *
 * Test instruments: cards 4111111111111111 (VISA-Dutch Bangla), 5111111111111111, 371111111111111,
 * 4242424242424242 (paid, risk_level 1 "Not Safe"), 4000000000000002 (declined by the issuer); any
 * future expiry, CVV 111; OTP 111111 or 123456. Wallets: any 01XXXXXXXXX number with that OTP.
 * Internet banking: any user ID and password, except user ID `decline` (FAILED, insufficient funds).
 *
 * Knobs are per session, by the cents of total_amount (so tests run in parallel without switches):
 *   .81 no IPN is sent                     .82 the browser never comes back (page says close it)
 *   .83 the IPN is sent twice              .85 the validation API hangs (hangMs)
 *   .86 refund initiate refused            .87 the transaction records 1.00 less than asked
 *   .88 refund ends cancelled              .89 the IPN comes 300 ms after the browser's return
 *
 * Control API for tests (JSON): POST /_sim/sessions/:sessionkey/pay {method, card?, outcome?}
 * → {status, action, fields} (what the browser would post, and where); POST
 * /_sim/sessions/:sessionkey/ipn sends the IPN again; GET /_sim/sessions/:sessionkey; GET /_sim/stats.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { controlApiParsing, listenSimulator } from '../simulator-server.js';
import { formatMinor } from '../../domain/money.js';
import { createSession, merchantTransaction, refundState, validate, type Params } from './simulator-api.js';
import { WALLET_GW, type Gateway } from './simulator-catalog.js';
import {
  browserReturn,
  completeSession,
  resendIpn,
  type OutcomeRequest,
  type SimContext,
} from './simulator-outcome.js';
import {
  AUTOSUBMIT_JS,
  PAGE_CSS,
  bankPage,
  choosePage,
  logoSvg,
  notFoundPage,
  otpPage,
  pageCsp,
  resultPage,
  walletPage,
  type PageView,
} from './simulator-page.js';
import {
  CANCELLED,
  EXPIRED,
  MAX_WRONG_OTPS,
  accountInstrument,
  checkBankLogin,
  checkCard,
  checkWallet,
  gatewayOf,
  isTestOtp,
} from './simulator-pay.js';
import {
  SSLCOMMERZ_SIMULATOR_DEFAULT_STORE,
  createBooks,
  statusOf,
  type Session,
  type SslcommerzSimulatorStore,
} from './simulator-state.js';

export { SSLCOMMERZ_SIMULATOR_DEFAULT_STORE, type SslcommerzSimulatorStore } from './simulator-state.js';

export interface SslcommerzSimulatorOptions {
  /** Where browsers reach the simulator (GatewayPageURL is built on it). */
  publicUrl: string;
  store: SslcommerzSimulatorStore;
  /** How long a hung answer (knob .85) hangs. */
  hangMs: number;
  /** A session not paid within this is EXPIRED (the doc's "Payment Timeout"). */
  sessionTtlMs: number;
  /** A refund is `processing` this long, then `refunded` (or `cancelled`, knob .88). */
  refundDelayMs: number;
  /** IPN attempts after a failed first one. */
  ipnRetries: number;
  now: () => number;
}

const DEFAULTS = {
  store: SSLCOMMERZ_SIMULATOR_DEFAULT_STORE,
  hangMs: 60_000,
  sessionTtlMs: 30 * 60_000,
  refundDelayMs: 2_000,
  ipnRetries: 3,
  now: Date.now,
} as const;

/** A Fastify plugin; register it with a `prefix` matching publicUrl's path. */
export function sslcommerzSimulatorPlugin(
  opts: Partial<SslcommerzSimulatorOptions> & { publicUrl: string },
): FastifyPluginAsync {
  const publicUrl = opts.publicUrl.replace(/\/+$/, '');
  return simulatorPlugin(opts, () => publicUrl);
}

function simulatorPlugin(opts: Partial<SslcommerzSimulatorOptions>, publicUrl: () => string): FastifyPluginAsync {
  return async (app) => {
    const closing = new AbortController();
    const ctx: SimContext = {
      books: createBooks(),
      store: opts.store ?? DEFAULTS.store,
      publicUrl,
      now: opts.now ?? DEFAULTS.now,
      hangMs: opts.hangMs ?? DEFAULTS.hangMs,
      sessionTtlMs: opts.sessionTtlMs ?? DEFAULTS.sessionTtlMs,
      refundDelayMs: opts.refundDelayMs ?? DEFAULTS.refundDelayMs,
      ipnRetries: opts.ipnRetries ?? DEFAULTS.ipnRetries,
      closing: closing.signal,
    };
    // Hangs, IPN retries and waits end before the server stops, so closing never waits them out.
    app.addHook('preClose', (done) => {
      closing.abort();
      done();
    });
    app.removeAllContentTypeParsers();
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    await app.register(apiRoutes, { ctx });
    await app.register(pageRoutes, { ctx });
    await app.register(controlRoutes, { prefix: '/_sim', ctx });
  };
}

type Query = Record<string, string | string[] | undefined>;

/** Request parameters as PHP's $_REQUEST would see them: the query, then the form body; first value wins. */
function params(query: unknown, body: unknown): Params {
  const out: Params = {};
  for (const src of [query, body]) {
    if (typeof src !== 'object' || src === null) continue;
    for (const [k, v] of Object.entries(src as Query)) {
      const value = Array.isArray(v) ? v[0] : v;
      if (typeof value === 'string' && !(k in out)) out[k] = value;
    }
  }
  return out;
}

async function apiRoutes(app: FastifyInstance, opts: { ctx: SimContext }): Promise<void> {
  const { ctx } = opts;
  app.post('/gwprocess/v4/api.php', async (req) => createSession(ctx, params(undefined, req.body)));
  const validation = async (req: FastifyRequest, reply: FastifyReply) => {
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    const body = await validate(ctx, params(req.query, req.body), AbortSignal.any([gone.signal, ctx.closing]));
    if (body === undefined) return reply.hijack(); // the caller left, or the server is closing
    return body;
  };
  app.get('/validator/api/validationserverAPI.php', validation);
  app.post('/validator/api/validationserverAPI.php', validation);
  const merchant = async (req: { query: unknown; body: unknown }) =>
    merchantTransaction(ctx, params(req.query, req.body));
  app.get('/validator/api/merchantTransIDvalidationAPI.php', merchant);
  app.post('/validator/api/merchantTransIDvalidationAPI.php', merchant);
}

const PAGE_PREFIX = 'testcde';

async function pageRoutes(app: FastifyInstance, opts: { ctx: SimContext }): Promise<void> {
  const { ctx } = opts;
  const base = () => ctx.publicUrl();

  const send = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', pageCsp(base()))
      .header('cache-control', 'no-store')
      .send(body);

  const sessionOf = (page: string): Session | undefined =>
    page.startsWith(PAGE_PREFIX) ? ctx.books.sessions.get(page.slice(PAGE_PREFIX.length).toUpperCase()) : undefined;

  const view = (s: Session): PageView => ({
    base: base(),
    page: `${base()}/EasyCheckOut/${PAGE_PREFIX}${s.sessionkey.toLowerCase()}`,
    storeName: 'WMX Simulator Store',
    tranId: s.tranId,
    amount: `${formatMinor(s.currencyMinor)} ${s.currencyType}`,
  });

  const showResult = (reply: FastifyReply, s: Session) => {
    const r = browserReturn(s);
    const o = s.outcome;
    return send(reply, 200, resultPage(view(s), { status: o?.status ?? 'EXPIRED', error: o?.error ?? '', ...r }));
  };

  const finish = async (reply: FastifyReply, s: Session, req: OutcomeRequest) => {
    await completeSession(ctx, s, req);
    return showResult(reply, s);
  };

  /** The session if it can still be paid; otherwise the reply already sent (not found, ended, expired). */
  async function open(page: string, reply: FastifyReply): Promise<Session | FastifyReply> {
    const s = sessionOf(page);
    if (s === undefined) return send(reply, 404, notFoundPage(base()));
    if (s.outcome !== undefined) return showResult(reply, s);
    if (statusOf(s, ctx.now(), ctx.sessionTtlMs) === 'EXPIRED') return finish(reply, s, EXPIRED);
    return s;
  }
  const isSession = (x: Session | FastifyReply): x is Session => 'sessionkey' in x;
  const form = (body: unknown, name: string): string => params(undefined, body)[name]?.trim() ?? '';

  app.get<{ Params: { page: string }; Querystring: Query }>('/EasyCheckOut/:page', async (req, reply) => {
    const s = await open(req.params.page, reply);
    if (!isSession(s)) return s;
    const v = view(s);
    if (s.pending?.kind === 'otp') return send(reply, 200, otpPage(v, s.pending.instrument.cardNo));
    // redirectGatewayURL + gw: straight to that gateway's step.
    const cardname = typeof req.query.cardname === 'string' ? req.query.cardname : '';
    const g = s.gateways.find((x) => x.gw === cardname);
    if (g?.type === 'mobilebanking') return send(reply, 200, walletPage(v, g));
    if (g?.type === 'internetbanking') return send(reply, 200, bankPage(v, g));
    return send(reply, 200, choosePage(v, s.gateways, undefined, g !== undefined));
  });

  app.post<{ Params: { page: string; step: string } }>('/EasyCheckOut/:page/:step', async (req, reply) => {
    const s = await open(req.params.page, reply);
    if (!isSession(s)) return s;
    const v = view(s);
    const gw = (type: Gateway['type']) => gatewayOf(s, form(req.body, 'gw'), type);
    switch (req.params.step) {
      case 'cancel':
        return finish(reply, s, CANCELLED);
      case 'card': {
        const step = checkCard(
          s,
          {
            number: form(req.body, 'card_number'),
            expiry: form(req.body, 'card_expiry'),
            cvv: form(req.body, 'card_cvv'),
          },
          ctx.now(),
        );
        if (step.next === 'retry') return send(reply, 200, choosePage(v, s.gateways, step.message));
        if (step.next === 'outcome') return finish(reply, s, step.outcome);
        s.pending = { kind: 'otp', instrument: step.instrument, wrongOtps: 0 };
        return send(reply, 200, otpPage(v, step.instrument.cardNo));
      }
      case 'otp': {
        const p = s.pending;
        if (p?.kind !== 'otp') return send(reply, 200, choosePage(v, s.gateways));
        if (isTestOtp(form(req.body, 'otp')))
          return finish(reply, s, { status: 'VALID', error: '', instrument: p.instrument });
        p.wrongOtps++;
        if (p.wrongOtps >= MAX_WRONG_OTPS)
          return finish(reply, s, { status: 'FAILED', error: 'OTP verification failed', instrument: p.instrument });
        return send(reply, 200, otpPage(v, p.instrument.cardNo, 'Wrong OTP'));
      }
      case 'wallet': {
        const g = gw('mobilebanking');
        return g ? send(reply, 200, walletPage(v, g)) : send(reply, 200, choosePage(v, s.gateways));
      }
      case 'wallet-pay': {
        const g = gw('mobilebanking');
        if (!g) return send(reply, 200, choosePage(v, s.gateways));
        const error = checkWallet(form(req.body, 'wallet'), form(req.body, 'otp'));
        if (error !== undefined) return send(reply, 200, walletPage(v, g, error));
        return finish(reply, s, { status: 'VALID', error: '', instrument: accountInstrument(g.gw) });
      }
      case 'bank': {
        const g = gw('internetbanking');
        return g ? send(reply, 200, bankPage(v, g)) : send(reply, 200, choosePage(v, s.gateways));
      }
      case 'bank-login': {
        const g = gw('internetbanking');
        if (!g) return send(reply, 200, choosePage(v, s.gateways));
        const user = form(req.body, 'user_id');
        const error = checkBankLogin(user, form(req.body, 'password'));
        if (error !== undefined) return send(reply, 200, bankPage(v, g, error));
        if (user.toLowerCase() === 'decline')
          return finish(reply, s, {
            status: 'FAILED',
            error: 'Insufficient funds',
            instrument: accountInstrument(g.gw),
          });
        return finish(reply, s, { status: 'VALID', error: '', instrument: accountInstrument(g.gw) });
      }
      default:
        return send(reply, 404, notFoundPage(base()));
    }
  });

  // Assets: the page's style and script, and stand-ins for the logos the session answer links to.
  app.get('/_sim/page.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(PAGE_CSS));
  app.get('/_sim/autosubmit.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(AUTOSUBMIT_JS),
  );
  const logo = async (req: { params: { name: string } }, reply: FastifyReply) =>
    reply.type('image/svg+xml').send(logoSvg(req.params.name.replace(/\.png$/, '')));
  app.get<{ Params: { name: string } }>('/stores/logos/:name', logo);
  app.get<{ Params: { name: string } }>('/gwprocess/v4/image/gw/:name', logo);
}

type PayOutcome = 'success' | 'failed' | 'cancelled' | 'expired';

/** The control API for tests: JSON in and out, `{error}` on a refusal. */
async function controlRoutes(app: FastifyInstance, opts: { ctx: SimContext }): Promise<void> {
  const { ctx } = opts;
  controlApiParsing(app);

  app.post<{ Params: { key: string }; Body: { method?: unknown; card?: unknown; outcome?: unknown } | undefined }>(
    '/sessions/:key/pay',
    async (req, reply) => {
      const s = ctx.books.sessions.get(req.params.key);
      if (!s) return reply.code(404).send({ error: 'unknown sessionkey' });
      if (s.outcome !== undefined) return reply.code(409).send({ error: `session already ended: ${s.outcome.status}` });
      const { method = 'card', card = '4111111111111111', outcome = 'success' } = req.body ?? {};
      if (!['success', 'failed', 'cancelled', 'expired'].includes(outcome as string))
        return reply.code(400).send({ error: 'outcome must be success, failed, cancelled or expired' });
      const o = outcome as PayOutcome;
      let request: OutcomeRequest;
      if (o === 'cancelled') request = CANCELLED;
      else if (o === 'expired') request = EXPIRED;
      else if (method === 'card') {
        if (typeof card !== 'string') return reply.code(400).send({ error: 'card must be a card number' });
        const step = checkCard(
          s,
          // CVV 111 is the sandbox's for every test card, Amex included (3 or 4 digits accepted).
          { number: card, expiry: '12/40', cvv: '111' },
          ctx.now(),
        );
        if (step.next === 'retry') return reply.code(422).send({ error: step.message });
        request =
          step.next === 'outcome'
            ? step.outcome
            : o === 'failed'
              ? { status: 'FAILED', error: 'Declined by issuer', instrument: step.instrument }
              : { status: 'VALID', error: '', instrument: step.instrument };
      } else {
        const gwKey =
          method === 'internet_banking'
            ? s.gateways.find((g) => g.type === 'internetbanking')?.gw
            : typeof method === 'string' && method in WALLET_GW
              ? WALLET_GW[method as keyof typeof WALLET_GW]
              : undefined;
        const g = gwKey === undefined ? undefined : s.gateways.find((x) => x.gw === gwKey);
        if (!g) return reply.code(422).send({ error: `this session does not offer ${String(method)}` });
        const instrument = accountInstrument(g.gw);
        request =
          o === 'failed'
            ? { status: 'FAILED', error: 'Insufficient funds', instrument }
            : { status: 'VALID', error: '', instrument };
      }
      const r = await completeSession(ctx, s, request);
      return { status: request.status, action: r.action, fields: r.fields };
    },
  );

  app.post<{ Params: { key: string } }>('/sessions/:key/ipn', async (req, reply) => {
    const s = ctx.books.sessions.get(req.params.key);
    if (!s) return reply.code(404).send({ error: 'unknown sessionkey' });
    if (s.outcome === undefined || s.ipnUrl === undefined)
      return reply.code(409).send({ error: 'no outcome or no ipn_url to notify' });
    return { delivered: await resendIpn(ctx, s) };
  });

  app.get<{ Params: { key: string } }>('/sessions/:key', async (req, reply) => {
    const s = ctx.books.sessions.get(req.params.key);
    if (!s) return reply.code(404).send({ error: 'unknown sessionkey' });
    const now = ctx.now();
    return {
      sessionkey: s.sessionkey,
      tran_id: s.tranId,
      status: statusOf(s, now, ctx.sessionTtlMs),
      amount: formatMinor(s.bdtMinor),
      currency_type: s.currencyType,
      currency_amount: formatMinor(s.currencyMinor),
      knob: s.knob ?? null,
      gateways: s.gateways.map((g) => g.gw),
      ipn_url: s.ipnUrl ?? null,
      val_id: s.outcome?.valId ?? null,
      bank_tran_id: s.outcome?.bankTranId ?? null,
      validations: s.validations,
      ipn: s.ipn,
      refunds: s.refunds.map((r) => ({
        refund_ref_id: r.refundRefId,
        amount: formatMinor(r.amountMinor),
        status: refundState(ctx, r, now),
        remarks: r.remarks,
      })),
      fields: s.outcome?.fields ?? null,
    };
  });

  app.get('/stats', async () => ({ ...ctx.books.stats }));
}

/** Standalone server for tests and the CLI. port 0 = ephemeral. Resolves once listening. */
export async function startSslcommerzSimulator(
  opts: Partial<SslcommerzSimulatorOptions> & { port?: number; host?: string } = {},
): Promise<{ url: string; store: SslcommerzSimulatorStore; close(): Promise<void> }> {
  // GatewayPageURL reads the public URL lazily.
  const { url, close } = await listenSimulator((publicUrl) => simulatorPlugin(opts, publicUrl), opts);
  return { url, store: opts.store ?? DEFAULTS.store, close };
}
