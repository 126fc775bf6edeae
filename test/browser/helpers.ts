/**
 * Shared steps of the browser suite. The page is driven only through accessible names (labels,
 * button and link names), as a customer with a screen reader or an independent checker would.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { checkPayment, initPayment, type TestGateway } from '../support/harness.js';
import type { ReceivedCallback } from '../support/callback-sink.js';
import type { startCallbackSink } from '../support/callback-sink.js';

export type Sink = Awaited<ReturnType<typeof startCallbackSink>>;

/** The merchant's callback path, with a query string that must arrive verbatim (escaping included). */
export const CALLBACK_PATH = '/cb?order=42&shop=main&note=a%20b%2Bc';

export const TXN_DATA_KEYS = [
  'amount',
  'currency',
  'merchant_order_id',
  'merchant_ref_id',
  'token',
  'txn_status',
  'wmx_id',
];

export interface CardInput {
  number: string;
  expiry?: string;
  cvv?: string;
  name?: string;
}

/** A future expiry whatever the year the suite runs in. */
export const FUTURE_EXPIRY = `12/${String((new Date().getUTCFullYear() + 5) % 100).padStart(2, '0')}`;

export const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });
export const field = (page: Page, label: string) => page.getByLabel(label, { exact: true });

/** Starts a payment for the merchant with the callback pointing at the sink; returns its token. */
export async function newToken(
  t: TestGateway,
  creds: IssuedCredentials,
  sink: Sink,
  overrides: Record<string, string | undefined> = {},
): Promise<string> {
  const r = await initPayment(t, creds, {
    callback_url: `${sink.url}${CALLBACK_PATH}`,
    merchant_order_id: '42',
    ...overrides,
  });
  assert.equal(r.json.statusCode, '1000', r.text);
  assert.match(String(r.json.token), /^[0-9a-f]{40}$/);
  return r.json.token as string;
}

/**
 * Holds the result page's automatic POST to the merchant until `release()` is called, so the result
 * page can be read before it submits itself. The page's own script still decides to submit (it calls
 * form.submit()); the call is only deferred, then goes ahead unchanged. A click on the page's button
 * (native submission) is never held.
 */
export async function holdCallbacks(target: Page | BrowserContext): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  await target.exposeFunction('__wmxTestResultReleased', () => released);
  // A string (the test project has no DOM typings); runs in every document before the page's scripts.
  await target.addInitScript(`(() => {
    const submit = HTMLFormElement.prototype.submit;
    HTMLFormElement.prototype.submit = function () {
      const form = this;
      void window.__wmxTestResultReleased().then(() => submit.call(form));
    };
  })();`);
  return release;
}

/** Opens the hosted payment page for a token (optionally with the extra path segment). */
export async function openCheckout(page: Page, t: TestGateway, token: string, extra?: string): Promise<void> {
  const res = await page.goto(`${t.url}/bank-payment-process/${token}${extra !== undefined ? '/' + extra : ''}`);
  assert.equal(res?.status(), 200);
}

/** Fills the card form by its English labels. */
export async function fillCard(page: Page, card: CardInput): Promise<void> {
  await field(page, 'Card number').fill(card.number);
  await field(page, 'Expiry').fill(card.expiry ?? FUTURE_EXPIRY);
  await field(page, 'CVV').fill(card.cvv ?? '123');
  await field(page, 'Name on card').fill(card.name ?? 'Rahim Uddin');
}

export async function payWithCard(page: Page, card: CardInput): Promise<void> {
  await fillCard(page, card);
  await button(page, 'Pay').click();
}

/** Chooses a payment method by its button (a GET form: a new page load). */
export async function chooseMethod(page: Page, name: 'Card' | 'Mobile wallet' | 'Internet banking'): Promise<void> {
  await button(page, name).click();
  await page.waitForLoadState();
  assert.equal(await button(page, name).getAttribute('aria-pressed'), 'true', `${name} is the chosen method`);
}

export async function enterOtp(page: Page, otp: string): Promise<void> {
  await field(page, 'One-time password').fill(otp);
  await button(page, 'Verify').click();
}

/** Waits for the result page (by its heading) and returns the text of the result section. */
export async function resultText(page: Page, heading: string): Promise<string> {
  const h = page.getByRole('heading', { name: heading, exact: true });
  await h.waitFor();
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

/** The callbacks the sink received for one token, waiting until there are at least `n`. */
export async function callbacksFor(sink: Sink, token: string, n = 1, ms = 10_000): Promise<ReceivedCallback[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const mine = sink.received.filter((c) => {
      try {
        return (JSON.parse(c.fields.merchant_txn_data ?? '') as { token?: string }).token === token;
      } catch {
        return false;
      }
    });
    if (mine.length >= n) return mine;
    if (Date.now() > deadline) throw new Error(`expected ${n} callbacks for ${token}, got ${mine.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Asserts one callback as PROTOCOL.md section 6 defines it: posted urlencoded to callback_url verbatim,
 * merchant_txn_data a JSON object of strings with exactly the protocol's keys (plus username with the
 * extra path segment), and wmx_signature an HMAC over it with the merchant's signing secret.
 */
export function assertCallback(
  cb: ReceivedCallback,
  creds: IssuedCredentials,
  exp: {
    token: string;
    txn_status: string;
    username?: string;
    amount?: string;
    currency?: string;
    merchant_order_id?: string;
  },
): Record<string, string> {
  assert.equal(cb.path, CALLBACK_PATH, 'callback_url is used verbatim, query string included');
  assert.match(cb.contentType ?? '', /^application\/x-www-form-urlencoded/);
  const raw = cb.fields.merchant_txn_data;
  assert.ok(raw, 'merchant_txn_data was posted');
  const data = JSON.parse(raw) as Record<string, unknown>;
  const keys = exp.username !== undefined ? [...TXN_DATA_KEYS, 'username'].sort() : TXN_DATA_KEYS;
  assert.deepEqual(Object.keys(data).sort(), keys);
  for (const [k, v] of Object.entries(data)) assert.equal(typeof v, 'string', `${k} is a string`);
  assert.equal(data.token, exp.token);
  assert.equal(data.txn_status, exp.txn_status);
  assert.equal(data.wmx_id, creds.wmx_id);
  assert.equal(data.currency, exp.currency ?? 'BDT');
  assert.equal(data.amount, exp.amount ?? '10.00');
  assert.equal(data.merchant_order_id, exp.merchant_order_id ?? '42');
  assert.match(String(data.merchant_ref_id), /^.{1,64}$/);
  if (exp.username !== undefined) assert.equal(data.username, exp.username);

  const sig = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(cb.fields.wmx_signature ?? '');
  assert.ok(sig, `wmx_signature has the t=…,v1=… shape: ${cb.fields.wmx_signature}`);
  const expected = crypto.createHmac('sha256', creds.signing_secret).update(`${sig[1]}.${raw}`).digest('hex');
  assert.equal(sig[2], expected, 'wmx_signature verifies with the signing secret');
  const forged = crypto.createHmac('sha256', 'not-the-secret').update(`${sig[1]}.${raw}`).digest('hex');
  assert.notEqual(sig[2], forged);
  return data as Record<string, string>;
}

export interface ExpectedRecord {
  txn_status: '1000' | '1001' | '1009' | null;
  txn_details: string;
  card_details?: string | null;
  payment_card?: string;
  card_code?: string;
  payment_method?: string;
  is_foreign?: '0' | '1';
  bank_amount_bdt?: string;
}

/** Asks check-payment for the authoritative record and compares it. */
export async function assertRecord(
  t: TestGateway,
  creds: IssuedCredentials,
  token: string,
  exp: ExpectedRecord,
): Promise<Record<string, unknown>> {
  const r = await checkPayment(t, creds, token);
  assert.equal(r.status, 200);
  const rec = r.json;
  assert.equal(rec.token, token);
  assert.equal(rec.wmx_id, creds.wmx_id);
  assert.equal(rec.txn_status, exp.txn_status);
  assert.equal(rec.statusCode, exp.txn_status === '1000' ? 1000 : 1008, 'statusCode is a JSON number');
  assert.equal(rec.txn_details, exp.txn_details);
  if (exp.txn_status === null) {
    assert.equal(rec.txn_time, null);
    assert.equal(rec.card_details, null);
  } else {
    assert.match(String(rec.txn_time), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, 'txn_time is set');
  }
  if (exp.card_details !== undefined) assert.equal(rec.card_details, exp.card_details);
  if (exp.payment_card !== undefined) assert.equal(rec.payment_card, exp.payment_card);
  if (exp.card_code !== undefined) assert.equal(rec.card_code, exp.card_code);
  if (exp.payment_method !== undefined) assert.equal(rec.payment_method, exp.payment_method);
  if (exp.is_foreign !== undefined) assert.equal(rec.is_foreign, exp.is_foreign);
  assert.equal(rec.bank_amount_bdt, exp.bank_amount_bdt ?? '10.00');
  for (const [k, v] of Object.entries(rec)) {
    if (k !== 'statusCode') assert.ok(v === null || typeof v === 'string', `${k} is a string or null`);
  }
  return rec;
}

/** After the result was released: the browser lands on the merchant's page. */
export async function landsOnMerchant(page: Page, sink: Sink): Promise<void> {
  await page.waitForURL(`${sink.url}${CALLBACK_PATH}`);
  await page.getByRole('heading', { name: 'Merchant received the result' }).waitFor();
}

/**
 * Like holdCallbacks, but holds only a self-submitting form whose action starts with `prefix` (the
 * merchant's callback); every other page's own self-submitting form (an upstream's page returning
 * to the gateway) goes ahead at once.
 */
export async function holdCallbacksTo(target: Page | BrowserContext, prefix: string): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  await target.exposeFunction('__wmxTestCallbackReleased', () => released);
  await target.addInitScript(`(() => {
    const submit = HTMLFormElement.prototype.submit;
    const prefix = ${JSON.stringify(prefix)};
    HTMLFormElement.prototype.submit = function () {
      const form = this;
      if (!String(form.action).startsWith(prefix)) return submit.call(form);
      void window.__wmxTestCallbackReleased().then(() => submit.call(form));
    };
  })();`);
  return release;
}
