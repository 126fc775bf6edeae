/**
 * The console as a browser without scripts uses it: a cookie jar over fetch (redirects not
 * followed), forms posted with the CSRF token of the page they sit on, and login as an operator or
 * a merchant user.
 */
import assert from 'node:assert/strict';
import type { TestGateway } from './harness.js';

export const unescapeHtml = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export interface Page {
  status: number;
  headers: Headers;
  text: string;
}

export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  private keep(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0] ?? '';
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string): Promise<Page> {
    const res = await fetch(this.base + path, { redirect: 'manual', headers: { cookie: this.cookieHeader() } });
    this.keep(res);
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /** A form post (url-encoded), or with `contentType` 'application/json' the fields as JSON. */
  async post(path: string, fields: Record<string, string>, contentType?: string): Promise<Page> {
    const body = contentType === 'application/json' ? JSON.stringify(fields) : new URLSearchParams(fields);
    const headers: Record<string, string> = { cookie: this.cookieHeader() };
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(this.base + path, { method: 'POST', redirect: 'manual', headers, body });
    this.keep(res);
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /** The CSRF token of the page's forms. */
  async csrf(path: string): Promise<string> {
    const r = await this.get(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(r.text);
    assert.ok(m, `a CSRF token on ${path} (status ${r.status})`);
    return unescapeHtml(m[1]!);
  }

  /** POSTs a form with the CSRF token read from `from` (the page a browser would submit it from). */
  async submit(from: string, action: string, fields: Record<string, string>): Promise<Page> {
    return this.post(action, { ...fields, _csrf: await this.csrf(from) });
  }

  /** Follows a 303 from a submit to the page it names. */
  async land(r: Page): Promise<Page> {
    assert.equal(r.status, 303, r.text);
    const to = r.headers.get('location');
    assert.ok(to, 'a Location');
    return this.get(to);
  }
}

/** Logs in at the operator (`admin`) or merchant login page; the client holds the session. */
export async function consoleLogin(
  t: TestGateway,
  kind: 'admin' | 'merchant',
  email: string,
  password: string,
): Promise<ConsoleClient> {
  const c = new ConsoleClient(t.url);
  const path = kind === 'admin' ? '/admin/login' : '/login';
  const r = await c.submit(path, path, { email, password });
  assert.equal(r.status, 303, r.text);
  assert.ok(c.cookies.has('wmx_session'), 'logged in');
  return c;
}
