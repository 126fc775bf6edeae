/**
 * Identifiers and secrets. Uses the Web Crypto global (no node:* import) so the domain stays pure.
 */
const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Random bytes are drawn from a pool refilled 4 KiB at a time: one CSPRNG call per many ids.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes(n: number): Uint8Array {
  if (n > POOL_SIZE) return globalThis.crypto.getRandomValues(new Uint8Array(n));
  if (poolOffset + n > POOL_SIZE) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + n);
  // Bytes handed out are never reused.
  poolOffset += n;
  return out;
}

export function randomHex(bytes: number): string {
  let out = '';
  for (const b of randomBytes(bytes)) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** Unbiased random string over an alphabet (rejection sampling). */
export function randomString(length: number, alphabet = ALNUM): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit) out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * A fixed-width base-36 rendering of the current time, so identifiers made later sort later. Keys that
 * arrive in order land on the right-most page of their index: a batch of inserts dirties a few pages
 * instead of one per row, which is most of what an insert costs under durable commits.
 */
const B36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
function timePrefix(unit: number, width: number): string {
  let v = Math.floor(Date.now() / unit);
  let out = '';
  for (let i = 0; i < width; i++) {
    out = B36[v % 36]! + out;
    v = Math.floor(v / 36);
  }
  return out;
}

export const newPaymentToken = (): string => randomHex(20); // 160 random bits, 40 lowercase hex
/** 15 alphanumerics (PROTOCOL.md section 7): 7 for the second it was made (good past year 4000), 8 random (47 bits). */
export const newRefId = (): string => timePrefix(1000, 7) + randomString(8);
export const newWmxId = (): string => 'WMX' + randomHex(7).slice(0, 13);
export const newAccessAppKey = (): string => randomHex(20);
export const newPassword = (): string => randomString(24);
export const newMerchantRefId = (): string => randomHex(7).slice(0, 13);
export const newSigningSecret = (): string => 'whsec_' + randomString(32);
export const newApiKey = (): string => 'sk_' + randomString(40);
/** `prefix_` + 9 characters of milliseconds (time-ordered, good past year 5000) + 14 random (83 bits). */
export const newId = (
  prefix: 'pay' | 'mer' | 'rfd' | 'evt' | 'adm' | 'whe' | 'whd' | 'wha' | 'trf' | 'pst' | 'stl' | 'upc',
): string => `${prefix}_${timePrefix(1, 9)}${randomString(14)}`;
export const newUsername = (slug: string): string => `${slug}_${randomString(10, '0123456789')}`;

export function slugify(name: string): string {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '')
    .slice(0, 20);
  return s === '' ? 'merchant' : s;
}

export const WMX_ID_RE = /^WMX[0-9a-f]{13}$/;
export const APP_KEY_RE = /^[0-9a-f]{40}$/;
export const TOKEN_RE = /^[0-9a-f]{40}$/;
