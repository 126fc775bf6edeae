/**
 * The connector commands of the real `wmx` CLI (src/cli/wmx.ts run as a child process) against the
 * database a running gateway serves, with the bKash and SSLCommerz simulators as the upstreams:
 * add, list, test, set, enable and disable, route (for every merchant and one), reconcile, and
 * `wmx simulate`. Secrets never leave the CLI or the database in the clear; bad input exits
 * non-zero with a plain message and changes nothing; what the CLI changes is what the payment page
 * offers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startBkashSimulator, type BkashSimulatorCredentials } from '../../src/acquirers/bkash/simulator.js';
import { startSslcommerzSimulator } from '../../src/acquirers/sslcommerz/simulator.js';
import { CLI_ACTOR } from '../../src/app/audit.js';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { createGateway, type Gateway } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { buildHttpApp } from '../../src/http/app.js';
import {
  ROOT,
  cliCommand,
  inheritedEnv,
  runWmx,
  scratchDatabase,
  type CliResult,
  type ScratchDatabase,
} from '../support/cli.js';
import { credFields, dialects, freePort, initFields, postForm } from '../support/harness.js';

type BkashSim = Awaited<ReturnType<typeof startBkashSimulator>>;
type SslSim = Awaited<ReturnType<typeof startSslcommerzSimulator>>;

const hex = () => crypto.randomBytes(6).toString('hex');

/** Polls `check` until it returns true or `ms` pass (for a cache in the gateway to expire). */
async function eventually(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const dialect of dialects()) {
  describe(`cli: wmx connector against a live gateway (${dialect})`, () => {
    let dir: string;
    let cliEnv: Record<string, string>;
    let db: ScratchDatabase;
    let gw: Gateway;
    let app: FastifyInstance;
    let url: string;
    let bk: BkashSim;
    let ssl: SslSim;
    let shopA: IssuedCredentials;
    let shopB: IssuedCredentials;
    const once = { skip: dialect !== dialects()[0] && 'checked on the first dialect' };
    /** Every CLI run, for the final "no secret was printed" check. */
    const runs: CliResult[] = [];

    // Unique per run, so a leak cannot hide behind a value that appears elsewhere.
    const bkCreds: BkashSimulatorCredentials = {
      username: `user${hex()}`,
      password: `bkpw-${hex()}`,
      appKey: `appkey${hex()}`,
      appSecret: `bkappsecret-${hex()}`,
    };
    const store = { storeId: `store${hex()}`, storePasswd: `sslpw-${hex()}@ssl` };
    const wrongBkPassword = `wrongbkpw-${hex()}`;
    const wrongStorePasswd = `wrongsslpw-${hex()}`;
    const SECRETS = [bkCreds.password, bkCreds.appSecret, store.storePasswd, wrongBkPassword, wrongStorePasswd];

    async function wmx(...args: string[]): Promise<CliResult> {
      const r = await runWmx(args, cliEnv, 30_000);
      runs.push(r);
      return r;
    }
    /** `wmx` with space-separated arguments (none of the values here holds a space). */
    const w = (...parts: string[]) => wmx(...parts.join(' ').split(' '));
    /** Puts a connector's field back, in this process (after a CLI change under test). */
    const restore = async (id: string, fields: Record<string, string>) =>
      assert.deepEqual(await gw.connectors.update(id, fields, CLI_ACTOR), { ok: true });
    const show = (r: CliResult) => `wmx ${r.args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`;
    const assertOk = (r: CliResult, message: RegExp) => {
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, message, show(r));
    };
    /** A refusal: non-zero exit, the reason on stderr, nothing claimed on stdout. */
    const assertRefused = (r: CliResult, message: RegExp) => {
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, message, show(r));
      assert.doesNotMatch(r.stdout, /added|updated|now goes to|enabled\.|disabled:/, show(r));
    };
    const assertNoSecret = (r: CliResult) => {
      for (const s of SECRETS) {
        assert.ok(!r.stdout.includes(s), `a secret on stdout of wmx ${r.args.join(' ')}`);
        assert.ok(!r.stderr.includes(s), `a secret on stderr of wmx ${r.args.join(' ')}`);
      }
    };

    /** The rows an operator's command may change, as stored. */
    const snapshot = async () => ({
      connectors: await gw.db.kysely.selectFrom('connectors').selectAll().orderBy('id').execute(),
      routes: await gw.db.kysely
        .selectFrom('connector_routes')
        .selectAll()
        .orderBy('scope')
        .orderBy('method')
        .execute(),
    });
    const merchant = async (c: IssuedCredentials) => {
      const m = await gw.merchants.byWmxId(c.wmx_id);
      assert.ok(m);
      return m;
    };
    const routedTo = async (c: IssuedCredentials, method: 'card' | 'bkash') =>
      (await gw.router.routeFor(await merchant(c), method))?.id;
    /** A fresh payment of `c`'s: its token. */
    const newPayment = async (c: IssuedCredentials, amount = '100.00') => {
      const r = await postForm(`${url}/init-payment-process`, initFields(c, { amount }));
      assert.equal(r.json.statusCode, '1000', r.text);
      return r.json.token as string;
    };
    /** The method buttons on a payment page (what the customer is offered). */
    const pageChoices = async (token: string) => {
      const r = await fetch(`${url}/bank-payment-process/${token}?lang=en`);
      assert.equal(r.status, 200);
      const html = await r.text();
      return [...html.matchAll(/<button[^>]*\bname="method"[^>]*\bvalue="([a-z_]+)"/g)].map((m) => m[1]);
    };

    before(async () => {
      db = await scratchDatabase(dialect, 'wmx-cli-conn-');
      dir = db.dir;
      const secret = crypto.randomBytes(32).toString('base64url');
      cliEnv = { ...inheritedEnv(), WMX_DATABASE_URL: db.childUrl, WMX_DATA_DIR: dir, WMX_SECRET: secret };

      [bk, ssl] = await Promise.all([
        startBkashSimulator({ port: 0, credentials: bkCreds }),
        startSslcommerzSimulator({ port: 0, store }),
      ]);
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const config = loadConfig({
        PORT: String(port),
        WMX_DATABASE_URL: db.inProcessUrl,
        WMX_DATA_DIR: dir,
        WMX_PUBLIC_URL: url,
        WMX_SECRET: secret,
        // A payment sent to an upstream is due for an inquiry at once (for `wmx reconcile`).
        WMX_RECONCILE_REDIRECT_CHECK: '1ms',
      });
      gw = await createGateway(config, { secret, ...(db.pgSchema ? { pgSchema: db.pgSchema, pgPoolSize: 2 } : {}) });
      app = await buildHttpApp(gw);
      await app.listen({ port, host: '127.0.0.1' });
      const create = async (name: string) =>
        (await gw.merchantAdmin.create({ name, domains: ['shop.test'], sandbox: true, emiAllowed: false })).credentials;
      shopA = await create('Rails Shop A');
      shopB = await create('Rails Shop B');
    });

    after(async () => {
      await app?.close();
      await gw?.close();
      await bk?.close();
      await ssl?.close();
      await db?.drop();
    });

    it('reconcile with nothing at an upstream says nothing was due', async () => {
      assertOk(await wmx('reconcile'), /^Nothing was due\.\n$/);
    });

    it('connector add: bKash (secrets from a file) and SSLCommerz; secrets sealed at rest', async () => {
      const secretFile = path.join(dir, 'bkash-secrets.txt');
      fs.writeFileSync(
        secretFile,
        `# from bKash onboarding\npassword=${bkCreds.password}\napp_secret=${bkCreds.appSecret}\n`,
      );
      const [b, s] = await Promise.all([
        wmx(
          'connector',
          'add',
          'bk-sim',
          '--kind',
          'bkash',
          '--env',
          'sandbox',
          '--set',
          `base_url=${bk.baseUrl}/`,
          '--set',
          `username=${bkCreds.username}`,
          '--set',
          `app_key=${bkCreds.appKey}`,
          '--secret-file',
          secretFile,
        ),
        wmx(
          'connector',
          'add',
          'sslcz',
          '--kind',
          'sslcommerz',
          '--env',
          'sandbox',
          '--set',
          `base_url=${ssl.url}`,
          '--set',
          `store_id=${store.storeId}`,
          '--set',
          `store_passwd=${store.storePasswd}`,
        ),
      ]);
      assertOk(b, /^Connector bk-sim \(bkash, sandbox\) added; its secrets are sealed .*wmx connector test bk-sim\n$/);
      assertOk(s, /^Connector sslcz \(sslcommerz, sandbox\) added; its secrets are sealed/);

      const { connectors } = await snapshot();
      const bkRow = connectors.find((r) => r.id === 'bk-sim');
      const sslRow = connectors.find((r) => r.id === 'sslcz');
      assert.ok(bkRow && sslRow);
      assert.equal(bkRow.kind, 'bkash');
      assert.equal(Number(bkRow.enabled), 1);
      // Settings in the clear (the trailing slash dropped), secrets only sealed.
      assert.deepEqual(JSON.parse(bkRow.config), {
        base_url: bk.baseUrl,
        username: bkCreds.username,
        app_key: bkCreds.appKey,
      });
      assert.deepEqual(JSON.parse(sslRow.config), { base_url: ssl.url, store_id: store.storeId });
      for (const row of [bkRow, sslRow]) {
        assert.ok(row.secrets_sealed);
        for (const secret of SECRETS) assert.ok(!JSON.stringify(row).includes(secret), `${row.id} stores a secret`);
      }
      // Sealed with the server secret the gateway holds, not lost.
      assert.deepEqual(JSON.parse(gw.sealer.open(bkRow.secrets_sealed!)), {
        password: bkCreds.password,
        app_secret: bkCreds.appSecret,
      });
      // The audit log records the additions without the secrets.
      const audit = await gw.db.kysely.selectFrom('audit_log').selectAll().execute();
      const added = audit.filter((e) => e.action === 'connector.added');
      assert.equal(added.length, 2);
      for (const secret of SECRETS) assert.ok(!JSON.stringify(audit).includes(secret), 'the audit log holds a secret');
    });

    it('connector add refuses a taken id and reports every problem at once, adding nothing', async () => {
      const before = await snapshot();
      const [dup, bad] = await Promise.all([
        w(
          `connector add bk-sim --kind bkash --env sandbox --set base_url=${bk.baseUrl} --set username=x`,
          `--set app_key=y --set password=${wrongBkPassword} --set app_secret=z`,
        ),
        w(
          `connector add bk-two --kind bkash --env sandbox --set base_url=ftp://bkash.example`,
          `--set username=x --set app_key=y --set password=${wrongBkPassword}`,
        ),
      ]);
      assertRefused(dup, /a connector named bk-sim exists already/);
      assertRefused(bad, /base_url must be an http\(s\) URL; app_secret \(App secret\) is required/);
      assert.deepEqual(await snapshot(), before);
    });

    it('connector list shows kind, state and settings, and secrets by name only; --json too', async () => {
      const [text, json] = await Promise.all([w('connector list'), w('connector list --json')]);
      assert.equal(text.code, 0, show(text));
      const line = (id: string) => text.stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
      assert.match(line('bk-sim'), /^bk-sim\s+bkash\s+sandbox\s+enabled\s/);
      assert.ok(line('bk-sim').includes(`username=${bkCreds.username}`), line('bk-sim'));
      assert.match(line('bk-sim'), /secrets: password, app_secret$/);
      assert.match(line('sslcz'), /^sslcz\s+sslcommerz\s+sandbox\s+enabled\s.*store_id=\S+\s+secrets: store_passwd$/);
      assert.match(line('sandbox'), /^sandbox\s+sandbox\s+sandbox\s+enabled/);
      assert.match(text.stdout, /No routes: sandbox merchants pay on the Sandbox Bank\./);

      assert.equal(json.code, 0, show(json));
      const parsed = JSON.parse(json.stdout) as {
        connectors: { id: string; kind: string; enabled: boolean; config: object; secretsSet: string[] }[];
        routes: unknown[];
      };
      const bkJson = parsed.connectors.find((c) => c.id === 'bk-sim');
      assert.equal(bkJson?.kind, 'bkash');
      assert.equal(bkJson?.enabled, true);
      assert.deepEqual(bkJson?.secretsSet, ['password', 'app_secret']);
      assert.deepEqual(parsed.connectors.find((c) => c.id === 'sslcz')?.secretsSet, ['store_passwd']);
      assert.deepEqual(parsed.routes, []);
      assertNoSecret(text);
      assertNoSecret(json);
    });

    it('connector test: one call to each upstream, answered in plain words', async () => {
      const grants = async () => ((await (await fetch(`${bk.url}/_sim/stats`)).json()) as { grant: number }).grant;
      const before = await grants();
      const [b, s] = await Promise.all([w('connector test bk-sim'), w('connector test sslcz')]);
      assertOk(b, new RegExp(`^OK: bKash granted a token at ${bk.baseUrl} \\(valid for \\d+ s\\)\\n$`));
      assertOk(s, new RegExp(`^OK: SSLCommerz accepted store ${store.storeId} at ${ssl.url}\\n$`));
      assert.equal(await grants(), before + 1, 'one token grant at bKash');
    });

    it('connector set with a wrong secret: the test fails with the upstream’s refusal, exit 1', async () => {
      const [setB, setS] = await Promise.all([
        w(`connector set bk-sim --set password=${wrongBkPassword}`),
        w(`connector set sslcz --set store_passwd=${wrongStorePasswd}`),
      ]);
      assertOk(setB, /^Connector bk-sim updated\.\n$/);
      assertOk(setS, /^Connector sslcz updated\.\n$/);
      const [b, s] = await Promise.all([w('connector test bk-sim'), w('connector test sslcz')]);
      assert.equal(b.code, 1, show(b));
      assert.match(b.stdout, /^FAILED: bKash refused the username or password \(9999 /);
      assert.equal(s.code, 1, show(s));
      assert.match(
        s.stdout,
        new RegExp(`^FAILED: SSLCommerz refused store ${store.storeId}: check the store ID and password`),
      );
      // Put right in this process (the CLI's set is what is under test, not the repair).
      await restore('bk-sim', { password: bkCreds.password });
      await restore('sslcz', { store_passwd: store.storePasswd });
    });

    it('connector test against a closed port says the upstream did not answer, exit 1', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens there
      assertOk(await w(`connector set bk-sim --set base_url=${closed}/v1.2.0-beta`), /updated/);
      const r = await w('connector test bk-sim');
      assert.equal(r.code, 1, show(r));
      assert.match(
        r.stdout,
        new RegExp(`^FAILED: bKash did not answer at ${closed}/v1\\.2\\.0-beta: .*(ECONNREFUSED|refused)`),
      );
      await restore('bk-sim', { base_url: bk.baseUrl });
    });

    it('connector set changes a setting; an unknown connector, field or bad value changes nothing', async () => {
      const other = `other${hex()}`;
      assertOk(await w(`connector set sslcz --set store_id=${other}`), /^Connector sslcz updated\.\n$/);
      const list = await w('connector list');
      assert.match(list.stdout, new RegExp(`^sslcz .* store_id=${other}\\s`, 'm'));
      await restore('sslcz', { store_id: store.storeId });

      const before = await snapshot();
      const [unknown, bad] = await Promise.all([
        w('connector set nope --set username=x'),
        w(`connector set bk-sim --set username=changed --set colour=blue --set base_url=http://u:p@bkash.example/`),
      ]);
      assertRefused(unknown, /no connector named nope/);
      assertRefused(
        bad,
        /base_url must not carry credentials, a query or a fragment; colour is not a setting of bkash/,
      );
      assert.deepEqual(await snapshot(), before, 'nothing changed, not even the valid username');
    });

    it('connector route: bKash and card for every merchant, shown on a fresh payment page', async () => {
      const token = await newPayment(shopA);
      assert.ok(!(await pageChoices(token)).includes('bkash'), 'not routed: bKash is a wallet of the sandbox bank');
      assertOk(await w('connector route bkash bk-sim'), /^bkash now goes to bk-sim for every merchant\.\n$/);
      assertOk(await w('connector route card sslcz'), /^card now goes to sslcz for every merchant\.\n$/);
      gw.router.invalidate(); // another process changed the routes; the gateway would see it within ~2 s
      assert.equal(await routedTo(shopA, 'bkash'), 'bk-sim');
      assert.equal(await routedTo(shopB, 'card'), 'sslcz');
      const choices = await pageChoices(await newPayment(shopA));
      assert.ok(choices.includes('bkash'), `bKash offered on its own: ${choices.join(',')}`);
      assert.ok(choices.includes('card'));
    });

    it('connector route --merchant: one merchant’s override, listed by WMX id, and removed', async () => {
      const r = await w(`connector route bkash sandbox --merchant ${shopB.wmx_id}`);
      assertOk(r, new RegExp(`^bkash now goes to sandbox for ${shopB.wmx_id}\\.\\n$`));
      gw.router.invalidate();
      assert.equal(await routedTo(shopB, 'bkash'), 'sandbox');
      assert.equal(await routedTo(shopA, 'bkash'), 'bk-sim', 'the others keep the default');
      assert.ok(!(await pageChoices(await newPayment(shopB))).includes('bkash'));
      assert.ok((await pageChoices(await newPayment(shopA))).includes('bkash'));

      const [list, json] = await Promise.all([w('connector list'), w('connector list --json')]);
      assert.ok(
        list.stdout.endsWith(
          `Routes:\n  every merchant: bkash → bk-sim\n  every merchant: card → sslcz\n  ${shopB.wmx_id}: bkash → sandbox\n`,
        ),
        show(list),
      );
      const routes = (JSON.parse(json.stdout) as { routes: Record<string, string>[] }).routes;
      assert.deepEqual(routes, [
        { scope: '*', method: 'bkash', connectorId: 'bk-sim' },
        { scope: '*', method: 'card', connectorId: 'sslcz' },
        { scope: (await merchant(shopB)).id, method: 'bkash', connectorId: 'sandbox', wmxId: shopB.wmx_id },
      ]);

      const none = await w(`connector route bkash none --merchant ${shopB.wmx_id}`);
      assertOk(none, new RegExp(`^bkash has no route for ${shopB.wmx_id} any more\\.\\n$`));
      gw.router.invalidate();
      assert.equal(await routedTo(shopB, 'bkash'), 'bk-sim', 'back to the default');
    });

    it('connector route refuses an unknown connector, method or merchant, and changes nothing', async () => {
      const before = await snapshot();
      const [unknown, wrongMethod, noMerchant] = await Promise.all([
        w('connector route bkash nope'),
        w('connector route card bk-sim'),
        w('connector route bkash bk-sim --merchant WMX0000000000000'),
      ]);
      assertRefused(unknown, /no connector named nope/);
      assertRefused(wrongMethod, /bk-sim \(bkash\) does not take card/);
      assertRefused(noMerchant, /no merchant WMX0000000000000/);
      assert.deepEqual(await snapshot(), before, 'nothing changed');
    });

    it('connector disable: its methods leave the payment page; routing to it is refused; enable brings them back', async () => {
      const token = await newPayment(shopA);
      assert.ok((await pageChoices(token)).includes('bkash'));
      const off = await w('connector disable bk-sim');
      assertOk(off, /^Connector bk-sim disabled: it takes no new payments; those it took are still confirmed/);
      // Not told: the running gateway sees the change once its cache of the rails expires (~2 s).
      await eventually('bKash leaves the payment page', async () => !(await pageChoices(token)).includes('bkash'));
      const wallet = (await gw.router.offered(await merchant(shopA), 10_000n)).find((o) => o.key === 'bkash');
      assert.equal(wallet?.connector.id, 'sandbox', 'the sandbox merchant falls back to the sandbox bank');

      const before = await snapshot();
      const [list, again, override] = await Promise.all([
        w('connector list'),
        w('connector route bkash bk-sim'),
        w(`connector route bkash bk-sim --merchant ${shopB.wmx_id}`),
      ]);
      assert.match(list.stdout, /^bk-sim\s+bkash\s+sandbox\s+disabled\s/m);
      assertRefused(
        again,
        /bk-sim is disabled.*enable it first \(Enable in the console, or wmx connector enable bk-sim\)\. Nothing was changed\./,
      );
      assertRefused(override, /bk-sim is disabled/);
      assert.deepEqual(await snapshot(), before, 'nothing changed');

      assertOk(await w('connector enable bk-sim'), /^Connector bk-sim enabled\.\n$/);
      gw.router.invalidate();
      assert.ok((await pageChoices(token)).includes('bkash'));
      assert.equal(await routedTo(shopA, 'bkash'), 'bk-sim');
    });

    // Argument handling does not depend on the dialect: once is enough (each run costs a process start).
    it('bad usage exits non-zero with a message', once, async () => {
      const before = await snapshot();
      const cases: [string, RegExp][] = [
        ['connector add pp --kind paypal --env sandbox', /--kind must be one of sandbox, bkash, sslcommerz/],
        ['connector add x1 --kind sslcommerz --env staging', /--env must be sandbox or live/],
        ['connector set bk-sim --set username', /--set: expected name=value, got "username"/],
        ['connector set', /connector set needs an id/],
        ['connector route cash bk-sim', /method must be one of card, bkash, nagad, rocket, internet_banking/],
        ['connector route bkash', /connector route needs a method and a connector id/],
        ['connector disable nope', /no connector named nope/],
        ['connector frobnicate', /unknown command: connector frobnicate/],
      ];
      const results = await Promise.all(cases.map(([line]) => w(line)));
      results.forEach((r, i) => assertRefused(r, cases[i]![1]));
      const unknownTest = await w('connector test nope');
      assert.equal(unknownTest.code, 1, show(unknownTest));
      assert.match(unknownTest.stdout, /^FAILED: no usable connector named nope/);
      assert.deepEqual(await snapshot(), before, 'nothing changed');
    });

    it('reconcile asks bKash about a payment whose callback never came, and records its outcome', async () => {
      const token = await newPayment(shopA, '10.73'); // .73: the simulator never sends the customer back
      const chosen = await fetch(`${url}/bank-payment-process/${token}/pay`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ method: 'bkash', lang: 'en' }),
      });
      assert.equal(chosen.status, 303, await chosen.text());
      assert.ok(chosen.headers.get('location')?.startsWith(bk.url), 'sent to bKash');
      const paymentId = (await gw.payments.byToken(token))?.upstreamRef;
      assert.ok(paymentId);
      const paid = await fetch(`${bk.url}/_sim/payments/${paymentId}/customer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'success' }),
      });
      assert.deepEqual(await paid.json(), { redirect: null });
      const check = async () => (await postForm(`${url}/check-payment`, { ...credFields(shopA), token })).json;
      assert.equal((await check()).txn_status, null, 'pending until someone asks bKash');

      assertOk(await wmx('reconcile'), /^Asked the upstreams about 1 payments and refunds\.\n$/);
      const r = await check();
      assert.equal(r.txn_status, '1000', JSON.stringify(r));
      assert.equal(r.payment_card, 'BKASH-bKash');
      assertOk(await wmx('reconcile'), /^Nothing was due\.\n$/);
    });

    it('no command printed a secret', () => {
      assert.ok(runs.length > 25, `${runs.length} runs checked`);
      for (const r of runs) assertNoSecret(r);
    });

    // `wmx simulate` needs no database: once is enough.

    /** Starts `wmx simulate WHICH --port 0` and waits for it to print `pattern`. */
    async function simulate(which: 'bkash' | 'sslcommerz', pattern: RegExp) {
      const child = spawn(process.execPath, [...(await cliCommand()), 'simulate', which, '--port', '0'], {
        cwd: ROOT,
        env: cliEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within 20 s:\n${out}${err}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = out.match(pattern);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`wmx simulate ${which} exited ${code}:\n${out}${err}`));
        });
      }).catch((e: unknown) => {
        child.kill('SIGTERM');
        throw e;
      });
      return {
        match,
        output: () => out,
        async stop() {
          child.kill('SIGTERM');
          return exited;
        },
      };
    }

    it('simulate bkash: prints its URL and credentials, grants a token, stops on SIGTERM', once, async () => {
      const sim = await simulate('bkash', /Ctrl-C stops it\./);
      try {
        const out = sim.output();
        const baseUrl = out.match(/^ {2}base URL\s+(http:\/\/127\.0\.0\.1:\d+\/v1\.2\.0-beta)$/m)?.[1];
        assert.ok(baseUrl, out);
        assert.match(out, /^bKash Tokenized Checkout simulator at http:\/\/127\.0\.0\.1:\d+$/m);
        const field = (name: string) => out.match(new RegExp(`^ {2}${name}\\s+(\\S+)$`, 'm'))?.[1] ?? '';
        assert.ok(
          out.includes(`npx wmx connector add bkash-sim --kind bkash --env sandbox --set base_url=${baseUrl} `),
        );
        const res = await fetch(`${baseUrl}/tokenized/checkout/token/grant`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            username: field('username'),
            password: field('password'),
          },
          body: JSON.stringify({ app_key: field('app key'), app_secret: field('app secret') }),
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as Record<string, unknown>;
        assert.equal(body.statusCode, '0000', JSON.stringify(body));
        assert.equal(body.token_type, 'Bearer');
        assert.ok(typeof body.id_token === 'string' && body.id_token.length > 10, JSON.stringify(body));
      } finally {
        assert.equal(await sim.stop(), 0, 'exits 0 on SIGTERM');
      }
    });

    it('simulate sslcommerz: prints its URL and store, opens a session, stops on SIGTERM', once, async () => {
      const sim = await simulate('sslcommerz', /Ctrl-C stops it\./);
      try {
        const out = sim.output();
        const simUrl = out.match(/^SSLCommerz v4 simulator at (http:\/\/127\.0\.0\.1:\d+)$/m)?.[1];
        assert.ok(simUrl, out);
        const storeId = out.match(/^ {2}store id\s+(\S+)$/m)?.[1] ?? '';
        const storePasswd = out.match(/^ {2}store password\s+(\S+)$/m)?.[1] ?? '';
        assert.ok(out.includes(`--set base_url=${simUrl} --set store_id=${storeId} --set store_passwd=${storePasswd}`));
        const res = await fetch(`${simUrl}/gwprocess/v4/api.php`, {
          method: 'POST',
          body: new URLSearchParams({
            store_id: storeId,
            store_passwd: storePasswd,
            total_amount: '150.00',
            currency: 'BDT',
            tran_id: `cli-${hex()}`,
            success_url: 'http://shop.test/ok',
            fail_url: 'http://shop.test/fail',
            cancel_url: 'http://shop.test/cancel',
            cus_name: 'Rahim Uddin',
            cus_email: 'rahim@example.com',
            cus_phone: '01712345678',
            shipping_method: 'NO',
            product_name: 'Book',
            product_category: 'general',
            product_profile: 'general',
          }),
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as Record<string, unknown>;
        assert.equal(body.status, 'SUCCESS', JSON.stringify(body));
        const page = String(body.GatewayPageURL);
        assert.ok(page.startsWith(`${simUrl}/`), page);
        const shown = await fetch(page);
        assert.equal(shown.status, 200);
        assert.match(await shown.text(), /150\.00/);
      } finally {
        assert.equal(await sim.stop(), 0, 'exits 0 on SIGTERM');
      }
    });
  });
}
