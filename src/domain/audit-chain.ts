import crypto from 'node:crypto';

/** The prev_hash of the first audit record: a fixed value, so the chain's start is checkable too. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** The fields an audit hash commits to, as stored (detail is the stored JSON text, byte for byte). */
export interface AuditHashFields {
  seq: number | string | bigint;
  at: number | string | bigint;
  actor_kind: string;
  actor: string;
  merchant_id: string | null;
  action: string;
  detail: string;
  ip: string;
}

/**
 * Canonical JSON of a record: fixed key order, numbers normalised (PostgreSQL hands bigints back as
 * strings, SQLite as numbers), so the same row hashes the same on both dialects and after a dump.
 */
export function canonicalAuditJson(r: AuditHashFields): string {
  return JSON.stringify({
    seq: Number(r.seq),
    at: Number(r.at),
    actor_kind: r.actor_kind,
    actor: r.actor,
    merchant_id: r.merchant_id,
    action: r.action,
    detail: r.detail,
    ip: r.ip,
  });
}

/** hash = SHA-256(prev_hash + canonical JSON), hex: each record commits to every one before it. */
export const auditHash = (prevHash: string, r: AuditHashFields): string =>
  crypto
    .createHash('sha256')
    .update(prevHash + canonicalAuditJson(r))
    .digest('hex');
