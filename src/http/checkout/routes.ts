import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EMI_RATES_BPS, EMI_PERIODS } from '../../domain/emi.js';
import { TOKEN_RE } from '../../domain/ids.js';
import { asciiDigits } from '../../domain/card.js';
import type { Merchant } from '../../domain/merchant.js';
import { percentOf } from '../../domain/money.js';
import type { Payment } from '../../domain/payment.js';
import { parseProductDesc } from '../../domain/product-desc.js';
import { methodOfKey, type Instrument, type MethodKey, type WalletProvider } from '../../acquirers/port.js';
import type { Offer } from '../../acquirers/router.js';
import { bankAmountWith, type ChallengeState, type EmiChoice, type PayResult } from '../../app/pay.js';
import { readAttemptState } from '../../app/attempt.js';
import { callbackFields } from '../../app/callback.js';
import {
  atUpstreamPage,
  checkoutPage,
  messagePage,
  otpPage,
  redirectPage,
  resultPage,
  type CheckoutView,
  type Choice,
  type ChoiceView,
  type PageContext,
} from './pages.js';
import { bankText, pickLang, translator, type Translate } from './i18n.js';
import { readInstrument } from './forms.js';
import { retryAfterSeconds, type AbuseLimits } from '../../app/rate-limit.js';

export interface CheckoutDeps {
  load(token: string): Promise<Payment | undefined>;
  /** The methods the payment can be paid with now, each with the connector it routes to. */
  offers(p: Payment, merchant: Merchant): Promise<Offer[]>;
  submit(
    token: string,
    key: MethodKey,
    instrument: Instrument | null,
    emi: EmiChoice | null,
    pageExtra: string | null,
    lang?: string,
  ): Promise<PayResult | undefined>;
  /** A look at the upstream now for a payment being confirmed, if one is due. */
  nudge(p: Payment): Promise<Payment>;
  /** A connector's customer-facing name. */
  connectorName(id: string | null): Promise<string>;
  verify(token: string, otp: string, pageExtra: string | null): Promise<PayResult | undefined>;
  cancel(token: string, pageExtra: string | null): Promise<Payment | undefined>;
  merchantById(id: string): Promise<Merchant | undefined>;
  signingSecretOf(merchant: Merchant): string;
  emiBanks(): { key: string; name: string }[];
  /** Sandbox instruments to list on the page for sandbox payments. */
  instruments: { instrument: string; outcome: string }[];
  sandboxMode: boolean;
  now(): number;
  /** Per-address limit on wrong OTP / PIN / password tries, across payments (the per-payment
   * three-try rule alone lets one address guess on many payments at once). */
  payTries: Pick<AbuseLimits, 'payTryWaitMs' | 'payTryFailed'>;
}

const CHECKOUT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
// The result page posts to the merchant's callback, which may redirect anywhere: no form-action there
// (nor on a page whose form goes on to an upstream's page, see renderState).
const RESULT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

type Params = { token: string; extra?: string };
type Body = Record<string, string | undefined>;
const CHOICES: readonly Choice[] = ['card', 'mobile_wallet', 'internet_banking', 'bkash', 'nagad', 'rocket'];
const WALLETS: readonly WalletProvider[] = ['bkash', 'nagad', 'rocket'];
const isChoice = (v: unknown): v is Choice => CHOICES.includes(v as Choice);

/** The chooser's entries for these offers: our forms, and each method paid on an upstream's page. */
function choicesOf(offers: readonly Offer[], t: Translate): { choices: ChoiceView[]; wallets: WalletProvider[] } {
  const choices: ChoiceView[] = [];
  const wallets = WALLETS.filter((w) => offers.some((o) => o.key === w && o.connector.capabilities.collectsInstrument));
  const walletNames: Record<WalletProvider, string> = { bkash: 'bKash', nagad: 'Nagad', rocket: 'Rocket' };
  for (const o of offers) {
    const redirect = o.connector.capabilities.collectsInstrument ? {} : { redirectTo: o.connector.displayName };
    if (o.key === 'card') choices.push({ choice: 'card', label: t('methodCard'), ...redirect });
    else if (o.key === 'internet_banking')
      choices.push({ choice: 'internet_banking', label: t('methodBank'), ...redirect });
    else if (!o.connector.capabilities.collectsInstrument)
      choices.push({ choice: o.key, label: walletNames[o.key], ...redirect });
    else if (o.key === wallets[0]) choices.push({ choice: 'mobile_wallet', label: t('methodWallet') });
  }
  return { choices, wallets };
}

/** The routed method a posted choice (and wallet provider) means. */
function keyOfChoice(choice: Choice, provider: string | undefined, wallets: readonly WalletProvider[]): MethodKey {
  if (choice !== 'mobile_wallet') return choice;
  return wallets.find((w) => w === provider) ?? wallets[0] ?? 'bkash';
}

export async function checkoutRoutes(app: FastifyInstance, deps: CheckoutDeps): Promise<void> {
  await app.register(formbody, { bodyLimit: 16 * 1024 });

  function context(req: FastifyRequest, token: string, extra: string | null, sandbox: boolean) {
    const q = req.query as Record<string, string | undefined>;
    const body = formBody(req.body);
    const lang = pickLang(body.lang ?? q.lang, undefined, req.headers['accept-language']);
    const ctx: PageContext = {
      lang,
      t: translator(lang),
      basePath: `/bank-payment-process/${token}${extra !== null ? '/' + encodeURIComponent(extra) : ''}`,
      extra,
      sandbox,
    };
    return ctx;
  }

  const send = (reply: FastifyReply, status: number, page: string, csp = CHECKOUT_CSP) =>
    reply
      .code(status)
      .header('content-security-policy', csp)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(page);

  function notFound(req: FastifyRequest, reply: FastifyReply) {
    const lang = pickLang(
      (req.query as Record<string, string | undefined>).lang,
      undefined,
      req.headers['accept-language'],
    );
    const t = translator(lang);
    return send(reply, 404, messagePage({ lang, t }, t('notFound'), t('notFoundText')));
  }

  function emiOffers(merchant: Merchant, p: Payment): CheckoutView['emi'] {
    if (!merchant.emiAllowed) return undefined;
    return {
      banks: deps.emiBanks(),
      offers: EMI_PERIODS.map((period) => {
        const bps = EMI_RATES_BPS[period] ?? 0;
        const chargeMinor = percentOf(p.amountBdtMinor, bps);
        return { period, bps, chargeMinor, totalMinor: p.amountBdtMinor + chargeMinor - p.discountMinor };
      }),
    };
  }

  async function renderState(
    req: FastifyRequest,
    reply: FastifyReply,
    p: Payment,
    extra: string | null,
    opts: {
      method?: Choice;
      values?: Record<string, string>;
      errors?: Record<string, string>;
      notice?: string;
      otpError?: string;
    } = {},
  ): Promise<FastifyReply> {
    const merchant = await deps.merchantById(p.merchantId);
    if (!merchant) return notFound(req, reply);
    const sandbox = deps.sandboxMode || merchant.sandbox;
    const ctx = context(req, p.token, extra, sandbox);
    const t: Translate = ctx.t;
    if (p.status !== 'pending') {
      const fields = callbackFields(p, deps.signingSecretOf(merchant), deps.now(), extra);
      return send(
        reply,
        200,
        resultPage(ctx, { merchantName: merchant.name, payment: p, callbackUrl: p.callbackUrl, fields }),
        RESULT_CSP,
      );
    }
    if (p.processingUntil !== null && p.processingUntil > deps.now()) {
      // Refresh to the payment page itself (in the customer's language): this page may be the answer
      // to a POST, whose URL (…/pay, …/verify) a GET would read as the extra path segment.
      return send(
        reply,
        200,
        messagePage(ctx, t('busy'), t('busyText'), {
          refresh: { seconds: 2, url: withLangQuery(ctx.basePath, ctx.lang) },
        }),
      );
    }
    if (p.upstreamState !== null) return renderAtUpstream(req, reply, p, merchant.name, ctx);
    if (merchant.status !== 'active') {
      // Suspended since the payment began: no form to fill in, as paying would be refused.
      return send(reply, 200, messagePage(ctx, t('unavailable'), t('unavailableText'), { cancel: ctx }));
    }
    if (p.challengeRef !== null) {
      return send(
        reply,
        200,
        otpPage(ctx, {
          merchantName: merchant.name,
          payment: p,
          ...challengeView(p),
          error: opts.otpError,
          notice: opts.notice,
        }),
      );
    }
    const q = req.query as Record<string, string | undefined>;
    const { choices, wallets } = choicesOf(await deps.offers(p, merchant), t);
    const asked = opts.method ?? (isChoice(q.method) ? q.method : undefined);
    const chosen = choices.find((c) => c.choice === asked) ?? choices[0];
    const method = chosen?.choice ?? 'card';
    const view: CheckoutView = {
      merchantName: merchant.name,
      payment: p,
      order: parseProductDesc(p.productDesc),
      method,
      choices,
      walletProviders: wallets,
      emi: emiOffers(merchant, p),
      values: opts.values ?? {},
      errors: opts.errors ?? {},
      notice: opts.notice,
      instruments: sandbox ? deps.instruments : [],
    };
    // A form to correct is still a page that worked (200): WebView SDKs take an HTTP error on the
    // main frame for a failed payment and would close the page over a typo.
    // A method paid on an upstream's page: its form holds no instrument, and its POST is answered by
    // a 303 to the upstream's origin, which browsers check against form-action (CSP 3, "form-action"
    // applies to redirects): that page goes without it. Pages with card or wallet fields keep 'self'.
    return send(reply, 200, checkoutPage(ctx, view), chosen?.redirectTo !== undefined ? RESULT_CSP : CHECKOUT_CSP);
  }

  /**
   * A payment the customer took to an upstream: back on our page, the way to continue there (or to
   * cancel); while its outcome is being confirmed, a page that refreshes itself until it is known.
   */
  async function renderAtUpstream(
    req: FastifyRequest,
    reply: FastifyReply,
    payment: Payment,
    merchantName: string,
    ctx: PageContext,
  ): Promise<FastifyReply> {
    const { t } = ctx;
    const p = await deps.nudge(payment);
    if (p.status !== 'pending' || p.upstreamState === null) return renderState(req, reply, p, ctx.extra);
    const name = await deps.connectorName(p.connectorId);
    const target = readAttemptState(p.challengeInfo)?.redirect;
    const leased = p.processingUntil !== null && p.processingUntil > deps.now();
    if (p.upstreamState === 'redirected' && target && !leased) {
      return send(reply, 200, atUpstreamPage(ctx, { merchantName, payment: p, name, target }), RESULT_CSP);
    }
    return send(
      reply,
      200,
      messagePage(ctx, t('confirming'), t('confirmingText', { name }), {
        refresh: { seconds: 3, url: withLangQuery(ctx.basePath, ctx.lang) },
      }),
    );
  }

  async function show(req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) {
    const { token } = req.params;
    if (!TOKEN_RE.test(token)) return notFound(req, reply);
    const p = await deps.load(token);
    if (!p) return notFound(req, reply);
    return renderState(req, reply, p, req.params.extra ?? null);
  }
  app.get('/bank-payment-process/:token', show);
  app.get('/bank-payment-process/:token/:extra', show);
  // No token, or more path than a token and its extra segment: the same "payment not found" page.
  app.get('/bank-payment-process', notFound);
  app.get('/bank-payment-process/:token/:extra/*', notFound);

  /**
   * When this address has spent its wrong tries: a page saying how long to wait, with Retry-After and
   * a way back to the shop (HTTP 200, for the WebView SDKs as above); else undefined.
   */
  function tooManyTries(req: FastifyRequest, reply: FastifyReply, token: string, extra: string | null) {
    const waitMs = deps.payTries.payTryWaitMs(req.ip);
    if (waitMs === 0) return undefined;
    const seconds = retryAfterSeconds(waitMs);
    const ctx = context(req, token, extra, false);
    reply.header('retry-after', String(seconds));
    return send(
      reply,
      200,
      messagePage(ctx, ctx.t('tooManyTries'), ctx.t('tooManyTriesText', { n: seconds }), { cancel: ctx }),
    );
  }

  /** A wrong secret was entered (or the last wrong one declined the payment): counts against the address. */
  function countWrongTry(req: FastifyRequest, r: PayResult | undefined, otpStep: boolean): void {
    if (!r) return;
    const wrong =
      (r.kind === 'retry' && (r.field === 'otp' || r.field === 'pin' || r.field === 'password')) ||
      (otpStep && r.kind === 'final' && r.payment.status !== 'approved');
    if (wrong) deps.payTries.payTryFailed(req.ip);
  }

  /**
   * After a POST that ended the payment or opened its code step, the customer is sent to the token's
   * own page (POST, redirect, GET): Back from the shop then lands on that page, which re-sends the
   * result, instead of on the browser's "Confirm Form Resubmission", and a reload never re-posts the
   * card. The extra path segment and the language travel in the URL.
   */
  const toPaymentPage = (reply: FastifyReply, ctx: PageContext) =>
    reply
      .code(303)
      .header('location', withLangQuery(ctx.basePath, ctx.lang))
      .header('cache-control', 'no-store')
      .send();

  const extraOf = (b: Body) => (b.extra !== undefined && b.extra !== '' ? b.extra.slice(0, 255) : null);

  async function answer(
    req: FastifyRequest,
    reply: FastifyReply,
    r: PayResult | undefined,
    extra: string | null,
    method?: Choice,
    values?: Record<string, string>,
  ) {
    if (!r) return notFound(req, reply);
    const ctx = context(req, r.payment.token, extra, false);
    const t = ctx.t;
    switch (r.kind) {
      case 'final':
      case 'challenge':
        return toPaymentPage(reply, ctx);
      case 'busy':
      case 'needs_instrument':
        return renderState(req, reply, r.payment, extra, method ? { method } : {});
      case 'redirect': {
        if (r.target.method === 'GET') {
          return reply.code(303).header('location', r.target.url).header('cache-control', 'no-store').send();
        }
        const name = await deps.connectorName(r.payment.connectorId);
        return send(reply, 200, redirectPage(ctx, name, r.target), RESULT_CSP);
      }
      case 'try_again': {
        const name = await deps.connectorName(r.payment.connectorId);
        return renderState(req, reply, r.payment, extra, {
          ...(method ? { method } : {}),
          notice: t('tryAgainText', { name }),
        });
      }
      case 'unavailable':
        return send(reply, 200, messagePage(ctx, t('unavailable'), t('unavailableText'), { cancel: ctx }));
      case 'retry': {
        const left = r.attemptsLeft === 1 ? t('triesLeftOne') : t('triesLeft', { n: r.attemptsLeft });
        const stop = ctx.lang === 'bn' ? '।' : '.';
        const notice = `${bankText(ctx.lang, r.message).replace(/[^.!?।]$/, `$&${stop}`)} ${left}`;
        if (r.field === 'otp') return renderState(req, reply, r.payment, extra, { otpError: notice });
        // Keep what the customer typed (never a PIN or password) so only the wrong part is re-entered.
        return renderState(req, reply, r.payment, extra, {
          ...(method ? { method } : {}),
          ...(values ? { values } : {}),
          notice,
        });
      }
    }
  }

  app.post<{ Params: Params }>('/bank-payment-process/:token/pay', async (req, reply) => {
    const { token } = req.params;
    if (!TOKEN_RE.test(token)) return notFound(req, reply);
    const body = formBody(req.body);
    const extra = extraOf(body);
    const p = await deps.load(token);
    if (!p) return notFound(req, reply);
    if (p.status !== 'pending') return toPaymentPage(reply, context(req, token, extra, false));
    const merchant = await deps.merchantById(p.merchantId);
    if (!merchant) return notFound(req, reply);
    const ctx = context(req, token, extra, false);
    const t = ctx.t;
    const offers = await deps.offers(p, merchant);
    const { choices, wallets } = choicesOf(offers, t);
    const method = isChoice(body.method) ? body.method : 'card';
    const key = keyOfChoice(method, body.provider, wallets);
    const offer = offers.find((o) => o.key === key);
    if (!offer || !choices.some((c) => c.choice === method)) return renderState(req, reply, p, extra);
    let instrument: Instrument | null = null;
    let emi: EmiChoice | null = null;
    let values: Record<string, string> | undefined;
    if (offer.connector.capabilities.collectsInstrument) {
      const parsed = readInstrument(methodOfKey(key), body, t, deps.now(), {
        emiAllowed: merchant.emiAllowed,
        emiBanks: deps.emiBanks().map((b) => b.key),
      });
      if (!parsed.ok)
        return renderState(req, reply, p, extra, { method, values: parsed.values, errors: parsed.errors });
      // Only secret-bearing methods (wallet PIN, banking password) are guessable here; cards go on.
      if (key !== 'card') {
        const limited = tooManyTries(req, reply, token, extra);
        if (limited) return limited;
      }
      ({ instrument, emi, values } = parsed);
    }
    const r = await deps.submit(token, key, instrument, emi, extra, ctx.lang);
    countWrongTry(req, r, false);
    return answer(req, reply, r, extra, method, values);
  });

  app.post<{ Params: Params }>('/bank-payment-process/:token/verify', async (req, reply) => {
    const { token } = req.params;
    if (!TOKEN_RE.test(token)) return notFound(req, reply);
    const body = formBody(req.body);
    const extra = extraOf(body);
    const otp = asciiDigits(body.otp ?? '').trim(); // Bangla digits from a Bangla keyboard count too
    if (!/^\d{4,8}$/.test(otp)) {
      const p = await deps.load(token);
      if (!p) return notFound(req, reply);
      return renderState(req, reply, p, extra, { otpError: context(req, token, extra, false).t('errOtp') });
    }
    const limited = tooManyTries(req, reply, token, extra);
    if (limited) return limited;
    const r = await deps.verify(token, otp, extra);
    countWrongTry(req, r, true);
    return answer(req, reply, r, extra);
  });

  app.post<{ Params: Params }>('/bank-payment-process/:token/cancel', async (req, reply) => {
    const { token } = req.params;
    if (!TOKEN_RE.test(token)) return notFound(req, reply);
    const extra = extraOf(formBody(req.body));
    const p = await deps.cancel(token, extra);
    if (!p) return notFound(req, reply);
    return toPaymentPage(reply, context(req, token, extra, false));
  });
}

const withLangQuery = (path: string, lang: string) => `${path}?lang=${lang}`;

/**
 * What the OTP page says about an open challenge: the instrument the code was sent for, in the
 * page's own words (the bank's English hint sentence is not shown), and what will be charged in BDT
 * with the EMI the customer chose.
 */
function challengeView(p: Payment): { what: string; chargedBdtMinor: bigint } {
  let st: Partial<ChallengeState> = {};
  try {
    st = JSON.parse(p.challengeInfo ?? '{}') as Partial<ChallengeState>;
  } catch {
    // written by the pay use case; an unreadable one shows the plain prompt
  }
  return {
    what: [st.info?.label, st.info?.masked].filter(Boolean).join(' '),
    chargedBdtMinor: bankAmountWith(p, st.emi ?? null),
  };
}

/**
 * The submitted form as text fields only. A JSON body (the root parser accepts one) can carry objects,
 * arrays or numbers where the form has strings; those are dropped rather than reaching `.trim()`.
 */
function formBody(raw: unknown): Body {
  const out: Body = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}
