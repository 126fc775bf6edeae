/**
 * Every surface answers with the security headers (nosniff, no referrer, no framing): the legacy
 * endpoints and the root handlers set them themselves, every other scope through one hook.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { SECURITY_HEADERS } from '../../src/http/security-headers.js';
import { credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import { assertInitOk, postUrlencoded, rawRequest } from './protocol-helpers.js';

for (const dialect of dialects()) {
  describe(`security headers on every surface (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let token: string;
    before(async () => {
      t = await startGateway(dialect);
      c = await t.createMerchant();
      token = assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, initFields(c)));
    });
    after(() => t?.close());

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const cases: [string, () => Promise<{ status: number; headers: Record<string, unknown> }>][] = [
      ['GET /check-server', () => rawRequest(`${t.url}/check-server`, undefined, { method: 'GET' })],
      ['POST /check-server', () => rawRequest(`${t.url}/check-server`, 'x=1', { headers: form })],
      ['init success', () => postUrlencoded(`${t.url}/init-payment-process`, initFields(c))],
      ['init error (2003)', () => postUrlencoded(`${t.url}/init-payment-process`, {})],
      ['check-payment record', () => postUrlencoded(`${t.url}/check-payment`, { ...credFields(c), token })],
      ['check-payment over 64 KiB (2004)', () => postUrlencoded(`${t.url}/check-payment`, { x: 'y'.repeat(70_000) })],
      ['GET /get-emi-bank-list', () => rawRequest(`${t.url}/get-emi-bank-list`, undefined, { method: 'GET' })],
      ['GET /abort', () => rawRequest(`${t.url}/abort`, undefined, { method: 'GET' })],
      ['GET /check-payment (405)', () => rawRequest(`${t.url}/check-payment`, undefined, { method: 'GET' })],
      ['an unknown path (404)', () => rawRequest(`${t.url}/no/such/page`, undefined, { method: 'GET' })],
      ['a malformed URL', () => rawRequest(`${t.url}/bank-payment-process/%E0%A4%A`, undefined, { method: 'GET' })],
      ['the home page', () => rawRequest(`${t.url}/`, undefined, { method: 'GET' })],
      [
        'the favicon (204, no 404 per page view)',
        () => rawRequest(`${t.url}/favicon.ico`, undefined, { method: 'GET' }),
      ],
      ['the payment page', () => rawRequest(`${t.url}/bank-payment-process/${token}`, undefined, { method: 'GET' })],
      ['the merchant login page', () => rawRequest(`${t.url}/login`, undefined, { method: 'GET' })],
      ['an asset', () => rawRequest(`${t.url}/assets/checkout.css`, undefined, { method: 'GET' })],
      ['the API reference', () => rawRequest(`${t.url}/docs`, undefined, { method: 'GET' })],
      ['the JSON API without a key (401)', () => rawRequest(`${t.url}/api/v1/payments`, undefined, { method: 'GET' })],
    ];
    for (const [name, send] of cases) {
      it(name, async () => {
        const res = await send();
        assert.ok(res.status < 500, `${name}: HTTP ${res.status}`);
        if (name.startsWith('the favicon')) assert.equal(res.status, 204);
        for (const [header, value] of Object.entries(SECURITY_HEADERS)) {
          assert.equal(res.headers[header], value, `${name}: ${header}`);
        }
      });
    }
  });
}
