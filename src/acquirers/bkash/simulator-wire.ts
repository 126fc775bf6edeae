/** Wire helpers shared by the simulator's API handlers: bKash's JSON envelopes and loose body reading. */
import type { FastifyReply } from 'fastify';
import { BKASH_OK, type BkashErrorBody } from './simulator-errors.js';

export type Body = Record<string, unknown>;
export const MAX_TEXT = 255; // invoice, SKU, reason, association info (§3, §8.1; S4, bkash-js schema)

export const isRecord = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const json = (reply: FastifyReply, status: number, body: object) =>
  reply.code(status).header('content-type', 'application/json; charset=utf-8').send(body);
export const ok = (reply: FastifyReply, body: object) => json(reply, 200, { ...body, ...BKASH_OK });
export const fail = (reply: FastifyReply, body: BkashErrorBody) => json(reply, 200, body);
