import crypto from 'node:crypto';

/**
 * Verifies a `t=<unix s>,v1=<hex>` signature (Wmx-Signature on webhooks, wmx_signature on callbacks)
 * over `t + "." + raw`, the way the README tells receivers to: HMAC-SHA256, constant-time compare.
 */
export function signatureValid(secret: string, header: string | undefined, raw: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${m[1]}.${raw}`).digest();
  const got = Buffer.from(m[2]!, 'hex');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}
