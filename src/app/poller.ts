/**
 * A background loop of passes (the webhook worker, the expiry sweeper): a pass that reports more
 * work is followed at once, any other after `intervalMs`; a failed pass is reported and the loop
 * goes on. `stop()` waits for the pass in flight; until start() again, `stopped()` is true, so a
 * pass (or a drain a caller runs itself) can take no new work once a stop was asked for.
 */
export function createPoller(o: {
  /** One pass; true when more work may be waiting (go again at once). */
  pass: () => Promise<boolean>;
  intervalMs: number;
  onError: (e: unknown) => void;
}) {
  let running = false;
  let stopRequested = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  /** wake() came while a pass ran: the next one starts at once. */
  let woken = false;

  const loop = () => {
    timer = undefined;
    if (!running) return;
    woken = false;
    current = o
      .pass()
      .catch((e: unknown) => {
        o.onError(e);
        return false;
      })
      .then((again) => {
        if (running) timer = setTimeout(loop, again || woken ? 0 : o.intervalMs);
      });
  };

  return {
    start(): void {
      stopRequested = false;
      if (running) return;
      running = true;
      loop();
    },
    /** The next pass now rather than after the interval (after the current one, if one runs). */
    wake(): void {
      if (!running) return;
      if (timer === undefined) {
        woken = true;
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(loop, 0);
    },
    /** True once stop() was called (and start() not called since). */
    stopped: (): boolean => stopRequested,
    async stop(): Promise<void> {
      stopRequested = true;
      running = false;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
