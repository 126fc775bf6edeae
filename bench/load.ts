import autocannon, { type Instance, type RequestSpec, type Result } from 'autocannon';
import { cpuWindow, type CpuShare, type PidSource } from './cpu-monitor.js';
import { FORM_HEADERS, credentialFields, initBodyFactory, type DemoMerchant } from './servers.js';

/** One endpoint under load: how to build each request and how to tell a good answer. */
export interface Target {
  name: string;
  /**
   * Base URL of the server that answers it; or of several (instances of one gateway), which
   * autocannon gives the connections to in turn (connection i goes to url[i % n]).
   */
  url: string | string[];
  /** That server's process id (or those servers' ids), to measure its CPU use. */
  pid?: number | number[] | undefined;
  /** Its database server's processes (PostgreSQL), to measure theirs. */
  dbPids?: PidSource | undefined;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** A fresh body for every request (omit for a bodiless GET). */
  nextBody?: () => string;
  /**
   * Or a fixed set of bodies that every connection cycles through. autocannon builds each of these
   * requests once, as it builds a bodiless GET once, so the load generator's own cost per request is
   * the baseline's; a `nextBody` request is rebuilt every time (needed only where every body must
   * differ, as for init).
   */
  bodies?: string[];
  /** What a successful answer contains, for the report. */
  expects: string;
  ok(status: number, body: string): boolean;
}

export interface Measurement {
  name: string;
  /** Mean of autocannon's per-second samples. */
  reqPerSec: number;
  /** Completed requests ÷ wall time; a cross-check on the mean. */
  reqPerSecOverall: number;
  requests: number;
  durationS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 2xx answers whose body was not the success the endpoint owes (e.g. a 200 carrying statusCode 2001). */
  badBodies: number;
  /** Up to five failed answers, as `status body`. */
  failures: string[];
  /** Cores used by the server, the load generator and the rest of the machine during the run. */
  cpu: CpuShare;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
}

let current: Instance | undefined;

/** Stops the run in progress (Ctrl-C); its promise then resolves with what was measured so far. */
export function stopCurrentLoad(): void {
  current?.stop();
}

/** Drives one target for a fixed time with autocannon, checking every response body. */
export async function measure(t: Target, o: LoadOptions): Promise<Measurement> {
  let badBodies = 0;
  const failures: string[] = [];
  const request: RequestSpec = {
    method: t.method,
    path: t.path,
    ...(t.headers ? { headers: t.headers } : {}),
    onResponse(status, body) {
      if (t.ok(status, body)) return;
      if (status >= 200 && status < 300) badBodies++;
      if (failures.length < 5) failures.push(`${status} ${body.slice(0, 300)}`);
    },
  };
  const nextBody = t.nextBody;
  if (nextBody) {
    request.setupRequest = (req) => {
      req.body = nextBody();
      return req;
    };
  }
  const requests = t.bodies ? t.bodies.map((body) => ({ ...request, body })) : [request];
  const endCpu = await cpuWindow(t.pid, t.dbPids);
  const r = await new Promise<Result>((resolve, reject) => {
    current = autocannon(
      { url: t.url, connections: o.connections, duration: o.durationS, timeout: 10, requests },
      (err: Error | null, result: Result) => {
        current = undefined;
        if (err) reject(err);
        else resolve(result);
      },
    );
  });
  return { ...summarise(t.name, r, badBodies, failures), cpu: await endCpu() };
}

function summarise(name: string, r: Result, badBodies: number, failures: string[]): Omit<Measurement, 'cpu'> {
  const completed = r.requests.total;
  return {
    name,
    reqPerSec: r.requests.average,
    reqPerSecOverall: r.duration > 0 ? completed / r.duration : 0,
    requests: completed,
    durationS: r.duration,
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: r.latency.mean,
    },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    badBodies,
    failures,
  };
}

/** True when anything in the measurement says the server misbehaved. */
export const failed = (m: Measurement): boolean => m.errors > 0 || m.non2xx > 0 || m.badBodies > 0;

export function helloTarget(url: string, pid?: number): Target {
  return {
    name: 'hello-world',
    url,
    pid,
    method: 'GET',
    path: '/',
    expects: '{"hello":"world"}',
    ok: (s, b) => s === 200 && b === '{"hello":"world"}',
  };
}

/** A check-payment request body: the merchant's credentials and a token, urlencoded. */
const checkPaymentBody = (merchant: DemoMerchant, token: string): string =>
  `${new URLSearchParams(credentialFields(merchant)).toString()}&token=${token}`;

/**
 * Bare Fastify's floor for a POST endpoint (bench/hello-server.mjs): the check-payment body in,
 * a fixed record-sized JSON out, nothing in between.
 */
export function postFloorTarget(url: string, merchant: DemoMerchant, token: string, pid?: number): Target {
  return {
    name: 'fastify POST floor',
    url,
    pid,
    method: 'POST',
    path: '/form',
    headers: FORM_HEADERS,
    bodies: [checkPaymentBody(merchant, token)],
    expects: '"statusCode":1008',
    ok: (s, b) => s === 200 && b.endsWith('"statusCode":1008}'),
  };
}

/**
 * The same floor for init (bench/hello-server.mjs): an init body built per request, exactly as the
 * init-payment-process target builds them, in; a fixed init success out. Besides Fastify's cost of
 * reading a 1 KB form it shows the load generator's own cost of a new body per request.
 */
export function initFloorTarget(url: string, merchant: DemoMerchant, pid?: number): Target {
  return {
    name: 'fastify init floor',
    url,
    pid,
    method: 'POST',
    path: '/init-form',
    headers: FORM_HEADERS,
    nextBody: initBodyFactory(merchant),
    expects: '"statusCode":"1000"',
    ok: (s, b) => s === 200 && b.startsWith('{"statusCode":"1000"'),
  };
}

export function gatewayTargets(
  url: string | string[],
  merchant: DemoMerchant,
  tokens: string[],
  pid?: number | number[],
  dbPids?: PidSource,
): Target[] {
  if (tokens.length === 0) throw new Error('the token pool is empty');
  return [
    {
      name: 'check-server',
      url,
      pid,
      dbPids,
      method: 'GET',
      path: '/check-server',
      expects: '"selectedServer":true',
      ok: (s, b) => s === 200 && b.includes('"selectedServer":true'),
    },
    {
      name: 'init-payment-process',
      url,
      pid,
      dbPids,
      method: 'POST',
      path: '/init-payment-process',
      headers: FORM_HEADERS,
      nextBody: initBodyFactory(merchant),
      expects: '"statusCode":"1000" and a token',
      ok: (s, b) => s === 200 && b.includes('"statusCode":"1000"') && b.includes('"token":"'),
    },
    {
      name: 'check-payment',
      url,
      pid,
      dbPids,
      method: 'POST',
      path: '/check-payment',
      headers: FORM_HEADERS,
      bodies: tokens.map((t) => checkPaymentBody(merchant, t)),
      // A fresh payment is pending: txn_status null, so statusCode is the number 1008.
      expects: '"statusCode":1008',
      ok: (s, b) => s === 200 && b.includes('"statusCode":1008'),
    },
  ];
}
