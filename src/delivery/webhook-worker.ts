import { signPayload } from '../app/callback.js';
import { createPoller } from '../app/poller.js';
import type { Merchant } from '../domain/merchant.js';
import type { ClaimedDelivery, DeliveryStatus, WebhookRepo } from '../store/webhooks.js';

export interface WebhookWorkerDeps {
  repo: Pick<WebhookRepo, 'claim' | 'recordAttempt'>;
  merchantById(id: string): Promise<Merchant | undefined>;
  signingSecretOf(m: Merchant): string;
  /** Waits after attempt 1, 2, …; once they are used up, a retryable failure gives up. */
  retryScheduleMs: readonly number[];
  /** This instance as a lease owner (app/instances.ts): dead owners' leases are taken over. */
  owner?: () => { id: string; deadBefore: number };
  timeoutMs: number;
  now: () => number;
  /** How many deliveries are sent in parallel at most (one pass of runOnce claims this many). */
  batchSize?: number;
  /** How many of them may go to one endpoint at a time (default a fifth of batchSize). */
  perEndpoint?: number;
  /** How often start()'s loop looks for due deliveries when the last pass found none. */
  pollMs?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

const EXCERPT_MAX = 500;
/** Enough of a response body for the log; the rest is never read (a receiver could send gigabytes). */
const READ_MAX = 4096;

/**
 * The headers of one webhook POST, signed now. `wmx listen` forwards exactly these, so a receiver
 * behind it verifies the same signature it will in production.
 */
export function webhookHeaders(secret: string, nowMs: number, payload: string, eventId: string) {
  return {
    'content-type': 'application/json',
    'user-agent': 'wmx-gateway-webhooks/1',
    'wmx-signature': signPayload(secret, Math.floor(nowMs / 1000), payload),
    'wmx-event-id': eventId,
  };
}

/** Network errors, 408, 429 and 5xx may pass; anything else (other 4xx, 3xx) will not improve by retrying. */
export const retryable = (status: number | null): boolean =>
  status === null || status === 408 || status === 429 || status >= 500;

async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < READ_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_MAX);
}

/**
 * The webhook outbox worker. Each pass claims due deliveries with a lease (a short UPDATE, no open
 * transaction), POSTs them, then records the attempt fenced by that lease. A crash mid-call leaves
 * the lease to run out and the delivery is tried again: receivers dedupe on the event id.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps) {
  const batchSize = deps.batchSize ?? 50;
  // A receiver that hangs holds at most this many slots until its timeout: five such receivers
  // are needed before anyone else's event waits.
  const perEndpoint = deps.perEndpoint ?? Math.max(1, Math.floor(batchSize / 5));
  const pollMs = deps.pollMs ?? 1000;
  // The lease outlives the slowest possible attempt, so a live worker never loses its row mid-call.
  const leaseMs = deps.timeoutMs * 2 + 5_000;

  async function send(d: ClaimedDelivery): Promise<void> {
    const attemptedAt = deps.now();
    let statusCode: number | null = null;
    let excerpt: string | null = null;
    let error: string | null = null;
    const merchant = await deps.merchantById(d.merchantId);
    if (!d.endpointEnabled || !merchant) {
      error = !merchant ? 'merchant no longer exists' : 'endpoint removed';
      await deps.repo.recordAttempt(
        d,
        { attemptedAt, statusCode: null, latencyMs: 0, responseExcerpt: null, error },
        { status: 'failed', nextAttemptAt: attemptedAt },
      );
      return;
    }
    const started = performance.now();
    try {
      const eventId = (JSON.parse(d.payload) as { id: string }).id; // the stored body always has one
      const res = await fetch(d.url, {
        method: 'POST',
        headers: webhookHeaders(deps.signingSecretOf(merchant), deps.now(), d.payload, eventId),
        body: d.payload,
        // A redirect could lead off the merchant's registered domains: it counts as an answer.
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
      statusCode = res.status;
      excerpt = await readExcerpt(res).catch(() => '');
    } catch (e) {
      error = e instanceof Error ? (e.name === 'TimeoutError' ? 'timeout' : e.message).slice(0, 500) : 'error';
    }
    const latencyMs = Math.round(performance.now() - started);
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const now = deps.now();
    let status: DeliveryStatus = 'delivered';
    let nextAttemptAt = now;
    if (!ok) {
      // d.attempts counts earlier attempts; this one is number d.attempts + 1.
      const wait = retryable(statusCode) ? deps.retryScheduleMs[d.attempts] : undefined;
      status = wait === undefined ? 'failed' : 'pending';
      nextAttemptAt = now + (wait ?? 0);
    }
    const recorded = await deps.repo.recordAttempt(
      d,
      { attemptedAt, statusCode, latencyMs, responseExcerpt: excerpt, error },
      { status, nextAttemptAt },
    );
    if (!recorded) deps.log?.('webhook attempt finished after its lease was lost', { delivery: d.id });
  }

  /** One pass: claims due deliveries and sends them; resolves with how many were attempted. */
  async function runOnce(): Promise<number> {
    const claimed = await deps.repo.claim(deps.now(), leaseMs, batchSize, new Map(), Infinity, deps.owner?.());
    const results = await Promise.allSettled(claimed.map((d) => send(d)));
    for (const r of results) {
      if (r.status === 'rejected') deps.log?.('webhook delivery pass failed', { err: String(r.reason) });
    }
    return claimed.length;
  }

  /** Deliveries started by the running loop and not yet recorded, each with its endpoint. */
  const inFlight = new Map<Promise<void>, string>();
  const perEndpointInFlight = (): Map<string, number> => {
    const n = new Map<string, number>();
    for (const endpointId of inFlight.values()) n.set(endpointId, (n.get(endpointId) ?? 0) + 1);
    return n;
  };
  /** The loop is idle only for want of room: the next delivery to finish wakes it. */
  let waitingForRoom = false;
  /** Some endpoint had its whole share in flight after the last pass: likewise. */
  let atShare = false;

  /**
   * The running loop's pass never waits for the deliveries it starts: a receiver that takes its
   * whole timeout must not hold back other merchants' events (nor due retries). Each pass claims
   * as many as there is room for next to those still in flight.
   */
  async function startDue(): Promise<boolean> {
    const room = batchSize - inFlight.size;
    // The claim counts what is in flight now; deliveries ending while it runs free no share of it.
    const counted = perEndpointInFlight();
    const claimed =
      room > 0 ? await deps.repo.claim(deps.now(), leaseMs, room, counted, perEndpoint, deps.owner?.()) : [];
    for (const d of claimed) {
      const delivery: Promise<void> = send(d)
        .catch((e: unknown) => deps.log?.('webhook delivery pass failed', { err: String(e) }))
        .finally(() => {
          inFlight.delete(delivery);
          // The last pass left an endpoint at its share, which may have more due: go again now, so
          // a healthy receiver with a backlog is not held to one share per poll interval.
          if (waitingForRoom || atShare) {
            waitingForRoom = false;
            atShare = false;
            poller.wake();
          }
        });
      inFlight.set(delivery, d.endpointId);
    }
    // No room, or a full claim: more may be due. With room left, go again at once; with none,
    // when a delivery ends.
    const full = claimed.length >= room;
    waitingForRoom = full && inFlight.size >= batchSize;
    // An endpoint the claim filled to its share may have more due: the next delivery to end wakes
    // the loop (never a busy loop: a receiver that hangs ends nothing until its timeout).
    for (const d of claimed) counted.set(d.endpointId, (counted.get(d.endpointId) ?? 0) + 1);
    atShare = [...counted.values()].some((n) => n >= perEndpoint);
    return full && !waitingForRoom;
  }

  const poller = createPoller({
    pass: startDue,
    intervalMs: pollMs,
    onError: (e) => deps.log?.('webhook worker pass failed', { err: String(e) }),
  });

  return {
    runOnce,
    start: poller.start,
    /** Stops polling and waits for the deliveries in flight to record their attempts. */
    async stop(): Promise<void> {
      await poller.stop();
      await Promise.allSettled([...inFlight.keys()]);
    },
  };
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>;
