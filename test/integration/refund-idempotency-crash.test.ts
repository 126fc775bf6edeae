/**
 * A refund's Idempotency-Key survives a crash (issue 16). The key is written in the transaction
 * that creates the refund, so after a SIGKILL either both exist or neither does:
 * - killed while bKash holds the refund's answer (the simulator's .75 knob: the refund is made at
 *   bKash, its answer hangs), i.e. after the refund's commit and before any answer: a retry with
 *   the key on a fresh process answers that refund (201, the same id, Idempotent-Replayed), not
 *   409 idempotency_in_progress and not 422; every later retry repeats that answer byte for byte;
 *   the reconciler settles the refund with bKash once; one refund, one ledger transfer, and
 *   `wmx ledger verify` passes. The same key with another body is still 409 idempotency_conflict.
 * - killed before the request reached the refund (its body still arriving): nothing is recorded,
 *   and the retry makes the refund afresh.
 * - in process: a key written with a refund that was completed but never answered (the window
 *   between the final commit and storing the answer) answers the refund as it stands.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BKASH_SIMULATOR_DEFAULT_CREDENTIALS as B, startBkashSimulator } from '../../src/acquirers/bkash/simulator.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import { dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import { approvedPayment } from '../support/money.js';
import {
  browseWhileDown as browse,
  childSetup,
  openInspector,
  sleep,
  type Inspector,
} from '../support/child-gateway.js';

type Child = Awaited<ReturnType<typeof childSetup>>;
type Sim = Awaited<ReturnType<typeof startBkashSimulator>>;

interface SimPayment {
  transactionStatus: string;
  refunds: { refundTrxID: string; amount: string }[];
}

const until = async <T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

/** POST /api/v1/payments/{token}/refunds as a merchant's server sends it. */
async function refund(url: string, apiKey: string, token: string, body: unknown, key: string) {
  const r = await fetch(`${url}/api/v1/payments/${token}/refunds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await r.text();
  return {
    status: r.status,
    replayed: r.headers.get('idempotent-replayed'),
    text,
    json: JSON.parse(text) as Record<string, any>, // eslint-disable-line @typescript-eslint/no-explicit-any -- a JSON answer, read field by field
  };
}

/** A merchant and the bKash connector against the simulator, set up with the gateway stopped. */
async function merchantOnBkash(g: Child, sim: Sim): Promise<IssuedCredentials> {
  const created = await g.wmx(
    'merchant',
    'create',
    '--name',
    'Crash Shop',
    '--domain',
    'shop.test',
    '--sandbox',
    '--json',
  );
  assert.equal(created.code, 0, created.stderr);
  const fields = {
    base_url: sim.baseUrl,
    username: B.username,
    app_key: B.appKey,
    password: B.password,
    app_secret: B.appSecret,
  };
  const sets = Object.entries(fields).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const added = await g.wmx('connector', 'add', 'bkash', '--kind', 'bkash', '--env', 'sandbox', ...sets);
  assert.equal(added.code, 0, added.stderr + added.stdout);
  const routed = await g.wmx('connector', 'route', 'bkash', 'bkash');
  assert.equal(routed.code, 0, routed.stderr + routed.stdout);
  return JSON.parse(created.stdout.trim()) as IssuedCredentials;
}

/** A bKash payment of `amount` the customer completed: its token and bKash paymentID. */
async function paidOnBkash(g: Child, sim: Sim, creds: IssuedCredentials, amount: string, db: Inspector) {
  const init = await browse(`${g.url}/init-payment-process`, {
    method: 'POST',
    body: new URLSearchParams(initFields(creds, { amount })),
  });
  const token = /"token":"([0-9a-f]{40})"/.exec(init?.text ?? '')?.[1];
  assert.ok(token, init?.text);
  const chose = await browse(`${g.url}/bank-payment-process/${token}/pay`, {
    method: 'POST',
    body: new URLSearchParams({ method: 'bkash', lang: 'en' }),
  });
  const paymentId = chose?.location ? new URL(chose.location).searchParams.get('paymentId') : null;
  assert.ok(paymentId, JSON.stringify(chose));
  const r = await fetch(`${sim.url}/_sim/payments/${paymentId}/customer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'success' }),
  });
  const { redirect } = (await r.json()) as { redirect: string };
  await browse(redirect); // bKash sends the customer back; the gateway executes the payment
  await until('the payment approved', async () => {
    const rows = await db.rows<{ status: string }>(`select status from payments where token = '${token}'`);
    return rows[0]?.status === 'approved' ? true : undefined;
  });
  return { token, paymentId };
}

for (const dialect of dialects()) {
  describe(`refund Idempotency-Key across a SIGKILL (${dialect})`, { timeout: 120_000 }, () => {
    let sim: Sim;
    let g: Child;
    let db: Inspector;
    let creds: IssuedCredentials;

    before(async () => {
      // The .75 refund answer hangs until the caller hangs up (the kill).
      sim = await startBkashSimulator({ hangMs: 60_000 });
      g = await childSetup(dialect, {
        WMX_MODE: 'live',
        WMX_BANK_TIMEOUT: '2s',
        WMX_RECONCILE_SCHEDULE: '300ms,600ms,1s',
        WMX_RATE_INIT: 'off',
        WMX_RATE_CHECK: 'off',
      });
      creds = await merchantOnBkash(g, sim);
      await g.start();
      db = await openInspector(dialect, g.dbUrl);
    });
    after(async () => {
      await db?.close().catch(() => undefined);
      await g?.cleanup();
      await sim?.close();
    });

    const refundsOf = (token: string) =>
      db.rows<{ id: string; status: string; amount_minor: number | string }>(
        `select id, status, amount_minor from refunds where token = '${token}'`,
      );
    const keyRow = (key: string) =>
      db.rows<{ status: string; resource_id: string | null; response_body: string | null }>(
        `select status, resource_id, response_body from api_idempotency where key = '${key}'`,
      );

    it('killed after the refund’s commit, before its answer: a retry answers that refund, once', async () => {
      const { token, paymentId } = await paidOnBkash(g, sim, creds, '30.75', db);
      const key = 'crash-refund-1';
      const first = refund(g.url, creds.api_key, token, { amount: '12.00' }, key).then(
        () => 'answered' as const,
        () => 'cut' as const,
      );
      // The refund is committed (another connection sees it) and its answer is held by bKash.
      const [made] = await until('the refund reserved', async () => {
        const rows = await refundsOf(token);
        return rows.length > 0 ? rows : undefined;
      });
      assert.equal(made!.status, 'pending');
      assert.deepEqual(await keyRow(key), [{ status: 'created', resource_id: made!.id, response_body: null }]);
      await until('bKash to make the refund', async () => {
        const p = (await (await fetch(`${sim.url}/_sim/payments/${paymentId}`)).json()) as SimPayment;
        return p.refunds.length === 1 ? true : undefined;
      });
      await g.kill();
      assert.equal(await first, 'cut', 'the first request never got an answer');

      await g.start();
      const retry = await refund(g.url, creds.api_key, token, { amount: '12.00' }, key);
      assert.equal(retry.status, 201, retry.text);
      assert.equal(retry.replayed, 'true');
      assert.equal(retry.json.id, made!.id, 'the refund the first request made');
      assert.equal(retry.json.amount_bdt ?? retry.json.amount, '12.00');
      assert.ok(['pending', 'succeeded'].includes(retry.json.status), retry.text);
      const again = await refund(g.url, creds.api_key, token, { amount: '12.00' }, key);
      assert.equal(again.status, 201);
      assert.equal(again.replayed, 'true');
      assert.equal(again.text, retry.text, 'later retries repeat the first answer byte for byte');

      const other = await refund(g.url, creds.api_key, token, { amount: '13.00' }, key);
      assert.equal(other.status, 409);
      assert.equal(other.json.error.code, 'idempotency_conflict');

      // The reconciler asks bKash about the refund the kill left pending: succeeded, once.
      await until('the refund settled', async () => {
        const rows = await refundsOf(token);
        return rows[0]?.status === 'succeeded' ? true : undefined;
      });
      const refunds = await refundsOf(token);
      assert.equal(refunds.length, 1, 'exactly one refund');
      assert.equal(Number(refunds[0]!.amount_minor), 1200);
      const sims = (await (await fetch(`${sim.url}/_sim/payments/${paymentId}`)).json()) as SimPayment;
      assert.equal(sims.refunds.length, 1, 'bKash refunded once');
      const transfers = await db.rows<{ n: number | string }>(
        `select count(*) as n from ledger_transfers where refund_id = '${made!.id}'`,
      );
      assert.equal(Number(transfers[0]!.n), 1, 'one ledger transfer for the refund');
      const later = await refund(g.url, creds.api_key, token, { amount: '12.00' }, key);
      assert.equal(later.text, retry.text, 'the stored answer stands after the refund settled');
      const now = await fetch(`${g.url}/api/v1/refunds/${made!.id}`, {
        headers: { authorization: `Bearer ${creds.api_key}` },
      });
      assert.equal(((await now.json()) as { status: string }).status, 'succeeded');
    });

    it('killed before the request reached the refund: nothing recorded, the retry refunds afresh', async () => {
      const { token } = await paidOnBkash(g, sim, creds, '20.00', db);
      const key = 'crash-refund-2';
      // Headers sent, the body never finished: the gateway dies holding the request.
      const body = JSON.stringify({ amount: '5.00' });
      const req = http.request(`${g.url}/api/v1/payments/${token}/refunds`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${creds.api_key}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'idempotency-key': key,
        },
      });
      const cut = new Promise<void>((resolve) => {
        req.on('error', () => resolve());
        req.on('close', () => resolve());
      });
      req.write(body.slice(0, 5));
      await sleep(300);
      await g.kill();
      await cut;
      assert.deepEqual(await keyRow(key), []);
      assert.deepEqual(await refundsOf(token), []);

      await g.start();
      const retry = await refund(g.url, creds.api_key, token, { amount: '5.00' }, key);
      assert.equal(retry.status, 201, retry.text);
      assert.equal(retry.replayed, null, 'a fresh request, not a replay');
      assert.equal(retry.json.status, 'succeeded');
      const replay = await refund(g.url, creds.api_key, token, { amount: '5.00' }, key);
      assert.equal(replay.replayed, 'true');
      assert.equal(replay.text, retry.text);
      assert.equal((await refundsOf(token)).length, 1);
    });

    it('the ledger verifies after the crashes (wmx ledger verify)', async () => {
      await g.kill();
      const verify = await g.wmx('ledger', 'verify');
      assert.equal(verify.code, 0, `${verify.stdout}\n${verify.stderr}`);
      await g.start();
    });
  });

  describe(`refund Idempotency-Key: a refund completed but never answered (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect);
    });
    after(() => t.close());

    it('answers the refund as it stands, then repeats that answer', async () => {
      const c = await t.createMerchant({ sandbox: true });
      const { token } = await approvedPayment(t, c, { amount: '10' });
      const m = (await t.gw.merchants.byWmxId(c.wmx_id))!;
      const key = 'window-1';
      const first = await refund(t.url, c.api_key, token, { amount: '2.00' }, key);
      assert.equal(first.status, 201, first.text);
      // What a crash between the refund's final commit and storing the answer leaves behind.
      await t.gw.db.kysely
        .updateTable('api_idempotency')
        .set({ status: 'created', response_status: null, response_body: null })
        .where('key', '=', key)
        .execute();
      const second = await t.gw.refunds.create(m.id, token, 100n, CLI_ACTOR); // the refund moves on meanwhile
      assert.equal(second.status, 'succeeded');
      const retry = await refund(t.url, c.api_key, token, { amount: '2.00' }, key);
      assert.equal(retry.status, 201);
      assert.equal(retry.replayed, 'true');
      assert.equal(retry.json.id, first.json.id);
      assert.equal(retry.json.status, 'succeeded');
      const again = await refund(t.url, c.api_key, token, { amount: '2.00' }, key);
      assert.equal(again.text, retry.text);
      const stored = await t.gw.db.kysely.selectFrom('refunds').select('id').where('token', '=', token).execute();
      assert.equal(stored.length, 2, 'no refund made by the retries');
    });
  });
}
