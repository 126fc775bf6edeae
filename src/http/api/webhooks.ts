import type { FastifyInstance } from 'fastify';
import type { WebhookEndpoint } from '../../app/webhooks.js';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { ApiError, notFound } from './errors.js';
import { idempotent } from './idempotency.js';
import { COMMON_ERRORS, SECURITY, errorResponses } from './schemas.js';

const EndpointSchema = {
  type: 'object',
  description: 'A URL that receives this merchant’s signed webhook events.',
  additionalProperties: false,
  required: ['id', 'url', 'enabled', 'created_at'],
  properties: {
    id: { type: 'string', description: 'The endpoint id (`whe_…`).', examples: ['whe_3kTqZ0aB9xYw2LmN4pQr'] },
    url: { type: 'string', description: 'Where events are POSTed.', examples: ['https://shop.example.com/webhooks'] },
    enabled: { type: 'boolean', description: 'False once removed.' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const endpointView = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  enabled: e.enabled,
  created_at: new Date(e.createdAt).toISOString(),
});

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: 'The endpoint id (`whe_…`).' } },
} as const;

export async function webhookRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  app.get(
    '/webhook-endpoints',
    {
      schema: {
        tags: ['Webhooks'],
        summary: 'List webhook endpoints',
        security: SECURITY,
        response: {
          200: {
            type: 'object',
            description: 'The merchant’s endpoints, oldest first.',
            additionalProperties: false,
            required: ['data'],
            properties: { data: { type: 'array', items: EndpointSchema } },
          },
          ...errorResponses(...COMMON_ERRORS),
        },
      },
    },
    async (req) => ({ data: (await s.webhooks.list(merchantOf(req).id)).map(endpointView) }),
  );

  app.post(
    '/webhook-endpoints',
    {
      schema: {
        tags: ['Webhooks'],
        summary: 'Add a webhook endpoint',
        description:
          'Events from now on are POSTed to the URL, signed with the merchant’s signing secret (`Wmx-Signature: t=…,v1=…`). A live merchant’s URL must be on one of its registered domains.',
        security: SECURITY,
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': {
              type: 'string',
              minLength: 1,
              maxLength: 255,
              description: 'Makes the POST safe to retry (see refunds).',
            },
          },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: { url: { type: 'string', minLength: 1, maxLength: 2000, description: 'An http(s) URL.' } },
          examples: [{ url: 'https://shop.example.com/webhooks' }],
        },
        response: {
          201: { ...EndpointSchema, description: 'The new endpoint.' },
          ...errorResponses(400, 409, 413, 415, 422, ...COMMON_ERRORS),
        },
      },
    },
    async (req, reply) => {
      const m = merchantOf(req);
      const { url } = req.body as { url: string };
      return idempotent(s.idempotency, req, reply, async () => {
        const r = await s.webhooks.add(m, url);
        if (!r.ok) throw new ApiError(422, 'invalid_webhook_url', r.message, 'url');
        // serializeInput is typed unknown for the status form; it returns the route's serialised string.
        return { status: 201, body: String(reply.serializeInput(endpointView(r.endpoint), '201')) };
      });
    },
  );

  app.delete(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags: ['Webhooks'],
        summary: 'Remove a webhook endpoint',
        description: 'No new deliveries go to it; pending ones are given up. Its delivery log is kept.',
        security: SECURITY,
        params: idParams,
        response: {
          200: { ...EndpointSchema, description: 'The removed endpoint.' },
          ...errorResponses(404, ...COMMON_ERRORS),
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const removed = await s.webhooks.remove(merchantOf(req).id, id);
      if (!removed) throw notFound('Webhook endpoint');
      return endpointView(removed);
    },
  );
}
