import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver: answers 200 (after `delayMs`, if given) and keeps every body by event id. */
export async function startWebhookSink(opts: { delayMs?: number } = {}) {
  const byId = new Map<string, string[]>();
  /** Every POST as received: its headers and raw body, in arrival order. */
  const requests: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  let total = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST') {
        total++;
        requests.push({ headers: req.headers, body });
        let id = '(unparsable)';
        try {
          id = String((JSON.parse(body) as { id?: unknown }).id);
        } catch {
          // recorded under (unparsable): the id check below then fails loudly
        }
        const list = byId.get(id) ?? [];
        list.push(body);
        byId.set(id, list);
      }
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      };
      if (opts.delayMs) setTimeout(answer, opts.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo; // a TCP listener
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    byId,
    requests,
    total: () => total,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
