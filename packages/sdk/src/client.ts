import { base64Utf8, checkSignature, utf8 } from './crypto.js';
import { WmxApiError, WmxConnectionError, WmxError, WmxResponseError } from './errors.js';
import { amountMinorOf, formatMinor, type Amount } from './money.js';
import {
  RECORD_NULLABLE_FIELDS,
  RECORD_STRING_FIELDS,
  type Balance,
  type CheckPaymentRecord,
  type CheckServerResult,
  type ListEventsParams,
  type ListPaymentsParams,
  type Page,
  type PageParams,
  type Payment,
  type Refund,
  type Settlement,
  type WebhookEndpoint,
  type WebhookEvent,
} from './types.js';
import {
  parseCallbackBody,
  verifyPaymentRecord,
  type CallbackBody,
  type CallbackVerdict,
  type ExpectedPayment,
} from './verify.js';
import { verifyWebhook, type SignatureHeader, type VerifyWebhookOptions } from './webhook.js';

/** The fetch the client uses (the global one unless you pass another, e.g. to add a proxy or a test double). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface WmxClientOptions {
  /** The gateway's base URL, e.g. `https://pay.example.com` (check-server and check-payment live under it). */
  baseUrl: string;
  /** Merchant ID: `WMX` + 13 hex. */
  wmxId: string;
  /** Access app key (40 hex). */
  accessAppKey: string;
  /** Legacy API username (`<slug>_<10 digits>`). */
  username: string;
  /** Legacy API password. */
  password: string;
  /** Secret API key (`sk_…`) for the JSON API (payments, refunds, events, …). Needed only for those. */
  apiKey?: string;
  /** Signing secret (`whsec_…`): verifies the callback's `wmx_signature` and webhooks. Strongly recommended. */
  signingSecret?: string;
  /** Replaces the global fetch. */
  fetch?: FetchLike;
  /** How long one HTTP request may take, in ms, reading the answer included (default 30 000). */
  timeoutMs?: number;
  /**
   * How many times a request that may safely be repeated is retried after a network error, a
   * timeout, a 5xx, a 429 / "2010" (honouring Retry-After up to 10 s) or 409 idempotency_in_progress
   * (default 2). POSTs of the JSON API are retried with the same Idempotency-Key, init with the same
   * merchant_ref_id; DELETEs are never retried. 0 disables retries.
   */
  maxRetries?: number;
}

export interface Customer {
  name: string;
  email: string;
  phone: string;
  /** customer_add */
  address?: string;
  city?: string;
  country?: string;
  postcode?: string;
}

export interface Shipping {
  name?: string;
  /** shipping_add */
  address?: string;
  city?: string;
  country?: string;
  /** shipping_postCode */
  postcode?: string;
}

export type InitPaymentInput = {
  /** Your order id (merchant_order_id, ≤ 64 characters, no surrounding spaces). */
  orderId: string;
  /** ISO currency code ("BDT", "USD", …); sent upper case. */
  currency: string;
  /** Absolute http(s) URL the customer's browser POSTs the result to (may carry a query string). */
  callbackUrl: string;
  customer: Customer;
  shipping?: Shipping;
  /** What is bought: free text, or the official grammar `{2xItem A[5]=[10]}+{shipping rate:0}-{discount amount:0}=10.00`. */
  productDesc: string;
  /**
   * merchant_ref_id (≤ 64). The same refId with identical fields within 24 h returns the same token,
   * so derive it from your order to make your own retries safe. Default: 13 random hex characters.
   */
  refId?: string;
  /** app_name: your site or app label (default: the callback URL's host). */
  appName?: string;
  /** cart_info (never validated; default `wmx_id,host,app_name` as the official client sends it). */
  cartInfo?: string;
  /** extra_json: a string (sent exactly) or a value (JSON-encoded). Default `[]`. */
  extraJson?: string | Record<string, unknown> | unknown[];
  /** EMI offer: adds `emi_period` / `emi_selected_bank` to extra_json (an object, if you pass one). */
  emi?: { period: 3 | 6 | 9 | 12; bank?: string };
  /** options: base64 of `s=<site>,i=<server ip>` — pass the parts, or the raw base64 string. Default `s=<callback host>,i=`. */
  options?: string | { site?: string; ip?: string };
  /** An extra path segment appended to the payment page URL, echoed as `username` in the callback. */
  pageExtra?: string;
} & Amount;

export interface InitPaymentResult {
  /** The payment token (40 hex). Store it with the order. */
  token: string;
  /** Send the customer's browser here: the payment page base from check-server + `/` + token. */
  paymentUrl: string;
  /** The merchant_ref_id sent. */
  refId: string;
  orderId: string;
  /** The amount sent, "100.00". */
  amount: string;
  /** The currency sent, upper case. */
  currency: string;
}

export interface HandleCallbackOptions {
  /**
   * With a signing secret configured, a callback without `wmx_signature` is refused
   * (`missing_signature`) unless this is false (e.g. while a gateway that does not sign is in use).
   * A signature that is present is always checked.
   */
  requireSignature?: boolean;
  /**
   * How old the signature may be, in seconds (default 900): the result page signs when it is shown,
   * and a customer without JavaScript may wait before pressing its button.
   */
  toleranceSec?: number;
  /** The current time (Date or epoch ms); default now. */
  now?: Date | number;
}

export interface RequestOptions {
  /**
   * The Idempotency-Key of a POST (1–255 printable ASCII). Default: a fresh crypto.randomUUID(),
   * reused by the SDK's own retries; pass your own (e.g. from your refund record) to make your
   * retries safe too. A failed POST's error carries the key it used (`error.idempotencyKey`).
   */
  idempotencyKey?: string;
}

interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error; retry: boolean; retryAfterSec?: number };

const MAX_RETRY_WAIT_MS = 10_000;
const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retryAfterOf(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (v === null || !/^\d{1,6}$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function parseJson(a: RawAnswer): unknown {
  try {
    return JSON.parse(a.text);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function requireText(name: string, v: unknown, max?: number): string {
  if (typeof v !== 'string' || v.trim() === '') throw new TypeError(`${name} is required (a non-empty string)`);
  if (v !== v.trim()) throw new TypeError(`${name} must not start or end with whitespace`);
  if (max !== undefined && [...v].length > max) throw new TypeError(`${name} must be at most ${max} characters`);
  return v;
}

function optionalText(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string`);
  return v;
}

/** A check-payment answer → the typed record, or undefined when a field has the wrong type. */
function toRecord(o: Record<string, unknown>): CheckPaymentRecord | undefined {
  if (o.statusCode !== 1000 && o.statusCode !== 1008) return undefined;
  for (const k of RECORD_STRING_FIELDS) if (typeof o[k] !== 'string') return undefined;
  for (const k of RECORD_NULLABLE_FIELDS) if (o[k] !== null && typeof o[k] !== 'string') return undefined;
  if (o.refunded_amount_bdt !== undefined && typeof o.refunded_amount_bdt !== 'string') return undefined;
  return o as unknown as CheckPaymentRecord;
}

const timeParam = (v: string | number | Date | undefined): string | undefined =>
  v === undefined ? undefined : v instanceof Date ? v.toISOString() : String(v);

/**
 * A client of a Walletmix v2 gateway (wmx-gateway): the legacy merchant protocol (check-server,
 * init-payment-process, check-payment), callback and webhook verification, and the JSON API.
 */
export class WmxClient {
  readonly baseUrl: string;
  readonly wmxId: string;
  readonly #accessAppKey: string;
  readonly #authorization: string;
  readonly #apiKey: string | undefined;
  readonly #signingSecret: string | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;

  constructor(options: WmxClientOptions) {
    if (!isObject(options)) throw new TypeError('new WmxClient(options): options are required');
    let url: URL;
    try {
      url = new URL(requireText('baseUrl', options.baseUrl));
    } catch (e) {
      throw e instanceof TypeError && /baseUrl/.test(e.message) ? e : new TypeError('baseUrl must be an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('baseUrl must be an http(s) URL');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.wmxId = requireText('wmxId', options.wmxId);
    this.#accessAppKey = requireText('accessAppKey', options.accessAppKey);
    const username = requireText('username', options.username);
    const password = requireText('password', options.password);
    this.#authorization = 'Basic ' + base64Utf8(`${username}:${password}`);
    this.#apiKey = options.apiKey === undefined ? undefined : requireText('apiKey', options.apiKey);
    this.#signingSecret =
      options.signingSecret === undefined ? undefined : requireText('signingSecret', options.signingSecret);
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.#timeoutMs > 0) || !Number.isFinite(this.#timeoutMs)) throw new TypeError('timeoutMs must be > 0');
    this.#maxRetries = options.maxRetries ?? 2;
    if (!Number.isSafeInteger(this.#maxRetries) || this.#maxRetries < 0)
      throw new TypeError('maxRetries must be an integer ≥ 0');
  }

  // ---- transport ----

  async #exchange(url: string, init: RequestInit, idempotencyKey?: string): Promise<RawAnswer> {
    try {
      const res = await this.#fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
      return { status: res.status, headers: res.headers, text: await res.text() };
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      const what = `${init.method ?? 'GET'} ${url.split('?', 1)[0]}`;
      throw new WmxConnectionError(
        timedOut
          ? `${what} timed out after ${this.#timeoutMs} ms`
          : `${what} failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e, timedOut, idempotencyKey },
      );
    }
  }

  async #call<T>(
    send: () => Promise<RawAnswer>,
    interpret: (a: RawAnswer) => Outcome<T>,
    retrySafe: boolean,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let outcome: Outcome<T>;
      try {
        outcome = interpret(await send());
      } catch (e) {
        if (!(e instanceof WmxConnectionError)) throw e;
        outcome = { ok: false, error: e, retry: true };
      }
      if (outcome.ok) return outcome.value;
      if (!retrySafe || !outcome.retry || attempt >= this.#maxRetries) throw outcome.error;
      const wait =
        outcome.retryAfterSec !== undefined ? outcome.retryAfterSec * 1000 : 250 * 2 ** attempt + Math.random() * 100;
      if (wait > MAX_RETRY_WAIT_MS) throw outcome.error;
      await sleep(wait);
    }
  }

  /** A legacy answer that is not success: a WmxError (retried on 2010 and 5000) or a protocol violation. */
  #legacyFailure(a: RawAnswer, json: unknown): Outcome<never> {
    // A number statusCode is a check-payment record's (1000/1008): one that did not read is malformed.
    if (isObject(json) && typeof json.statusCode === 'string') {
      const code = String(json.statusCode);
      const retryAfterSec = retryAfterOf(a.headers);
      const error = new WmxError(code, typeof json.statusMsg === 'string' ? json.statusMsg : `Error ${code}`, {
        field: typeof json.field === 'string' ? json.field : undefined,
        requestId: typeof json.request_id === 'string' ? json.request_id : undefined,
        retryAfterSec,
      });
      return {
        ok: false,
        error,
        retry: code === '2010' || code === '5000',
        ...(retryAfterSec !== undefined ? { retryAfterSec } : {}),
      };
    }
    return {
      ok: false,
      error: new WmxResponseError(`Unexpected answer (HTTP ${a.status})`, a.status, a.text),
      retry: a.status >= 500 || a.status === 429,
    };
  }

  #legacyPost<T>(url: string, fields: Record<string, string>, read: (o: Record<string, unknown>) => T | undefined) {
    return this.#call(
      () =>
        this.#exchange(url, {
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
          body: new URLSearchParams(fields).toString(),
        }),
      (a): Outcome<T> => {
        const json = parseJson(a);
        const value = isObject(json) ? read(json) : undefined;
        return value === undefined ? this.#legacyFailure(a, json) : { ok: true, value };
      },
      true,
    );
  }

  #credentials(): Record<string, string> {
    return { wmx_id: this.wmxId, access_app_key: this.#accessAppKey, authorization: this.#authorization };
  }

  // ---- legacy protocol ----

  /** `GET /check-server`: where init goes and the payment page's base URL; `selectedServer: false` in maintenance. */
  checkServer(): Promise<CheckServerResult> {
    return this.#call(
      () => this.#exchange(`${this.baseUrl}/check-server`, { method: 'GET', headers: { accept: 'application/json' } }),
      (a): Outcome<CheckServerResult> => {
        const json = parseJson(a);
        if (a.status === 200 && isObject(json)) {
          if (json.selectedServer === true && typeof json.url === 'string' && typeof json.bank_payment_url === 'string')
            return {
              ok: true,
              value: { selectedServer: true, url: json.url, bank_payment_url: json.bank_payment_url },
            };
          if (json.selectedServer === false)
            return {
              ok: true,
              value: { selectedServer: false, statusMsg: typeof json.statusMsg === 'string' ? json.statusMsg : '' },
            };
        }
        return {
          ok: false,
          error: new WmxResponseError(`check-server answered HTTP ${a.status} without a server`, a.status, a.text),
          retry: a.status >= 500,
        };
      },
      true,
    );
  }

  /**
   * Starts a payment: asks check-server where init goes (maintenance → WmxError "3001"), POSTs
   * init-payment-process form-urlencoded with the legacy fields, and returns the token and the
   * payment page URL to redirect the customer to. Legacy errors throw WmxError with their code;
   * invalid input (a float amount, a missing field) throws a TypeError before anything is sent.
   */
  async initPayment(input: InitPaymentInput): Promise<InitPaymentResult> {
    if (!isObject(input)) throw new TypeError('initPayment(input): input is required');
    const orderId = requireText('orderId', input.orderId, 64);
    const amount = formatMinor(amountMinorOf(input));
    const currency = requireText('currency', input.currency).toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) throw new TypeError('currency must be a 3-letter ISO code');
    const callbackUrl = requireText('callbackUrl', input.callbackUrl);
    let callbackHost: string;
    try {
      const u = new URL(callbackUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError();
      callbackHost = u.host;
    } catch {
      throw new TypeError('callbackUrl must be an absolute http(s) URL');
    }
    if (!isObject(input.customer)) throw new TypeError('customer is required');
    const c = input.customer;
    const s: Shipping = input.shipping ?? {};
    const productDesc = requireText('productDesc', input.productDesc);
    const refId =
      input.refId === undefined
        ? crypto.randomUUID().replace(/-/g, '').slice(0, 13)
        : requireText('refId', input.refId, 64);
    const appName = optionalText('appName', input.appName) ?? callbackHost;

    let extraJson: string;
    if (input.emi !== undefined) {
      if (![3, 6, 9, 12].includes(input.emi.period)) throw new TypeError('emi.period must be 3, 6, 9 or 12');
      if (typeof input.extraJson === 'string')
        throw new TypeError('emi cannot be combined with a string extraJson; pass extraJson as an object');
      const base = Array.isArray(input.extraJson) || input.extraJson === undefined ? {} : input.extraJson;
      extraJson = JSON.stringify({
        ...base,
        emi_period: input.emi.period,
        ...(input.emi.bank !== undefined ? { emi_selected_bank: input.emi.bank } : {}),
      });
    } else if (typeof input.extraJson === 'string') extraJson = input.extraJson;
    else extraJson = input.extraJson === undefined ? '[]' : JSON.stringify(input.extraJson);

    const options =
      typeof input.options === 'string'
        ? input.options
        : base64Utf8(`s=${input.options?.site ?? callbackHost},i=${input.options?.ip ?? ''}`);

    const fields: Record<string, string> = {
      ...this.#credentials(),
      merchant_order_id: orderId,
      merchant_ref_id: refId,
      app_name: appName,
      cart_info: optionalText('cartInfo', input.cartInfo) ?? `${this.wmxId},${callbackHost},${appName}`,
      customer_name: requireText('customer.name', c.name),
      customer_email: requireText('customer.email', c.email),
      customer_phone: requireText('customer.phone', c.phone),
      product_desc: productDesc,
      amount,
      currency,
      options,
      callback_url: callbackUrl,
      extra_json: extraJson,
    };
    const optional: [string, unknown][] = [
      ['customer_add', c.address],
      ['customer_city', c.city],
      ['customer_country', c.country],
      ['customer_postcode', c.postcode],
      ['shipping_name', s.name],
      ['shipping_add', s.address],
      ['shipping_city', s.city],
      ['shipping_country', s.country],
      ['shipping_postCode', s.postcode],
    ];
    for (const [name, v] of optional) {
      const text = optionalText(name, v);
      if (text !== undefined && text !== '') fields[name] = text;
    }
    const pageExtra = optionalText('pageExtra', input.pageExtra);
    if (pageExtra !== undefined && !/^[A-Za-z0-9._~-]{1,64}$/.test(pageExtra))
      throw new TypeError('pageExtra must be 1–64 URL-safe characters');

    const server = await this.checkServer();
    if (!server.selectedServer) throw new WmxError('3001', server.statusMsg || 'Gateway is under maintenance');

    const token = await this.#legacyPost(server.url, fields, (o) =>
      o.statusCode === '1000' && typeof o.token === 'string' && o.token !== '' ? o.token : undefined,
    );
    const paymentUrl =
      `${server.bank_payment_url.replace(/\/+$/, '')}/${encodeURIComponent(token)}` +
      (pageExtra !== undefined ? `/${pageExtra}` : '');
    return { token, paymentUrl, refId, orderId, amount, currency };
  }

  /**
   * `POST /check-payment`: the authoritative record of a payment. Throws WmxError "2009" for a token
   * the gateway does not know for this merchant (another merchant's included).
   */
  checkPayment(token: string): Promise<CheckPaymentRecord> {
    const t = requireText('token', token);
    return this.#legacyPost(`${this.baseUrl}/check-payment`, { ...this.#credentials(), token: t }, toRecord);
  }

  /**
   * Handles the result callback the customer's browser POSTs to your callback_url, without trusting
   * it: parses `merchant_txn_data`; verifies `wmx_signature` when a signing secret is configured;
   * then asks check-payment for the token and compares the record with the order you stored at
   * checkout (token, merchant, order id, currency, exact amount) and whether it is paid.
   * Only `verdict.ok` (status `paid`) means the order is paid. A replayed genuine callback gets the
   * same verdict again: mark the order paid idempotently. Throws (WmxError, WmxConnectionError, …)
   * only when check-payment could not give an answer; the order then stays as it is.
   */
  async handleCallback(
    body: CallbackBody,
    expected: ExpectedPayment,
    options: HandleCallbackOptions = {},
  ): Promise<CallbackVerdict> {
    if (!isObject(expected)) throw new TypeError('handleCallback: the expected order is required');
    requireText('expected.orderId', expected.orderId);
    requireText('expected.currency', expected.currency);
    amountMinorOf(expected, 'expected'); // a caller's mistake throws before anything is decided
    if (expected.token !== undefined) requireText('expected.token', expected.token);

    const { raw, data, signature } = parseCallbackBody(body);
    if (raw === undefined || data === undefined)
      return {
        ok: false,
        status: 'rejected',
        reason: 'malformed',
        message:
          raw === undefined ? 'No merchant_txn_data in the callback' : 'merchant_txn_data is not the protocol JSON',
      };
    const secret = this.#signingSecret;
    if (secret !== undefined) {
      if (signature === undefined || signature === '') {
        if (options.requireSignature !== false)
          return {
            ok: false,
            status: 'rejected',
            reason: 'missing_signature',
            message: 'The callback carries no wmx_signature',
            callback: data,
          };
      } else {
        const nowMs =
          options.now === undefined
            ? Date.now()
            : typeof options.now === 'number'
              ? options.now
              : options.now.getTime();
        const check = await checkSignature(secret, signature, utf8(raw), options.toleranceSec ?? 900, nowMs);
        if (!check.ok) {
          const stale = check.reason === 'stale_timestamp';
          return {
            ok: false,
            status: 'rejected',
            reason: stale ? 'stale_signature' : 'bad_signature',
            message: stale ? 'The callback signature is too old' : 'The callback signature does not match',
            callback: data,
          };
        }
      }
    }
    if (expected.token !== undefined && data.token.toLowerCase() !== expected.token.toLowerCase())
      return {
        ok: false,
        status: 'rejected',
        reason: 'token_mismatch',
        message: `The callback is for payment ${data.token}, not the order's ${expected.token}`,
        callback: data,
      };

    let record: CheckPaymentRecord;
    try {
      record = await this.checkPayment(data.token);
    } catch (e) {
      if (e instanceof WmxError && e.code === '2009')
        return {
          ok: false,
          status: 'rejected',
          reason: 'unknown_token',
          message: 'check-payment does not know this token for this merchant',
          callback: data,
        };
      throw e;
    }
    const verdict = verifyPaymentRecord(record, { ...expected, token: data.token } as ExpectedPayment, this.wmxId);
    return { ...verdict, callback: data };
  }

  /**
   * Verifies a webhook delivery with the configured signing secret and returns its event; see the
   * standalone verifyWebhook. Throws WebhookSignatureError.
   */
  verifyWebhook(rawBody: string | Uint8Array, header: SignatureHeader, options?: VerifyWebhookOptions) {
    if (this.#signingSecret === undefined) throw new TypeError('verifyWebhook: no signingSecret configured');
    return verifyWebhook(rawBody, header, this.#signingSecret, options);
  }

  // ---- JSON API ----

  async #api<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: { query?: Record<string, string | number | undefined>; body?: unknown; idempotencyKey?: string } = {},
  ): Promise<T> {
    const apiKey = this.#apiKey;
    if (apiKey === undefined) throw new TypeError(`${method} /api/v1${path}: no apiKey configured`);
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const search = q.toString();
    const url = `${this.baseUrl}/api/v1${path}${search !== '' ? `?${search}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    let key: string | undefined;
    let body: string | undefined;
    if (method === 'POST') {
      key = opts.idempotencyKey ?? crypto.randomUUID();
      if (!IDEMPOTENCY_KEY_RE.test(key)) throw new TypeError('idempotencyKey must be 1–255 printable ASCII characters');
      headers['idempotency-key'] = key;
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body ?? {});
    }
    return this.#call(
      () => this.#exchange(url, { method, headers, ...(body !== undefined ? { body } : {}) }, key),
      (a): Outcome<T> => {
        const json = parseJson(a);
        if (a.status >= 200 && a.status < 300) {
          if (json === undefined)
            return {
              ok: false,
              error: new WmxResponseError('The API answered non-JSON', a.status, a.text),
              retry: false,
            };
          return { ok: true, value: json as T };
        }
        const err = isObject(json) && isObject(json.error) ? json.error : undefined;
        const code = typeof err?.code === 'string' ? err.code : 'unexpected_response';
        const retryAfterSec = retryAfterOf(a.headers);
        const error = new WmxApiError(
          a.status,
          code,
          typeof err?.message === 'string' ? err.message : `HTTP ${a.status}`,
          {
            field: typeof err?.field === 'string' ? err.field : undefined,
            requestId: typeof err?.request_id === 'string' ? err.request_id : undefined,
            retryAfterSec,
            idempotencyKey: key,
          },
        );
        const retry = a.status === 429 || a.status >= 500 || code === 'idempotency_in_progress';
        return { ok: false, error, retry, ...(retryAfterSec !== undefined ? { retryAfterSec } : {}) };
      },
      method !== 'DELETE',
    );
  }

  async *#iterate<T>(page: (cursor: string | undefined) => Promise<Page<T>>, cursor?: string): AsyncGenerator<T> {
    let next: string | undefined = cursor;
    do {
      const p = await page(next);
      yield* p.data;
      next = p.next_cursor ?? undefined;
    } while (next !== undefined);
  }

  /** `GET /api/v1/payments` (filters, cursor pagination) and `GET /api/v1/payments/{token}`. */
  readonly payments = {
    /** A page of payments, newest first. */
    list: (params: ListPaymentsParams = {}): Promise<Page<Payment>> =>
      this.#api('GET', '/payments', {
        query: {
          status: params.status,
          method: params.method,
          created_from: timeParam(params.created_from),
          created_to: timeParam(params.created_to),
          min_amount: params.min_amount,
          max_amount: params.max_amount,
          q: params.q,
          limit: params.limit,
          cursor: params.cursor,
        },
      }),
    /** Every payment matching the filters, page after page. */
    iterate: (params: Omit<ListPaymentsParams, 'cursor'> = {}): AsyncGenerator<Payment> =>
      this.#iterate((cursor) => this.payments.list({ ...params, ...(cursor !== undefined ? { cursor } : {}) })),
    /** One payment; WmxApiError 404 for an unknown (or another merchant's) token. */
    get: (token: string): Promise<Payment> =>
      this.#api('GET', `/payments/${encodeURIComponent(requireText('token', token))}`),
  };

  /** `POST /api/v1/payments/{token}/refunds` and `GET /api/v1/refunds/{id}`. */
  readonly refunds = {
    /**
     * Refunds a paid payment: all that is still refundable, or `amount` (BDT, decimal string). The
     * refund comes back `succeeded`, `failed` or `pending`. Sent with an Idempotency-Key (yours or a
     * fresh one): the same key and body answer the same refund again, never a second one.
     */
    create: (token: string, params: { amount?: string } & RequestOptions = {}): Promise<Refund> => {
      const body: { amount?: string } = {};
      if (params.amount !== undefined) body.amount = formatMinor(amountMinorOf({ amount: params.amount }, 'refund'));
      return this.#api('POST', `/payments/${encodeURIComponent(requireText('token', token))}/refunds`, {
        body,
        ...(params.idempotencyKey !== undefined ? { idempotencyKey: params.idempotencyKey } : {}),
      });
    },
    get: (id: string): Promise<Refund> => this.#api('GET', `/refunds/${encodeURIComponent(requireText('id', id))}`),
  };

  /** `GET /api/v1/events` (newest first, `type` filter) and `GET /api/v1/events/{id}`: each exactly as sent to webhooks. */
  readonly events = {
    list: (params: ListEventsParams = {}): Promise<Page<WebhookEvent>> =>
      this.#api('GET', '/events', { query: { type: params.type, limit: params.limit, cursor: params.cursor } }),
    iterate: (params: Omit<ListEventsParams, 'cursor'> = {}): AsyncGenerator<WebhookEvent> =>
      this.#iterate((cursor) => this.events.list({ ...params, ...(cursor !== undefined ? { cursor } : {}) })),
    get: (id: string): Promise<WebhookEvent> =>
      this.#api('GET', `/events/${encodeURIComponent(requireText('id', id))}`),
  };

  /** `/api/v1/webhook-endpoints`: where the gateway POSTs signed events. */
  readonly webhookEndpoints = {
    list: async (): Promise<WebhookEndpoint[]> =>
      (await this.#api<{ data: WebhookEndpoint[] }>('GET', '/webhook-endpoints')).data,
    create: (url: string, options: RequestOptions = {}): Promise<WebhookEndpoint> =>
      this.#api('POST', '/webhook-endpoints', {
        body: { url: requireText('url', url) },
        ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      }),
    delete: (id: string): Promise<WebhookEndpoint> =>
      this.#api('DELETE', `/webhook-endpoints/${encodeURIComponent(requireText('id', id))}`),
  };

  /** `GET /api/v1/balance`: what is owed, in flight and settled (BDT). */
  getBalance(): Promise<Balance> {
    return this.#api('GET', '/balance');
  }

  /** `GET /api/v1/settlements`: settlement batches, newest first. */
  listSettlements(params: PageParams = {}): Promise<Page<Settlement>> {
    return this.#api('GET', '/settlements', { query: { limit: params.limit, cursor: params.cursor } });
  }
}
