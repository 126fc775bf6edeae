/**
 * Clients that never finish sending a request: each is answered 408 and its connection closed once
 * the request timeout passes (a short one here), and the gateway serves everyone else meanwhile.
 * Without a request timeout such sockets stayed open for ever and could use up the process's files.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { dialects, startGateway, type TestGateway } from '../support/harness.js';

/** Sends `head` (and nothing more) and resolves with what came back once the server closed, or null. */
function unfinished(url: string, head: string, waitMs: number): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null); // still open: never answered
    }, waitMs);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', () => undefined);
    socket.write(head);
  });
}

for (const dialect of dialects()) {
  describe(`slow clients (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect, { requestTimeoutMs: 400 });
    });
    after(() => t.close());

    it('a body that never arrives (short Content-Length, unfinished chunked) is answered 408 and closed', async () => {
      const short =
        'POST /init-payment-process HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        'Content-Length: 900\r\n\r\nwmx_id=WMX';
      const chunked = 'POST /check-payment HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ntoken\r\n';
      const page =
        'POST /bank-payment-process/abc/pay HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\nmethod=';
      const pending = [short, chunked, page].map((head) => unfinished(t.url, head, 8_000));
      // Meanwhile everyone else is served.
      const res = await fetch(`${t.url}/check-server`);
      assert.equal(res.status, 200);
      for (const answer of await Promise.all(pending)) {
        assert.notEqual(answer, null, 'the connection was never closed');
        assert.match(answer!, /^HTTP\/1\.1 408 /);
      }
    });
  });
}
