/**
 * This process among the gateway instances sharing a database. It beats every `beatMs`; a lease
 * (a webhook delivery being sent) held by an instance whose last beat is older than `deadAfterMs`
 * is taken over by the others, so a `kill -9` delays that delivery by seconds, not by the lease.
 * A process that stops cleanly finishes its leases and removes its row.
 */
import type { InstanceRepo } from '../store/instances.js';

export const HEARTBEAT_MS = 1_000;
export const DEAD_AFTER_MS = 5_000;

export function createInstance(deps: {
  repo: InstanceRepo;
  id: string;
  now: () => number;
  beatMs?: number;
  deadAfterMs?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}) {
  const beatMs = deps.beatMs ?? HEARTBEAT_MS;
  const deadAfterMs = deps.deadAfterMs ?? DEAD_AFTER_MS;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> = Promise.resolve();

  const beat = () => {
    beating = deps.repo
      .beat(deps.id, deps.now())
      .catch((e: unknown) => deps.log?.('instance heartbeat failed', { err: String(e) }));
  };

  return {
    id: deps.id,
    /** The lease owner handed to claims: its id, and before when a holder's beat means it is dead. */
    owner: () => ({ id: deps.id, deadBefore: deps.now() - deadAfterMs }),
    async start(): Promise<void> {
      if (timer) return;
      const t = deps.now();
      await deps.repo.register(deps.id, t);
      await deps.repo.prune(t - 24 * 3_600_000);
      timer = setInterval(beat, beatMs).unref();
    },
    async stop(): Promise<void> {
      if (!timer) return;
      clearInterval(timer);
      timer = undefined;
      await beating;
      await deps.repo.remove(deps.id).catch(() => undefined);
    },
  };
}

export type Instance = ReturnType<typeof createInstance>;
