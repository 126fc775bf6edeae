import type { FastifyRequest } from 'fastify';
import { ApiError } from './api/errors.js';

/**
 * PostgreSQL refuses a NUL character in text (SQLite stores it), so a NUL in a path, query or form
 * value once reached a query and answered 500 there. Every page and API route refuses it up front,
 * alike on both databases: the API answers 400 invalid_request, pages a 400 page (the error carries
 * statusCode for their handlers). The legacy endpoints validate their fields themselves.
 */
export async function refuseNulCharacters(req: FastifyRequest): Promise<void> {
  const where = nulIn(req.params, 'path') ?? nulIn(req.query, 'query') ?? nulIn(req.body, 'body');
  if (where) {
    throw Object.assign(new ApiError(400, 'invalid_request', `The request ${where} contains a NUL character`), {
      statusCode: 400,
    });
  }
}

/** Where a NUL character sits in a request part (any depth of a parsed body), or undefined. */
function nulIn(value: unknown, part: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? part : undefined;
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return part;
    const found = nulIn(v, part, depth + 1);
    if (found) return found;
  }
  return undefined;
}
