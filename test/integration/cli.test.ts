/**
 * The real `wmx` CLI (src/cli/wmx.ts run as a child process) against the same database a gateway
 * serves: issued credentials have the shapes of PROTOCOL.md section 8 and work for init; rotate,
 * suspend and activate take effect on the wire; bad usage exits non-zero with a message.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { createGateway, type Gateway } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { buildHttpApp } from '../../src/http/app.js';
import { inheritedEnv, runWmx, scratchDatabase, type CliResult, type ScratchDatabase } from '../support/cli.js';
import { credFields, dialects, freePort, initFields } from '../support/harness.js';
import { assertError, assertInitOk, assertRecord, postUrlencoded } from './protocol-helpers.js';

for (const dialect of dialects()) {
  describe(`cli: wmx against a live gateway (${dialect})`, () => {
    let db: ScratchDatabase;
    let cliEnv: Record<string, string>;
    let gw: Gateway;
    let app: FastifyInstance;
    let url: string;
    let created: IssuedCredentials;

    const wmx = (...args: string[]): Promise<CliResult> => runWmx(args, cliEnv);
    const init = (c: IssuedCredentials, overrides: Record<string, string | undefined> = {}) =>
      postUrlencoded(`${url}/init-payment-process`, initFields(c, overrides));

    before(async () => {
      db = await scratchDatabase(dialect, 'wmx-cli-');
      const secret = crypto.randomBytes(32).toString('base64url');
      cliEnv = { ...inheritedEnv(), WMX_DATABASE_URL: db.childUrl, WMX_DATA_DIR: db.dir, WMX_SECRET: secret };

      // `migrate` on the empty database first: the CLI alone can prepare a database.
      const migrated = await wmx('migrate');
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, /migration/i);

      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const config = loadConfig({
        PORT: String(port),
        WMX_DATABASE_URL: db.inProcessUrl,
        WMX_DATA_DIR: db.dir,
        WMX_PUBLIC_URL: url,
        WMX_SECRET: secret,
      });
      gw = await createGateway(config, { secret, ...(db.pgSchema ? { pgSchema: db.pgSchema, pgPoolSize: 2 } : {}) });
      app = await buildHttpApp(gw);
      await app.listen({ port, host: '127.0.0.1' });
    });

    after(async () => {
      await app?.close();
      await gw?.close();
      await db?.drop();
    });

    it('migrate is idempotent', async () => {
      const r = await wmx('migrate');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /latest migration/i);
    });

    it('merchant create --json prints exactly the six credentials with the section 8 shapes', async () => {
      const r = await wmx('merchant', 'create', '--name', 'CLI Shop', '--domain', 'shop.test', '--json');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `one JSON line: ${r.stdout}`);
      const creds = JSON.parse(lines[0] as string) as Record<string, unknown>;
      assert.deepEqual(Object.keys(creds).sort(), [
        'access_app_key',
        'api_key',
        'password',
        'signing_secret',
        'username',
        'wmx_id',
      ]);
      for (const v of Object.values(creds)) assert.equal(typeof v, 'string');
      assert.match(creds.wmx_id as string, /^WMX[0-9a-f]{13}$/);
      assert.match(creds.access_app_key as string, /^[0-9a-f]{40}$/);
      assert.match(creds.username as string, /^clishop_\d{10}$/);
      assert.ok((creds.password as string).length >= 20, 'password at least 20 characters');
      assert.ok(new Set(creds.password as string).size >= 10, 'password is not low-entropy');
      assert.notEqual(creds.signing_secret, '');
      assert.notEqual(creds.api_key, '');
      assert.equal(new Set(Object.values(creds)).size, 6, 'all six values differ');
      created = creds as unknown as IssuedCredentials; // shape checked just above

      // The secrets are stored as hashes only.
      const row = await gw.db.kysely
        .selectFrom('merchants')
        .selectAll()
        .where('wmx_id', '=', created.wmx_id)
        .executeTakeFirstOrThrow();
      const stored = JSON.stringify(row);
      for (const secret of [created.access_app_key, created.password, created.signing_secret, created.api_key])
        assert.ok(!stored.includes(secret));
    });

    it('the issued credentials work against the gateway on the same database', async () => {
      const token = assertInitOk(await init(created));
      const rec = assertRecord(await postUrlencoded(`${url}/check-payment`, { ...credFields(created), token }));
      assert.equal(rec.wmx_id, created.wmx_id);
      // --domain was registered: other hosts are refused for this live merchant.
      assertError(await init(created, { callback_url: 'https://elsewhere.test/cb' }), '2007', 'callback_url');
    });

    it('merchant create --sandbox makes a sandbox merchant (any callback host)', async () => {
      const r = await wmx('merchant', 'create', '--name', 'Sandbox CLI', '--sandbox', '--json');
      assert.equal(r.code, 0, r.stderr);
      const sb = JSON.parse(r.stdout) as IssuedCredentials;
      assertInitOk(await init(sb, { callback_url: 'https://anything.example/cb' }));
    });

    it('merchant list shows merchants without secrets; --json is machine-readable', async () => {
      const text = await wmx('merchant', 'list');
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`${created.wmx_id}\\s+active`));
      const json = await wmx('merchant', 'list', '--json');
      assert.equal(json.code, 0, json.stderr);
      const list = JSON.parse(json.stdout) as Record<string, unknown>[];
      const mine = list.find((m) => m.wmx_id === created.wmx_id);
      assert.ok(mine);
      assert.equal(mine.status, 'active');
      assert.deepEqual(mine.domains, ['shop.test']);
      for (const out of [text.stdout, json.stdout]) {
        for (const secret of [created.access_app_key, created.password, created.signing_secret, created.api_key])
          assert.ok(!out.includes(secret));
      }
    });

    it('merchant rotate: the old credentials stop working (2001), the new ones work', async () => {
      assertInitOk(await init(created)); // the old ones are verified and cached by the gateway
      const r = await wmx('merchant', 'rotate', created.wmx_id, '--json');
      assert.equal(r.code, 0, r.stderr);
      const fresh = JSON.parse(r.stdout) as IssuedCredentials;
      assert.equal(fresh.wmx_id, created.wmx_id);
      assert.notEqual(fresh.access_app_key, created.access_app_key);
      assert.notEqual(fresh.password, created.password);
      assert.match(fresh.access_app_key, /^[0-9a-f]{40}$/);
      // The gateway trusts a merchant row for up to 2 s; the CLI is another process, so skip that wait.
      gw.auth.forget(created.wmx_id);
      assertError(await init(created), '2001');
      assertError(await init({ ...fresh, access_app_key: created.access_app_key }), '2001');
      assertInitOk(await init(fresh));
      created = fresh;
    });

    it('merchant suspend → 2002 on the wire; merchant activate → working again', async () => {
      const s = await wmx('merchant', 'suspend', created.wmx_id);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /suspended/);
      gw.auth.forget(created.wmx_id); // see rotate
      assertError(await init(created), '2002');
      const listed = JSON.parse((await wmx('merchant', 'list', '--json')).stdout) as {
        wmx_id: string;
        status: string;
      }[];
      assert.equal(listed.find((m) => m.wmx_id === created.wmx_id)?.status, 'suspended');
      const a = await wmx('merchant', 'activate', created.wmx_id);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, /is now active/);
      gw.auth.forget(created.wmx_id);
      const token = assertInitOk(await init(created));
      assert.equal(
        assertRecord(await postUrlencoded(`${url}/check-payment`, { ...credFields(created), token })).token,
        token,
      );
    });

    it('rates set changes the rate new payments lock', async () => {
      const r = await wmx('rates', 'set', 'USD', '121.4567');
      assert.equal(r.code, 0, r.stderr);
      await gw.reference.refresh(); // the gateway reloads reference data within a second anyway
      const token = assertInitOk(await init(created, { amount: '1', currency: 'USD' }));
      const rec = assertRecord(await postUrlencoded(`${url}/check-payment`, { ...credFields(created), token }));
      assert.equal(rec.conversion_rate, '121.4567');
      assert.equal(rec.merchant_amount_bdt, '121.46');
    });

    // Argument handling does not depend on the dialect: once is enough (each run costs a process start).
    it(
      'bad usage exits non-zero with a message',
      { skip: dialect !== dialects()[0] && 'checked on the first dialect' },
      async () => {
        const cases: [string[], RegExp][] = [
          [[], /Usage/],
          [['merchant', 'frobnicate'], /unknown command/],
          [['merchant', 'create'], /--name/],
          [['merchant', 'create', '--name', 'No Domain Shop'], /domain/i],
          [['merchant', 'create', '--name', 'X', '--domain', 'shop.test', '--bogus'], /bogus/],
          [['merchant', 'suspend', 'WMX0000000000000'], /WMX0000000000000/],
        ];
        const results = await Promise.all(cases.map(([args]) => wmx(...args)));
        results.forEach((r, i) => {
          const [args, message] = cases[i]!;
          assert.notEqual(r.code, 0, `wmx ${args.join(' ')} should fail`);
          assert.match(r.stdout + r.stderr, message, `wmx ${args.join(' ')}: ${r.stdout}${r.stderr}`);
        });
        // Nothing was created by the failed commands.
        const names = (await gw.merchantAdmin.list()).map((m) => m.name);
        assert.ok(!names.includes('No Domain Shop'));
        assert.ok(!names.includes('X'));
      },
    );
  });
}
