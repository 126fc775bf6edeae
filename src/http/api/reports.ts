import type { FastifyInstance } from 'fastify';
import type { ApiServices } from './services.js';
import { merchantOf } from './auth.js';
import { invalid } from './errors.js';
import { COMMON_ERRORS, SECURITY, errorResponses, listOf, paginationQuery, withDescription } from './schemas.js';
import { balanceView, settlementView } from './views.js';

/** What the merchant is owed and what was paid out: GET /balance and GET /settlements. */
export async function reportRoutes(app: FastifyInstance, s: ApiServices): Promise<void> {
  app.get(
    '/balance',
    {
      schema: {
        tags: ['Balance and settlements'],
        summary: 'Get the balance',
        description:
          'Derived from the ledger: what is owed and not yet settled, refunds in flight, and the totals settled and charged in fees.',
        security: SECURITY,
        response: {
          200: withDescription('Balance', 'The merchant’s BDT balance.'),
          ...errorResponses(...COMMON_ERRORS),
        },
      },
    },
    async (req) => balanceView(await s.balance(merchantOf(req).id)),
  );

  app.get(
    '/settlements',
    {
      schema: {
        tags: ['Balance and settlements'],
        summary: 'List settlement batches',
        description: 'One batch per day settled, newest first, with cursor pagination.',
        security: SECURITY,
        querystring: { type: 'object', properties: { ...paginationQuery } },
        response: {
          200: listOf('Settlement', 'A page of settlement batches.'),
          ...errorResponses(400, ...COMMON_ERRORS),
        },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; cursor?: string };
      const page = await s.settlements(merchantOf(req).id, q.cursor, q.limit);
      if (page === 'bad_cursor') throw invalid('cursor', 'cursor is not one this API returned');
      return { data: page.batches.map(settlementView), next_cursor: page.next ?? null };
    },
  );
}
