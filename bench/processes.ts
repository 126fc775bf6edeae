import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** A server the benchmark started; its output is kept (bounded) for the error message if it dies. */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  output(): string;
  /** Resolves with the first match of `re` in the output; rejects on exit or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

const OUTPUT_LIMIT = 64 * 1024;
const live = new Set<ChildProcess>();

// Last line of defence against strays: whatever way this process ends, its servers end too.
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function startChild(name: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const proc = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT);
    for (const l of listeners) l();
  };
  proc.stdout!.on('data', append); // stdio is 'pipe', so both streams exist
  proc.stderr!.on('data', append);

  let hasExited = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      hasExited = true;
      live.delete(proc);
      resolve(code ?? signal ?? 'unknown');
      for (const l of listeners) l();
    });
    proc.once('error', (e) => {
      hasExited = true;
      live.delete(proc);
      out += `\n[spawn error] ${e.message}`;
      resolve('spawn-error');
      for (const l of listeners) l();
    });
  });

  return {
    name,
    proc,
    exited,
    output: () => out,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) return done(() => resolve(m));
          if (hasExited) return done(() => reject(new Error(`${name} exited before it was ready:\n${tail(out)}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${tail(out)}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** SIGTERM (which lets a --cpu-prof child write its profile), then SIGKILL if it lingers. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    child.exited.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

/** True while the child is running. */
export const isRunning = (child: Child): boolean => child.proc.exitCode === null && child.proc.signalCode === null;

/** The last lines of a child's output, with the sandbox credentials the gateway prints masked. */
export function tail(text: string, lines = 30): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => l.replace(/^(\s*(?:access_app_key|password|signing_secret|api_key)\s+)\S+/, '$1[redacted]'))
    .join('\n');
}

/** A TCP port that was free a moment ago (the gateway takes PORT from its environment). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo; // a TCP listener, so an AddressInfo
      s.close(() => resolve(port));
    });
  });
}
