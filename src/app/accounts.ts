import crypto from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { newId } from '../domain/ids.js';
import type { Database, UsersTable } from '../store/schema.js';
import { hashPassword, sha256Hex, verifyPassword } from './crypto.js';
import { TtlCache } from '../domain/ttl-cache.js';

export type UserKind = 'admin' | 'merchant';
export type Role = 'admin' | 'owner' | 'developer' | 'viewer';

export interface User {
  id: string;
  email: string;
  kind: UserKind;
  merchantId: string | null;
  role: Role;
  name: string;
}

export interface Session {
  user: User;
  csrfToken: string;
  expiresAt: number;
}

export const SESSION_TTL_MS = 12 * 3_600_000;
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;
/** Login attempts allowed per client address per minute, whatever the account. */
export const LOGIN_ATTEMPTS_PER_IP_PER_MINUTE = 20;

const toUser = (r: Selectable<UsersTable>): User => ({
  id: r.id,
  email: r.email,
  kind: r.kind as UserKind, // the column only holds UserKind values
  merchantId: r.merchant_id,
  role: r.role as Role, // likewise
  name: r.name,
});

export type LoginResult =
  | { ok: true; token: string; session: Session }
  | { ok: false; reason: 'invalid' | 'locked' | 'rate_limited'; retryAfterMs?: number };

/** People who log in (operators and merchant teams), their sessions, lockouts and rate limits. */
export function createAccounts(db: Kysely<Database>, now: () => number = Date.now) {
  const attemptsByIp = new TtlCache<string, number>(50_000, 60_000);

  async function createSession(user: User, ip: string): Promise<{ token: string; session: Session }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const csrfToken = crypto.randomBytes(24).toString('base64url');
    const t = now();
    await db
      .insertInto('sessions')
      .values({
        id_hash: sha256Hex(token),
        user_id: user.id,
        csrf_token: csrfToken,
        ip,
        created_at: t,
        expires_at: t + SESSION_TTL_MS,
      })
      .execute();
    return { token, session: { user, csrfToken, expiresAt: t + SESSION_TTL_MS } };
  }

  return {
    async createUser(input: {
      kind: UserKind;
      email: string;
      password: string;
      name: string;
      merchantId: string | null;
      role: Role;
    }): Promise<User> {
      const user: User = {
        id: newId('adm').replace('adm_', 'usr_'),
        email: input.email.trim().toLowerCase(),
        kind: input.kind,
        merchantId: input.merchantId,
        role: input.role,
        name: input.name,
      };
      await db
        .insertInto('users')
        .values({
          id: user.id,
          email: user.email,
          kind: user.kind,
          merchant_id: user.merchantId,
          role: user.role,
          name: user.name,
          password_hash: await hashPassword(input.password),
          failed_logins: 0,
          locked_until: null,
          last_login_at: null,
          created_at: now(),
        })
        .execute();
      return user;
    },

    async findByEmail(kind: UserKind, email: string): Promise<User | undefined> {
      const r = await db
        .selectFrom('users')
        .selectAll()
        .where('kind', '=', kind)
        .where('email', '=', email.trim().toLowerCase())
        .executeTakeFirst();
      return r && toUser(r);
    },

    async listTeam(merchantId: string): Promise<(User & { lastLoginAt: number | null; createdAt: number })[]> {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({
        ...toUser(r),
        lastLoginAt: r.last_login_at === null ? null : Number(r.last_login_at),
        createdAt: Number(r.created_at),
      }));
    },

    /**
     * Checks a password in constant time (unknown emails cost the same), locks the account for
     * LOCKOUT_MS after MAX_FAILED_LOGINS failures in a row, and rate-limits each client address.
     */
    async login(kind: UserKind, email: string, password: string, ip: string): Promise<LoginResult> {
      const tries = (attemptsByIp.get(ip) ?? 0) + 1;
      attemptsByIp.set(ip, tries);
      if (tries > LOGIN_ATTEMPTS_PER_IP_PER_MINUTE) return { ok: false, reason: 'rate_limited', retryAfterMs: 60_000 };
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('kind', '=', kind)
        .where('email', '=', email.trim().toLowerCase())
        .executeTakeFirst();
      const passwordOk = await verifyPassword(password, row?.password_hash ?? null);
      if (!row) return { ok: false, reason: 'invalid' };
      const t = now();
      const lockedUntil = row.locked_until === null ? 0 : Number(row.locked_until);
      if (lockedUntil > t) return { ok: false, reason: 'locked', retryAfterMs: lockedUntil - t };
      if (!passwordOk) {
        const failed = row.failed_logins + 1;
        const lock = failed >= MAX_FAILED_LOGINS;
        await db
          .updateTable('users')
          .set({ failed_logins: lock ? 0 : failed, locked_until: lock ? t + LOCKOUT_MS : row.locked_until })
          .where('id', '=', row.id)
          .execute();
        return lock ? { ok: false, reason: 'locked', retryAfterMs: LOCKOUT_MS } : { ok: false, reason: 'invalid' };
      }
      await db
        .updateTable('users')
        .set({ failed_logins: 0, locked_until: null, last_login_at: t })
        .where('id', '=', row.id)
        .execute();
      const { token, session } = await createSession(toUser(row), ip);
      return { ok: true, token, session };
    },

    createSession,

    async resolve(token: string | undefined): Promise<Session | undefined> {
      if (!token || token.length > 100) return undefined;
      const r = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .selectAll('users')
        .select(['sessions.csrf_token', 'sessions.expires_at'])
        .where('sessions.id_hash', '=', sha256Hex(token))
        .executeTakeFirst();
      if (!r || Number(r.expires_at) <= now()) return undefined;
      return { user: toUser(r), csrfToken: r.csrf_token, expiresAt: Number(r.expires_at) };
    },

    async logout(token: string | undefined): Promise<void> {
      if (token) await db.deleteFrom('sessions').where('id_hash', '=', sha256Hex(token)).execute();
    },

    async setPassword(userId: string, password: string): Promise<void> {
      await db
        .updateTable('users')
        .set({ password_hash: await hashPassword(password) })
        .where('id', '=', userId)
        .execute();
      await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
