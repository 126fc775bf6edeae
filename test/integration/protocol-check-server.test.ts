/**
 * PROTOCOL.md section 3 (GET /check-server, maintenance mode) and the small public endpoints of
 * section 5 that legacy SDKs call: GET /get-emi-bank-list and GET /abort.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import { assertError, assertInitOk, assertJson200, getUrl, postUrlencoded, rawRequest } from './protocol-helpers.js';

for (const dialect of dialects()) {
  describe(`protocol: check-server and public endpoints (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect);
    });
    after(() => t?.close());

    it('GET /check-server answers the exact open shape, selectedServer a JSON boolean', async () => {
      const res = await getUrl(`${t.url}/check-server`);
      assertJson200(res);
      assert.deepEqual(res.json, {
        selectedServer: true,
        url: `${t.url}/init-payment-process`,
        bank_payment_url: `${t.url}/bank-payment-process`,
      });
      assert.equal(typeof res.json.selectedServer, 'boolean');
      assert.match(res.text, /"selectedServer":true/);
      assert.doesNotMatch(res.json.url as string, /\/\/init/);
    });

    it('ignores any body, query string and credentials sent with GET', async () => {
      const expected = {
        selectedServer: true,
        url: `${t.url}/init-payment-process`,
        bank_payment_url: `${t.url}/bank-payment-process`,
      };
      const withJson = await rawRequest(`${t.url}/check-server`, JSON.stringify({ wmx_id: 'x', junk: [1, 2] }), {
        method: 'GET',
        headers: { 'content-type': 'application/json' },
      });
      assertJson200(withJson);
      assert.deepEqual(withJson.json, expected);
      const withForm = await rawRequest(`${t.url}/check-server?wmx_id=nobody&x=1`, 'a=1&b=2', {
        method: 'GET',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic Zm9vOmJhcg==' },
      });
      assertJson200(withForm);
      assert.deepEqual(withForm.json, expected);
      const junkBody = await rawRequest(`${t.url}/check-server`, '\u0000not json{{{', {
        method: 'GET',
        headers: { 'content-type': 'application/json' },
      });
      assert.deepEqual(junkBody.json, expected);
    });

    it('POST is answered the same whatever its body: an odd Content-Type, JSON, or over 64 KiB', async () => {
      const expected = {
        selectedServer: true,
        url: `${t.url}/init-payment-process`,
        bank_payment_url: `${t.url}/bank-payment-process`,
      };
      const bodies: [string, string][] = [
        ['garbage', 'x=1'],
        ['', 'x=1'],
        ['application/json', '{"not": "closed"'],
        ['application/x-www-form-urlencoded', 'junk=' + 'x'.repeat(100 * 1024)],
        ['multipart/form-data', 'no boundary at all'],
      ];
      for (const [type, body] of bodies) {
        const res = await rawRequest(`${t.url}/check-server`, body, { headers: { 'content-type': type } });
        assertJson200(res);
        assert.deepEqual(res.json, expected, `Content-Type ${JSON.stringify(type)}`);
      }
    });

    it('maintenance switched on elsewhere (the CLI, another process) shows on the first request after an idle spell', async () => {
      const idle = () => new Promise((r) => setTimeout(r, 2_500)); // over twice the reference cache's 1 s
      // Written straight to the store, as another process would: this gateway is not told.
      await t.gw.referenceRepo.setSetting('maintenance_message', 'upgrading the bank link');
      try {
        await idle();
        const res = await getUrl(`${t.url}/check-server`);
        assert.deepEqual(res.json, { selectedServer: false, statusMsg: 'upgrading the bank link' });
      } finally {
        await t.gw.referenceRepo.deleteSetting('maintenance_message');
      }
      await idle();
      assert.equal((await getUrl(`${t.url}/check-server`)).json.selectedServer, true);
    });

    it('maintenance mode: check-server says selectedServer false with the reason, init answers 3001', async () => {
      await t.gw.referenceRepo.setSetting('maintenance_message', 'why');
      await t.gw.reference.refresh();
      try {
        const res = await getUrl(`${t.url}/check-server`);
        assertJson200(res);
        assert.deepEqual(res.json, { selectedServer: false, statusMsg: 'why' });
        assert.match(res.text, /"selectedServer":false/);

        const c = await t.createMerchant();
        const init = await postUrlencoded(`${t.url}/init-payment-process`, initFields(c));
        assertError(init, '3001');
      } finally {
        await t.gw.referenceRepo.deleteSetting('maintenance_message');
        await t.gw.reference.refresh();
      }
      const back = await getUrl(`${t.url}/check-server`);
      assert.equal(back.json.selectedServer, true);
    });

    it('after maintenance ends init works again', async () => {
      const c = await t.createMerchant();
      assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, initFields(c)));
    });

    it('GET /get-emi-bank-list needs no auth and answers {"emiBankList":{key: name}}', async () => {
      const res = await getUrl(`${t.url}/get-emi-bank-list`);
      assertJson200(res);
      assert.deepEqual(Object.keys(res.json), ['emiBankList']);
      const list = res.json.emiBankList as Record<string, unknown>;
      assert.equal(typeof list, 'object');
      assert.equal(Array.isArray(list), false);
      assert.ok(Object.keys(list).length >= 1);
      for (const [k, v] of Object.entries(list)) {
        assert.match(k, /^[a-z0-9_]+$/);
        assert.equal(typeof v, 'string');
        assert.notEqual(v, '');
      }
      assert.equal(list.dbbl, 'Dutch-Bangla Bank'); // the bank the EMI examples name
    });

    it('GET /abort is a plain HTML page with HTTP 200', async () => {
      const res = await getUrl(`${t.url}/abort`);
      assert.equal(res.status, 200);
      assert.match(res.contentType, /^text\/html\b/);
      assert.match(res.text, /<html/i);
      assert.match(res.text, /abort/i);
    });
  });

  describe(`protocol: check-server behind a public URL with a path (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      // A public URL with a path and a trailing slash, as an operator might type it.
      t = await startGateway(dialect, { env: { WMX_PUBLIC_URL: 'https://pay.example.com/wmx/' } });
    });
    after(() => t?.close());

    it('builds both URLs from the configured public URL, never with a doubled or trailing slash', async () => {
      const res = await getUrl(`${t.url}/check-server`);
      assertJson200(res);
      assert.deepEqual(res.json, {
        selectedServer: true,
        url: 'https://pay.example.com/wmx/init-payment-process',
        bank_payment_url: 'https://pay.example.com/wmx/bank-payment-process',
      });
    });
  });
}
