/**
 * Web Crypto and text helpers shared by callback and webhook verification. Only globals that Node 20+,
 * Deno and Bun all have: crypto.subtle, TextEncoder, TextDecoder, btoa.
 */

const encoder = new TextEncoder();

export const utf8 = (s: string): Uint8Array<ArrayBuffer> => encoder.encode(s);

/** Standard base64 of the UTF-8 bytes of `s` (btoa alone only takes Latin-1). */
export function base64Utf8(s: string): string {
  let binary = '';
  for (const b of utf8(s)) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const toHex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const keys = new Map<string, Promise<HmacKey>>();

function hmacKey(secret: string): Promise<HmacKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', utf8(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    // A handful of secrets per process (rotation); never grows without bound.
    if (keys.size >= 16) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** A parsed `Wmx-Signature` / `wmx_signature` value: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`. */
export interface ParsedSignature {
  timestamp: number;
  signatures: Uint8Array<ArrayBuffer>[];
}

/**
 * Parses the signature header. Items are comma-separated `key=value` pairs; several `v1` (one per
 * secret, during a rotation) are allowed and unknown schemes are ignored; exactly one `t`.
 */
export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  let timestamp: number | undefined;
  const signatures: Uint8Array<ArrayBuffer>[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) return undefined;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return undefined;
      signatures.push(hexToBytes(value));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Whether one of the signatures is HMAC-SHA256(secret, `${t}.` + payload). crypto.subtle.verify
 * compares in constant time.
 */
export async function signatureMatches(secret: string, parsed: ParsedSignature, payload: Uint8Array): Promise<boolean> {
  const key = await hmacKey(secret);
  const message = concatBytes(utf8(`${parsed.timestamp}.`), payload);
  let ok = false;
  // Every candidate is checked (no early exit), so timing does not tell which one matched.
  for (const sig of parsed.signatures) {
    if (await crypto.subtle.verify('HMAC', key, sig, message)) ok = true;
  }
  return ok;
}

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed_header' | 'bad_signature' | 'stale_timestamp'; timestamp?: number };

/**
 * Verifies a `t=…,v1=…` signature over `payload`: the header's shape, then the HMAC, then the age
 * (so a stale answer means genuine but old). `toleranceSec` applies both ways (clock skew).
 */
export async function checkSignature(
  secret: string,
  header: string,
  payload: Uint8Array,
  toleranceSec: number,
  nowMs: number,
): Promise<SignatureCheck> {
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed_header' };
  if (!(await signatureMatches(secret, parsed, payload))) return { ok: false, reason: 'bad_signature' };
  if (Math.abs(nowMs / 1000 - parsed.timestamp) > toleranceSec)
    return { ok: false, reason: 'stale_timestamp', timestamp: parsed.timestamp };
  return { ok: true, timestamp: parsed.timestamp };
}

/**
 * Signs a payload as the gateway does: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + payload)>`.
 * For testing your own receivers; the gateway signs real deliveries.
 */
export async function signPayload(
  secret: string,
  payload: string | Uint8Array,
  timestampSec: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0)
    throw new TypeError('timestampSec must be whole unix seconds');
  const bytes = typeof payload === 'string' ? utf8(payload) : payload;
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), concatBytes(utf8(`${timestampSec}.`), bytes));
  return `t=${timestampSec},v1=${toHex(mac)}`;
}
