import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { withSecurityHeaders } from './security-headers.js';

/**
 * Answers for requests Fastify refuses before any route's own handler runs (unparseable or unsupported
 * bodies, over-long path parameters, bad URLs). Without these, pages and the API answered Fastify's
 * default JSON (no CSP, not the API's error shape). Scopes with their own error handler (legacy, API,
 * admin) keep it; this is the root fallback.
 */
const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Matched against routedPath (no trailing slash). */
const LEGACY_PATHS = /^\/(init-payment-process|check-payment|check-server|get-emi-bank-list)$/;

/** A request's path as the router matches it: no query string, slashes collapsed, no trailing slash. */
function routedPath(req: FastifyRequest): string {
  const path = (req.raw.url ?? '').split('?', 1)[0] ?? '';
  return path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
}

function clientStatus(err: Partial<FastifyError>): number | undefined {
  const s = err.statusCode;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : undefined;
}

function page(reply: FastifyReply, status: number, text: string): FastifyReply {
  return withSecurityHeaders(reply)
    .code(status)
    .header('content-security-policy', PAGE_CSP)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>${status}</title><p>${text}</p></html>`);
}

/**
 * Logs an unexpected error of a request, with its reqId also when requests share the app's logger
 * (see childLoggerFactory in app.ts).
 */
export function logRequestError(req: FastifyRequest, err: unknown, msg: string): void {
  req.log.error(req.log === req.server.log ? { err, reqId: req.id } : { err }, msg);
}

/** The root error handler: a client error gets a small HTML page (with a CSP); anything else is a 500 page. */
export function rootErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = clientStatus(err);
  if (status !== undefined) {
    const headers = (err as { headers?: Record<string, string> }).headers; // e.g. Retry-After
    if (headers) reply.headers(headers);
    return page(reply, status, 'The request could not be read. Go back, reload the page and try again.');
  }
  logRequestError(req, err, 'internal error');
  return page(reply, 500, `Something went wrong on our side (request id ${String(req.id)}).`);
}

/** Fastify's `frameworkErrors`: the same answers, shaped for the surface the URL belongs to. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = clientStatus(err) ?? 400;
  const path = routedPath(req);
  withSecurityHeaders(reply); // the root's answers get no onSend hook (app.ts)
  if (path.startsWith('/api/')) {
    void reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ error: { code: 'invalid_request', message: 'Malformed request URL' } }));
  } else if (LEGACY_PATHS.test(path)) {
    // Legacy clients read the body of an HTTP 200 only (PROTOCOL.md section 2).
    void reply
      .code(200)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ statusCode: '2004', statusMsg: 'Malformed request URL' }));
  } else void page(reply, status === 414 ? 404 : status, 'This address is not valid.');
}

/** The legacy endpoints and the methods they take. */
const LEGACY_METHODS: Readonly<Record<string, string>> = {
  '/check-server': 'GET, POST',
  '/init-payment-process': 'POST',
  '/check-payment': 'POST',
  '/get-emi-bank-list': 'GET',
  '/abort': 'GET',
};

/**
 * The root not-found answer. It names the method and path only: the query string is never echoed
 * (a misconfigured client may put its credentials there). A legacy endpoint asked with the wrong
 * method gets the protocol's error shape and the methods it takes.
 */
export function rootNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = routedPath(req);
  withSecurityHeaders(reply); // the root's answers get no onSend hook (app.ts)
  const json = 'application/json; charset=utf-8';
  const allowed = Object.hasOwn(LEGACY_METHODS, path) ? LEGACY_METHODS[path] : undefined;
  if (allowed !== undefined) {
    return reply
      .code(405)
      .header('allow', allowed)
      .type(json)
      .send(JSON.stringify({ statusCode: '2004', statusMsg: `${path} takes ${allowed.replace(', ', ' or ')}` }));
  }
  return reply
    .code(404)
    .type(json)
    .send(JSON.stringify({ statusCode: 404, error: 'Not Found', message: `Route ${req.method}:${path} not found` }));
}

/** The most of an oversized body read (and thrown away) so its sender can read the answer. */
export const OVERSIZED_DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * Keeps the connection of a request whose body was too large open until the client has sent the
 * rest, which is read and discarded. Fastify closes it at once (`connection: close`), and a client
 * still writing its body then fails with EPIPE or a reset instead of reading the coded answer
 * already sent (seen with fetch and FormData). A body declared, or growing, past
 * OVERSIZED_DRAIN_BYTES still gets the close. Run from the root onError hook (app.ts), before any
 * scope's error handler answers.
 */
export function drainOversizedBody(req: FastifyRequest, reply: FastifyReply): void {
  const declared = Number(req.headers['content-length']);
  if (declared > OVERSIZED_DRAIN_BYTES) return;
  reply.removeHeader('connection');
  const raw = req.raw;
  let read = 0;
  raw.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > OVERSIZED_DRAIN_BYTES) raw.socket.destroy();
  });
  raw.resume();
}
