import busboy from 'busboy';
import { isLosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { WmxError } from '../../domain/errors.js';

export type FieldMap = Record<string, string>;

const MAX_FIELDS = 200;

/**
 * A record with no prototype at all (no `__proto__`, `constructor` or other inherited keys), like
 * `Object.create(null)`, but made by a constructor: V8 then keeps its properties in fast mode
 * instead of a dictionary, which made decoding a check-payment body about a third cheaper.
 */
const NoPrototype = function () {} as unknown as new () => FieldMap;
NoPrototype.prototype = Object.create(null) as object;
const emptyFields = (): FieldMap => new NoPrototype();

/**
 * Decodes the body of a legacy POST whatever its encoding (PROTOCOL.md section 2): urlencoded,
 * multipart, JSON, or a missing/odd Content-Type (JSON is tried first, then urlencoded). A body
 * labelled JSON that is plainly a form, or labelled a form that is a JSON object, is read as what
 * it is.
 * Repeated keys keep their first value. Nothing here rejects a value: the use case validates.
 * Synchronous except for multipart (the hot endpoints take no extra microtask turn); a malformed
 * body throws.
 */
export function decodeLegacyBody(
  contentType: string | undefined,
  raw: Buffer | undefined,
): FieldMap | Promise<FieldMap> {
  if (!raw || raw.length === 0) return emptyFields();
  const ct = (contentType ?? '').toLowerCase();
  // A multipart label is believed only when the body holds its boundary: without one, or with one
  // the body never uses (a header copied onto a form or JSON string), the body is read as if it had
  // no label.
  if (ct.startsWith('multipart/form-data')) {
    const boundary = BOUNDARY_PARAM.exec(contentType as string);
    if (boundary && raw.includes(`--${boundary[1] ?? boundary[2]}`)) return decodeMultipart(contentType as string, raw);
  }
  // A byte order mark some editors and .NET writers put first belongs to no field name.
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  // Mislabelled bodies occur too (a form sent as JSON, JSON sent as a form, multipart sent as a
  // form): what the body plainly is wins over the label. Only a body that starts like JSON is held
  // to JSON.
  if (ct.includes('json') && /^\s*[[{]/.test(text))
    return decodeJson(text) ?? malformed('the body is not a JSON object');
  const boundary = MULTIPART_START.exec(text)?.[1];
  if (boundary !== undefined) return decodeMultipart(`multipart/form-data; boundary=${boundary}`, raw);
  return decodeJson(text) ?? decodeUrlencoded(text);
}

/** The opening of a multipart body: a boundary line, then the first part's Content-Disposition. */
const MULTIPART_START = /^--([\x21-\x7e]{1,70})\r?\ncontent-disposition:/i;

/** The boundary parameter of a multipart Content-Type, quoted or not. */
const BOUNDARY_PARAM = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i;

function malformed(why: string): never {
  throw new WmxError('2004', `Malformed request body: ${why}`);
}

/** Keeps each key's first value; more than MAX_FIELDS distinct keys is malformed. Counted, not re-measured per field. */
function fieldCollector() {
  const out = emptyFields();
  let count = 0;
  return {
    out,
    put(key: string, value: string): void {
      if (out[key] !== undefined) return; // nothing is inherited, and every value is a string
      if (count >= MAX_FIELDS) malformed(`more than ${MAX_FIELDS} fields`);
      count++;
      out[key] = value;
    },
  };
}

export function decodeUrlencoded(text: string): FieldMap {
  const c = fieldCollector();
  new URLSearchParams(text).forEach((v, k) => c.put(k, v));
  return c.out;
}

function decodeJson(text: string): FieldMap | undefined {
  const t = text.trimStart();
  if (!t.startsWith('{')) return undefined;
  const exact = LONG_DIGITS.test(t);
  let parsed: unknown;
  try {
    parsed = exact ? parseKeepingNumbers(t) : JSON.parse(t);
  } catch (e) {
    // JSON, but nested deeper than the parser's stack allows (how deep depends on the stack in use
    // at that moment): malformed, never "not JSON, try a form".
    if (e instanceof RangeError) malformed('a value is nested too deeply');
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const c = fieldCollector();
  for (const [k, v] of Object.entries(parsed)) {
    if (v === null || v === undefined) continue; // null means "not sent"
    // Numbers become their text ("amount": 10.5 → "10.5"); objects keep their JSON text.
    if (typeof v === 'string') c.put(k, v);
    else if (typeof v === 'number') c.put(k, String(v));
    else if (isLosslessNumber(v)) c.put(k, numberText(v.value));
    else c.put(k, jsonText(v, exact));
  }
  return c.out;
}

/**
 * JSON.parse turns an integer beyond 2^53 into a nearby double (an order id 12345678901234567890
 * would come back as …67000). A body with such a run of digits is parsed keeping every number's
 * text (lossless-json); one it refuses (duplicate keys) is parsed as JSON.parse would.
 */
const LONG_DIGITS = /\d{16}/;

function parseKeepingNumbers(t: string): unknown {
  try {
    return parseLossless(t);
  } catch (e) {
    if (e instanceof RangeError) throw e; // nested too deeply: decodeJson answers that
    return JSON.parse(t);
  }
}

/** A top-level number's text: exact for a large integer, else as JSON.parse would give it. */
function numberText(raw: string): string {
  return /^-?\d+$/.test(raw) && !Number.isSafeInteger(Number(raw)) ? raw : String(Number(raw));
}

/** JSON.parse takes any depth, JSON.stringify overflows the stack on thousands of levels. */
function jsonText(v: unknown, exact: boolean): string {
  try {
    return (exact ? stringifyLossless(v) : JSON.stringify(v)) ?? '';
  } catch {
    return malformed('a value is nested too deeply');
  }
}

function decodeMultipart(contentType: string, raw: Buffer): Promise<FieldMap> {
  return new Promise((resolve, reject) => {
    const out = emptyFields();
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': contentType },
        limits: { fields: MAX_FIELDS, fieldSize: raw.length, files: 20, parts: MAX_FIELDS + 20 },
        defParamCharset: 'utf8',
      });
    } catch {
      reject(new WmxError('2004', 'Malformed request body: bad multipart boundary'));
      return;
    }
    bb.on('field', (name, value) => {
      if (out[name] === undefined) out[name] = value;
    });
    // A part with a filename is still a field to the protocol: HTTP tools and client libraries send
    // a value as a "file" part (Postman file fields, Guzzle stream contents). Read as UTF-8 text.
    let pendingFiles = 0;
    let closed = false;
    const finish = () => {
      if (closed && pendingFiles === 0) resolve(out);
    };
    bb.on('file', (name, stream) => {
      pendingFiles++;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => reject(new WmxError('2004', 'Malformed request body: bad multipart data')));
      stream.on('end', () => {
        if (out[name] === undefined) out[name] = Buffer.concat(chunks).toString('utf8');
        pendingFiles--;
        finish();
      });
    });
    bb.on('error', () => reject(new WmxError('2004', 'Malformed request body: bad multipart data')));
    bb.on('close', () => {
      closed = true;
      finish();
    });
    bb.end(withCrlf(raw));
  });
}

/**
 * Multipart lines end in CRLF; a body built by hand on a Unix system may end them in a bare LF,
 * which the parser cannot read. A body with no CR at all gets CRLFs (latin1 keeps every byte).
 */
function withCrlf(raw: Buffer): Buffer {
  if (raw.includes(13) || !raw.includes(10)) return raw;
  return Buffer.from(raw.toString('latin1').replaceAll('\n', '\r\n'), 'latin1');
}
