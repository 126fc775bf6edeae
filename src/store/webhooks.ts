import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { newId } from '../domain/ids.js';
import type { Db } from './db.js';
import type {
  Database,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
  WebhookEventsTable,
} from './schema.js';

/** `queued`: a `wmx listen` session's delivery, waiting for the CLI to fetch it (never the worker's). */
export type DeliveryStatus = 'pending' | 'queued' | 'delivered' | 'failed';

/** A `wmx listen` session that has not polled for this long receives no new events (and ends). */
export const LISTEN_IDLE_MS = 60 * 60_000;

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  url: string;
  enabled: boolean;
  createdAt: number;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  endpointId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  lastStatusCode: number | null;
  createdAt: number;
}

export interface WebhookAttempt {
  id: string;
  deliveryId: string;
  attemptedAt: number;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
}

/** A claimed delivery with everything the worker needs to send it, read in the same round trip. */
export interface ClaimedDelivery extends WebhookDelivery {
  url: string;
  endpointEnabled: boolean;
  merchantId: string;
  payload: string;
}

/** An event to write into the outbox, in the caller's transaction. */
export interface NewEvent {
  id: string;
  merchantId: string;
  type: string;
  payload: string;
  createdAt: number;
}

/** A `wmx listen` session (an endpoint of kind 'listen'). */
export interface ListenSession {
  id: string;
  merchantId: string;
  label: string;
  enabled: boolean;
  createdAt: number;
  seenAt: number;
}

/** A delivery queued for a listen session, with its event's stored body. */
export interface QueuedDelivery {
  deliveryId: string;
  eventId: string;
  type: string;
  payload: string;
  createdAt: number;
}

/** What the receiver behind `wmx listen` answered for one forwarded delivery. */
export interface ListenAck {
  deliveryId: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

const toListenSession = (r: Selectable<WebhookEndpointsTable>): ListenSession => ({
  id: r.id,
  merchantId: r.merchant_id,
  label: r.url.replace(/^listen:/, ''),
  enabled: Number(r.enabled) === 1,
  createdAt: Number(r.created_at),
  seenAt: Number(r.seen_at ?? r.created_at),
});

const toEndpoint = (r: Selectable<WebhookEndpointsTable>): WebhookEndpoint => ({
  id: r.id,
  merchantId: r.merchant_id,
  url: r.url,
  enabled: Number(r.enabled) === 1,
  createdAt: Number(r.created_at),
});

const toDelivery = (r: Selectable<WebhookDeliveriesTable>): WebhookDelivery => ({
  id: r.id,
  eventId: r.event_id,
  endpointId: r.endpoint_id,
  status: r.status as DeliveryStatus, // the column only ever holds DeliveryStatus values
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
  lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
  createdAt: Number(r.created_at),
});

const toAttempt = (r: Selectable<WebhookAttemptsTable>): WebhookAttempt => ({
  id: r.id,
  deliveryId: r.delivery_id,
  attemptedAt: Number(r.attempted_at),
  statusCode: r.status_code === null ? null : Number(r.status_code),
  latencyMs: Number(r.latency_ms),
  responseExcerpt: r.response_excerpt,
  error: r.error,
});

/**
 * Writes an event and one pending delivery per enabled endpoint of its merchant. Called inside the
 * transaction that makes the state change, so the event exists exactly when the change does.
 */
export async function insertEvent(trx: Kysely<Database>, ev: NewEvent): Promise<void> {
  await trx
    .insertInto('webhook_events')
    .values({ id: ev.id, merchant_id: ev.merchantId, type: ev.type, payload: ev.payload, created_at: ev.createdAt })
    .execute();
  const endpoints = await trx
    .selectFrom('webhook_endpoints')
    .select(['id', 'kind'])
    .where('merchant_id', '=', ev.merchantId)
    .where('enabled', '=', 1)
    // A listen session receives while it polls; one left idle (the laptop closed) stops collecting.
    .where((w) => w.or([w('kind', '=', 'http'), w('seen_at', '>=', ev.createdAt - LISTEN_IDLE_MS)]))
    .execute();
  if (endpoints.length === 0) return;
  await trx
    .insertInto('webhook_deliveries')
    .values(
      endpoints.map((e) => ({
        id: newId('whd'),
        event_id: ev.id,
        endpoint_id: e.id,
        status: e.kind === 'listen' ? 'queued' : 'pending',
        attempts: 0,
        next_attempt_at: ev.createdAt,
        lease_until: null,
        last_status_code: null,
        created_at: ev.createdAt,
      })),
    )
    .execute();
}

/** An event as written: `payload` is the exact JSON body sent to the merchant's endpoints. */
export interface StoredEvent {
  id: string;
  type: string;
  payload: string;
  createdAt: number;
}

const toStoredEvent = (r: Selectable<WebhookEventsTable>): StoredEvent => ({
  id: r.id,
  type: r.type,
  payload: r.payload,
  createdAt: Number(r.created_at),
});

/** One attempt of a delivery, in the transaction that moves the delivery on. */
async function logAttempt(
  trx: Kysely<Database>,
  deliveryId: string,
  a: Omit<WebhookAttempt, 'id' | 'deliveryId'>,
): Promise<void> {
  await trx
    .insertInto('webhook_attempts')
    .values({
      id: newId('wha'),
      delivery_id: deliveryId,
      attempted_at: a.attemptedAt,
      status_code: a.statusCode,
      latency_ms: a.latencyMs,
      response_excerpt: a.responseExcerpt,
      error: a.error,
    })
    .execute();
}

export function createWebhookRepo(db: Db) {
  const k: Kysely<Database> = db.kysely;

  return {
    async addEndpoint(merchantId: string, url: string, now: number): Promise<WebhookEndpoint> {
      const row = await k
        .insertInto('webhook_endpoints')
        .values({ id: newId('whe'), merchant_id: merchantId, url, enabled: 1, created_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEndpoint(row);
    },

    /** Disables the endpoint (kept for the delivery log); undefined when not this merchant's. */
    async removeEndpoint(merchantId: string, id: string): Promise<WebhookEndpoint | undefined> {
      const row = await k
        .updateTable('webhook_endpoints')
        .set({ enabled: 0 })
        .where('id', '=', id)
        .where('merchant_id', '=', merchantId)
        .where('enabled', '=', 1)
        .where('kind', '=', 'http')
        .returningAll()
        .executeTakeFirst();
      return row && toEndpoint(row);
    },

    async endpoints(merchantId: string): Promise<WebhookEndpoint[]> {
      const rows = await k
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .where('enabled', '=', 1)
        .where('kind', '=', 'http')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toEndpoint);
    },

    /** Opens a `wmx listen` session: an endpoint of kind 'listen' that events queue for. */
    async addListenSession(merchantId: string, label: string, now: number): Promise<ListenSession> {
      const row = await k
        .insertInto('webhook_endpoints')
        .values({
          id: newId('whe'),
          merchant_id: merchantId,
          url: `listen:${label}`,
          enabled: 1,
          created_at: now,
          kind: 'listen',
          seen_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toListenSession(row);
    },

    /** The merchant's listen session (ended ones too); another merchant's is not found. */
    async listenSession(merchantId: string, id: string): Promise<ListenSession | undefined> {
      const row = await k
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', id)
        .where('merchant_id', '=', merchantId)
        .where('kind', '=', 'listen')
        .executeTakeFirst();
      return row && toListenSession(row);
    },

    async touchListenSession(id: string, now: number): Promise<void> {
      await k.updateTable('webhook_endpoints').set({ seen_at: now }).where('id', '=', id).execute();
    },

    /** Ends a session: no new events, and what it had not fetched is given up. */
    async endListenSession(id: string): Promise<void> {
      await k.transaction().execute(async (trx) => {
        await trx.updateTable('webhook_endpoints').set({ enabled: 0 }).where('id', '=', id).execute();
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'failed' })
          .where('endpoint_id', '=', id)
          .where('status', '=', 'queued')
          .execute();
      });
    },

    /**
     * Ends the merchant's sessions idle since before `idleBefore` (their queued deliveries given
     * up), and counts the live ones left.
     */
    async sweepListenSessions(merchantId: string, idleBefore: number): Promise<number> {
      return k.transaction().execute(async (trx) => {
        const ended = await trx
          .updateTable('webhook_endpoints')
          .set({ enabled: 0 })
          .where('merchant_id', '=', merchantId)
          .where('kind', '=', 'listen')
          .where('enabled', '=', 1)
          .where('seen_at', '<', idleBefore)
          .returning('id')
          .execute();
        if (ended.length > 0)
          await trx
            .updateTable('webhook_deliveries')
            .set({ status: 'failed' })
            .where(
              'endpoint_id',
              'in',
              ended.map((e) => e.id),
            )
            .where('status', '=', 'queued')
            .execute();
        const live = await trx
          .selectFrom('webhook_endpoints')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('merchant_id', '=', merchantId)
          .where('kind', '=', 'listen')
          .where('enabled', '=', 1)
          .executeTakeFirstOrThrow();
        return Number(live.n);
      });
    },

    /** What a session has not acknowledged yet, oldest first, with each event's stored body. */
    async queuedFor(endpointId: string, limit: number): Promise<QueuedDelivery[]> {
      const rows = await k
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .select(['d.id as delivery_id', 'e.id as event_id', 'e.type', 'e.payload', 'd.created_at'])
        .where('d.endpoint_id', '=', endpointId)
        .where('d.status', '=', 'queued')
        .orderBy('d.created_at')
        .orderBy('d.id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        deliveryId: r.delivery_id,
        eventId: r.event_id,
        type: r.type,
        payload: r.payload,
        createdAt: Number(r.created_at),
      }));
    },

    /**
     * Records what the CLI's receiver answered for each forwarded delivery (one attempt each) and
     * closes it. An ack for a delivery already closed, or not this session's, changes nothing, so
     * a CLI resending acks after a lost answer is harmless.
     */
    async ackListen(endpointId: string, acks: readonly ListenAck[], now: number): Promise<number> {
      let n = 0;
      for (const a of acks) {
        const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
        const done = await k.transaction().execute(async (trx) => {
          const r = await trx
            .updateTable('webhook_deliveries')
            .set((eb) => ({
              status: ok ? 'delivered' : 'failed',
              attempts: eb('attempts', '+', 1),
              last_status_code: a.statusCode,
              next_attempt_at: now,
            }))
            .where('id', '=', a.deliveryId)
            .where('endpoint_id', '=', endpointId)
            .where('status', '=', 'queued')
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) !== 1) return false;
          await logAttempt(trx, a.deliveryId, {
            attemptedAt: now,
            statusCode: a.statusCode,
            latencyMs: a.latencyMs,
            responseExcerpt: null,
            error: a.error,
          });
          return true;
        });
        if (done) n++;
      }
      return n;
    },

    /**
     * Leases up to `limit` due deliveries, oldest first, but at most `perEndpoint` per endpoint
     * counting those `inFlight` already: a receiver that hangs can hold only its own share of the
     * worker, never every slot (its backlog once delayed other merchants' events by minutes).
     * Candidates are read first, then leased by an UPDATE that re-checks their conditions, so a
     * row another worker leased meanwhile drops out (PostgreSQL re-evaluates them under the lock).
     * A lease whose owner's heartbeat stopped before `owner.deadBefore` (a killed instance, see
     * app/instances.ts) is free at once rather than at its end.
     */
    async claim(
      now: number,
      leaseMs: number,
      limit: number,
      inFlight: ReadonlyMap<string, number> = new Map(),
      perEndpoint = Infinity,
      owner?: { id: string; deadBefore: number },
    ): Promise<ClaimedDelivery[]> {
      const full = [...inFlight].filter(([, n]) => n >= perEndpoint).map(([id]) => id);
      const free = (w: ExpressionBuilder<Database, 'webhook_deliveries'>) =>
        w.or([
          w('lease_until', 'is', null),
          w('lease_until', '<', now),
          ...(owner
            ? [
                w(
                  'lease_owner',
                  'in',
                  w.selectFrom('instances').select('id').where('heartbeat_at', '<', owner.deadBefore),
                ),
              ]
            : []),
        ]);
      let q = k
        .selectFrom('webhook_deliveries')
        .select(['id', 'endpoint_id'])
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where(free)
        .orderBy('next_attempt_at')
        .limit(Number.isFinite(perEndpoint) ? Math.min(limit * 4, 1000) : limit);
      if (full.length > 0) q = q.where('endpoint_id', 'not in', full);
      const taken = new Map(inFlight);
      const chosen: string[] = [];
      for (const c of await q.execute()) {
        const n = taken.get(c.endpoint_id) ?? 0;
        if (n >= perEndpoint) continue;
        taken.set(c.endpoint_id, n + 1);
        chosen.push(c.id);
        if (chosen.length >= limit) break;
      }
      if (chosen.length === 0) return [];
      const claimed = await k
        .updateTable('webhook_deliveries')
        .set({ lease_until: now + leaseMs, lease_owner: owner?.id ?? null })
        .where('id', 'in', chosen)
        .where('status', '=', 'pending')
        .where(free)
        .returningAll()
        .execute();
      if (claimed.length === 0) return [];
      const extra = await k
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
        .select(['d.id', 'e.payload', 'e.merchant_id', 'w.url', 'w.enabled'])
        .where(
          'd.id',
          'in',
          claimed.map((c) => c.id),
        )
        .execute();
      const byId = new Map(extra.map((x) => [x.id, x]));
      return claimed.flatMap((c) => {
        const x = byId.get(c.id);
        if (!x) return [];
        return [
          {
            ...toDelivery(c),
            url: x.url,
            endpointEnabled: Number(x.enabled) === 1,
            merchantId: x.merchant_id,
            payload: x.payload,
          },
        ];
      });
    },

    /**
     * Logs an attempt and moves the delivery on, only while this worker still holds the lease it
     * took (a worker that overran its lease must not overwrite the newer holder's result).
     */
    async recordAttempt(
      d: Pick<WebhookDelivery, 'id' | 'leaseUntil'>,
      attempt: Omit<WebhookAttempt, 'id' | 'deliveryId'>,
      next: { status: DeliveryStatus; nextAttemptAt: number },
    ): Promise<boolean> {
      return k.transaction().execute(async (trx) => {
        let q = trx
          .updateTable('webhook_deliveries')
          .set((eb) => ({
            status: next.status,
            attempts: eb('attempts', '+', 1),
            next_attempt_at: next.nextAttemptAt,
            lease_until: null,
            last_status_code: attempt.statusCode,
          }))
          .where('id', '=', d.id)
          .where('status', '=', 'pending');
        q = d.leaseUntil === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', d.leaseUntil);
        const r = await q.executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false;
        await logAttempt(trx, d.id, attempt);
        return true;
      });
    },

    /**
     * Manual redelivery: pending again, due now, with a fresh retry budget. A live lease is kept, so
     * a delivery in flight is never sent a second time alongside itself.
     */
    async redeliver(merchantId: string, deliveryId: string, now: number): Promise<boolean> {
      // A listen session's delivery goes back to its queue, for the CLI to fetch again.
      const of = await k
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
        .select(['w.kind', 'w.enabled', 'w.seen_at'])
        .where('d.id', '=', deliveryId)
        .executeTakeFirst();
      // …unless the session has ended or gone idle: nobody will ever fetch it, and queued it would
      // wait forever. It is closed at once with an attempt that says why, as the worker does for a
      // removed http endpoint ('endpoint removed').
      if (of?.kind === 'listen' && (Number(of.enabled) !== 1 || Number(of.seen_at ?? 0) < now - LISTEN_IDLE_MS)) {
        return k.transaction().execute(async (trx) => {
          const r = await trx
            .updateTable('webhook_deliveries')
            .set((eb) => ({ status: 'failed', next_attempt_at: now, attempts: eb('attempts', '+', 1) }))
            .where('id', '=', deliveryId)
            .where('event_id', 'in', (eb) =>
              eb.selectFrom('webhook_events').select('id').where('merchant_id', '=', merchantId),
            )
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) !== 1) return false;
          await logAttempt(trx, deliveryId, {
            attemptedAt: now,
            statusCode: null,
            latencyMs: 0,
            responseExcerpt: null,
            error: 'listen session ended',
          });
          return true;
        });
      }
      const r = await k
        .updateTable('webhook_deliveries')
        .set({ status: of?.kind === 'listen' ? 'queued' : 'pending', next_attempt_at: now, attempts: 0 })
        .where('id', '=', deliveryId)
        .where('event_id', 'in', (eb) =>
          eb.selectFrom('webhook_events').select('id').where('merchant_id', '=', merchantId),
        )
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** The merchant's latest deliveries, newest first, each with its event and attempts (oldest first). */
    async recentDeliveries(merchantId: string, limit: number) {
      const rows = await k
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
        .selectAll('d')
        .select(['e.type as event_type', 'w.url as url'])
        .where('e.merchant_id', '=', merchantId)
        .orderBy('d.created_at', 'desc')
        .orderBy('d.id', 'desc')
        .limit(limit)
        .execute();
      const attempts =
        rows.length === 0
          ? []
          : await k
              .selectFrom('webhook_attempts')
              .selectAll()
              .where(
                'delivery_id',
                'in',
                rows.map((r) => r.id),
              )
              .orderBy('attempted_at')
              .orderBy('id')
              .execute();
      return rows.map((r) => ({
        ...toDelivery(r),
        eventType: r.event_type,
        url: r.url,
        attemptLog: attempts.filter((a) => a.delivery_id === r.id).map(toAttempt),
      }));
    },

    async attemptsOf(deliveryId: string): Promise<WebhookAttempt[]> {
      const rows = await k
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', '=', deliveryId)
        .orderBy('attempted_at')
        .orderBy('id')
        .execute();
      return rows.map(toAttempt);
    },

    async deliveriesOfEvent(eventId: string): Promise<WebhookDelivery[]> {
      const rows = await k.selectFrom('webhook_deliveries').selectAll().where('event_id', '=', eventId).execute();
      return rows.map(toDelivery);
    },

    /**
     * A page of a merchant's events, newest first: those older than `before` (the last of the
     * previous page), of one type if given. One more than `limit` is read, to tell a last page.
     */
    async eventsPage(
      merchantId: string,
      opts: { type?: string | undefined; before?: { createdAt: number; id: string } | undefined; limit: number },
    ): Promise<{ events: StoredEvent[]; more: boolean }> {
      const { type, before, limit } = opts;
      const rows = await k
        .selectFrom('webhook_events')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .$if(type !== undefined, (q) => q.where('type', '=', type as string))
        .$if(before !== undefined, (q) =>
          q.where((eb) =>
            eb.or([
              eb('created_at', '<', before!.createdAt),
              eb.and([eb('created_at', '=', before!.createdAt), eb('id', '<', before!.id)]),
            ]),
          ),
        )
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      return { events: rows.slice(0, limit).map(toStoredEvent), more: rows.length > limit };
    },

    /** One of a merchant's events (another merchant's is not found). */
    async event(merchantId: string, id: string): Promise<StoredEvent | undefined> {
      const r = await k
        .selectFrom('webhook_events')
        .selectAll()
        .where('id', '=', id)
        .where('merchant_id', '=', merchantId)
        .executeTakeFirst();
      return r && toStoredEvent(r);
    },

    async events(merchantId: string): Promise<StoredEvent[]> {
      const rows = await k
        .selectFrom('webhook_events')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toStoredEvent);
    },
  };
}

export type WebhookRepo = ReturnType<typeof createWebhookRepo>;
