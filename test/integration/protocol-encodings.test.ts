/**
 * PROTOCOL.md section 2: every body encoding real legacy clients send to init-payment-process and
 * check-payment, hand-built unescaped bodies, credentials only from the body, repeated and unknown
 * keys, and the 64 KiB body limit.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { hashPassword } from '../../src/app/crypto.js';
import { basicAuth, credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import {
  assertError,
  assertInitOk,
  assertRecord,
  multipartBody,
  postJson,
  postMultipart,
  postUrlencoded,
  rawRequest,
  type WireResponse,
} from './protocol-helpers.js';

type Sender = (url: string, fields: Record<string, string>) => Promise<WireResponse>;

/** A multipart body as a client built by hand on Unix sends it: lines end in a bare LF. */
const withBareLf = (body: Buffer): string => body.toString('utf8').replaceAll('\r\n', '\n');

/** The fields as a form, or as JSON, under the given Content-Type, whatever it says. */
const formLabelled =
  (type: string): Sender =>
  (url, f) =>
    rawRequest(url, new URLSearchParams(f).toString(), { headers: { 'content-type': type } });
const jsonLabelled =
  (type: string): Sender =>
  (url, f) =>
    rawRequest(url, JSON.stringify(f), { headers: { 'content-type': type } });

/** Every way a legacy client frames the same fields. */
const ENCODINGS: [string, Sender][] = [
  ['application/x-www-form-urlencoded', postUrlencoded],
  ['urlencoded with a charset parameter', formLabelled('application/x-www-form-urlencoded; charset=UTF-8')],
  [
    'urlencoded from fetch(URLSearchParams)',
    async (url, f) => {
      const res = await fetch(url, { method: 'POST', body: new URLSearchParams(f) });
      const text = await res.text();
      return {
        status: res.status,
        contentType: res.headers.get('content-type') ?? '',
        headers: {},
        text,
        json: JSON.parse(text) as Record<string, unknown>,
      };
    },
  ],
  ['multipart/form-data (FormData)', postMultipart],
  ['application/json', (url, f) => postJson(url, f)],
  ['application/json; charset=utf-8', (url, f) => postJson(url, f, 'application/json; charset=utf-8')],
  ['Application/JSON (odd case)', (url, f) => postJson(url, f, 'Application/JSON')],
  ['no Content-Type, urlencoded body', (url, f) => rawRequest(url, new URLSearchParams(f).toString())],
  ['no Content-Type, JSON body', (url, f) => rawRequest(url, JSON.stringify(f))],
  [
    'fetch with an untyped Blob (no Content-Type)',
    async (url, f) => {
      const res = await fetch(url, { method: 'POST', body: new Blob([new URLSearchParams(f).toString()]) });
      const text = await res.text();
      return {
        status: res.status,
        contentType: res.headers.get('content-type') ?? '',
        headers: {},
        text,
        json: JSON.parse(text) as Record<string, unknown>,
      };
    },
  ],
  ['text/plain, urlencoded body', formLabelled('text/plain')],
  ['text/plain, JSON body', jsonLabelled('text/plain;charset=UTF-8')],
  ['application/octet-stream, urlencoded body', formLabelled('application/octet-stream')],
  [
    'Expect: 100-continue (curl, bodies over 1 KiB), urlencoded body',
    (url, f) =>
      rawRequest(url, new URLSearchParams(f).toString(), {
        expectContinue: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
  ],
  // Content-Types Fastify itself cannot parse: read as a body without a label (try JSON, then a form).
  ...(
    [
      'application/x-www-form-urlencoded charset=utf-8',
      'x-www-form-urlencoded',
      'json',
      'application/x-www-form-urlencoded, text/plain',
      '',
    ] as const
  ).map((type): [string, Sender] => [
    `an unparseable Content-Type ${JSON.stringify(type)}, urlencoded body`,
    formLabelled(type),
  ]),
  ['an unparseable Content-Type "json", JSON body', jsonLabelled('json')],
  [
    'multipart/form-data without a boundary, urlencoded body (a header copied onto a form string)',
    formLabelled('multipart/form-data'),
  ],
  ['multipart/form-data without a boundary, JSON body', jsonLabelled('multipart/form-data')],
  [
    'multipart/form-data with a boundary the body never uses, urlencoded body',
    formLabelled('multipart/form-data; boundary=----WebKitFormBoundaryABC'),
  ],
  [
    'multipart/form-data with a boundary the body never uses, JSON body',
    jsonLabelled('multipart/form-data; boundary="----WebKitFormBoundaryABC"'),
  ],
  [
    'a hand-built multipart body with bare LF line endings',
    (url, f) => {
      const m = multipartBody(f);
      return rawRequest(url, withBareLf(m.body), {
        headers: { 'content-type': `multipart/form-data; boundary=${m.boundary}` },
      });
    },
  ],
  [
    'a hand-built multipart body with bare LF line endings, labelled a form',
    (url, f) =>
      rawRequest(url, withBareLf(multipartBody(f).body), {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
  ],
  [
    'a hand-built multipart body labelled application/x-www-form-urlencoded',
    (url, f) =>
      rawRequest(url, multipartBody(f).body, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
  ],
  [
    'multipart with every value in a part that has a filename',
    (url, f) => {
      const m = multipartBody(f, { asFiles: true });
      return rawRequest(url, m.body, { headers: { 'content-type': `multipart/form-data; boundary=${m.boundary}` } });
    },
  ],
  [
    'a byte order mark before a urlencoded body',
    (url, f) =>
      rawRequest(url, '\uFEFF' + new URLSearchParams(f).toString(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
  ],
  [
    'a byte order mark before a JSON body',
    (url, f) => rawRequest(url, '\uFEFF' + JSON.stringify(f), { headers: { 'content-type': 'application/json' } }),
  ],
  [
    'a base URL ending in a slash and a path with one more (//endpoint/)',
    (url, f) => postUrlencoded(url.replace(/\/([a-z-]+)$/, '//$1/'), f),
  ],
  [
    'chunked transfer encoding, urlencoded body',
    (url, f) =>
      rawRequest(url, new URLSearchParams(f).toString(), {
        chunked: true,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
  ],
];

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The base64 of issued credentials (letters, digits, '_' and ':') never contains '+': no 6-bit group
 * of those bytes is 62. To exercise the "space back to +" rule on `authorization` we use the one
 * freedom base64 leaves: the unused bits before the padding. The variant decodes to the same bytes.
 */
function plusVariant(c: IssuedCredentials): string | undefined {
  const b64 = Buffer.from(`${c.username}:${c.password}`).toString('base64');
  if (b64.endsWith('==')) {
    const v = B64.indexOf(b64[b64.length - 3] as string);
    return v >> 4 === 3 ? b64.slice(0, -3) + '+==' : undefined;
  }
  if (b64.endsWith('=')) {
    const v = B64.indexOf(b64[b64.length - 2] as string);
    return v >> 2 === 15 ? b64.slice(0, -2) + '+=' : undefined;
  }
  return undefined;
}

/** A value with every character urlencoding must get right, and Bangla (UTF-8). */
const TRICKY_ADDRESS = 'বাড়ি ১, রোড=২ & 3 + 4% off; "quoted" <b>';
const BANGLA_NAME = 'রহিম উদ্দিন';

const ref = () => crypto.randomBytes(7).toString('hex').slice(0, 13);

for (const dialect of dialects()) {
  describe(`protocol: body encodings (${dialect})`, () => {
    let t: TestGateway;
    let c: IssuedCredentials;
    let token: string;
    let initUrl: string;
    let checkUrl: string;

    const check = (tok: string) => postUrlencoded(checkUrl, { ...credFields(c), token: tok });

    before(async () => {
      t = await startGateway(dialect);
      initUrl = `${t.url}/init-payment-process`;
      checkUrl = `${t.url}/check-payment`;
      c = await t.createMerchant();
      token = assertInitOk(await postUrlencoded(initUrl, initFields(c)));
    });
    after(() => t?.close());

    for (const [name, send] of ENCODINGS) {
      it(`init accepts ${name}, and every byte of the fields arrives`, async () => {
        const merchantRef = ref();
        const res = await send(
          initUrl,
          initFields(c, {
            merchant_ref_id: merchantRef,
            customer_name: BANGLA_NAME,
            customer_add: TRICKY_ADDRESS,
          }),
        );
        const tok = assertInitOk(res);
        const rec = assertRecord(await check(tok));
        assert.equal(rec.merchant_ref_id, merchantRef);
        assert.equal(rec.merchant_order_id, '1001');
        assert.equal(rec.merchant_req_amount, '10.00');
        const details = JSON.parse(rec.customer_details as string) as Record<string, string>;
        assert.equal(details.customer_name, BANGLA_NAME);
        assert.equal(details.customer_add, TRICKY_ADDRESS);
      });

      it(`check-payment accepts ${name}`, async () => {
        const rec = assertRecord(await send(checkUrl, { ...credFields(c), token }));
        assert.equal(rec.token, token);
        assert.equal(rec.wmx_id, c.wmx_id);
      });
    }

    it('JSON numbers are taken as their text: amount 10.5, merchant_order_id 1001', async () => {
      const body: Record<string, unknown> = { ...initFields(c), amount: 10.5, merchant_order_id: 1001 };
      const tok = assertInitOk(await postJson(initUrl, body));
      const rec = assertRecord(await check(tok));
      assert.equal(rec.merchant_req_amount, '10.50');
      assert.equal(rec.merchant_order_id, '1001');
      assert.equal(rec.merchant_amount_bdt, '10.50');
    });

    it('JSON integers beyond 2^53 keep every digit, at the top level and inside objects', async () => {
      // Hand-built: no JavaScript number holds these exactly (a PHP or Java client sends them as is).
      const fields = { ...initFields(c) } as Record<string, string>;
      delete fields.merchant_order_id;
      delete fields.amount;
      delete fields.extra_json;
      const body =
        JSON.stringify(fields).slice(0, -1) +
        ',"merchant_order_id":12345678901234567890,"amount":10.5,"extra_json":{"crm_id":98765432109876543210,"n":1.0}}';
      const tok = assertInitOk(await rawRequest(initUrl, body, { headers: { 'content-type': 'application/json' } }));
      const rec = assertRecord(await check(tok));
      assert.equal(rec.merchant_order_id, '12345678901234567890');
      assert.equal(rec.merchant_req_amount, '10.50');
      assert.equal(rec.extra_json, '{"crm_id":98765432109876543210,"n":1.0}');
    });

    it('a JSON null means "not sent" (merchant_ref_id null → generated)', async () => {
      const tok = assertInitOk(await postJson(initUrl, { ...initFields(c), merchant_ref_id: null }));
      assert.match(assertRecord(await check(tok)).merchant_ref_id as string, /^[0-9a-f]{13}$/);
    });

    it('a declared JSON body that is not a JSON object is a coded 2004, not a crash', async () => {
      assertError(
        await rawRequest(initUrl, '{"wmx_id": "WMX', { headers: { 'content-type': 'application/json' } }),
        '2004',
      );
      assertError(await rawRequest(initUrl, '["a","b"]', { headers: { 'content-type': 'application/json' } }), '2004');
    });

    it('a mislabelled body is read as what it is: a form sent as JSON, a JSON object sent as a form', async () => {
      const form = new URLSearchParams({ ...credFields(c), token }).toString();
      const asJson = await rawRequest(checkUrl, form, { headers: { 'content-type': 'application/json' } });
      assert.equal(assertRecord(asJson).token, token);
      const order = initFields(c, { merchant_ref_id: ref() });
      const asForm = await rawRequest(initUrl, JSON.stringify(order), {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const made = assertInitOk(asForm);
      assert.equal(assertRecord(await check(made)).merchant_ref_id, order.merchant_ref_id);
    });

    it('a JSON value nested thousands of levels deep is a coded 2004, for both endpoints and without a Content-Type', async () => {
      const deep = '['.repeat(20_000) + ']'.repeat(20_000);
      for (const url of [initUrl, checkUrl]) {
        const body = JSON.stringify({ ...credFields(c), token }).replace('{', `{"extra":${deep},`);
        // Also with a 16-digit run somewhere (a random hex key or token has one now and then), which
        // takes the number-keeping parser: that was once answered 2003, as if the body were a form.
        for (const b of [body, body.replace('{', '{"n":1234567890123456789,')]) {
          assertError(await rawRequest(url, b, { headers: { 'content-type': 'application/json' } }), '2004');
          assertError(await rawRequest(url, b), '2004');
        }
      }
      assertRecord(await postUrlencoded(checkUrl, { ...credFields(c), token })); // and it serves on
    });

    it('an empty body is a missing field (2003 wmx_id), for both endpoints', async () => {
      assertError(await rawRequest(initUrl, undefined), '2003', 'wmx_id');
      assertError(
        await rawRequest(checkUrl, '', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        '2003',
        'wmx_id',
      );
    });

    it('a hand-built unescaped body: "+" in base64 authorization and options arrives as a space and still works', async () => {
      // Find a merchant whose credentials admit a '+' variant (about one in five for a 7-letter slug).
      let m: IssuedCredentials | undefined;
      let b64: string | undefined;
      for (let i = 0; i < 80 && b64 === undefined; i++) {
        m = await t.createMerchant({ name: 'Plusweb' });
        b64 = plusVariant(m);
      }
      assert.ok(m && b64, 'no merchant with a + variant found');
      assert.ok(b64.includes('+'));
      assert.equal(Buffer.from(b64, 'base64').toString('utf8'), `${m.username}:${m.password}`);
      const options = Buffer.from('s=shop.test>,i=10.0.0.1').toString('base64');
      assert.ok(options.includes('+'));
      const merchantRef = ref();
      // Exactly what a client that concatenates strings sends: nothing escaped.
      const body =
        `wmx_id=${m.wmx_id}&access_app_key=${m.access_app_key}&authorization=Basic ${b64}` +
        `&merchant_order_id=77&merchant_ref_id=${merchantRef}&app_name=shop.test&cart_info=${m.wmx_id},shop.test,Plus Web` +
        `&customer_name=Rahim Uddin&customer_email=rahim@example.com&customer_phone=01712345678` +
        `&product_desc=Item A&amount=10&currency=BDT&options=${options}` +
        `&callback_url=https://shop.test/callback?order=77&extra_json=[]`;
      assert.ok(/authorization=Basic [^&]*\+/.test(body));
      const tok = assertInitOk(
        await rawRequest(initUrl, body, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      );

      const row = await t.gw.db.kysely
        .selectFrom('payments')
        .select(['options_decoded', 'cart_info'])
        .where('token', '=', tok)
        .executeTakeFirstOrThrow();
      assert.equal(row.options_decoded, 's=shop.test>,i=10.0.0.1');
      assert.equal(row.cart_info, `${m.wmx_id},shop.test,Plus Web`);
      // A '+' at the very end (unpadded base64) arrives as a trailing space: it is still a '+'.
      const trailing = Buffer.from('s=shop.test,i=10.20.3.4>').toString('base64');
      assert.ok(trailing.endsWith('+'));
      const tok2 = assertInitOk(
        await rawRequest(
          initUrl,
          body
            .replace(`merchant_ref_id=${merchantRef}`, `merchant_ref_id=${ref()}`)
            .replace(`options=${options}`, `options=${trailing}`),
          {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          },
        ),
      );
      const row2 = await t.gw.db.kysely
        .selectFrom('payments')
        .select('options_decoded')
        .where('token', '=', tok2)
        .executeTakeFirstOrThrow();
      assert.equal(row2.options_decoded, 's=shop.test,i=10.20.3.4>');

      const checkBody = `wmx_id=${m.wmx_id}&access_app_key=${m.access_app_key}&authorization=Basic ${b64}&token=${tok}&amount=10`;
      const rec = assertRecord(
        await rawRequest(checkUrl, checkBody, {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      );
      assert.equal(rec.merchant_ref_id, merchantRef);
      assert.equal(rec.merchant_order_id, '77');
      assert.equal(rec.token, tok);
    });

    it('a hand-built unescaped body: a "+" at the very end of an unpadded authorization is still a "+"', async () => {
      // A password whose Basic value has no padding and ends in '+' (issued passwords never do; a
      // merchant's own could): unescaped, that '+' arrives as a trailing space.
      const m = await t.createMerchant({ name: 'Trailing Plus' });
      // `user:pass` a multiple of 3 bytes (no padding) whose last byte, '~', ends in the bits of '+'.
      let password = 'AAXy>Qw9zRt4Lm8Np2Kd7Vb3';
      while ((m.username.length + password.length + 2) % 3 !== 0) password += 'x';
      password += '~';
      await t.gw.db.kysely
        .updateTable('merchants')
        .set({ password_hash: await hashPassword(password) })
        .where('wmx_id', '=', m.wmx_id)
        .execute();
      const b64 = Buffer.from(`${m.username}:${password}`).toString('base64');
      assert.ok(b64.endsWith('+') && !b64.endsWith('='), b64);
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const creds = `wmx_id=${m.wmx_id}&access_app_key=${m.access_app_key}&authorization=Basic ${b64}`;
      const tok = assertInitOk(
        await rawRequest(initUrl, new URLSearchParams(initFields({ ...m, password })).toString(), { headers: form }),
      );
      for (const body of [`${creds}&token=${tok}`, `token=${tok}&${creds}`, `token=${tok}&${creds}\r\n`]) {
        assert.equal(assertRecord(await rawRequest(checkUrl, body, { headers: form })).token, tok, body);
        assert.equal(assertRecord(await rawRequest(checkUrl, body)).token, tok, body); // no Content-Type
      }
      // Whitespace after a padded value is still only whitespace.
      const padded = basicAuth(c);
      assert.ok(padded.endsWith('='));
      const sloppy = `token=${token}&wmx_id=${c.wmx_id}&access_app_key=${c.access_app_key}&authorization=${padded}  `;
      const rec = assertRecord(await rawRequest(checkUrl, sloppy, { headers: form }));
      assert.equal(rec.token, token);
    });

    it('the Basic prefix is case-insensitive and surrounding whitespace is trimmed', async () => {
      const b64 = Buffer.from(`${c.username}:${c.password}`).toString('base64');
      for (const authorization of [
        `basic ${b64}`,
        `BASIC ${b64}`,
        `bAsIc ${b64}`,
        `  Basic   ${b64}  `,
        `\tBasic ${b64}\r\n`,
      ]) {
        const rec = assertRecord(await postUrlencoded(checkUrl, { ...credFields(c), authorization, token }));
        assert.equal(rec.token, token, JSON.stringify(authorization));
        assertInitOk(await postUrlencoded(initUrl, initFields(c, { authorization })));
      }
      // wmx_id and access_app_key are trimmed too, and wmx_id is echoed exactly as sent: the official
      // verification compares it with the client's own (untrimmed) setting.
      for (const wmxId of [` ${c.wmx_id} `, `${c.wmx_id}\n`]) {
        const padded = { wmx_id: wmxId, access_app_key: `${c.access_app_key}\n`, authorization: basicAuth(c), token };
        const rec = assertRecord(await postUrlencoded(checkUrl, padded));
        assert.equal(rec.wmx_id, wmxId);
        assert.equal(rec.token, token);
      }
      assert.equal(assertRecord(await check(token)).wmx_id, c.wmx_id); // and the usual answer is unchanged
    });

    it('a NUL character in wmx_id is a failed authentication (2001) on both databases, never a 5000', async () => {
      for (const wmxId of ['\u0000', `${c.wmx_id}\u0000`, `\u0000${c.wmx_id}`]) {
        assertError(await postUrlencoded(checkUrl, { ...credFields(c), wmx_id: wmxId, token }), '2001');
        assertError(await postUrlencoded(initUrl, initFields(c, { wmx_id: wmxId })), '2001');
      }
      assertRecord(await check(token)); // and it serves on
    });

    it('credentials are read from the body only; HTTP headers are ignored', async () => {
      const headerAuth = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(c) };
      const noBodyAuth = new URLSearchParams({
        wmx_id: c.wmx_id,
        access_app_key: c.access_app_key,
        token,
      }).toString();
      assertError(await rawRequest(checkUrl, noBodyAuth, { headers: headerAuth }), '2003', 'authorization');
      const wrongBodyAuth = new URLSearchParams({
        ...credFields(c),
        authorization: basicAuth({ username: c.username, password: 'wrong-password-0000' }),
        token,
      });
      assertError(await rawRequest(checkUrl, wrongBodyAuth.toString(), { headers: headerAuth }), '2001');
      const initNoAuth = new URLSearchParams(initFields(c, { authorization: undefined })).toString();
      assertError(await rawRequest(initUrl, initNoAuth, { headers: headerAuth }), '2003', 'authorization');
    });

    it('repeated urlencoded keys: the first value wins', async () => {
      const p = new URLSearchParams(initFields(c));
      p.append('amount', '20');
      p.append('currency', 'USD');
      p.append('merchant_order_id', 'second');
      const tok = assertInitOk(
        await rawRequest(initUrl, p.toString(), {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      );
      const rec = assertRecord(await check(tok));
      assert.equal(rec.merchant_req_amount, '10.00');
      assert.equal(rec.merchant_currency, 'BDT');
      assert.equal(rec.merchant_order_id, '1001');

      const firstGood = `${new URLSearchParams({ ...credFields(c), token })}&token=${'0'.repeat(40)}`;
      assert.equal(
        assertRecord(
          await rawRequest(checkUrl, firstGood, {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
        ).token,
        token,
      );
      const firstBad = `token=${'0'.repeat(40)}&${new URLSearchParams({ ...credFields(c), token })}`;
      assertError(
        await rawRequest(checkUrl, firstBad, {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        '2009',
        'token',
      );
    });

    it('repeated multipart keys: the first value wins', async () => {
      const fields: [string, string][] = [
        ...Object.entries(initFields(c)),
        ['amount', '20'],
        ['merchant_order_id', 'second'],
      ];
      const tok = assertInitOk(await postMultipart(initUrl, fields));
      const rec = assertRecord(await check(tok));
      assert.equal(rec.merchant_req_amount, '10.00');
      assert.equal(rec.merchant_order_id, '1001');
      const checkFields: [string, string][] = [
        ...Object.entries({ ...credFields(c), token }),
        ['token', 'f'.repeat(40)],
      ];
      assert.equal(assertRecord(await postMultipart(checkUrl, checkFields)).token, token);
    });

    it('unknown fields are ignored (the official class sends amount to check-payment)', async () => {
      const tok = assertInitOk(
        await postUrlencoded(initUrl, {
          ...initFields(c),
          foo: 'bar',
          'x[]': '1',
          statusCode: '9999',
          token: 'a'.repeat(40),
        }),
      );
      const rec = assertRecord(
        await postUrlencoded(checkUrl, {
          ...credFields(c),
          token: tok,
          amount: '999.99',
          currency: 'USD',
          merchant_order_id: 'x',
          foo: 'bar',
        }),
      );
      assert.equal(rec.token, tok);
      assert.equal(rec.merchant_req_amount, '10.00');
      assert.equal(rec.merchant_currency, 'BDT');
      assert.equal(rec.merchant_order_id, '1001');
    });

    it('a body just under 64 KiB is accepted', async () => {
      const fields = { ...initFields(c), junk: 'x'.repeat(63 * 1024) };
      const body = new URLSearchParams(fields).toString();
      assert.ok(Buffer.byteLength(body) < 64 * 1024);
      assertInitOk(
        await rawRequest(initUrl, body, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      );
    });

    const big = 'x'.repeat(70 * 1024);
    const oversize: [string, (url: string, f: Record<string, string>) => Promise<WireResponse>][] = [
      ['urlencoded', (url, f) => postUrlencoded(url, { ...f, junk: big })],
      ['JSON', (url, f) => postJson(url, { ...f, junk: big })],
      ['multipart', (url, f) => postMultipart(url, { ...f, junk: big })],
      [
        'chunked, no Content-Length',
        (url, f) => rawRequest(url, new URLSearchParams({ ...f, junk: big }).toString(), { chunked: true }),
      ],
      ['no Content-Type', (url, f) => rawRequest(url, new URLSearchParams({ ...f, junk: big }).toString())],
    ];
    for (const [name, send] of oversize) {
      it(`a body over 64 KiB (${name}) is answered 2004 with HTTP 200, for both endpoints`, async () => {
        assertError(await send(initUrl, initFields(c)), '2004');
        assertError(await send(checkUrl, { ...credFields(c), token }), '2004');
      });
    }

    it('a client still sending an oversize body after the 2004 is sent can finish, read it and go on', async () => {
      // Deterministic form of what fetch + FormData hit at random: the answer comes while the
      // client is still writing. Closing then made its next writes fail (EPIPE, reset) instead.
      const { port } = new URL(checkUrl);
      const socket = net.connect(Number(port), '127.0.0.1');
      const errors: string[] = [];
      socket.on('error', (e) => errors.push(e.message));
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      const body = Buffer.from('pad=' + 'x'.repeat(300_000));
      socket.write(
        `POST /check-payment HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Content-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, 100_000));
      const until = async (what: () => boolean) => {
        for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(what(), `timed out; received: ${received.slice(0, 300)}`);
      };
      await until(() => received.includes('"statusCode":"2004"'));
      assert.doesNotMatch(received, /connection: close/i);
      // The rest of the body, then a second request on the same connection.
      await new Promise<void>((resolve, reject) =>
        socket.write(body.subarray(100_000), (e) => (e ? reject(e) : resolve())),
      );
      received = '';
      const check = new URLSearchParams({ ...credFields(c), token }).toString();
      socket.write(
        `POST /check-payment HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Content-Length: ${check.length}\r\n\r\n${check}`,
      );
      await until(() => received.includes(`"token":"${token}"`));
      socket.destroy();
      assert.deepEqual(errors, []);
    });

    it('a compressed body (Content-Encoding gzip) is a coded 2004 that says so, for both endpoints', async () => {
      for (const [url, fields] of [
        [initUrl, initFields(c)],
        [checkUrl, { ...credFields(c), token }],
      ] as const) {
        const gz = zlib.gzipSync(new URLSearchParams(fields).toString());
        const res = await rawRequest(url, gz, {
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
        });
        assertError(res, '2004');
        assert.match(res.json.statusMsg as string, /Content-Encoding gzip is not supported/);
      }
      // Identity is no encoding at all.
      const res = await rawRequest(checkUrl, new URLSearchParams({ ...credFields(c), token }).toString(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'identity' },
      });
      assert.equal(assertRecord(res).token, token);
    });

    it('a legacy endpoint asked with the wrong method through //path/ still gets 405 and the protocol error shape', async () => {
      const res = await rawRequest(`${t.url}//init-payment-process/?lang=en`, undefined, { method: 'GET' });
      assert.equal(res.status, 405);
      assert.equal(res.headers.allow, 'POST');
      assert.equal(res.json.statusCode, '2004');
    });

    it('the gateway still serves normally after oversize bodies', async () => {
      assert.equal(assertRecord(await check(token)).token, token);
    });
  });
}
