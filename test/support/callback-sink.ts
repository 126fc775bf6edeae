import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCallback {
  path: string;
  fields: Record<string, string>;
  contentType: string | undefined;
}

/**
 * A merchant's callback server: records every POSTed form and answers with a small page that names
 * what it received (so a browser test can see it arrived).
 */
export async function startCallbackSink() {
  const received: ReceivedCallback[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST') {
        const fields: Record<string, string> = {};
        for (const [k, v] of new URLSearchParams(body)) if (!(k in fields)) fields[k] = v;
        received.push({ path: req.url ?? '', fields, contentType: req.headers['content-type'] });
        waiters.splice(0).forEach((w) => w());
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Merchant</title><h1>Merchant received the result</h1>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo; // a TCP listener
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Resolves once `n` callbacks have arrived (or rejects after `ms`). */
    async waitFor(n: number, ms = 10_000): Promise<ReceivedCallback[]> {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} callbacks, got ${received.length}`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 100);
          waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
      return received;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
