/**
 * What traffic tests (crash safety, several instances) check afterwards, read straight from the
 * database: nothing lost, nothing charged twice, every webhook event delivered exactly once after
 * deduplication by event id.
 */
import assert from 'node:assert/strict';
import { sleep, type Inspector } from './child-gateway.js';
import type { startWebhookSink } from './webhook-sink.js';

type Sink = Awaited<ReturnType<typeof startWebhookSink>>;

const eventIds = async (db: Inspector) =>
  new Set((await db.rows<{ id: string }>('select id from webhook_events')).map((r) => r.id));

/** Waits (at most `ms`) until every event is delivered and seen by the sink; the time it took. */
export async function drainWebhooks(db: Inspector, sink: Sink, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const events = await eventIds(db);
    const pending = await db.rows<{ n: number | string }>(
      "select count(*) as n from webhook_deliveries where status <> 'delivered'",
    );
    const received = [...events].every((id) => sink.byId.has(id));
    if ((received && Number(pending[0]?.n) === 0) || Date.now() - started > ms) return Date.now() - started;
    await sleep(100);
  }
}

/** Every event reached the sink, none it does not know, each always with the same body. */
export async function assertWebhooksExactlyOnce(
  db: Inspector,
  sink: Sink,
): Promise<{ events: number; duplicateIds: number }> {
  const events = await eventIds(db);
  const receivedIds = new Set(sink.byId.keys());
  const notReceived = [...events].filter((id) => !receivedIds.has(id));
  const unknown = [...receivedIds].filter((id) => !events.has(id));
  assert.ok(events.size > 0, 'no webhook event was written');
  if (notReceived.length > 0) {
    const ids = notReceived.map((id) => `'${id.replace(/'/g, '')}'`).join(',');
    const state = await db.rows<Record<string, unknown>>(
      `select event_id, status, attempts, next_attempt_at, lease_until, lease_owner, last_status_code from webhook_deliveries where event_id in (${ids})`,
    );
    assert.fail(
      `${notReceived.length} events in webhook_events the sink never received: ${JSON.stringify(state.slice(0, 10))}`,
    );
  }
  assert.deepEqual(unknown, [], 'event ids the sink received that are not in webhook_events');
  for (const [id, bodies] of sink.byId)
    assert.equal(new Set(bodies).size, 1, `event ${id} was delivered with different bodies`);
  return { events: events.size, duplicateIds: [...sink.byId.values()].filter((l) => l.length > 1).length };
}

/**
 * One payments row per token; every issued token has one; every payment a client saw approved is
 * approved; exactly one ledger payment transfer per approved payment and none for the others.
 */
export async function assertNothingLostOrDoubled(
  db: Inspector,
  issued: ReadonlySet<string>,
  approvedSeen: ReadonlySet<string>,
): Promise<void> {
  const dupTokens = await db.rows<{ token: string }>('select token from payments group by token having count(*) > 1');
  assert.deepEqual(dupTokens, [], 'tokens with more than one payments row');
  const payments = await db.rows<{ id: string; token: string; status: string }>(
    'select id, token, status from payments',
  );
  const byToken = new Map(payments.map((p) => [p.token, p]));
  for (const token of issued) assert.ok(byToken.has(token), `no payments row for issued token ${token}`);
  for (const token of approvedSeen) assert.equal(byToken.get(token)?.status, 'approved', token);
  const transfers = await db.rows<{ payment_id: string; n: number | string }>(
    "select payment_id, count(*) as n from ledger_transfers where kind = 'payment' group by payment_id",
  );
  const charged = new Map(transfers.map((t) => [t.payment_id, Number(t.n)]));
  assert.deepEqual(
    [...charged].filter(([, n]) => n > 1),
    [],
    'payments with more than one payment transfer',
  );
  for (const p of payments) {
    if (p.status === 'approved') assert.equal(charged.get(p.id), 1, `approved payment ${p.token} has no transfer`);
    else assert.equal(charged.has(p.id), false, `${p.status} payment ${p.token} has a payment transfer`);
  }
}
