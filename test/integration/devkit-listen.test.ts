/**
 * `wmx listen --forward-to URL` as a real CLI process against a real gateway process (sandbox mode,
 * its demo merchant's key found in the data folder): every event of the merchant reaches the
 * receiver once, byte for byte, with a signature the merchant's signing secret verifies, including
 * events made while the CLI was frozen (a laptop asleep) and across the gateway SIGKILLed and
 * started again mid-stream. `wmx trigger` makes the events.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dialects } from '../support/harness.js';
import { childSetup, sleep } from '../support/child-gateway.js';
import { cliCommand, inheritedEnv, ROOT, runWmx } from '../support/cli.js';
import { startWebhookSink } from '../support/webhook-sink.js';

interface Demo {
  api_key: string;
  signing_secret: string;
}

for (const dialect of dialects()) {
  describe(`wmx listen and wmx trigger (${dialect})`, { timeout: 120_000 }, () => {
    let g: Awaited<ReturnType<typeof childSetup>>;
    let sink: Awaited<ReturnType<typeof startWebhookSink>>;
    let demo: Demo;
    let listen: ChildProcess | undefined;
    let out = '';
    let err = '';
    let env: NodeJS.ProcessEnv;

    before(async () => {
      g = await childSetup(dialect);
      await g.start();
      demo = JSON.parse(fs.readFileSync(path.join(g.dir, 'sandbox-merchant.json'), 'utf8')) as Demo;
      sink = await startWebhookSink();
      // As a developer would run them: no key on the command line (the demo merchant's file).
      env = { ...inheritedEnv(), WMX_DATA_DIR: g.dir };
    });
    after(async () => {
      listen?.kill('SIGKILL');
      await sink.close();
      await g.cleanup();
    });

    /** Resolves once `check` holds, polling every 50 ms; fails with `what` after `ms`. */
    async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) assert.fail(`${what}\nlisten stdout:\n${out}\nlisten stderr:\n${err}`);
        await sleep(50);
      }
    }
    const trigger = async (event: string) => {
      const r = await runWmx(['trigger', event, '--gateway', g.url, '--json'], env, 30_000);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      return (JSON.parse(r.stdout) as { event_id: string }).event_id;
    };
    const received = (id: string) => (sink.byId.get(id) ?? []).length;
    const printed = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"event_id"'))
        .map((l) => JSON.parse(l) as { event_id: string; status: number | null; type: string });

    it('forwards every event once, signed, across a frozen CLI and a gateway killed and restarted', async () => {
      const argv = await cliCommand();
      listen = spawn(process.execPath, [...argv, 'listen', '--forward-to', sink.url, '--gateway', g.url, '--json'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      listen.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
      listen.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
      await until('listen is ready', () => out.includes('"ready":true'));

      const ids: string[] = [];
      ids.push(await trigger('payment.succeeded'));
      await until('the first event arrives', () => received(ids[0]!) === 1);

      // The laptop sleeps: the CLI is frozen while events happen; woken, it catches up.
      listen.kill('SIGSTOP');
      ids.push(await trigger('refund.succeeded')); // its payment.succeeded too
      ids.push(await trigger('payment.failed'));
      listen.kill('SIGCONT');
      await until('the events made while frozen arrive', () => ids.every((id) => received(id) >= 1));

      // An event the CLI has not fetched yet, then the gateway dies hard and comes back.
      listen.kill('SIGSTOP');
      ids.push(await trigger('payment.cancelled'));
      await g.kill();
      listen.kill('SIGCONT');
      await until('listen notices the gateway is gone', () => err.includes('lost the gateway'));
      await g.start();
      ids.push(await trigger('payment.expired'));
      ids.push(await trigger('refund.failed'));
      await until('every event arrives after the restart', () => ids.every((id) => received(id) >= 1));
      await until('listen says it reconnected', () => err.includes('reconnected'));

      // Every event of the merchant, as the gateway lists them, reached the receiver exactly once.
      const res = await fetch(`${g.url}/api/v1/events?limit=100`, {
        headers: { authorization: `Bearer ${demo.api_key}` },
      });
      const all = ((await res.json()) as { data: { id: string; type: string }[] }).data;
      assert.equal(all.length, 8, JSON.stringify(all.map((e) => e.type)));
      for (const id of ids)
        assert.ok(
          all.some((e) => e.id === id),
          `${id} is one of the merchant's events`,
        );
      await until('each event arrives', () => all.every((e) => received(e.id) >= 1));
      for (const e of all) assert.equal(received(e.id), 1, `${e.type} ${e.id} arrived once`);
      assert.equal(sink.total(), all.length);

      // Byte for byte what a webhook endpoint gets, with the real headers and a valid signature.
      for (const r of sink.requests) {
        const id = (JSON.parse(r.body) as { id: string }).id;
        const ev = await fetch(`${g.url}/api/v1/events/${id}`, {
          headers: { authorization: `Bearer ${demo.api_key}` },
        });
        assert.deepEqual(JSON.parse(r.body), await ev.json());
        assert.equal(r.headers['wmx-event-id'], id);
        assert.equal(r.headers['content-type'], 'application/json');
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['wmx-signature']));
        assert.ok(m, String(r.headers['wmx-signature']));
        const expected = crypto.createHmac('sha256', demo.signing_secret).update(`${m[1]}.${r.body}`).digest('hex');
        assert.equal(m[2], expected, 'signed with the merchant’s signing secret over the raw body');
        assert.ok(Math.abs(Date.now() / 1000 - Number(m[1])) < 300);
      }

      // One printed line per event, with the receiver's status.
      const lines = printed();
      assert.equal(lines.length, all.length, out);
      assert.ok(lines.every((l) => l.status === 200));
      assert.deepEqual(new Set(lines.map((l) => l.event_id)), new Set(all.map((e) => e.id)));

      // Ctrl-C ends the session: the gateway stops queueing for it.
      const exited = new Promise<number | null>((resolve) => listen?.once('exit', (code) => resolve(code)));
      listen.kill('SIGINT');
      assert.equal(await exited, 0);
      listen = undefined;
    });

    it('refuses a bad --forward-to or key with a clear message and a non-zero exit', async () => {
      const noUrl = await runWmx(['listen', '--gateway', g.url], env, 15_000);
      assert.equal(noUrl.code, 2);
      assert.match(noUrl.stderr, /--forward-to URL is required/);
      const badKey = await runWmx(
        ['listen', '--forward-to', sink.url, '--gateway', g.url, '--api-key', 'sk_nope'],
        env,
        15_000,
      );
      assert.equal(badKey.code, 1);
      assert.match(badKey.stderr, /refused the API key/);
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'wmx-nokey-'));
      const noKey = await runWmx(
        ['listen', '--forward-to', sink.url, '--gateway', g.url],
        { ...inheritedEnv(), WMX_DATA_DIR: empty },
        15_000,
      );
      fs.rmSync(empty, { recursive: true, force: true });
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /No API key/);
    });
  });
}
