/**
 * The OpenAPI 3.1 document (/api/v1/openapi.json) and the rendered reference (/docs): the document
 * validates, covers the JSON API and the legacy protocol, agrees with what the legacy endpoints
 * really answer, and the reference renders offline under its CSP from the gateway's own files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import { loadContract, type Contract } from '../support/openapi-contract.js';

const API_OPS = [
  'get /api/v1/payments',
  'get /api/v1/payments/{token}',
  'post /api/v1/payments/{token}/refunds',
  'get /api/v1/refunds/{id}',
  'get /api/v1/balance',
  'get /api/v1/settlements',
  // The SDK's events and webhook endpoints, and what wmx listen / trigger / doctor call.
  'get /api/v1/events',
  'get /api/v1/events/{id}',
  'get /api/v1/webhook-endpoints',
  'post /api/v1/webhook-endpoints',
  'delete /api/v1/webhook-endpoints/{id}',
  'post /api/v1/listen-sessions',
  'post /api/v1/listen-sessions/{id}/poll',
  'delete /api/v1/listen-sessions/{id}',
  'post /api/v1/sandbox/payments',
  'get /api/v1/sandbox/payments/pending',
  'post /api/v1/sandbox/payments/{token}/pay',
];
const LEGACY_OPS = [
  'get /check-server',
  'post /init-payment-process',
  'post /check-payment',
  'get /bank-payment-process/{token}',
  'get /get-emi-bank-list',
];

type Op = {
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
};

for (const dialect of dialects()) {
  describe(`OpenAPI document and /docs (${dialect})`, () => {
    let t: TestGateway;
    let contract: Contract;
    let m: IssuedCredentials;
    const op = (key: string): Op => {
      const [method, path] = key.split(' ') as [string, string];
      const o = (contract.raw.paths?.[path] as Record<string, Op> | undefined)?.[method];
      assert.ok(o, `${key} is documented`);
      return o;
    };

    before(async () => {
      t = await startGateway(dialect);
      contract = await loadContract(t.url); // validates the document (throws when invalid)
      m = await t.createMerchant({ sandbox: true });
    });
    after(() => t.close());

    it('is a valid OpenAPI 3.1 document, served without authentication', async () => {
      assert.equal(contract.raw.openapi, '3.1.0');
      const res = await fetch(`${t.url}/api/v1/openapi.json`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual((contract.raw.components?.securitySchemes as Record<string, unknown>).bearerAuth, {
        type: 'http',
        scheme: 'bearer',
        description: 'The merchant’s secret API key (`sk_…`).',
      });
      for (const name of ['Payment', 'Refund', 'Balance', 'Settlement', 'Error'])
        assert.ok(contract.raw.components?.schemas?.[name], name);
    });

    it('documents every JSON API operation with bearer security and JSON error responses', () => {
      for (const key of API_OPS) {
        const o = op(key);
        assert.deepEqual(o.security, [{ bearerAuth: [] }], key);
        for (const s of ['401', '500']) assert.ok(o.responses[s], `${key} documents ${s}`);
      }
      const refund = op('post /api/v1/payments/{token}/refunds');
      assert.ok(refund.responses['201'] && refund.responses['409'] && refund.responses['422']);
      assert.ok(refund.requestBody?.content['application/json']);
      const paths = Object.keys(contract.raw.paths ?? {});
      assert.ok(
        !paths.some(
          (p) => p.startsWith('/dashboard') || p.startsWith('/admin') || p.startsWith('/assets') || p === '/',
        ),
        'pages are not API',
      );
    });

    it('documents the legacy protocol: encodings, required fields, no bearer auth', () => {
      for (const key of LEGACY_OPS) {
        const o = op(key);
        assert.ok(
          o.tags?.some((x) => x.startsWith('Legacy protocol')),
          key,
        );
        assert.deepEqual(o.security, [], `${key} takes no bearer key`);
      }
      const init = op('post /init-payment-process').requestBody?.content;
      assert.deepEqual(Object.keys(init ?? {}).sort(), [
        'application/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
      ]);
      const required = init?.['application/x-www-form-urlencoded']?.schema.required ?? [];
      for (const f of ['wmx_id', 'access_app_key', 'authorization', 'amount', 'currency', 'callback_url'])
        assert.ok(required.includes(f), f);
      assert.ok(
        op('post /check-payment').requestBody?.content['multipart/form-data']?.schema.required?.includes('token'),
      );
    });

    it('agrees with what the legacy endpoints really answer', async () => {
      const get = async (path: string) => {
        const r = await fetch(`${t.url}${path}`);
        contract.check('GET', path, r.status, await r.json(), r.headers.get('content-type') ?? '');
      };
      const post = async (path: string, fields: Record<string, string>) => {
        const r = await fetch(`${t.url}${path}`, { method: 'POST', body: new URLSearchParams(fields) });
        const json = (await r.json()) as Record<string, unknown>;
        contract.check('POST', path, r.status, json, r.headers.get('content-type') ?? '');
        return json;
      };
      await get('/check-server');
      await get('/get-emi-bank-list');
      const ok = await post('/init-payment-process', initFields(m));
      assert.equal(ok.statusCode, '1000');
      assert.equal((await post('/init-payment-process', initFields(m, { amount: 'ten' }))).statusCode, '2005');
      assert.equal((await post('/check-payment', { ...credFields(m), token: String(ok.token) })).statusCode, 1008);
      assert.equal((await post('/check-payment', { ...credFields(m), token: 'f'.repeat(40) })).statusCode, '2009');
    });

    it('renders the reference at /docs from the gateway’s own files, under a strict CSP', async () => {
      const res = await fetch(`${t.url}/docs`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-eval|https?:/);
      const html = await res.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((x) => x[1]!);
      assert.ok(assets.length >= 4, 'scripts and styles are linked');
      for (const a of assets) {
        assert.ok(!/^(https?:)?\/\//.test(a), `${a} is served by the gateway`);
        const r = await fetch(new URL(a, `${t.url}/docs`));
        assert.equal(r.status, 200, a);
        await r.arrayBuffer();
      }
    });

    it('links the reference and the protocol page from each other and from the home page', async () => {
      const home = await (await fetch(`${t.url}/`)).text();
      assert.match(home, /href="\/docs"/);
      assert.match(home, /href="\/docs\/protocol"/);
      const protocol = await fetch(`${t.url}/docs/protocol`);
      assert.equal(protocol.status, 200);
      const text = await protocol.text();
      assert.match(text, /href="\/docs"/);
      assert.match(text, /init-payment-process/);
      assert.match(JSON.stringify(contract.raw.info), /\/docs\/protocol/);
    });

    it(
      'renders in headless Chromium with no CSP violation and no request elsewhere',
      { skip: browserSkipReason() },
      async () => {
        const browser = await launchChromium();
        try {
          const page = await browser.newPage();
          const problems: string[] = [];
          const foreign: string[] = [];
          page.on('console', (msg) => {
            if (msg.type() === 'error') problems.push(msg.text());
          });
          page.on('pageerror', (err) => problems.push(String(err)));
          page.on('request', (req) => {
            if (!req.url().startsWith(t.url) && !req.url().startsWith('data:')) foreign.push(req.url());
          });
          await page.goto(`${t.url}/docs`);
          await page.waitForSelector('.opblock-summary-path', { timeout: 15_000 });
          const paths = await page.$$eval('.opblock-summary-path', (els) =>
            els.map((e) => e.getAttribute('data-path')),
          );
          for (const p of [
            '/api/v1/payments',
            '/api/v1/payments/{token}/refunds',
            '/init-payment-process',
            '/check-payment',
          ]) {
            assert.ok(paths.includes(p), `${p} is shown`);
          }
          assert.deepEqual(problems, []);
          assert.deepEqual(foreign, []);
        } finally {
          await browser.close();
        }
      },
    );
  });
}
