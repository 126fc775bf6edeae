/**
 * The gateway's OpenAPI document as a test oracle: fetches /api/v1/openapi.json, validates it
 * (swagger-parser, OpenAPI 3.1), and checks that a response the tests received is documented for its
 * route and status and matches the documented JSON Schema (Ajv, draft 2020-12 as OAS 3.1 uses).
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

/** The parts of an OpenAPI 3.1 document this oracle reads. */
interface Doc {
  openapi: string;
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, object>; securitySchemes?: Record<string, object> };
  [k: string]: unknown;
}
interface Operation {
  responses?: Record<string, { description: string; content?: Record<string, { schema?: object }> }>;
  [k: string]: unknown;
}

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => void;

export interface Contract {
  /** The document as served (not dereferenced). */
  raw: Doc;
  /** Throws with a readable reason when the response is undocumented or does not match. */
  check(method: string, url: string, status: number, body: unknown, contentType?: string): void;
  /** "METHOD /template STATUS" of every response checked so far. */
  seen: Set<string>;
}

interface Route {
  template: string;
  re: RegExp;
  literalChars: number;
}

export async function loadContract(baseUrl: string): Promise<Contract> {
  const res = await fetch(`${baseUrl}/api/v1/openapi.json`);
  if (res.status !== 200) throw new Error(`openapi.json answered ${res.status}`);
  const raw = (await res.json()) as Doc;
  // validate() dereferences in place: give it a copy, keep the served document intact.
  const doc = (await SwaggerParser.validate(structuredClone(raw) as never)) as unknown as Doc; // the parser's own types are the union of every OpenAPI version

  // OAS 3.1 schemas are JSON Schema 2020-12 plus a few OpenAPI keywords (example, discriminator…).
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();

  const routes: Route[] = Object.keys(doc.paths ?? {}).map((template) => ({
    template,
    re: new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    literalChars: template.replace(/\{[^}]+\}/g, '').length,
  }));
  // Literal segments win over parameters (/payments/{token} vs a literal path of the same shape).
  routes.sort((a, b) => b.literalChars - a.literalChars);

  const seen = new Set<string>();

  return {
    raw,
    seen,
    check(method, url, status, body, contentType = 'application/json') {
      const pathname = new URL(url, baseUrl).pathname;
      const route = routes.find((r) => r.re.test(pathname));
      if (!route) throw new Error(`${method} ${pathname}: no documented path`);
      const item = doc.paths?.[route.template];
      const op = item?.[method.toLowerCase()];
      if (!op) throw new Error(`${method} ${route.template}: method not documented`);
      const responses = op.responses ?? {};
      const key = String(status);
      const r = responses[key] ?? responses[`${key[0]}XX`] ?? responses.default;
      if (!r)
        throw new Error(
          `${method} ${route.template}: status ${status} not documented (documented: ${Object.keys(responses).join(', ')})`,
        );
      const media = contentType.split(';')[0]?.trim() ?? '';
      const schema = r.content?.[media]?.schema;
      if (!schema) throw new Error(`${method} ${route.template} ${status}: no schema for ${media}`);
      const id = `${method} ${route.template} ${status} ${media}`;
      let validate = validators.get(id);
      if (!validate) {
        validate = ajv.compile(schema);
        validators.set(id, validate);
      }
      if (!validate(body)) {
        throw new Error(
          `${id}: response does not match the documented schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
        );
      }
      seen.add(`${method.toUpperCase()} ${route.template} ${status}`);
    },
  };
}
