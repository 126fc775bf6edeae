/**
 * Shared helpers for the protocol suites (PROTOCOL.md sections 2–4 and 7): raw HTTP clients for the
 * encodings real legacy clients use, and exact checks of the JSON types on the wire.
 * Not a test file itself (the runner only picks up *.test.ts).
 */
import assert from 'node:assert/strict';
import http from 'node:http';

export interface WireResponse {
  status: number;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
  /** Send `Expect: 100-continue` and the body only after the server's 100 Continue (curl does this for large bodies). */
  expectContinue?: boolean;
}

/**
 * A request over node:http, so nothing adds headers behind our back: no Content-Type unless given,
 * and a Content-Length (or chunked encoding) we choose.
 */
export function rawRequest(
  url: string,
  body: string | Buffer | undefined,
  opts: RawOptions = {},
): Promise<WireResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.expectContinue) headers.expect = '100-continue';
  if (body !== undefined) {
    if (opts.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON (an HTML page); callers that expect JSON assert on contentType first
        }
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          headers: res.headers,
          text,
          json,
        });
      });
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (opts.expectContinue) req.on('continue', () => req.end(body));
    else if (opts.chunked) {
      // Two chunks, so the server really has to reassemble the body.
      const buf = Buffer.from(body);
      const mid = Math.floor(buf.length / 2);
      req.write(buf.subarray(0, mid));
      req.end(buf.subarray(mid));
    } else req.end(body);
  });
}

async function fromFetch(res: Response): Promise<WireResponse> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // see rawRequest
  }
  const headers: http.IncomingHttpHeaders = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', headers, text, json };
}

/** application/x-www-form-urlencoded, as the official PHP class (http_build_query) sends. */
export const postUrlencoded = (url: string, fields: Record<string, string>): Promise<WireResponse> =>
  rawRequest(url, new URLSearchParams(fields).toString(), {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

/** multipart/form-data built by fetch from a FormData (what curl with an array body sends). */
export async function postMultipart(
  url: string,
  fields: Record<string, string> | [string, string][],
): Promise<WireResponse> {
  const fd = new FormData();
  for (const [k, v] of Array.isArray(fields) ? fields : Object.entries(fields)) fd.append(k, v);
  return fromFetch(await fetch(url, { method: 'POST', body: fd }));
}

/**
 * A multipart/form-data body built by hand (as PHP's cURL builds one), optionally with every value
 * in a part that carries a filename (Postman "file" fields, Guzzle stream contents).
 */
export function multipartBody(fields: Record<string, string>, opts: { asFiles?: boolean } = {}) {
  const boundary = '------------------------a1b2c3d4e5f6a7b8';
  const parts = Object.entries(fields).map(
    ([k, v]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${k}"` +
      (opts.asFiles ? `; filename="${k}.txt"\r\nContent-Type: text/plain` : '') +
      `\r\n\r\n${v}\r\n`,
  );
  return { boundary, body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`, 'utf8') };
}

/** application/json. Values may be any JSON (numbers for amount, null…). */
export const postJson = (url: string, body: unknown, contentType = 'application/json'): Promise<WireResponse> =>
  rawRequest(url, JSON.stringify(body), { headers: { 'content-type': contentType } });

export const getUrl = async (url: string): Promise<WireResponse> => fromFetch(await fetch(url));

export const TOKEN_RE = /^[0-9a-f]{40}$/;

/** Every legacy answer is HTTP 200 with a JSON content type. */
export function assertJson200(res: WireResponse): void {
  assert.equal(res.status, 200, `HTTP status for ${res.text}`);
  assert.match(res.contentType, /^application\/json\b/, 'content-type');
  assert.equal(typeof res.json, 'object');
  assert.ok(res.text.trimStart().startsWith('{'), `a JSON object body: ${res.text}`);
}

/** Init success: exactly {"statusCode":"1000","statusMsg":"Success","token":<40 hex>}. Returns the token. */
export function assertInitOk(res: WireResponse): string {
  assertJson200(res);
  assert.deepEqual(Object.keys(res.json).sort(), ['statusCode', 'statusMsg', 'token'], res.text);
  assert.equal(res.json.statusCode, '1000', res.text);
  assert.equal(res.json.statusMsg, 'Success');
  assert.equal(typeof res.json.token, 'string');
  assert.match(res.json.token as string, TOKEN_RE);
  return res.json.token as string;
}

/**
 * A coded error: HTTP 200 JSON, statusCode the given *string*, a non-empty statusMsg, `field` exactly
 * when one field is at fault, and nothing else (no token, no txn_status, no wmx_id).
 */
export function assertError(res: WireResponse, code: string, field?: string): void {
  assertJson200(res);
  assert.equal(res.json.statusCode, code, res.text);
  assert.equal(typeof res.json.statusMsg, 'string');
  assert.notEqual((res.json.statusMsg as string).trim(), '');
  assert.deepEqual(
    Object.keys(res.json).sort(),
    field === undefined ? ['statusCode', 'statusMsg'] : ['field', 'statusCode', 'statusMsg'],
    res.text,
  );
  if (field !== undefined) assert.equal(res.json.field, field, res.text);
  assert.equal('token' in res.json, false);
  assert.equal('txn_status' in res.json, false);
  assert.equal('wmx_id' in res.json, false);
}

/** The check-payment record's fields (PROTOCOL.md section 7). */
export const RECORD_FIELDS = [
  'wmx_id',
  'ref_id',
  'token',
  'merchant_req_amount',
  'merchant_ref_id',
  'merchant_order_id',
  'merchant_currency',
  'conversion_rate',
  'merchant_amount_bdt',
  'service_ratio',
  'wmx_charge_bdt',
  'emi_ratio',
  'emi_charge',
  'discount_bdt',
  'bank_amount_bdt',
  'request_ip',
  'txn_status',
  'txn_details',
  'extra_json',
  'card_details',
  'is_foreign',
  'payment_card',
  'card_code',
  'payment_method',
  'init_time',
  'txn_time',
  'customer_details',
  // Section 9 (ours): the succeeded refunds so far, "0.00" when none.
  'refunded_amount_bdt',
] as const;

/** Where section 7 allows null. */
const NULLABLE = new Set<string>(['txn_status', 'extra_json', 'card_details', 'txn_time']);

export type CheckRecord = Record<(typeof RECORD_FIELDS)[number], string | null> & { statusCode: number };

/**
 * A check-payment success: exactly the record's fields plus statusCode; every value a JSON string
 * (null only where section 7 allows) and statusCode a JSON number (1000 when paid, else 1008).
 */
export function assertRecord(res: WireResponse): CheckRecord {
  assertJson200(res);
  assert.deepEqual(Object.keys(res.json).sort(), [...RECORD_FIELDS, 'statusCode'].sort(), res.text);
  for (const f of RECORD_FIELDS) {
    const v = res.json[f];
    if (v === null) assert.ok(NULLABLE.has(f), `${f} is null but must be a string`);
    else assert.equal(typeof v, 'string', `${f} must be a JSON string, got ${JSON.stringify(v)}`);
  }
  assert.equal(typeof res.json.statusCode, 'number', 'statusCode must be a JSON number');
  assert.equal(res.json.statusCode, res.json.txn_status === '1000' ? 1000 : 1008);
  // The raw text too: the number is not quoted.
  assert.match(res.text, /"statusCode":(1000|1008)\b/);
  return res.json as CheckRecord;
}

/** "YYYY-MM-DD HH:MM:SS" of an instant at a fixed UTC offset (Asia/Dhaka is UTC+6, no DST). */
export function wallClock(epochMs: number, offsetHours = 6): string {
  return new Date(epochMs + offsetHours * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export const TIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** a × b / d rounded half-up, for non-negative values: written here, not imported, so the suite checks src. */
export function halfUp(a: bigint, b: bigint, d: bigint): bigint {
  const p = a * b;
  const q = p / d;
  return (p % d) * 2n >= d ? q + 1n : q;
}

/** "12.5" → 1250n (test inputs only). */
export function toMinor(text: string): bigint {
  const [w, f = ''] = text.split('.');
  return BigInt(w as string) * 100n + BigInt(f.padEnd(2, '0'));
}

/** 1250n → "12.50". */
export function fmtMinor(minor: bigint): string {
  return `${minor / 100n}.${(minor % 100n).toString().padStart(2, '0')}`;
}
