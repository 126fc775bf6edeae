/**
 * Readiness: may this process take traffic? The database answers within a short time, the schema
 * is the one this code was written for, and the process is not draining for shutdown. Liveness
 * (/healthz) asks nothing of the database: a load balancer must not restart every instance because
 * the shared database hiccuped.
 */
import type { OpsStats } from '../store/ops-stats.js';

export type DatabaseCheck = 'ok' | 'unreachable' | 'timeout';
/** pending: the database lacks migrations this code expects; ahead: a newer release migrated it. */
export type MigrationsCheck = 'ok' | 'pending' | 'ahead' | 'unknown';
export type ShutdownCheck = 'ok' | 'draining';

export interface ReadinessReport {
  ready: boolean;
  checks: { database: DatabaseCheck; migrations: MigrationsCheck; shutdown: ShutdownCheck };
}

export interface ReadinessDeps {
  stats: Pick<OpsStats, 'ping' | 'newestAppliedMigration'>;
  /** The newest migration the code knows (latestMigrationName()). */
  latestMigration: string;
  /** How long the database may take to answer (default 1 s). */
  timeoutMs?: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

type Probe = { database: 'ok'; newest: string | null | undefined } | { database: 'unreachable' };

export function createReadiness(deps: ReadinessDeps) {
  const timeoutMs = deps.timeoutMs ?? 1_000;
  // Migrations only move forward and the code cannot change under a running process: once the
  // database holds the code's newest migration, later probes need only the trivial query.
  let migrationsOk = false;
  // Probes arriving while one is out share it, so a slow database never gets a pile of them.
  let inflight: Promise<Probe> | undefined;

  async function runProbe(): Promise<Probe> {
    try {
      if (migrationsOk) {
        await deps.stats.ping();
        return { database: 'ok', newest: undefined };
      }
      return { database: 'ok', newest: await deps.stats.newestAppliedMigration() };
    } catch (e) {
      deps.log?.('readiness: database unreachable', { err: String(e) });
      return { database: 'unreachable' };
    }
  }

  function probe(): Promise<Probe> {
    if (!inflight) {
      const p = runProbe(); // never rejects
      inflight = p;
      void p.finally(() => {
        if (inflight === p) inflight = undefined;
      });
    }
    return inflight;
  }

  async function check(shuttingDown: boolean): Promise<ReadinessReport> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const p = await Promise.race([probe(), timedOut]);
    clearTimeout(timer);

    let database: DatabaseCheck;
    let migrations: MigrationsCheck = 'unknown';
    if (p === 'timeout') database = 'timeout';
    else if (p.database === 'unreachable') database = 'unreachable';
    else {
      database = 'ok';
      if (p.newest !== undefined) {
        if (p.newest === deps.latestMigration) migrationsOk = true;
        else migrations = p.newest === null || p.newest < deps.latestMigration ? 'pending' : 'ahead';
      }
    }
    if (migrationsOk) migrations = 'ok';
    const shutdown: ShutdownCheck = shuttingDown ? 'draining' : 'ok';
    return {
      ready: database === 'ok' && migrations === 'ok' && shutdown === 'ok',
      checks: { database, migrations, shutdown },
    };
  }

  return { check };
}

export type Readiness = ReturnType<typeof createReadiness>;
