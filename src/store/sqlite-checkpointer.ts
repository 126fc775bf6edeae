import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/**
 * WAL checkpoints on a worker thread, off the thread that serves requests.
 *
 * By default SQLite checkpoints inside whichever COMMIT pushes the WAL past 1000 pages: that commit
 * copies the WAL into the database file and fsyncs both while every request waits (about 40 % of
 * an init's cost under load). Here the serving connection never checkpoints; a second connection on
 * a worker thread runs PASSIVE checkpoints, which never block writers or readers. Should the worker
 * die, the serving connection goes back to checkpointing itself, so the WAL cannot grow unchecked.
 */
export interface Checkpointer {
  /** Stops the worker after one last checkpoint. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** Pause between checkpoints while the WAL has nothing left to copy (ms). */
  idleMs?: number;
}

/** WAL size (pages, ~200 MB) past which the worker waits for writers and readers to let it reset the WAL. */
export const RESTART_PAGES = 50_000;

/**
 * The serving connection's journal_size_limit while the worker runs: room for a WAL of
 * RESTART_PAGES frames. Under sustained writes the WAL grows to that size before it is reset; a
 * smaller limit cut it back at every reset, so the next cycle wrote every frame into newly
 * allocated file blocks (ext4 block allocation was ~11 % of the gateway's CPU in an init benchmark;
 * inits went from 13.6k to 15.7k per second once the file was kept). Kept, the file is overwritten
 * in place. Under light load the WAL resets long before this and stays small.
 */
export const walSizeLimit = (pageSize: number): number => Math.ceil(RESTART_PAGES * 1.1) * (pageSize + 24);

/** journal_size_limit without the worker (db.ts): a burst's WAL is cut back to this when it resets. */
export const DEFAULT_WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/** The SQLite default, restored on the serving connection when the worker is gone. */
const DEFAULT_AUTOCHECKPOINT = 1000;

// Plain CommonJS run with `eval`: the same text works from dist/ and under the test loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 2000');
db.pragma('synchronous = FULL');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
let timer;
let stopped = false;
function tick() {
  let wait = workerData.idleMs;
  try {
    const r = passive.get();
    // Frames were added while copying: go again soon. A WAL that never gets a quiet moment to
    // reset is reset by force once it is large (RESTART waits for the writer, briefly).
    if (r.log > workerData.restartPages) restart.get();
    else if (r.checkpointed < r.log) wait = 1;
  } catch {
    // SQLITE_BUSY and the like: the next tick tries again.
  }
  if (!stopped) timer = setTimeout(tick, wait);
}
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  stopped = true;
  clearTimeout(timer);
  try { passive.get(); } catch {}
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
tick();
`;

export function startCheckpointer(
  sqlite: SqliteDatabase.Database,
  file: string,
  opts: CheckpointerOptions = {},
): Promise<Checkpointer> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file, idleMs: opts.idleMs ?? 50, restartPages: RESTART_PAGES },
  });
  let exited = false;
  const selfCheckpoint = () => {
    if (!sqlite.open) return;
    sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
    sqlite.pragma(`journal_size_limit = ${DEFAULT_WAL_SIZE_LIMIT}`);
  };
  worker.on('error', () => undefined); // 'exit' follows
  worker.on('exit', () => {
    exited = true;
    selfCheckpoint();
  });
  return new Promise((resolve) => {
    worker.once('message', (m) => {
      if (m !== 'ready') return;
      // Running, it must not keep the process alive; starting and stopping, it must (both are awaited).
      worker.unref();
      sqlite.pragma('wal_autocheckpoint = 0');
      sqlite.pragma(`journal_size_limit = ${walSizeLimit(sqlite.pragma('page_size', { simple: true }) as number)}`);
      resolve({
        stop: () => {
          selfCheckpoint();
          if (exited) return Promise.resolve();
          worker.ref();
          return new Promise<void>((done) => {
            worker.once('exit', () => done());
            worker.postMessage('stop');
          });
        },
      });
    });
    // A worker that cannot start leaves the serving connection checkpointing as SQLite does by default.
    worker.once('error', () => resolve({ stop: async () => undefined }));
  });
}
