// Who used the CPU during a measurement (Linux /proc; elsewhere every figure is null):
// the server under test, its database server (PostgreSQL, when local), the load generator (this
// process) and everything else on the machine.
// A server near 1.0 core is saturated (its single event loop is the limit); a load generator near
// 1.0 core with the server below it means the client, not the server, set the pace; "other" above
// a few tenths of a core means the figures were disturbed by another workload.
import fs from 'node:fs';
import os from 'node:os';

export interface CpuShare {
  /** Cores used on average by the server process under test (all of them, when several share the load). */
  server: number | null;
  /** With several server processes: each one's share, in the order given (absent with one). */
  servers?: (number | null)[];
  /** Cores used by the database server's processes (PostgreSQL on this machine; null for SQLite). */
  database: number | null;
  /** Cores used by this process (autocannon). */
  client: number | null;
  /** Cores used by everything else (other processes, the kernel on their behalf, hypervisor steal). */
  other: number | null;
}

/** Lists the database server's processes (e.g. PostgreSQL backends of the scratch database). */
export type PidSource = () => Promise<number[]>;

/** [busy, total] jiffies over all CPUs, from the first line of /proc/stat. */
function systemJiffies(): [number, number] | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!; // the aggregate "cpu" line comes first
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return [total - idle, total];
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (all its threads), in the same clock ticks as /proc/stat. */
function processJiffies(pid: number | 'self'): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
    return Number(rest[11]) + Number(rest[12]); // fields 14 and 15: utime, stime
  } catch {
    return undefined;
  }
}

/**
 * Starts a measurement window; calling the result ends it and returns the shares. Database
 * processes are listed at both ends, so one started during the window (a new pool connection)
 * counts from zero.
 */
export async function cpuWindow(
  serverPid: number | number[] | undefined,
  dbPids?: PidSource,
): Promise<() => Promise<CpuShare>> {
  const cores = os.availableParallelism();
  const serverPids = serverPid === undefined ? [] : Array.isArray(serverPid) ? serverPid : [serverPid];
  const db0 = new Map<number, number>();
  for (const pid of dbPids ? await dbPids() : []) db0.set(pid, processJiffies(pid) ?? 0);
  const sys0 = systemJiffies();
  const srvs0 = serverPids.map((pid) => processJiffies(pid));
  const me0 = processJiffies('self');
  return async () => {
    const sys1 = systemJiffies();
    const srvs1 = serverPids.map((pid) => processJiffies(pid));
    const me1 = processJiffies('self');
    let dbJiffies: number | undefined;
    if (dbPids) {
      dbJiffies = 0;
      for (const pid of await dbPids()) {
        const j = processJiffies(pid);
        if (j !== undefined) dbJiffies += j - (db0.get(pid) ?? 0);
      }
    }
    const several = Array.isArray(serverPid);
    if (!sys0 || !sys1 || sys1[1] <= sys0[1]) {
      const none: CpuShare = { server: null, database: null, client: null, other: null };
      return several ? { ...none, servers: serverPids.map(() => null) } : none;
    }
    const perCore = (sys1[1] - sys0[1]) / cores; // jiffies one core provides in the window
    const each = serverPids.map((_, i) => {
      const a = srvs0[i];
      const b = srvs1[i];
      return a !== undefined && b !== undefined ? (b - a) / perCore : null;
    });
    const server = each.length === 0 || each.includes(null) ? null : each.reduce<number>((t, c) => t + (c ?? 0), 0);
    const database = dbJiffies === undefined ? null : dbJiffies / perCore;
    const client = me0 !== undefined && me1 !== undefined ? (me1 - me0) / perCore : null;
    const busy = (sys1[0] - sys0[0]) / perCore;
    const other = client !== null ? Math.max(0, busy - (server ?? 0) - (database ?? 0) - client) : null;
    return several ? { server, database, client, other, servers: each } : { server, database, client, other };
  };
}

/**
 * Waits until other processes have used less than `threshold` cores for `quietS` consecutive
 * seconds, until `maxS` have passed or until `stop()` says so. Returns the seconds waited, or -1
 * if it gave up.
 */
export async function waitForQuiet(
  maxS: number,
  stop: () => boolean = () => false,
  threshold = 0.15,
  quietS = 3,
): Promise<number> {
  const start = performance.now();
  let quiet = 0;
  while ((performance.now() - start) / 1000 < maxS && !stop()) {
    const end = await cpuWindow(undefined);
    await new Promise((r) => setTimeout(r, 1000));
    const { other } = await end();
    if (other === null) return 0; // no /proc: nothing to wait for
    quiet = other < threshold ? quiet + 1 : 0;
    if (quiet >= quietS) return Math.round((performance.now() - start) / 1000);
  }
  return -1;
}
