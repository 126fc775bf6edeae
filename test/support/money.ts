/**
 * Helpers for the money tests (ledger, refunds, settlements): approved payments made through the real
 * init endpoint and either the hosted page over HTTP or the pay use case, a logged-in console client,
 * and the `wmx` CLI against a test gateway's own database.
 */
import assert from 'node:assert/strict';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import type { Payment } from '../../src/domain/payment.js';
import { childUrlOf, inheritedEnv, runWmx as runCli, type CliResult } from './cli.js';
import { initPayment, type TestGateway } from './harness.js';

export const OK_CARD = '4111111111111111';
/** Approved, but every refund of the payment fails (PROTOCOL.md section 10). */
export const REFUND_FAIL_CARD = '4000000000005126';

export interface PayOptions {
  amount?: string;
  currency?: string;
  card?: string;
  /** EMI period (3, 6, 9 or 12); card only. */
  emi?: number;
  /** Pay through POST /bank-payment-process/<token>/pay instead of the use case. */
  http?: boolean;
}

/** Inits a payment and pays it with a card; returns the approved payment. */
export async function approvedPayment(t: TestGateway, c: IssuedCredentials, o: PayOptions = {}): Promise<Payment> {
  const init = await initPayment(t, c, {
    amount: o.amount ?? '100',
    currency: o.currency ?? 'BDT',
    ...(o.emi ? { extra_json: JSON.stringify({ emi_period: o.emi, emi_selected_bank: 'dbbl' }) } : {}),
  });
  assert.equal(init.json.statusCode, '1000', init.text);
  const token = init.json.token as string;
  const card = o.card ?? OK_CARD;
  if (o.http) {
    const fields: Record<string, string> = {
      method: 'card',
      card_number: card,
      expiry: '12/39',
      cvv: '123',
      card_name: 'X',
    };
    if (o.emi) Object.assign(fields, { emi: 'yes', emi_period: String(o.emi), emi_bank: 'dbbl' });
    const r = await fetch(`${t.url}/bank-payment-process/${token}/pay`, {
      method: 'POST',
      body: new URLSearchParams(fields),
    });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /Payment successful/);
  } else {
    const r = await t.gw.pay.submit(
      token,
      'card',
      { kind: 'card', digits: card, brand: 'VISA', expMonth: 12, expYear: 2039, cvv: '123', holder: 'X' },
      o.emi ? { period: o.emi, bank: 'dbbl' } : null,
      null,
    );
    assert.equal(r?.kind, 'final');
  }
  const p = await t.gw.payments.byToken(token);
  assert.equal(p?.status, 'approved');
  return p;
}

/** A browser without JavaScript: a cookie jar and the CSRF token of the last page it read. */
export class ConsoleClient {
  private readonly cookies = new Map<string, string>();
  csrf = '';
  constructor(private readonly base: string) {}

  async request(p: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.base + p, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1).trim();
      if (value === '') this.cookies.delete(pair.slice(0, eq).trim());
      else this.cookies.set(pair.slice(0, eq).trim(), value);
    }
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1]!.replace(/&amp;/g, '&');
    return { status: res.status, headers: res.headers, text };
  }

  get(p: string) {
    return this.request(p);
  }

  post(p: string, fields: Record<string, string>) {
    return this.request(p, { method: 'POST', body: new URLSearchParams({ _csrf: this.csrf, ...fields }) });
  }

  async login(kind: 'merchant' | 'admin', email: string, password: string) {
    const at = kind === 'admin' ? '/admin/login' : '/login';
    await this.get(at);
    const r = await this.post(at, { email, password });
    assert.equal(r.status, 303, r.text);
  }
}

/** Runs `wmx …` as a child process on the test gateway's database. */
export async function runWmx(t: TestGateway, ...args: string[]): Promise<CliResult> {
  const env = {
    ...inheritedEnv(),
    WMX_DATABASE_URL: await childUrlOf(t),
    WMX_DATA_DIR: t.dataDir,
    WMX_SECRET: 'test-secret-for-the-cli-0123456789abcdef',
  };
  return runCli(args, env);
}
