// The baseline for `npm run bench`: a bare Fastify hello-world in its own process.
// Plain JavaScript on purpose: it runs under plain `node` with no loader, exactly like dist/main.js,
// so the ratio compares the gateway's work with Fastify's floor and nothing else.
import process from 'node:process';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`hello-world listening on port ${app.server.address().port}\n`);

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
