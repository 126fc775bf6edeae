import crypto from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts, Session, UserKind } from '../../app/accounts.js';
import type { Actor } from '../../app/audit.js';
import { CONSOLE_CSP } from './layout.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in console user, when there is one. */
    consoleSession?: Session;
  }
}

export const SESSION_COOKIE = 'wmx_session';
export const CSRF_COOKIE = 'wmx_csrf';

export interface ConsoleSessionOptions {
  accounts: Accounts;
  /** Cookies get `Secure` when the gateway is served over HTTPS. */
  secureCookies: boolean;
}

/**
 * Sessions and CSRF for the console (register, login, admin, dashboard). Sessions are opaque
 * random tokens in an HttpOnly, SameSite=Lax cookie (stored hashed). Every POST must carry `_csrf`:
 * the session's token when logged in, else a double-submit cookie's value.
 */
export async function consoleSessions(app: FastifyInstance, opts: ConsoleSessionOptions): Promise<void> {
  await app.register(fastifyCookie);
  const cookieOpts = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: opts.secureCookies };

  app.decorateReply('setSessionCookie', function (this: FastifyReply, token: string, maxAgeMs: number) {
    this.setCookie(SESSION_COOKIE, token, { ...cookieOpts, maxAge: Math.floor(maxAgeMs / 1000) });
  });

  app.addHook('preHandler', async (req, reply) => {
    const s = await opts.accounts.resolve(req.cookies[SESSION_COOKIE]);
    if (s) req.consoleSession = s;
    if (req.method === 'POST') {
      const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
      const expected = s ? s.csrfToken : req.cookies[CSRF_COOKIE];
      if (typeof sent !== 'string' || !expected || !safeEq(sent, expected)) {
        return reply
          .code(403)
          .header('content-security-policy', CONSOLE_CSP)
          .type('text/html; charset=utf-8')
          .send(
            '<!doctype html><title>Form expired</title><p>This form expired or came from elsewhere. Go back, reload the page and try again.</p>',
          );
      }
    }
  });

  app.decorateReply('csrfToken', function (this: FastifyReply, req: FastifyRequest): string {
    if (req.consoleSession) return req.consoleSession.csrfToken;
    let t = req.cookies[CSRF_COOKIE];
    if (!t || t.length > 100) {
      t = crypto.randomBytes(24).toString('base64url');
      this.setCookie(CSRF_COOKIE, t, cookieOpts);
    }
    return t;
  });

  app.decorateReply('clearSession', function (this: FastifyReply) {
    this.clearCookie(SESSION_COOKIE, { path: '/' });
  });
}

declare module 'fastify' {
  interface FastifyReply {
    setSessionCookie(token: string, maxAgeMs: number): void;
    csrfToken(req: FastifyRequest): string;
    clearSession(): void;
  }
}

function safeEq(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

/** A preHandler that sends anyone but a logged-in user of `kind` to its login page. */
export function requireLogin(kind: UserKind) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const s = req.consoleSession;
    if (!s || s.user.kind !== kind) {
      const login = kind === 'admin' ? '/admin/login' : '/login';
      return reply.redirect(`${login}?next=${encodeURIComponent(req.url)}`, 303);
    }
  };
}

/** The actor for the audit log: who is logged in, from which address. */
export const actorOf = (req: FastifyRequest): Actor => ({
  kind: req.consoleSession?.user.kind === 'admin' ? 'admin' : 'merchant',
  id: req.consoleSession?.user.email ?? 'anonymous',
  ip: req.ip,
});

/** Only same-site relative paths are followed after login (no open redirect). */
export function safeNext(next: unknown, fallback: string): string {
  return typeof next === 'string' && /^\/[a-zA-Z0-9/_?=&.%-]*$/.test(next) && !next.startsWith('//') ? next : fallback;
}
