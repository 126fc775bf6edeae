import { logRequestError } from '../client-errors.js';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { WmxError, type ErrorCode } from '../../domain/errors.js';

/** An answer of the JSON API that is not a success: HTTP status, stable code, human message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Every domain error code, mapped to the API's HTTP status and error code. Exhaustive on purpose:
 * a new ErrorCode does not compile until someone decides how the API answers it.
 */
export const API_ERRORS: Readonly<Record<ErrorCode, { status: number; code: string }>> = {
  '2001': { status: 401, code: 'unauthenticated' },
  '2002': { status: 403, code: 'forbidden' },
  '2003': { status: 400, code: 'invalid_request' },
  '2004': { status: 400, code: 'invalid_request' },
  '2005': { status: 400, code: 'invalid_amount' },
  '2006': { status: 400, code: 'currency_not_supported' },
  '2007': { status: 400, code: 'callback_not_allowed' },
  '2008': { status: 409, code: 'merchant_ref_conflict' },
  '2009': { status: 404, code: 'not_found' },
  '2010': { status: 429, code: 'rate_limited' },
  '3001': { status: 503, code: 'maintenance' },
  '4001': { status: 422, code: 'refund_exceeds_refundable' },
  '4002': { status: 422, code: 'payment_not_refundable' },
  '4003': { status: 422, code: 'refund_not_possible' },
  '5000': { status: 500, code: 'internal_error' },
};

export interface ErrorAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

const body = (code: string, message: string, extra: { field?: string | undefined; request_id?: string } = {}): string =>
  JSON.stringify({
    error: {
      code,
      message,
      ...(extra.field !== undefined ? { field: extra.field } : {}),
      ...(extra.request_id ? { request_id: extra.request_id } : {}),
    },
  });

/**
 * Any error thrown while serving an API request → the JSON error answer. Unknown errors become 500
 * with the request id; their detail goes to the log only.
 */
export function toErrorAnswer(err: unknown, req: FastifyRequest): ErrorAnswer {
  if (err instanceof ApiError)
    return { status: err.status, body: body(err.code, err.message, { field: err.field }), headers: err.headers };
  if (err instanceof WmxError) {
    const m = API_ERRORS[err.code];
    // Maintenance is the gateway's own answer (503), not a failure to hide behind a request id.
    if (m.status < 500 || err.code === '3001')
      return {
        status: m.status,
        body: body(m.code, err.message, { field: err.field }),
        headers: err.code === '3001' ? { 'retry-after': '60' } : {},
      };
  }
  const fe = err as Partial<FastifyError> | null; // Fastify's own errors carry code/statusCode/validation
  if (fe && Array.isArray(fe.validation)) {
    // Name the field at fault, as the API's own errors do ("/amount" or a missing property).
    const first = fe.validation[0] as { instancePath?: string; params?: { missingProperty?: string } } | undefined;
    const field = first?.params?.missingProperty ?? first?.instancePath?.replace(/^\//, '').replaceAll('/', '.');
    return {
      status: 400,
      body: body('invalid_request', fe.message ?? 'Invalid request', field ? { field } : {}),
      headers: {},
    };
  }
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    switch (fe.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return { status: 415, body: body('unsupported_media_type', 'Send the body as application/json'), headers: {} };
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return { status: 413, body: body('payload_too_large', 'Request body too large'), headers: {} };
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return { status: 400, body: body('invalid_request', 'The body is not valid JSON'), headers: {} };
      default:
        // A JSON syntax error from the body parser arrives as a plain 400 SyntaxError.
        return {
          status: 400,
          body: body('invalid_request', fe.name === 'SyntaxError' ? 'The body is not valid JSON' : 'Malformed request'),
          headers: {},
        };
    }
  }
  logRequestError(req, err, 'internal error on an API route');
  const id = String(req.id);
  return {
    status: 500,
    body: body('internal_error', `Internal error (request id ${id})`, { request_id: id }),
    headers: {},
  };
}

export function sendErrorAnswer(reply: FastifyReply, a: ErrorAnswer): FastifyReply {
  return reply.code(a.status).headers(a.headers).type('application/json; charset=utf-8').send(a.body);
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`);
export const invalid = (field: string, message: string): ApiError =>
  new ApiError(400, 'invalid_request', message, field);
