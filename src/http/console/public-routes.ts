import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WmxError } from '../../domain/errors.js';
import {
  BUSINESS_TYPES,
  MIN_PASSWORD_LENGTH,
  validateRegistration,
  type RegistrationInput,
} from '../../domain/registration.js';
import { SESSION_TTL_MS, type UserKind } from '../../app/accounts.js';
import { html } from '../html.js';
import type { ConsoleDeps } from './index.js';
import { CONSOLE_CSP, consolePage, csrfInput, formField } from './layout.js';
import { safeNext } from './session.js';

type Body = Record<string, string | undefined>;

const REG_FIELDS: (keyof RegistrationInput)[] = [
  'business_name',
  'domains',
  'contact_name',
  'email',
  'phone',
  'business_type',
  'trade_licence',
  'account_name',
  'account_number',
  'bank',
  'branch',
  'password',
  'password_confirm',
];

export function sendConsole(reply: FastifyReply, status: number, page: string) {
  return reply
    .code(status)
    .header('content-security-policy', CONSOLE_CSP)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(page);
}

/** Registration, login/logout for merchants and operators, and accepting a team invitation. */
export async function publicConsoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const { gw, sandbox } = deps;

  function registerPage(
    req: FastifyRequest,
    reply: FastifyReply,
    values: Partial<RegistrationInput>,
    errors: Partial<Record<string, string>>,
    status = 200,
  ) {
    const f = (name: keyof RegistrationInput, label: string, o: Parameters<typeof formField>[2] = {}) =>
      formField(name, label, { value: values[name] ?? '', error: errors[name], ...o });
    const typeError = errors.business_type;
    return sendConsole(
      reply,
      status,
      consolePage(
        { title: 'Register your business', csrf: reply.csrfToken(req), sandbox, area: 'public' },
        html`<section><h1>Register your business</h1>
<p>Tell us about your business. An operator reviews every application; once approved you log in with your email and this password to read your Merchant ID, access app key, username and password.</p>
${Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Please correct the fields marked below.</p>` : ''}
<form method="post" action="/register" novalidate>
${csrfInput(reply.csrfToken(req))}
<fieldset><legend>Business</legend>
${f('business_name', 'Business name', { autocomplete: 'organization' })}
<div class="field${errors.domains ? ' has-error' : ''}">
<label for="f-domains">Website domains</label>
<textarea id="f-domains" name="domains" rows="2" required aria-describedby="f-domains-hint${errors.domains ? ' f-domains-error' : ''}"${errors.domains ? html` aria-invalid="true"` : ''}>${values.domains ?? ''}</textarea>
<small id="f-domains-hint" class="hint">One per line, e.g. shop.example.com and www.shop.example.com: payment results return only to these hosts, exactly.</small>
${errors.domains ? html`<p id="f-domains-error" class="error">${errors.domains}</p>` : ''}
</div>
<div class="field${typeError ? ' has-error' : ''}">
<label for="f-business_type">Business type</label>
<select id="f-business_type" name="business_type" required${typeError ? html` aria-invalid="true" aria-describedby="f-business_type-error"` : ''}>
<option value="">Choose…</option>
${BUSINESS_TYPES.map((t) => html`<option${t === values.business_type ? html` selected` : ''}>${t}</option>`)}
</select>
${typeError ? html`<p id="f-business_type-error" class="error">${typeError}</p>` : ''}
</div>
${f('trade_licence', 'Trade licence number')}
</fieldset>
<fieldset><legend>Contact</legend>
${f('contact_name', 'Contact name', { autocomplete: 'name' })}
${f('email', 'Email', { type: 'email', autocomplete: 'email' })}
${f('phone', 'Phone', { type: 'tel', autocomplete: 'tel', hint: 'Bangladeshi mobile, e.g. 01712345678' })}
</fieldset>
<fieldset><legend>Settlement bank account</legend>
${f('account_name', 'Account name')}
${f('account_number', 'Account number', { inputmode: 'numeric' })}
${f('bank', 'Bank')}
${f('branch', 'Branch')}
</fieldset>
<fieldset><legend>Login</legend>
${f('password', 'Password', { type: 'password', autocomplete: 'new-password', hint: `At least ${MIN_PASSWORD_LENGTH} characters` })}
${f('password_confirm', 'Confirm password', { type: 'password', autocomplete: 'new-password' })}
</fieldset>
<button type="submit" class="primary">Register</button>
</form>
<p>Already registered? <a href="/login">Log in</a>.</p></section>`,
      ),
    );
  }

  app.get('/register', async (req, reply) => registerPage(req, reply, {}, {}));

  app.post('/register', async (req, reply) => {
    const b = (req.body ?? {}) as Body;
    const input = Object.fromEntries(
      REG_FIELDS.map((k) => [k, String(b[k] ?? '').slice(0, 2000)]),
    ) as unknown as RegistrationInput;
    const v = validateRegistration(input);
    const keep = { ...input, password: '', password_confirm: '' };
    if (!v.ok) return registerPage(req, reply, keep, v.errors, 422);
    try {
      await gw.onboarding.register(v.value, req.ip);
    } catch (e) {
      if (e instanceof WmxError && e.field) return registerPage(req, reply, keep, { [e.field]: e.message }, 422);
      throw e;
    }
    return sendConsole(
      reply,
      200,
      consolePage(
        { title: 'Application received', csrf: reply.csrfToken(req), sandbox, area: 'public' },
        html`<section><h1>Application received</h1><p>Thank you, ${v.value.profile.contactName}. ${v.value.businessName} is now <strong>pending approval</strong>.
An operator will review it; then <a href="/login">log in</a> with ${v.value.profile.email} to read your credentials.</p></section>`,
      ),
    );
  });

  function loginPage(
    req: FastifyRequest,
    reply: FastifyReply,
    kind: UserKind,
    error?: string,
    email = '',
    status = 200,
  ) {
    const action = kind === 'admin' ? '/admin/login' : '/login';
    const next = (req.query as Record<string, string | undefined>).next ?? ((req.body ?? {}) as Body).next ?? '';
    return sendConsole(
      reply,
      status,
      consolePage(
        {
          title: kind === 'admin' ? 'Operator login' : 'Merchant login',
          csrf: reply.csrfToken(req),
          sandbox,
          area: 'public',
        },
        html`<section class="narrow"><h1>${kind === 'admin' ? 'Operator login' : 'Merchant login'}</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="${action}">
${csrfInput(reply.csrfToken(req))}<input type="hidden" name="next" value="${next}">
${formField('email', 'Email', { type: 'email', autocomplete: 'username', value: email })}
${formField('password', 'Password', { type: 'password', autocomplete: 'current-password' })}
<button type="submit" class="primary">Log in</button>
</form>
${kind === 'merchant' ? html`<p>New here? <a href="/register">Register your business</a>.</p>` : ''}</section>`,
      ),
    );
  }

  for (const kind of ['merchant', 'admin'] as const) {
    const path = kind === 'admin' ? '/admin/login' : '/login';
    const home = kind === 'admin' ? '/admin' : '/dashboard';
    app.get(path, async (req, reply) => loginPage(req, reply, kind));
    app.post(path, async (req, reply) => {
      const b = (req.body ?? {}) as Body;
      const email = String(b.email ?? '').slice(0, 254);
      const r = await gw.accounts.login(kind, email, String(b.password ?? '').slice(0, 200), req.ip);
      if (!r.ok) {
        const msg =
          r.reason === 'invalid'
            ? 'Wrong email or password.'
            : r.reason === 'locked'
              ? `Too many failed attempts: this account is locked for ${Math.ceil((r.retryAfterMs ?? 0) / 60_000)} minutes.`
              : 'Too many login attempts from your address. Wait a minute and try again.';
        if (r.retryAfterMs) reply.header('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
        await gw.audit.record(
          { kind: kind === 'admin' ? 'admin' : 'merchant', id: email || 'unknown', ip: req.ip },
          'login.failed',
          null,
          { reason: r.reason },
        );
        return loginPage(req, reply, kind, msg, email, r.reason === 'invalid' ? 401 : 429);
      }
      reply.setSessionCookie(r.token, SESSION_TTL_MS);
      await gw.audit.record(
        { kind: kind === 'admin' ? 'admin' : 'merchant', id: r.session.user.email, ip: req.ip },
        'login',
        r.session.user.merchantId,
      );
      return reply.redirect(safeNext(b.next, home), 303);
    });
  }

  app.post('/logout', async (req, reply) => {
    const wasAdmin = req.consoleSession?.user.kind === 'admin';
    await gw.accounts.logout(req.cookies.wmx_session);
    reply.clearSession();
    return reply.redirect(wasAdmin ? '/admin/login' : '/login', 303);
  });

  function invitePage(
    req: FastifyRequest,
    reply: FastifyReply,
    token: string,
    invite: { email: string; role: string },
    errors: Record<string, string> = {},
    name = '',
    status = 200,
  ) {
    return sendConsole(
      reply,
      status,
      consolePage(
        { title: 'Join your team', csrf: reply.csrfToken(req), sandbox, area: 'public' },
        html`<section class="narrow"><h1>Join your team</h1><p>You were invited as <strong>${invite.role}</strong> (${invite.email}). Choose your name and a password.</p>
<form method="post" action="/invite/${token}">${csrfInput(reply.csrfToken(req))}
${formField('name', 'Your name', { value: name, error: errors.name, autocomplete: 'name' })}
${formField('password', 'Password', { type: 'password', autocomplete: 'new-password', error: errors.password, hint: `At least ${MIN_PASSWORD_LENGTH} characters` })}
<button type="submit" class="primary">Join</button></form></section>`,
      ),
    );
  }

  app.get<{ Params: { token: string } }>('/invite/:token', async (req, reply) => {
    const inv = await gw.onboarding.findInvite(req.params.token);
    if (!inv)
      return sendConsole(
        reply,
        404,
        consolePage(
          { title: 'Invitation not valid', csrf: reply.csrfToken(req), sandbox, area: 'public' },
          html`<section><h1>This invitation is not valid</h1><p>It was used already or has expired. Ask the owner for a new one.</p></section>`,
        ),
      );
    return invitePage(req, reply, req.params.token, inv);
  });

  app.post<{ Params: { token: string } }>('/invite/:token', async (req, reply) => {
    const inv = await gw.onboarding.findInvite(req.params.token);
    if (!inv) return reply.redirect(`/invite/${encodeURIComponent(req.params.token)}`, 303);
    const b = (req.body ?? {}) as Body;
    const name = String(b.name ?? '')
      .trim()
      .slice(0, 120);
    const password = String(b.password ?? '');
    const errors: Record<string, string> = {};
    if (name === '') errors.name = 'Enter your name.';
    if (password.length < MIN_PASSWORD_LENGTH || password.length > 200)
      errors.password = `Use ${MIN_PASSWORD_LENGTH} to 200 characters.`;
    if (Object.keys(errors).length > 0) return invitePage(req, reply, req.params.token, inv, errors, name, 422);
    const user = await gw.onboarding.acceptInvite(req.params.token, name, password, req.ip);
    const { token } = await gw.accounts.createSession(user, req.ip);
    reply.setSessionCookie(token, SESSION_TTL_MS);
    return reply.redirect('/dashboard', 303);
  });
}
