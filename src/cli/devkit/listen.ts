/**
 * `wmx listen --forward-to URL`: the merchant's webhook events, delivered to a receiver the gateway
 * cannot reach (a laptop). It opens a listen session (or resumes one with --session) with the merchant's API key, long-polls it,
 * POSTs each event to URL with the very headers a webhook endpoint gets (Wmx-Signature signed by
 * the gateway with the merchant's signing secret, Wmx-Event-Id), prints one line per event with the
 * receiver's answer, and acknowledges it with the next poll. The gateway keeps every event queued
 * for the session until acknowledged, so a lost connection or a gateway restarted meanwhile loses
 * nothing: the CLI retries with backoff and carries on where it was. Should the CLI itself die,
 * `--session ID` resumes its session, starting with what it had forwarded but not acknowledged
 * (sent again: receivers dedupe on the event id, as in production).
 */
import { callApi, GatewayApiError, GatewayUnreachable, sleep, type DevkitTarget } from './gateway-api.js';

interface ForwardedEvent {
  delivery_id: string;
  event_id: string;
  type: string;
  created: number;
  headers: Record<string, string>;
  body: string;
}
interface Session {
  id: string;
  label: string;
  idle_timeout_seconds: number;
}
interface Ack {
  delivery_id: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

export interface ListenOptions {
  forwardTo: string;
  /** Resume this session (what an earlier `wmx listen` printed) instead of opening a new one. */
  session?: string;
  /** Only these event types are forwarded (others are acknowledged as skipped). */
  events?: readonly string[];
  json?: boolean;
  /** How long the receiver may take (the gateway's own webhook timeout by default). */
  forwardTimeoutMs?: number;
  /** Longest wait between reconnection tries. */
  maxBackoffMs?: number;
  out: (line: string) => void;
  err: (line: string) => void;
  signal: AbortSignal;
}

const POLL_WAIT_S = 25;

/** The payment token an event is about, for the printed line. */
function tokenOf(body: string): string {
  try {
    const e = JSON.parse(body) as { data?: { token?: unknown; payment?: { token?: unknown } } };
    const t = e.data?.token ?? e.data?.payment?.token;
    return typeof t === 'string' ? t : '';
  } catch {
    return '';
  }
}

async function forward(url: string, e: ForwardedEvent, timeoutMs: number): Promise<Ack> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: e.headers,
      body: e.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return {
      delivery_id: e.delivery_id,
      status_code: res.status,
      latency_ms: Math.round(performance.now() - started),
      error: null,
    };
  } catch (x) {
    const cause = (x as { cause?: { code?: string } }).cause;
    const error =
      x instanceof Error && x.name === 'TimeoutError' ? 'timeout' : (cause?.code ?? String(x)).slice(0, 200);
    return {
      delivery_id: e.delivery_id,
      status_code: null,
      latency_ms: Math.round(performance.now() - started),
      error,
    };
  }
}

export async function runListen(t: DevkitTarget, o: ListenOptions): Promise<number> {
  const timeoutMs = o.forwardTimeoutMs ?? 10_000;
  const maxBackoff = o.maxBackoffMs ?? 5_000;
  const wanted = o.events && o.events.length > 0 ? new Set(o.events) : undefined;
  let session: Session | undefined = o.session
    ? { id: o.session, label: o.forwardTo, idle_timeout_seconds: 0 }
    : undefined;
  if (session) o.out(`Resuming session ${session.id}: forwarding from ${t.baseUrl} to ${o.forwardTo}. Ctrl-C stops.`);
  let acks: Ack[] = [];
  let backoff = 250;
  let down: string | undefined; // why the gateway is unreachable, while it is
  const stamp = () => new Date().toISOString().replace('T', ' ').slice(0, 19);

  const open = async (): Promise<Session> => {
    const s = await callApi<Session>(t, 'POST', '/listen-sessions', { label: o.forwardTo }, { signal: o.signal });
    if (o.json) o.out(JSON.stringify({ ready: true, session: s.id, forward_to: o.forwardTo, gateway: t.baseUrl }));
    else
      o.out(
        `Ready: forwarding ${wanted ? [...wanted].join(', ') : 'every event'} from ${t.baseUrl} to ${o.forwardTo} (session ${s.id}). Ctrl-C stops.`,
      );
    return s;
  };

  while (!o.signal.aborted) {
    try {
      session ??= await open();
      const r = await callApi<{ events: ForwardedEvent[]; acknowledged: number }>(
        t,
        'POST',
        `/listen-sessions/${session.id}/poll`,
        { wait_seconds: POLL_WAIT_S, acks },
        { signal: o.signal, timeoutMs: (POLL_WAIT_S + 15) * 1000 },
      );
      acks = []; // recorded by the gateway (a repeat would change nothing anyway)
      if (down !== undefined) {
        down = undefined;
        o.err(`${stamp()}  reconnected to ${t.baseUrl}; nothing was lost`);
      }
      backoff = 250;
      for (const e of r.events) {
        if (wanted && !wanted.has(e.type)) {
          acks.push({
            delivery_id: e.delivery_id,
            status_code: null,
            latency_ms: 0,
            error: 'not forwarded (--events)',
          });
          continue;
        }
        const a = await forward(o.forwardTo, e, timeoutMs);
        acks.push(a);
        const answer = a.status_code !== null ? String(a.status_code) : `error: ${a.error}`;
        if (o.json)
          o.out(
            JSON.stringify({
              at: new Date().toISOString(),
              type: e.type,
              event_id: e.event_id,
              token: tokenOf(e.body) || null,
              status: a.status_code,
              error: a.error,
              latency_ms: a.latency_ms,
            }),
          );
        else
          o.out(
            `${stamp()}  ${e.type.padEnd(17)}  ${e.event_id}  ${tokenOf(e.body) || '-'}  -> ${answer} (${a.latency_ms} ms)`,
          );
      }
    } catch (e) {
      if (o.signal.aborted) break;
      if (e instanceof GatewayApiError && (e.status === 401 || e.status === 403)) {
        o.err(`The gateway refused the API key from ${t.keySource}: ${e.message}`);
        return 1;
      }
      if (e instanceof GatewayApiError && (e.status === 410 || (e.status === 404 && session))) {
        o.err(
          `${stamp()}  the listen session ${session?.id ?? ''} ended (${e.message}); opening a new one. Events in between: GET /api/v1/events`,
        );
        session = undefined;
        acks = [];
        continue;
      }
      if (e instanceof GatewayApiError && e.status >= 400 && e.status < 500 && e.status !== 429) {
        o.err(`The gateway refused: ${e.status} ${e.code}: ${e.message}`);
        return 1;
      }
      const why = e instanceof GatewayUnreachable || e instanceof GatewayApiError ? e.message : String(e);
      if (down === undefined) o.err(`${stamp()}  lost the gateway (${why}); retrying, no event is lost meanwhile`);
      down = why;
      await sleep(backoff, o.signal);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
  // Ctrl-C: acknowledge what was forwarded and end the session (best effort: the gateway may be down).
  if (session) {
    const end = AbortSignal.timeout(3_000);
    if (acks.length > 0)
      await callApi(t, 'POST', `/listen-sessions/${session.id}/poll`, { wait_seconds: 0, acks }, { signal: end }).catch(
        () => undefined,
      );
    await callApi(t, 'DELETE', `/listen-sessions/${session.id}`, undefined, { signal: end }).catch(() => undefined);
  }
  return 0;
}
