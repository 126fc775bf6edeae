/**
 * The one HTTP client every connector uses: a per-call timeout under the caller's deadline, the
 * answer read as text and JSON, and one upstream-call record per request (operation, latency,
 * outcome and the upstream's own code, described by the connector; never a header or a body, which
 * may carry credentials).
 */
import type { CallContext, UpstreamCall } from './port.js';

export type HttpAnswer =
  | { kind: 'answer'; status: number; text: string; json: unknown }
  | { kind: 'timeout' }
  | { kind: 'error'; message: string };

export interface UpstreamRequest {
  operation: string;
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** How the connector reads an answer for the log: did it work, and the upstream's code and message. */
export type Describe = (
  a: Extract<HttpAnswer, { kind: 'answer' }>,
) => Pick<UpstreamCall, 'outcome' | 'code' | 'message'>;

export interface UpstreamHttp {
  request(ctx: CallContext, req: UpstreamRequest, describe: Describe): Promise<HttpAnswer>;
}

const MAX_BODY = 1024 * 1024;

export function createUpstreamHttp(opts: { timeoutMs: number; fetch?: typeof fetch }): UpstreamHttp {
  const doFetch = opts.fetch ?? fetch;
  return {
    async request(ctx, req, describe) {
      const startedAt = Date.now();
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      const record = (c: Pick<UpstreamCall, 'outcome' | 'code' | 'message'>, httpStatus: number | null) =>
        ctx.record({ operation: req.operation, startedAt, latencyMs: Date.now() - startedAt, httpStatus, ...c });
      try {
        const res = await doFetch(req.url, {
          method: req.method,
          headers: req.headers ?? {},
          ...(req.body !== undefined ? { body: req.body } : {}),
          signal,
          redirect: 'manual',
        });
        const text = (await res.text()).slice(0, MAX_BODY);
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        const answer = { kind: 'answer', status: res.status, text, json } as const;
        let described: Pick<UpstreamCall, 'outcome' | 'code' | 'message'>;
        try {
          described = describe(answer);
        } catch {
          described = { outcome: 'failed', code: null, message: 'unreadable answer' };
        }
        record(described, res.status);
        return answer;
      } catch (e) {
        if (signal.aborted) {
          record({ outcome: 'timeout', code: null, message: 'no answer in time' }, null);
          return { kind: 'timeout' };
        }
        const message = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
        record({ outcome: 'error', code: null, message: message.slice(0, 200) }, null);
        return { kind: 'error', message };
      }
    },
  };
}

/** A JSON object's string field ('' when absent or not a string/number). */
export function field(json: unknown, key: string): string {
  if (typeof json !== 'object' || json === null) return '';
  const v = (json as Record<string, unknown>)[key]; // reading a key of an object of unknown shape
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** Decimal text with at most 2 decimals → minor units; undefined when it is not such a number. */
export function parseMinor(text: string): bigint | undefined {
  const m = /^\s*(\d+)(?:\.(\d{1,2})\d*)?\s*$/.exec(text);
  if (!m) return undefined;
  const frac = (m[2] ?? '').padEnd(2, '0');
  // Digits beyond two decimals are accepted only when zero ("10.000").
  const extra = /^\s*\d+\.\d{2}(\d*)/.exec(text)?.[1] ?? '';
  if (/[1-9]/.test(extra)) return undefined;
  return BigInt(m[1] as string) * 100n + BigInt(frac);
}
