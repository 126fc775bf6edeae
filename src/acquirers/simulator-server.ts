/**
 * What the upstream simulators (bkash/, sslcommerz/) share: running one as a standalone server
 * (tests, `wmx simulate`), and the JSON parsing and error shape of their control APIs.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';

/**
 * Starts `plugin` on its own server; port 0 = ephemeral. The plugin gets the public URL lazily,
 * since the listening URL is known only after listen(). Resolves once listening.
 */
export async function listenSimulator(
  plugin: (publicUrl: () => string) => FastifyPluginAsync,
  opts: { publicUrl?: string | undefined; port?: number | undefined; host?: string | undefined },
): Promise<{ url: string; close(): Promise<void> }> {
  const host = opts.host ?? '127.0.0.1';
  let url = '';
  const fixedUrl = opts.publicUrl?.replace(/\/+$/, '');
  const app = Fastify({ logger: false });
  await app.register(plugin(() => fixedUrl ?? url));
  await app.listen({ port: opts.port ?? 0, host });
  const { port } = app.server.address() as AddressInfo; // a TCP listener, so an AddressInfo
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  url = `http://${reachable}:${port}`;
  return { url, close: () => app.close() };
}

/** A control API's scope: JSON bodies (an empty one is `{}`), and `{error}` on a refusal. */
export function controlApiParsing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 16 * 1024 }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, {});
    else parseJson(req, text, done);
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) =>
    reply.code(err.statusCode ?? 500).send({ error: err.message }),
  );
}
