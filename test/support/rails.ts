/**
 * Test support for real-rail connectors: configuring one against a simulator (as an operator would,
 * through the connectors admin), walking a payment through the hosted page and the simulator the
 * way a browser does (following redirects by hand), and reading what a payment left behind.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { CLI_ACTOR } from '../../src/app/audit.js';
import { BKASH_SIMULATOR_DEFAULT_CREDENTIALS } from '../../src/acquirers/bkash/simulator.js';
import type { MethodKey } from '../../src/acquirers/port.js';
import type { TestGateway } from './harness.js';

export interface ConnectorSetup {
  id: string;
  kind: 'bkash' | 'sslcommerz';
  fields: Record<string, string>;
  /** Routes these methods to it for every merchant. */
  methods: MethodKey[];
}

export async function addConnector(t: TestGateway, c: ConnectorSetup): Promise<void> {
  const added = await t.gw.connectors.add(
    { id: c.id, kind: c.kind, environment: 'sandbox', fields: c.fields },
    CLI_ACTOR,
  );
  assert.deepEqual(added, { ok: true });
  for (const m of c.methods) assert.deepEqual(await t.gw.connectors.route('*', m, c.id, CLI_ACTOR), { ok: true });
}

export const bkashFields = (baseUrl: string, creds = BKASH_SIMULATOR_DEFAULT_CREDENTIALS) => ({
  base_url: baseUrl,
  username: creds.username,
  password: creds.password,
  app_key: creds.appKey,
  app_secret: creds.appSecret,
});

/** A request as a browser without JavaScript makes it: no redirects followed. */
export async function browse(url: string, init: RequestInit = {}) {
  const r = await fetch(url, { redirect: 'manual', ...init });
  return { status: r.status, location: r.headers.get('location'), text: await r.text() };
}

/** POSTs the payment page's form for `method` (and fields); the raw answer. */
export async function choose(t: TestGateway, token: string, method: string, fields: Record<string, string> = {}) {
  return browse(`${t.url}/bank-payment-process/${token}/pay`, {
    method: 'POST',
    body: new URLSearchParams({ method, lang: 'en', ...fields }),
  });
}

/** Follows a 303 chain inside the gateway until a page; the final page's text. */
export async function follow(t: TestGateway, start: string): Promise<{ url: string; text: string; status: number }> {
  let url = start.startsWith('http') ? start : `${t.url}${start}`;
  for (let i = 0; i < 10; i++) {
    const r = await browse(url);
    if (r.status >= 300 && r.status < 400 && r.location) {
      url = r.location.startsWith('http') ? r.location : `${t.url}${r.location}`;
      continue;
    }
    return { url, text: r.text, status: r.status };
  }
  throw new Error('too many redirects');
}

/** The payment's rows that must exist exactly once: ledger transfers and webhook events by type. */
export async function moneyTrail(t: TestGateway, token: string) {
  const p = await t.gw.payments.byToken(token);
  assert.ok(p);
  const transfers = await t.gw.db.kysely
    .selectFrom('ledger_transfers')
    .select(['kind', 'refund_id'])
    .where('payment_id', '=', p.id)
    .execute();
  const events = await t.gw.db.kysely
    .selectFrom('webhook_events')
    .select(['type'])
    .where(sql<boolean>`payload like ${'%' + token + '%'}`)
    .execute();
  const calls = await t.gw.upstreamCalls.forPayment(p.id);
  return {
    payment: p,
    paymentTransfers: transfers.filter((x) => x.kind === 'payment').length,
    refundTransfers: transfers.filter((x) => x.kind === 'refund').length,
    events: events.map((e) => e.type).sort(),
    calls,
  };
}

/** The ledger's own check (every invariant) passes. */
export async function assertLedgerOk(t: TestGateway): Promise<void> {
  const r = await t.gw.ledgerVerify();
  assert.equal(r.ok, true, JSON.stringify(r));
}
