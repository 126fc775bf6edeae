import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { HOSTED_PAGE_PATHS, LEGACY_TAG } from '../legacy/docs.js';

/**
 * Swagger UI's own files only. Scripts: 'self' and nothing else (no inline, no eval). Styles may be
 * inline: its React renderer applies inline styles (Chromium blocks them under style-src 'self'),
 * and a style cannot run code. The spec is fetched from the gateway (connect-src).
 */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const DESCRIPTION = `The gateway speaks two APIs.

**The merchant JSON API** (\`/api/v1\`): payments, refunds, balance and settlements. Authenticate with the secret API key
(\`wmx merchant create --json\` prints it as \`api_key\`; the dashboard shows it once at approval):
\`Authorization: Bearer <api_key>\`. Bodies and answers are JSON; money is a decimal string (\`"12.50"\`), never a number;
times are ISO 8601 in UTC. Errors are \`{"error":{"code":"…","message":"…"}}\` with the HTTP status saying what kind.
Every POST takes an \`Idempotency-Key\` header.

**The legacy Walletmix v2 protocol** (tag *${LEGACY_TAG}*): what existing Walletmix integrations call, unchanged.
Credentials travel in the body; every business answer is HTTP 200 JSON. The full reference, with every error code,
payment code and sandbox test instrument, is at [/docs/protocol](/docs/protocol).`;

// src/http/api and dist/http/api are both three levels below the package root.
const PACKAGE_VERSION = (
  JSON.parse(
    fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'), 'utf8'),
  ) as { version: string }
).version;

type Operation = {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { required?: unknown } }> };
};

/**
 * @fastify/swagger marks every request body required (Fastify demands one when schema.body is set).
 * The API's bodies with no required field may be left out (a bare POST is a full refund; an
 * empty body parses as {}), so the document says so.
 */
function relaxOptionalBodies<D extends { paths?: object }>(doc: D): D {
  for (const item of Object.values(doc.paths ?? {}) as Record<string, Operation>[]) {
    for (const op of Object.values(item)) {
      const media = op.requestBody?.content ? Object.values(op.requestBody.content) : [];
      if (op.requestBody && media.length > 0 && media.every((m) => m.schema && m.schema.required === undefined))
        op.requestBody.required = false;
    }
  }
  return doc;
}

/**
 * Registers @fastify/swagger: the OpenAPI 3.1 document, built from the route schemas. Call it at the
 * root before any documented route is registered: the document collects routes as they are added,
 * in every scope. Only tagged routes are documented (pages and assets are not API).
 */
export async function registerApiDocument(app: FastifyInstance, opts: { publicUrl: string }): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'wmx-gateway API',
        version: PACKAGE_VERSION,
        description: DESCRIPTION,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: opts.publicUrl }],
      tags: [
        { name: 'Payments', description: 'Payments made through the hosted checkout.' },
        { name: 'Refunds', description: 'Full and partial refunds.' },
        { name: 'Balance and settlements', description: 'What the merchant is owed and what was paid out.' },
        { name: 'Webhooks', description: 'Endpoints that receive signed event notifications.' },
        { name: 'Events', description: 'Every event of the merchant, as sent to its webhook endpoints.' },
        {
          name: 'Listen',
          description:
            'Events fetched by `wmx listen` (a long poll), for a receiver the gateway cannot reach, such as a laptop.',
        },
        {
          name: 'Sandbox',
          description: 'Test helpers: real sandbox payments in a chosen state (sandbox merchants only).',
        },
        {
          name: LEGACY_TAG,
          description: 'The Walletmix v2 merchant protocol. Reference: [/docs/protocol](/docs/protocol).',
        },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'The merchant’s secret API key (`sk_…`).' },
        },
      },
      // The hosted payment page is an HTML route of the checkout; it is described here, not by a schema.
      paths: HOSTED_PAGE_PATHS,
    },
    hideUntagged: true,
    transformObject: (doc) => ('openapiObject' in doc ? relaxOptionalBodies(doc.openapiObject) : doc.swaggerObject),
    // Shared schemas keep their $id as their component name (components/schemas/Payment).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
}

/** Swagger UI at /docs, over the document registerApiDocument built. */
export async function registerApiDocPages(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiConfig: { deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, tryItOutEnabled: false },
    theme: { title: 'wmx-gateway API reference' },
  });
}
