/**
 * A client for the JSON API tests: every response is checked against the OpenAPI document (status
 * documented for the route, body matching its schema), and payments are made through the legacy
 * init and the hosted page, as a shop and its customer would.
 */
import assert from 'node:assert/strict';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import type { Contract } from './openapi-contract.js';
import { initPayment, type TestGateway } from './harness.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  json: any;
}

export interface ApiCall {
  /** The API key; null sends no Authorization header. */
  key: string | null;
  body?: unknown;
  /** Sent as is (with the given Content-Type header, if any). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Skip the contract check (for deliberately undocumented paths). */
  unchecked?: boolean;
}

export function apiClient(t: TestGateway, contract: Contract) {
  return async function api(method: string, path: string, call: ApiCall): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...call.headers };
    if (call.key !== null) headers.authorization = `Bearer ${call.key}`;
    let body: string | undefined = call.rawBody;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${t.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    assert.match(contentType, /^application\/json/, `${method} ${path} answered ${contentType}: ${text.slice(0, 200)}`);
    const json: unknown = JSON.parse(text);
    if (!call.unchecked) contract.check(method, path, res.status, json, contentType);
    return { status: res.status, headers: res.headers, text, json };
  };
}

export type Api = ReturnType<typeof apiClient>;

const CARD = { method: 'card', card_number: '4111111111111111', expiry: '12/39', cvv: '123', card_name: 'X' };

/** Starts a payment through the legacy init and returns its token. */
export async function startPayment(
  t: TestGateway,
  c: IssuedCredentials,
  overrides: Record<string, string | undefined> = {},
): Promise<string> {
  const r = await initPayment(t, c, overrides);
  assert.equal(r.json.statusCode, '1000', r.text);
  return r.json.token as string;
}

/** Pays a started payment on the hosted page with an approved sandbox card. */
export async function payWithCard(t: TestGateway, token: string, card: Partial<typeof CARD> = {}): Promise<void> {
  const res = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
    method: 'POST',
    body: new URLSearchParams({ ...CARD, ...card }),
    redirect: 'manual',
  });
  await res.text();
  assert.ok(res.status < 500, `pay answered ${res.status}`);
  const p = await t.gw.payments.byToken(token);
  assert.equal(p?.status, 'approved', `payment ${token} is ${p?.status}`);
}

/** A paid payment of `amount` BDT. */
export async function paidPayment(
  t: TestGateway,
  c: IssuedCredentials,
  amount = '100.00',
  overrides: Record<string, string | undefined> = {},
): Promise<string> {
  const token = await startPayment(t, c, { amount, product_desc: `Order of ${amount}`, ...overrides });
  await payWithCard(t, token);
  return token;
}

/** Refunds of a payment as stored (to count effects, not answers). */
export async function storedRefunds(t: TestGateway, token: string) {
  return t.gw.db.kysely
    .selectFrom('refunds')
    .select(['id', 'amount_minor', 'status'])
    .where('token', '=', token)
    .execute();
}
