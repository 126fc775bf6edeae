/**
 * What `wmx listen`, `wmx trigger` and `wmx doctor` share: which gateway and API key they use, and
 * a small JSON client for /api/v1 (Bearer key, an Idempotency-Key on every POST, coded errors).
 * These commands talk to a running gateway over HTTP only, as a merchant's laptop would: they never
 * open the database.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class DevkitUsageError extends Error {}

/** An answer of the gateway that is not a success, with its coded error. */
export class GatewayApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The gateway could not be reached at all (refused, reset, timed out). */
export class GatewayUnreachable extends Error {}

export interface DevkitTarget {
  baseUrl: string;
  apiKey: string;
  /** Where the key came from, for messages ("--api-key", "WMX_API_KEY", the demo merchant's file). */
  keySource: string;
  /** The signing secret, when known (the demo merchant's file, WMX_SIGNING_SECRET). */
  signingSecret?: string;
  wmxId?: string;
}

/**
 * The gateway: --gateway, else WMX_GATEWAY_URL, else WMX_PUBLIC_URL, else http://127.0.0.1:$PORT
 * (8080). The key: --api-key, else WMX_API_KEY, else the sandbox demo merchant's file in the data
 * folder (what `npm start` prints on first start), so a newcomer needs no flag at all.
 */
export function resolveTarget(
  v: { gateway?: string | undefined; 'api-key'?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): DevkitTarget {
  const raw = v.gateway ?? env.WMX_GATEWAY_URL ?? env.WMX_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT ?? '8080'}`;
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new DevkitUsageError(`--gateway must be a URL such as http://127.0.0.1:8080 (got ${raw})`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new DevkitUsageError('--gateway must be an http(s) URL');
  const baseUrl = base.href.replace(/\/+$/, '');
  if (v['api-key']) return { baseUrl, apiKey: v['api-key'], keySource: '--api-key', ...secretFromEnv(env) };
  if (env.WMX_API_KEY) return { baseUrl, apiKey: env.WMX_API_KEY, keySource: 'WMX_API_KEY', ...secretFromEnv(env) };
  const file = path.join(path.resolve(env.WMX_DATA_DIR ?? './data'), 'sandbox-merchant.json');
  try {
    const demo = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      api_key?: unknown;
      signing_secret?: unknown;
      wmx_id?: unknown;
    };
    if (typeof demo.api_key === 'string') {
      return {
        baseUrl,
        apiKey: demo.api_key,
        keySource: file,
        ...(typeof demo.signing_secret === 'string' ? { signingSecret: demo.signing_secret } : {}),
        ...(typeof demo.wmx_id === 'string' ? { wmxId: demo.wmx_id } : {}),
      };
    }
  } catch {
    // no demo merchant here: say what to pass
  }
  throw new DevkitUsageError(
    'No API key: pass --api-key sk_… or set WMX_API_KEY (the dashboard’s Credentials page shows it; in sandbox, ./data/sandbox-merchant.json holds the demo merchant’s).',
  );
}

function secretFromEnv(env: NodeJS.ProcessEnv): { signingSecret?: string } {
  return env.WMX_SIGNING_SECRET ? { signingSecret: env.WMX_SIGNING_SECRET } : {};
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  idempotencyKey?: string;
}

/** One JSON call to /api/v1; throws GatewayApiError on an error answer, GatewayUnreachable without one. */
export async function callApi<T>(
  t: DevkitTarget,
  method: 'GET' | 'POST' | 'DELETE',
  apiPath: string,
  body?: unknown,
  o: CallOptions = {},
): Promise<T> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${t.apiKey}`,
    accept: 'application/json',
    'user-agent': 'wmx-cli',
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST') headers['idempotency-key'] = o.idempotencyKey ?? crypto.randomUUID();
  const signals = [AbortSignal.timeout(o.timeoutMs ?? 15_000), ...(o.signal ? [o.signal] : [])];
  let res: Response;
  try {
    res = await fetch(`${t.baseUrl}/api/v1${apiPath}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.any(signals),
    });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why =
      e instanceof Error && e.name === 'TimeoutError'
        ? 'no answer in time'
        : (cause?.code ?? cause?.message ?? String(e));
    throw new GatewayUnreachable(`${t.baseUrl} did not answer (${why})`);
  }
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new GatewayApiError(
      res.status,
      err?.code ?? `http_${res.status}`,
      err?.message ?? (text.slice(0, 200) || res.statusText),
    );
  }
  return json as T;
}

/** A wait that ends early when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
