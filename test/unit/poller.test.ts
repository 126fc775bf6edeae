import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPoller } from '../../src/app/poller.js';

const settle = async (until: () => boolean) => {
  for (let i = 0; i < 500 && !until(); i++) await new Promise((r) => setTimeout(r, 2));
};

describe('createPoller', () => {
  // The interval is an hour: any second pass below comes from "again", wake() or not at all.
  const HOUR = 3_600_000;

  it('goes again at once while a pass reports more work, then waits', async () => {
    let passes = 0;
    const p = createPoller({
      pass: async () => ++passes < 3,
      intervalMs: HOUR,
      onError: (e) => assert.fail(String(e)),
    });
    p.start();
    await settle(() => passes >= 3);
    await new Promise((r) => setTimeout(r, 20));
    await p.stop();
    assert.equal(passes, 3);
  });

  it('wake() starts the next pass now, also when it comes while a pass runs; a failed pass is reported', async () => {
    let passes = 0;
    let release: () => void = () => undefined;
    const errors: unknown[] = [];
    const p = createPoller({
      pass: async () => {
        passes++;
        if (passes === 1) await new Promise<void>((r) => (release = r));
        if (passes === 2) throw new Error('boom');
        return false;
      },
      intervalMs: HOUR,
      onError: (e) => errors.push(e),
    });
    p.start();
    await settle(() => passes === 1);
    p.wake(); // while the first pass runs
    release();
    await settle(() => passes === 2 && errors.length === 1);
    assert.equal((errors[0] as Error).message, 'boom');
    p.wake(); // while waiting out the interval
    await settle(() => passes === 3);
    await p.stop();
    assert.equal(passes, 3);
    p.wake(); // stopped: nothing more
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(passes, 3);
  });
});
