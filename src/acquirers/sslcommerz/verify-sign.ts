/**
 * SSLCommerz's signature over the fields it posts to a merchant (IPN and browser return), shared by the
 * simulator (which signs) and the connector (which verifies). Research notes §4.2–§4.4.
 *
 * md5 recipe, as every official SDK checks it (sslcommerz/SSLCommerz-PHP lib/SslCommerzNotification.php
 * SSLCOMMERZ_hash_varify, sslcommerz/SSLCommerz-Python sslcommerz_lib/sslcommerz.py hash_validate_ipn,
 * sslcommerz/SSLCommerz-Java SSLCommerz.java ipnHashVerify; the SSL Wireless KB article
 * https://support.sslwireless.com/portal/en/kb/articles/hash-validation): take the fields named in
 * `verify_key`, add `store_passwd` = md5(password), sort by name, join as `k=v&k=v` WITHOUT url-encoding,
 * md5 the result. `verify_sign_sha2` is undocumented; the notes (§4.3) derive it as the same
 * construction with sha256 in both places, checked against the official Python README sample.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

type Digest = 'md5' | 'sha256';

const SIGNATURE_FIELDS = new Set(['verify_sign', 'verify_key', 'verify_sign_sha2']);

const hex = (algo: Digest, text: string): string => createHash(algo).update(text, 'utf8').digest('hex');

/** The digest of `keys`' values from `form`; undefined when a listed key is absent. */
function digestOver(form: Record<string, string>, keys: readonly string[], storePasswd: string, algo: Digest) {
  const map = new Map<string, string>();
  for (const k of keys) {
    // Own properties only: a key like "constructor" must not read Object.prototype.
    if (!Object.hasOwn(form, k)) return undefined;
    const v = form[k];
    if (typeof v !== 'string') return undefined;
    map.set(k, v);
  }
  // Set last, so a form can never supply its own store_passwd (the password is never in verify_key).
  map.set('store_passwd', hex(algo, storePasswd));
  // Plain code-unit order, as PHP ksort / Python sorted / Java TreeMap give for these ASCII names.
  const sorted = [...map.keys()].sort();
  return hex(algo, sorted.map((k) => `${k}=${map.get(k) ?? ''}`).join('&'));
}

/** The form fields SSLCommerz posts, signed: adds verify_key (the sorted names of the given fields), verify_sign (md5 recipe) and verify_sign_sha2 (sha256 recipe). */
export function signSslcommerzFields(fields: Record<string, string>, storePasswd: string): Record<string, string> {
  const keys = Object.keys(fields)
    .filter((k) => !SIGNATURE_FIELDS.has(k))
    .sort();
  // Both digests cover exactly `keys`, so they are never undefined here.
  const md5 = digestOver(fields, keys, storePasswd, 'md5') ?? '';
  const sha2 = digestOver(fields, keys, storePasswd, 'sha256') ?? '';
  return { ...fields, verify_sign: md5, verify_key: keys.join(','), verify_sign_sha2: sha2 };
}

/** true when form.verify_sign matches the md5 recipe over the keys in form.verify_key with md5(storePasswd); constant-time compare; false when either is missing, or a listed key is absent. */
export function verifySslcommerzSign(form: Record<string, string>, storePasswd: string): boolean {
  const sign = Object.hasOwn(form, 'verify_sign') ? form.verify_sign : undefined;
  const keyList = Object.hasOwn(form, 'verify_key') ? form.verify_key : undefined;
  // Empty values fail too, as SSLCommerz-Java does: an empty key list would sign only the password.
  if (!sign || !keyList) return false;
  const expected = digestOver(form, keyList.split(','), storePasswd, 'md5');
  if (expected === undefined) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(sign, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
