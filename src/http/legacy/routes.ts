import { logRequestError } from '../client-errors.js';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_MESSAGES, RateLimitedError, WmxError } from '../../domain/errors.js';
import type { Merchant } from '../../domain/merchant.js';
import type { PaymentRecordView } from '../../domain/payment.js';
import { andThen, type MaybePromise } from '../../domain/maybe-promise.js';
import type { Fields } from '../../app/init-payment.js';
import type { AbuseLimits } from '../../app/rate-limit.js';
import type { ReferenceCache } from '../../app/reference-cache.js';
import { decodeLegacyBody } from './body.js';
import { serializeCheckPayment, serializeError, serializeInitSuccess, toCheckPaymentRecord } from './wire.js';
import { ABORT_CSP, renderAbortPage } from './abort-page.js';
import { LEGACY_SCHEMAS } from './docs.js';
import { withSecurityHeaders } from '../security-headers.js';

export interface LegacyRouteDeps {
  publicUrl: string;
  reference: ReferenceCache;
  initPayment(fields: Fields, requestIp: string, afterAuth?: (m: Merchant) => void): Promise<{ token: string }>;
  checkPayment(fields: Fields, afterAuth?: (m: Merchant) => void): MaybePromise<PaymentRecordView>;
  formatTime(epochMs: number): string;
  limits: Pick<AbuseLimits, 'init' | 'check' | 'authAllowed' | 'authFailed'>;
}

/** Bodies over this are answered with 2004 (PROTOCOL.md section 2). */
export const LEGACY_BODY_LIMIT = 64 * 1024;

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The wire adapter for legacy Walletmix clients. Every business outcome and error is HTTP 200 JSON;
 * credentials are read from the body only. Registered in its own scope, which owns body parsing.
 */
export async function legacyRoutes(app: FastifyInstance, deps: LegacyRouteDeps): Promise<void> {
  // Fastify answers 415 to a Content-Type it cannot parse (`json`, `application/x-www-form-urlencoded
  // charset=utf-8`, an empty header) before any parser runs. The protocol reads such a body all the
  // same, as one without a label (PROTOCOL.md section 2: try JSON, then urlencoded).
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.headers['content-type'] !== undefined && req.mediaType === undefined) delete req.headers['content-type'];
    done();
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LEGACY_BODY_LIMIT }, (req, body, done) => {
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
      done(new WmxError('2004', `Malformed request body: Content-Encoding ${encoding} is not supported`), undefined);
    } else done(null, body);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => sendError(err, req, reply));

  await app.register(checkServerRoutes, deps);

  /**
   * Authenticated calls run under the per-address limit on failed authentications: an address that
   * keeps guessing credentials is answered 2010 before any more are checked. Written out in each
   * handler (no wrapper promises): these are the hottest routes.
   */
  const noteFailure = (ip: string, e: unknown) => {
    if (e instanceof WmxError && e.code === '2001') deps.limits.authFailed(ip);
  };

  app.post('/init-payment-process', LEGACY_SCHEMAS.initPayment, async (req, reply) => {
    const decoded = decodeLegacyBody(req.headers['content-type'], req.body as Buffer | undefined);
    const fields = decoded instanceof Promise ? await decoded : decoded;
    deps.limits.authAllowed(req.ip);
    let token: string;
    try {
      ({ token } = await deps.initPayment(fields, callerAddress(req), deps.limits.init));
    } catch (e) {
      noteFailure(req.ip, e);
      throw e;
    }
    withSecurityHeaders(reply).type(JSON_TYPE);
    return serializeInitSuccess({ statusCode: '1000', statusMsg: 'Success', token });
  });

  const rendered = new WeakMap<PaymentRecordView, string>();
  const render = (reply: FastifyReply, view: PaymentRecordView, presentedWmxId: string | undefined): string => {
    withSecurityHeaders(reply).type(JSON_TYPE);
    // wmx_id is echoed exactly as sent (PROTOCOL.md section 7): the official verification compares
    // it with the client's own setting, which may carry the whitespace authentication tolerated.
    if (presentedWmxId !== undefined && presentedWmxId !== view.wmxId) {
      return serializeCheckPayment({ ...toCheckPaymentRecord(view, deps.formatTime), wmx_id: presentedWmxId });
    }
    // The store hands out the same view object while the record is unchanged (see recordView).
    let body = rendered.get(view);
    if (body === undefined) {
      body = serializeCheckPayment(toCheckPaymentRecord(view, deps.formatTime));
      rendered.set(view, body);
    }
    return body;
  };
  const check = (req: FastifyRequest, reply: FastifyReply, fields: Fields): MaybePromise<string> => {
    deps.limits.authAllowed(req.ip);
    let view: MaybePromise<PaymentRecordView>;
    try {
      view = deps.checkPayment(fields, deps.limits.check);
    } catch (e) {
      noteFailure(req.ip, e);
      throw e;
    }
    if (!(view instanceof Promise)) return render(reply, view, fields.wmx_id);
    return view.then(
      (v) => render(reply, v, fields.wmx_id),
      (e: unknown) => {
        noteFailure(req.ip, e);
        throw e;
      },
    );
  };
  // Not async: with everything cached on SQLite the answer is made without a promise (a value
  // returned from a plain handler is sent as is; a throw goes to the error handler).
  app.post('/check-payment', LEGACY_SCHEMAS.checkPayment, (req, reply) =>
    andThen(decodeLegacyBody(req.headers['content-type'], req.body as Buffer | undefined), (fields) =>
      check(req, reply, fields),
    ),
  );

  app.get('/get-emi-bank-list', LEGACY_SCHEMAS.emiBanks, async (_req, reply) => {
    const emiBankList: Record<string, string> = {};
    for (const b of deps.reference.current().emiBanks) emiBankList[b.key] = b.name;
    withSecurityHeaders(reply).type(JSON_TYPE);
    return JSON.stringify({ emiBankList });
  });

  app.get('/abort', LEGACY_SCHEMAS.abort, async (_req, reply) => {
    withSecurityHeaders(reply).type('text/html; charset=utf-8').header('content-security-policy', ABORT_CSP);
    return renderAbortPage();
  });
}

/** `check-server` (PROTOCOL.md section 3): no auth, no parameters, any body read and ignored. */
async function checkServerRoutes(app: FastifyInstance, deps: LegacyRouteDeps): Promise<void> {
  // Whatever its type or size, a body is read and thrown away (never 2004).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      done(null, undefined);
    };
    payload.on('end', end);
    payload.on('error', end);
    payload.resume();
  });

  const openBody = JSON.stringify({
    selectedServer: true,
    url: `${deps.publicUrl}/init-payment-process`,
    bank_payment_url: `${deps.publicUrl}/bank-payment-process`,
  });
  const checkServer = async (_req: FastifyRequest, reply: FastifyReply) => {
    const why = deps.reference.current().maintenance;
    withSecurityHeaders(reply).header('cache-control', 'no-store').type(JSON_TYPE);
    return why === undefined ? openBody : JSON.stringify({ selectedServer: false, statusMsg: why });
  };
  app.get('/check-server', LEGACY_SCHEMAS.checkServer, checkServer);
  app.post('/check-server', LEGACY_SCHEMAS.checkServer, checkServer);
}

/**
 * The caller's address for `request_ip`: an IPv4 client of a dual-stack listener (`WMX_HOST=::`)
 * is reported as IPv4 (`::ffff:203.0.113.7` → `203.0.113.7`), as the merchant knows its server.
 */
function callerAddress(req: FastifyRequest): string {
  const ip = req.ip;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function sendError(err: FastifyError | WmxError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  withSecurityHeaders(reply).code(200).type(JSON_TYPE);
  // Legacy clients only read the body; Retry-After is for clients and proxies that honour it.
  if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds));
  if (err instanceof WmxError) {
    const body: { statusCode: string; statusMsg: string; field?: string } = {
      statusCode: err.code,
      statusMsg: err.message,
    };
    if (err.field !== undefined) body.field = err.field;
    return reply.send(serializeError(body));
  }
  // Fastify's own client errors (body too large, bad Content-Length, aborted upload): the request is at fault.
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    const statusMsg = tooLarge
      ? `Request body larger than ${LEGACY_BODY_LIMIT} bytes`
      : `Malformed request: ${err.message}`;
    return reply.send(serializeError({ statusCode: '2004', statusMsg }));
  }
  logRequestError(req, err, 'internal error on a legacy route');
  return reply.send(
    serializeError({
      statusCode: '5000',
      statusMsg: `${ERROR_MESSAGES['5000']} (request id ${req.id})`,
      request_id: String(req.id),
    }),
  );
}
