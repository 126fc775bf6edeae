import type { FastifyInstance } from 'fastify';
import { LISTEN_MAX_WAIT_MS, LISTEN_SESSIONS_MAX } from '../../app/listen.js';
import type { ListenSession } from '../../store/webhooks.js';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { ApiError, notFound } from './errors.js';
import { idempotent } from './idempotency.js';
import { COMMON_ERRORS, SECURITY, errorResponses } from './schemas.js';
import { exactBody } from './exact-body.js';

const SessionSchema = {
  type: 'object',
  description: 'A `wmx listen` session: events queue for it while it polls.',
  additionalProperties: false,
  required: ['id', 'label', 'active', 'created_at', 'idle_timeout_seconds'],
  properties: {
    id: { type: 'string', description: 'The session id (`whe_…`).' },
    label: { type: 'string', description: 'What the CLI said it forwards to.' },
    active: { type: 'boolean', description: 'False once ended, or idle for longer than idle_timeout_seconds.' },
    created_at: { type: 'string', format: 'date-time' },
    idle_timeout_seconds: {
      type: 'integer',
      description: 'A session not polled for this long stops receiving events and ends.',
    },
  },
} as const;

const ForwardSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['delivery_id', 'event_id', 'type', 'created', 'headers', 'body'],
  properties: {
    delivery_id: { type: 'string', description: 'Acknowledge it with the next poll.' },
    event_id: { type: 'string' },
    type: { type: 'string' },
    created: { type: 'integer', description: 'Unix seconds.' },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        'The headers of the webhook POST, signed now with the signing secret (`Wmx-Signature`): forward them as they are.',
    },
    body: { type: 'string', description: 'The event’s raw body, byte for byte as webhook endpoints receive it.' },
  },
} as const;

const StartBody = {
  type: 'object',
  additionalProperties: false,
  properties: { label: { type: 'string', maxLength: 200, description: 'e.g. the URL events go to.' } },
} as const;

const PollBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait_seconds: { type: 'integer', minimum: 0, maximum: LISTEN_MAX_WAIT_MS / 1000, default: 25 },
    acks: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['delivery_id', 'status_code'],
        properties: {
          delivery_id: { type: 'string', maxLength: 64 },
          status_code: {
            type: ['integer', 'null'],
            minimum: 100,
            maximum: 599,
            description: 'The receiver’s HTTP status; null when it could not be reached.',
          },
          latency_ms: { type: 'integer', minimum: 0, maximum: 3_600_000, default: 0 },
          error: { type: ['string', 'null'], maxLength: 500 },
        },
      },
    },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: 'The session id (`whe_…`).' } },
} as const;

/** `wmx listen`'s API: open a session, long-poll it (acknowledging what was forwarded), end it. */
export async function listenRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  const view = (x: ListenSession) => ({
    id: x.id,
    label: x.label,
    active: x.enabled,
    created_at: new Date(x.createdAt).toISOString(),
    idle_timeout_seconds: Math.floor(s.listen.idleMs / 1000),
  });

  app.post(
    '/listen-sessions',
    {
      schema: {
        tags: ['Listen'],
        summary: 'Open a listen session',
        description:
          'Every event of the merchant from now on is queued for this session (besides going to the webhook endpoints) until the session is ended or left idle.',
        security: SECURITY,
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
        },
        body: StartBody,
        response: { 201: SessionSchema, ...errorResponses(400, 409, 413, 415, ...COMMON_ERRORS) },
      },
      preValidation: exactBody(StartBody),
    },
    async (req, reply) => {
      const m = merchantOf(req);
      const { label } = req.body as { label?: string };
      return idempotent(s.idempotency, req, reply, async () => {
        const session = await s.listen.start(m, (label ?? '').trim() || 'wmx listen');
        if (!session)
          throw new ApiError(
            409,
            'too_many_listen_sessions',
            `At most ${LISTEN_SESSIONS_MAX} listen sessions may be open at once: end one (Ctrl-C in wmx listen), or wait for an idle one to expire.`,
          );
        return { status: 201, body: String(reply.serializeInput(view(session), '201')) };
      });
    },
  );

  app.post(
    '/listen-sessions/:id/poll',
    {
      schema: {
        tags: ['Listen'],
        summary: 'Acknowledge and fetch events (long poll)',
        description:
          'Records the receiver’s answer to each delivery in `acks` (shown in the delivery log), then answers with the queued deliveries, oldest first, waiting up to `wait_seconds` for one. A delivery stays queued until acknowledged, so a poll whose answer was lost loses nothing: the next one returns it again. Acknowledging twice changes nothing. Not cached by Idempotency-Key: every poll reads the queue afresh.',
        security: SECURITY,
        params: idParams,
        body: PollBody,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['events', 'acknowledged'],
            properties: {
              events: { type: 'array', items: ForwardSchema },
              acknowledged: { type: 'integer', description: 'How many of `acks` closed a delivery now.' },
            },
          },
          ...errorResponses(400, 404, 410, 413, 415, ...COMMON_ERRORS),
        },
      },
      // As the schema says, without Fastify's coercion ("5" for 5, "200" for a status code).
      preValidation: exactBody(PollBody),
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as {
        wait_seconds?: number;
        acks?: { delivery_id: string; status_code: number | null; latency_ms?: number; error?: string | null }[];
      };
      // The CLI went away (or its poll timed out): stop waiting for it. The listener comes off the
      // socket with the answer: a kept-alive connection carries poll after poll, and each one's
      // listener left on it would pile up (MaxListenersExceededWarning after ten polls, and a leak).
      const gone = new AbortController();
      const onClose = () => gone.abort();
      const socket = req.raw.socket;
      socket.once('close', onClose);
      const r = await s.listen
        .poll(
          merchantOf(req),
          id,
          (b.acks ?? []).map((a) => ({
            deliveryId: a.delivery_id,
            statusCode: a.status_code,
            latencyMs: a.latency_ms ?? 0,
            error: a.error ?? null,
          })),
          (b.wait_seconds ?? 25) * 1000,
          gone.signal,
        )
        .finally(() => socket.off('close', onClose));
      if (r.kind === 'not_found') throw notFound('Listen session');
      if (r.kind === 'ended')
        throw new ApiError(
          410,
          'listen_session_ended',
          `This listen session has ended (ended by the CLI, or not polled for ${Math.floor(s.listen.idleMs / 60_000)} minutes): open a new one; GET /events lists what happened meanwhile.`,
        );
      return {
        acknowledged: r.acknowledged,
        events: r.events.map((e) => ({
          delivery_id: e.deliveryId,
          event_id: e.eventId,
          type: e.type,
          created: e.created,
          headers: e.headers,
          body: e.body,
        })),
      };
    },
  );

  app.delete(
    '/listen-sessions/:id',
    {
      schema: {
        tags: ['Listen'],
        summary: 'End a listen session',
        security: SECURITY,
        params: idParams,
        response: { 200: SessionSchema, ...errorResponses(404, ...COMMON_ERRORS) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const ended = await s.listen.end(merchantOf(req), id);
      if (!ended) throw notFound('Listen session');
      return view(ended);
    },
  );
}
