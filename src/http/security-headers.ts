import type { FastifyReply } from 'fastify';

/** Sent with every answer, pages and JSON alike (pages add their own Content-Security-Policy). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Sets SECURITY_HEADERS. The legacy endpoints and the root handlers call it themselves; every other
 * scope gets it from one onSend hook (app.ts). Set in a hook shared by every scope, the headers cost
 * the hottest endpoints 2–5 µs per request (measured; the hook's property accesses see every
 * scope's Reply class), against about 0.3 µs set in their own handlers.
 */
export function withSecurityHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers(SECURITY_HEADERS);
}
