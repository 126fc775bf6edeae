/**
 * bKash Tokenized Checkout (v1.2.0-beta) over HTTP: the token it wants on every call, and one
 * request function that says what came back. Every endpoint is a JSON POST under the base URL
 * (https://tokenized.sandbox.bka.sh/v1.2.0-beta or https://tokenized.pay.bka.sh/v1.2.0-beta), as
 * bKash's own WooCommerce plugin calls them (bKash-developer/bKash-for-woocommerce,
 * includes/classes/ApiComm.php).
 *
 * Tokens (developer.bka.sh token management): the grant call takes `username` / `password` headers
 * and `{app_key, app_secret}`, and answers an `id_token` (valid 3600 s) and a `refresh_token`;
 * business calls send the raw id_token as `Authorization` (no "Bearer") and the app key as
 * `X-APP-Key`. bKash blocks merchants that ask for tokens too often, so the token is cached,
 * refreshed ten minutes before it expires, by one caller at a time, and granted anew only when a
 * refresh fails. An expired or unknown token answers HTTP 401 `{"message": …}` from bKash's API
 * gateway: the token is dropped, a new one taken, and the call made once more (it never reached
 * bKash's payment system).
 */
import type { CallContext } from '../port.js';
import { field, type HttpAnswer, type UpstreamHttp } from '../upstream-http.js';

export interface BkashCredentials {
  baseUrl: string;
  username: string;
  password: string;
  appKey: string;
  appSecret: string;
}

/** What a call got: a success, bKash's business error, or no usable answer (the outcome is unknown). */
export type BkashAnswer =
  { kind: 'ok'; json: unknown } | { kind: 'error'; code: string; message: string } | { kind: 'none'; why: string };

const REFRESH_BEFORE_MS = 10 * 60_000;

/** The code and message of a bKash answer: `statusCode`/`statusMessage`, or the older `errorCode`/`errorMessage`. */
export function codeOf(json: unknown): { code: string; message: string } {
  const code = field(json, 'statusCode') || field(json, 'errorCode');
  const message = field(json, 'statusMessage') || field(json, 'errorMessage') || field(json, 'message');
  return { code, message };
}

function classify(a: HttpAnswer): BkashAnswer {
  if (a.kind === 'timeout') return { kind: 'none', why: 'no answer in time' };
  if (a.kind === 'error') return { kind: 'none', why: a.message };
  if (a.status === 401 || a.status === 403) return { kind: 'none', why: `unauthorized (${a.status})` };
  if (a.status >= 500 || a.json === undefined || typeof a.json !== 'object') {
    return { kind: 'none', why: `HTTP ${a.status}${a.json === undefined ? ', no JSON' : ''}` };
  }
  const { code, message } = codeOf(a.json);
  // An API-gateway answer (`{"message": …}` without a code) is not bKash's answer to the request.
  if (code === '' && field(a.json, 'message') !== '') return { kind: 'none', why: field(a.json, 'message') };
  if (code === '' || code === '0000') return { kind: 'ok', json: a.json };
  if (code === '503') return { kind: 'none', why: `503 ${message}` };
  return { kind: 'error', code, message };
}

export function createBkashClient(creds: BkashCredentials, http: UpstreamHttp, now: () => number) {
  let token: { id: string; refresh: string; expiresAt: number } | undefined;
  let pendingToken: Promise<string | BkashAnswer> | undefined;

  const headersOf = () => ({ 'content-type': 'application/json', accept: 'application/json' });

  async function tokenCall(
    ctx: CallContext,
    operation: 'grant_token' | 'refresh_token',
    body: Record<string, string>,
  ): Promise<string | BkashAnswer> {
    const a = await http.request(
      ctx,
      {
        operation,
        url: `${creds.baseUrl}/tokenized/checkout/token/${operation === 'grant_token' ? 'grant' : 'refresh'}`,
        method: 'POST',
        headers: { ...headersOf(), username: creds.username, password: creds.password },
        body: JSON.stringify({ app_key: creds.appKey, app_secret: creds.appSecret, ...body }),
      },
      describe,
    );
    const r = classify(a);
    if (r.kind !== 'ok') return r;
    const id = field(r.json, 'id_token');
    if (!id) return { kind: 'error', code: codeOf(r.json).code || 'no_token', message: 'no id_token in the answer' };
    // expires_in: a number on the wire today, a string in older docs; an hour if unreadable.
    const seconds = Number(field(r.json, 'expires_in')) || 3600;
    token = { id, refresh: field(r.json, 'refresh_token') || token?.refresh || '', expiresAt: now() + seconds * 1000 };
    return id;
  }

  /** A valid id_token, or why there is none. One grant or refresh at a time, shared by all callers. */
  function idToken(ctx: CallContext, force = false): Promise<string | BkashAnswer> {
    if (!force && token && now() < token.expiresAt - REFRESH_BEFORE_MS) return Promise.resolve(token.id);
    pendingToken ??= (async () => {
      try {
        if (token?.refresh) {
          const refreshed = await tokenCall(ctx, 'refresh_token', { refresh_token: token.refresh });
          if (typeof refreshed === 'string') return refreshed;
        }
        token = undefined;
        return await tokenCall(ctx, 'grant_token', {});
      } finally {
        pendingToken = undefined;
      }
    })();
    return pendingToken;
  }

  /** A business call with the token; retried once with a new token when bKash's gateway says 401. */
  async function call(
    ctx: CallContext,
    operation: string,
    path: string,
    body: Record<string, string>,
  ): Promise<BkashAnswer> {
    for (let attempt = 0; ; attempt++) {
      const id = await idToken(ctx, attempt > 0);
      if (typeof id !== 'string') return id.kind === 'ok' ? { kind: 'none', why: 'no token' } : id;
      const a = await http.request(
        ctx,
        {
          operation,
          url: `${creds.baseUrl}${path}`,
          method: 'POST',
          headers: { ...headersOf(), authorization: id, 'x-app-key': creds.appKey },
          body: JSON.stringify(body),
        },
        describe,
      );
      if (a.kind === 'answer' && a.status === 401 && attempt === 0) {
        token = undefined;
        continue;
      }
      return classify(a);
    }
  }

  return {
    call,
    /** Takes a token now (for `wmx connector test`). */
    grant: (ctx: CallContext) => idToken(ctx, true),
    tokenExpiresAt: () => token?.expiresAt,
  };
}

/** What the call log says about an answer: bKash's code and message, never the body. */
function describe(a: Extract<HttpAnswer, { kind: 'answer' }>) {
  const r = classify(a);
  const { code, message } = codeOf(a.json);
  const status = field(a.json, 'transactionStatus');
  if (r.kind === 'ok') return { outcome: 'ok' as const, code: code || '0000', message: status || null };
  if (r.kind === 'error') return { outcome: 'failed' as const, code, message };
  return { outcome: 'failed' as const, code: code || null, message: r.why.slice(0, 200) };
}

export type BkashClient = ReturnType<typeof createBkashClient>;
