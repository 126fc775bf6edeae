import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  IdempotencyKeyTaken,
  type ApiIdempotency,
  type BoundResponse,
  type IdempotencyBinding,
  type StoredResponse,
} from '../../app/api-idempotency.js';
import { sha256Hex } from '../../app/crypto.js';
import { ApiError, sendErrorAnswer, toErrorAnswer } from './errors.js';
import { merchantOf } from './auth.js';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

/** JSON with object keys sorted at every level: two bodies that mean the same hash the same. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * For a POST whose use case writes the key in the transaction that creates its resource (refunds):
 * `work` gets the key's binding (undefined without a key) and names the resource it created;
 * `current` renders a resource as it now stands, for a retry after the first request died before
 * answering (see ApiIdempotency.runBound).
 */
export interface BoundWork {
  work: (binding: IdempotencyBinding | undefined) => Promise<BoundResponse>;
  current: (resourceId: string) => Promise<StoredResponse | undefined>;
}

/**
 * Runs a POST's work under its Idempotency-Key, if it has one. `work` answers with the status and
 * the exact body to send; business errors are answers too (they are stored and replayed), while an
 * unexpected failure is thrown, and then the key is given back (unless it was written with a
 * resource: see BoundWork).
 */
export async function idempotent(
  idem: ApiIdempotency,
  req: FastifyRequest,
  reply: FastifyReply,
  work: (() => Promise<StoredResponse>) | BoundWork,
): Promise<FastifyReply> {
  const bound = typeof work === 'function' ? undefined : work;
  const run: (binding: IdempotencyBinding | undefined) => Promise<BoundResponse> =
    typeof work === 'function' ? () => work() : (binding) => work.work(binding);
  const answer = async (binding: IdempotencyBinding | undefined): Promise<BoundResponse> => {
    try {
      return await run(binding);
    } catch (err) {
      if (err instanceof IdempotencyKeyTaken) throw err; // for runBound: the key's record answers
      const a = toErrorAnswer(err, req);
      if (a.status >= 500) throw err;
      return { status: a.status, body: a.body };
    }
  };
  const send = (r: StoredResponse) => reply.code(r.status).type(JSON_TYPE).send(r.body);

  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return send(await answer(undefined));
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined || !KEY_RE.test(key)) {
    throw new ApiError(
      400,
      'invalid_request',
      'Idempotency-Key must be 1–255 printable ASCII characters',
      'Idempotency-Key',
    );
  }
  // The path names the resource (the payment token), the body says what to do with it.
  const path = req.url.split('?', 1)[0] ?? req.url;
  const hash = sha256Hex(`${req.method} ${path}\n${canonicalJson(req.body ?? {})}`);
  const merchantId = merchantOf(req).id;
  const outcome = bound
    ? await idem.runBound(merchantId, key, hash, answer, bound.current)
    : await idem.run(merchantId, key, hash, () => answer(undefined));
  switch (outcome.kind) {
    case 'fresh':
      return send(outcome.response);
    case 'replay':
      reply.header('idempotent-replayed', 'true');
      return send(outcome.response);
    case 'conflict':
      return sendErrorAnswer(reply, {
        status: 409,
        headers: {},
        body: JSON.stringify({
          error: { code: 'idempotency_conflict', message: 'This Idempotency-Key was used with a different request' },
        }),
      });
    case 'in_progress':
      return sendErrorAnswer(reply, {
        status: 409,
        headers: { 'retry-after': '1' },
        body: JSON.stringify({
          error: {
            code: 'idempotency_in_progress',
            message: 'A request with this Idempotency-Key is still in progress; retry shortly',
          },
        }),
      });
  }
}
