import type { FastifyInstance } from 'fastify';
import { WEBHOOK_EVENT_TYPES } from '../../delivery/webhook-events.js';
import type { StoredEvent } from '../../store/webhooks.js';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { invalid, notFound } from './errors.js';
import { COMMON_ERRORS, SECURITY, errorResponses, paginationQuery } from './schemas.js';

const EventSchema = {
  type: 'object',
  description: 'An event exactly as sent (and signed) to the merchant’s webhook endpoints.',
  additionalProperties: false,
  required: ['id', 'type', 'created', 'data'],
  properties: {
    id: { type: 'string', pattern: '^evt_[A-Za-z0-9]+$', examples: ['evt_0MWU8K7HEH61tpQKdAeH9TP'] },
    type: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
    created: { type: 'integer', description: 'Unix seconds.' },
    data: {
      type: 'object',
      additionalProperties: true,
      description:
        'payment.*: the check-payment record; refund.*: the refund, with the payment’s record under `payment`.',
    },
  },
} as const;

/** The stored body is the event as sent; parsed once more only to be served as JSON. */
const eventView = (e: StoredEvent): unknown => JSON.parse(e.payload);

/** Cursor: the last event of a page, `created_at|id`, base64url. */
const cursorOf = (e: StoredEvent) => Buffer.from(`${e.createdAt}|${e.id}`).toString('base64url');
function readCursor(cursor: string): { createdAt: number; id: string } | undefined {
  const m = /^(\d{1,16})\|(evt_[A-Za-z0-9]+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { createdAt: Number(m[1]), id: m[2] as string } : undefined;
}

/** GET /events and GET /events/{id}: every event of the merchant, delivered or not. */
export async function eventRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  app.get(
    '/events',
    {
      schema: {
        tags: ['Events'],
        summary: 'List events',
        description:
          'Every event of the merchant, newest first, whether or not a webhook endpoint received it; filter by `type`.',
        security: SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...paginationQuery, type: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] } },
        },
        response: {
          200: {
            type: 'object',
            description: 'A page of events.',
            additionalProperties: false,
            required: ['data', 'next_cursor'],
            properties: {
              data: { type: 'array', items: EventSchema },
              next_cursor: {
                type: ['string', 'null'],
                description: 'Pass as `cursor` for the next page; null on the last page.',
              },
            },
          },
          ...errorResponses(400, ...COMMON_ERRORS),
        },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; cursor?: string; type?: string };
      const before = q.cursor === undefined ? undefined : readCursor(q.cursor);
      if (q.cursor !== undefined && before === undefined)
        throw invalid('cursor', 'cursor is not one this API returned');
      const page = await s.webhooks.eventsPage(merchantOf(req).id, { type: q.type, before, limit: q.limit });
      const last = page.events.at(-1);
      return { data: page.events.map(eventView), next_cursor: page.more && last ? cursorOf(last) : null };
    },
  );

  app.get(
    '/events/:id',
    {
      schema: {
        tags: ['Events'],
        summary: 'Get an event',
        security: SECURITY,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', maxLength: 64, description: 'The event id (`evt_…`).' } },
        },
        response: { 200: EventSchema, ...errorResponses(404, ...COMMON_ERRORS) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const e = await s.webhooks.event(merchantOf(req).id, id);
      if (!e) throw notFound('Event');
      return eventView(e);
    },
  );
}
