/**
 * `wmx listen`: webhook events for a receiver the gateway cannot reach (a developer's laptop). The
 * CLI opens a session (an endpoint of kind 'listen'), then long-polls it: each poll acknowledges
 * what the last one returned (the receiver's status, recorded as the delivery's attempt) and waits
 * for what is queued. Every event gets a delivery for each live session in the event's own
 * transaction (store/webhooks.ts insertEvent), so a CLI that lost its connection, or a gateway
 * restarted between two polls, resumes where it was: a delivery stays queued until acknowledged.
 */
import type { Merchant } from '../domain/merchant.js';
import { webhookHeaders } from '../delivery/webhook-worker.js';
import { LISTEN_IDLE_MS, type ListenAck, type ListenSession, type WebhookRepo } from '../store/webhooks.js';

/** One event as the CLI forwards it: the stored body byte for byte, with the headers signed now. */
export interface ForwardedEvent {
  deliveryId: string;
  eventId: string;
  type: string;
  created: number;
  headers: Record<string, string>;
  body: string;
}

export type PollResult =
  | { kind: 'events'; session: ListenSession; events: ForwardedEvent[]; acknowledged: number }
  | { kind: 'not_found' }
  /** Ended by the CLI, or idle for longer than LISTEN_IDLE_MS: events since were not kept for it. */
  | { kind: 'ended'; session: ListenSession };

export const LISTEN_MAX_WAIT_MS = 30_000;
/** Live sessions per merchant (a team's laptops and CI runs; each one costs every payment a write). */
export const LISTEN_SESSIONS_MAX = 10;
const BATCH = 20;

export function createListen(deps: {
  repo: Pick<
    WebhookRepo,
    | 'addListenSession'
    | 'sweepListenSessions'
    | 'listenSession'
    | 'touchListenSession'
    | 'endListenSession'
    | 'queuedFor'
    | 'ackListen'
  >;
  signingSecretOf(m: Merchant): string;
  now: () => number;
  /** How often a waiting poll looks for new deliveries (every instance's commits count). */
  checkMs?: number;
}) {
  const checkMs = deps.checkMs ?? 200;
  /** Aborted when the server closes: waiting polls answer at once, so shutdown is not held up. */
  const closing = new AbortController();

  const pause = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || closing.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      closing.signal.addEventListener('abort', done);
    });

  return {
    idleMs: LISTEN_IDLE_MS,

    /** undefined: the merchant has LISTEN_SESSIONS_MAX live sessions already. */
    async start(m: Merchant, label: string): Promise<ListenSession | undefined> {
      // Each live session adds a delivery to every event, in the payment's own transaction.
      const live = await deps.repo.sweepListenSessions(m.id, deps.now() - LISTEN_IDLE_MS);
      if (live >= LISTEN_SESSIONS_MAX) return undefined;
      return deps.repo.addListenSession(m.id, label, deps.now());
    },

    async poll(m: Merchant, id: string, acks: readonly ListenAck[], waitMs: number, signal: AbortSignal) {
      const session = await deps.repo.listenSession(m.id, id);
      if (!session) return { kind: 'not_found' } satisfies PollResult;
      // Acks first, even for a session that has just ended: the receiver did answer them.
      const acknowledged = acks.length > 0 ? await deps.repo.ackListen(id, acks, deps.now()) : 0;
      if (session.enabled && deps.now() - session.seenAt > LISTEN_IDLE_MS) await deps.repo.endListenSession(id);
      else if (session.enabled) await deps.repo.touchListenSession(id, deps.now());
      if (!session.enabled || deps.now() - session.seenAt > LISTEN_IDLE_MS)
        return { kind: 'ended', session: { ...session, enabled: false } } satisfies PollResult;
      // Real time, not the gateway's clock (a test's fake clock does not move while a poll waits).
      const until = performance.now() + Math.min(Math.max(waitMs, 0), LISTEN_MAX_WAIT_MS);
      for (;;) {
        const queued = await deps.repo.queuedFor(id, BATCH);
        if (queued.length > 0 || performance.now() >= until || signal.aborted || closing.signal.aborted) {
          const secret = queued.length > 0 ? deps.signingSecretOf(m) : '';
          const events: ForwardedEvent[] = queued.map((q) => ({
            deliveryId: q.deliveryId,
            eventId: q.eventId,
            type: q.type,
            created: Math.floor(q.createdAt / 1000),
            headers: webhookHeaders(secret, deps.now(), q.payload, q.eventId),
            body: q.payload,
          }));
          return { kind: 'events', session, events, acknowledged } satisfies PollResult;
        }
        await pause(Math.min(checkMs, Math.max(until - performance.now(), 1)), signal);
      }
    },

    async end(m: Merchant, id: string): Promise<ListenSession | undefined> {
      const session = await deps.repo.listenSession(m.id, id);
      if (session?.enabled) await deps.repo.endListenSession(id);
      return session && { ...session, enabled: false };
    },

    /** The server is closing: polls waiting now answer with what they have. */
    close(): void {
      closing.abort();
    },
  };
}

export type Listen = ReturnType<typeof createListen>;
