// The baselines for `npm run bench`: bare Fastify in its own process.
// Plain JavaScript on purpose: it runs under plain `node` with no loader, exactly like dist/main.js,
// so the ratio compares the gateway's work with Fastify's floor and nothing else.
//
// GET / is the hello-world every ratio is taken against. POST /form is the floor of a POST endpoint:
// Fastify reading a form body as the gateway's legacy scope does (one catch-all parser, as a Buffer)
// and answering a fixed JSON of a check-payment record's size, with no work in between. No gateway
// POST endpoint can be faster than it on the same machine. POST /init-form is the same for an init:
// the benchmark sends it init bodies built per request, and it answers a fixed init success.
import process from 'node:process';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

const record = JSON.stringify({
  wmx_id: 'WMX0123456789abc',
  ref_id: '0TQ8Z2Kx4mPq7Ld',
  token: '0123456789abcdef0123456789abcdef01234567',
  merchant_req_amount: '1250.00',
  merchant_ref_id: '65f1c0a9d2b3e',
  merchant_order_id: '100234',
  merchant_currency: 'BDT',
  conversion_rate: '1.00',
  merchant_amount_bdt: '1250.00',
  service_ratio: '2.50',
  wmx_charge_bdt: '31.25',
  emi_ratio: '0.00',
  emi_charge: '0.00',
  discount_bdt: '0.00',
  bank_amount_bdt: '1250.00',
  request_ip: '127.0.0.1',
  txn_status: null,
  txn_details: 'Pending',
  extra_json: null,
  card_details: null,
  is_foreign: '0',
  payment_card: null,
  card_code: null,
  payment_method: null,
  init_time: '2026-11-24 12:00:00',
  txn_time: null,
  customer_details:
    '{"customer_name":"Bench Customer","customer_email":"bench@example.com","customer_phone":"01700000000","customer_add":"House 1, Road 2","customer_city":"Dhaka","customer_country":"Bangladesh","customer_postcode":"1207"}',
  statusCode: 1008,
});

const initSuccess = JSON.stringify({
  statusCode: '1000',
  statusMsg: 'Success',
  token: '0123456789abcdef0123456789abcdef01234567',
});

await app.register(async (scope) => {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
  scope.post('/form', async (_req, reply) => {
    reply.type('application/json; charset=utf-8');
    return record;
  });
  scope.post('/init-form', async (_req, reply) => {
    reply.type('application/json; charset=utf-8');
    return initSuccess;
  });
});

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
