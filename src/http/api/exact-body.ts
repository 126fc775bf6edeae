import type { FastifyRequest } from 'fastify';
import { invalid } from './errors.js';

/** The parts of a body schema exactBody reads. */
interface BodySchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, BodySchema>>;
  readonly items?: BodySchema;
}

const jsonType = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? 'integer'
          : 'number'
        : typeof v;

/** The first field of `v` that is not in `s`, or not of its JSON type (undefined when none). */
function looseField(s: BodySchema, v: unknown, at: string): { field: string; message: string } | undefined {
  const types: readonly string[] = s.type === undefined ? [] : typeof s.type === 'string' ? [s.type] : s.type;
  const t = jsonType(v);
  if (types.length > 0 && !types.includes(t) && !(t === 'integer' && types.includes('number')))
    return { field: at || 'body', message: `${at || 'The body'} must be ${types.join(' or ')}` };
  if (t === 'object' && s.properties) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const field = at ? `${at}.${k}` : k;
      const sub = s.properties[k];
      if (!sub) return { field, message: `Unknown field ${field}` };
      const p = looseField(sub, x, field);
      if (p) return p;
    }
  }
  if (t === 'array' && s.items) {
    for (const [i, x] of (v as unknown[]).entries()) {
      const p = looseField(s.items, x, `${at}.${i}`);
      if (p) return p;
    }
  }
  return undefined;
}

/**
 * A preValidation hook holding a JSON body to its schema as written. Fastify's validation coerces
 * types ("true" passes as true, 1 as true, 5 as "5", an object as a one-item array) and drops unknown
 * fields silently: a misspelt field, or a number for an amount, must be refused, not guessed at (as
 * refunds do, see refunds.ts).
 */
export function exactBody(schema: BodySchema) {
  return async (req: FastifyRequest): Promise<void> => {
    const p = looseField(schema, req.body, '');
    if (p) throw invalid(p.field, p.message);
  };
}
