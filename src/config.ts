import path from 'node:path';
import { parseRate, type RateSpec } from './app/rate-limit.js';

export type GatewayMode = 'sandbox' | 'live';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly databaseUrl: string;
  readonly mode: GatewayMode;
  /** Server secret; undefined in sandbox mode until the data folder provides one (see main.ts). */
  readonly secret: string | undefined;
  readonly timezone: string;
  readonly trustProxy: boolean | string | number;
  readonly dataDir: string;
  readonly paymentTtlMs: number;
  /** How long the gateway waits for a bank or wallet before declining with "Bank timeout". */
  readonly bankTimeoutMs: number;
  readonly logLevel: string;
  /** Abuse limits (null = off): per merchant on init and check-payment, per client address on
   * failed legacy authentications and on wrong OTP / PIN / password tries on the payment page. */
  readonly rateInit: RateSpec | null;
  readonly rateCheck: RateSpec | null;
  readonly rateAuthFail: RateSpec | null;
  readonly ratePayTries: RateSpec | null;
  /** Redis for the shared rate limits (else PostgreSQL holds them; SQLite keeps them in process). */
  readonly redisUrl: string | undefined;
  /** Waits between webhook attempts; after the last one fails the delivery is given up. */
  readonly webhookRetryScheduleMs: readonly number[];
  /** How long one webhook POST may take before it counts as a network error. */
  readonly webhookTimeoutMs: number;
  /** Waits between inquiries of an upstream whose answer is not final yet; the last one repeats. */
  readonly reconcileScheduleMs: readonly number[];
  /** When a payment whose customer was sent to an upstream's page is first asked about. */
  readonly reconcileRedirectCheckMs: number;
  /** Bearer token that opens /metrics on the public listener (absent: /metrics is not served there). */
  readonly metricsToken: string | undefined;
  /** A second, plain listener serving only /metrics, /healthz and /readyz (no token). */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
  /** How long a SIGTERM'd process may drain (requests in flight, workers) before it exits 1. */
  readonly shutdownTimeoutMs: number;
}

export const DEFAULT_RECONCILE_SCHEDULE = '5s,15s,30s,1m,2m,5m,10m,30m,1h';

/** About 3.1 days of retries in all: receivers get at least three days to come back. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '10s,30s,1m,5m,15m,30m,1h,2h,4h,8h,12h,24h,24h';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the environment once and reports every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const problems: string[] = [];

  const portText = env.PORT ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) problems.push(`PORT must be an integer 0-65535, got "${portText}"`);

  const host = env.WMX_HOST ?? '127.0.0.1';
  if (host.trim() === '') problems.push('WMX_HOST must not be empty');

  const publicUrlText = (env.WMX_PUBLIC_URL ?? `http://127.0.0.1:${portText}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrlText);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (u.search || u.hash) throw new Error('query');
  } catch {
    problems.push(`WMX_PUBLIC_URL must be an absolute http(s) URL without query, got "${publicUrlText}"`);
  }

  const databaseUrl = env.WMX_DATABASE_URL ?? 'sqlite:./data/wmx.db';
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(`WMX_DATABASE_URL must be sqlite:<path> or postgres://…, got "${databaseUrl}"`);
  }

  const modeText = env.WMX_MODE ?? 'sandbox';
  if (modeText !== 'sandbox' && modeText !== 'live') {
    problems.push(`WMX_MODE must be "sandbox" or "live", got "${modeText}"`);
  }
  const mode: GatewayMode = modeText === 'live' ? 'live' : 'sandbox';

  const secret = env.WMX_SECRET;
  if (secret !== undefined && secret.length < 32) problems.push('WMX_SECRET must be at least 32 characters');
  if (mode === 'live' && secret === undefined) problems.push('WMX_SECRET is required in live mode');

  const timezone = env.WMX_TIMEZONE ?? 'Asia/Dhaka';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: timezone });
  } catch {
    problems.push(`WMX_TIMEZONE is not a known IANA time zone: "${timezone}"`);
  }

  const trustProxy = parseTrustProxy(env.WMX_TRUST_PROXY, problems);

  const ttlText = env.WMX_PAYMENT_TTL ?? '30m';
  const paymentTtlMs = parseDuration(ttlText);
  if (paymentTtlMs === undefined || paymentTtlMs <= 0) {
    problems.push(`WMX_PAYMENT_TTL must be a duration such as 30m, 900s or 2h, got "${ttlText}"`);
  }

  const bankTimeoutText = env.WMX_BANK_TIMEOUT ?? '10s';
  const bankTimeoutMs = parseDuration(bankTimeoutText);
  if (bankTimeoutMs === undefined || bankTimeoutMs <= 0) {
    problems.push(`WMX_BANK_TIMEOUT must be a duration such as 10s or 500ms, got "${bankTimeoutText}"`);
  }

  const scheduleText = env.WMX_WEBHOOK_RETRY_SCHEDULE ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  const webhookRetryScheduleMs = scheduleText.split(',').map((s) => parseDuration(s));
  if (webhookRetryScheduleMs.some((ms) => ms === undefined || ms <= 0)) {
    problems.push(
      `WMX_WEBHOOK_RETRY_SCHEDULE must be comma-separated durations such as 10s,1m,1h, got "${scheduleText}"`,
    );
  }

  const webhookTimeoutText = env.WMX_WEBHOOK_TIMEOUT ?? '10s';
  const webhookTimeoutMs = parseDuration(webhookTimeoutText);
  if (webhookTimeoutMs === undefined || webhookTimeoutMs <= 0) {
    problems.push(`WMX_WEBHOOK_TIMEOUT must be a duration such as 10s or 500ms, got "${webhookTimeoutText}"`);
  }

  const durations = (name: string, fallback: string): number[] => {
    const text = env[name] ?? fallback;
    const list = text.split(',').map((x) => parseDuration(x));
    if (list.length === 0 || list.some((ms) => ms === undefined || ms <= 0)) {
      problems.push(`${name} must be comma-separated durations such as 5s,1m,1h, got "${text}"`);
    }
    return list.map((ms) => ms ?? 1000);
  };
  const reconcileScheduleMs = durations('WMX_RECONCILE_SCHEDULE', DEFAULT_RECONCILE_SCHEDULE);
  const reconcileRedirectCheckMs = durations('WMX_RECONCILE_REDIRECT_CHECK', '2m')[0] ?? 120_000;

  // Defaults sit far above what one honest merchant sends, so only floods and guessing meet them.
  const rate = (name: string, fallback: string): RateSpec | null => {
    const text = env[name] ?? fallback;
    const r = parseRate(text);
    if (r === undefined) problems.push(`${name} must be "off" or a rate such as 50/s,200 or 20/m, got "${text}"`);
    return r ?? null;
  };
  // Per-merchant throughput limits protect a live service from one merchant's runaway loop. A
  // sandbox is a development instance, load-tested and run through conformance suites that make
  // hundreds of payments for one merchant in a burst: off there unless set.
  const rateInit = rate('WMX_RATE_INIT', mode === 'sandbox' ? 'off' : '50/s,200');
  const rateCheck = rate('WMX_RATE_CHECK', mode === 'sandbox' ? 'off' : '100/s,400');
  // A sandbox is where integrations are developed and conformance suites run, sending wrong
  // credentials on purpose: it allows more of them (each still costs a password hash).
  const rateAuthFail = rate('WMX_RATE_AUTH_FAIL', mode === 'sandbox' ? '120/m,120' : '20/m,20');
  const ratePayTries = rate('WMX_RATE_PAY_TRIES', '10/m,10');
  const redisUrl = env.WMX_REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl))
    problems.push(`WMX_REDIS_URL must be redis://host:port[/db] or rediss://…, got "${redisUrl}"`);

  const metricsToken = env.WMX_METRICS_TOKEN === '' ? undefined : env.WMX_METRICS_TOKEN;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) {
    problems.push('WMX_METRICS_TOKEN must be at least 16 printable characters without spaces');
  }
  const metricsListen = parseListen(env.WMX_METRICS_LISTEN, problems);

  const shutdownTimeoutText = env.WMX_SHUTDOWN_TIMEOUT ?? '30s';
  const shutdownTimeoutMs = parseDuration(shutdownTimeoutText);
  if (shutdownTimeoutMs === undefined || shutdownTimeoutMs <= 0) {
    problems.push(`WMX_SHUTDOWN_TIMEOUT must be a duration such as 30s or 1m, got "${shutdownTimeoutText}"`);
  }

  const dbPath = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : undefined;
  const dataDir = path.resolve(env.WMX_DATA_DIR ?? (dbPath ? path.dirname(dbPath) : './data'));

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    publicUrl: publicUrlText,
    databaseUrl,
    mode,
    secret,
    timezone,
    trustProxy,
    dataDir,
    paymentTtlMs: paymentTtlMs ?? 30 * 60_000,
    bankTimeoutMs: bankTimeoutMs ?? 10_000,
    logLevel: env.WMX_LOG_LEVEL ?? 'info',
    rateInit,
    rateCheck,
    rateAuthFail,
    ratePayTries,
    redisUrl,
    webhookRetryScheduleMs: Object.freeze(webhookRetryScheduleMs.map((ms) => ms ?? 0)),
    webhookTimeoutMs: webhookTimeoutMs ?? 10_000,
    reconcileScheduleMs: Object.freeze(reconcileScheduleMs),
    reconcileRedirectCheckMs,
    metricsToken,
    metricsListen,
    shutdownTimeoutMs: shutdownTimeoutMs ?? 30_000,
  });
}

/** `host:port` or `[v6]:port`; the metrics listener's address. */
function parseListen(text: string | undefined, problems: string[]): { host: string; port: number } | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    problems.push(`WMX_METRICS_LISTEN must be host:port such as 127.0.0.1:9464, got "${text}"`);
    return undefined;
  }
  return Object.freeze({ host: m[1] ?? m[2] ?? '', port });
}

function parseTrustProxy(text: string | undefined, problems: string[]): boolean | string | number {
  if (text === undefined || text === '' || text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  // A comma-separated list of addresses or CIDRs, as Fastify's trustProxy accepts.
  if (/^[0-9a-fA-F:.,/\s]+$/.test(text)) return text;
  problems.push(`WMX_TRUST_PROXY must be true, false, a hop count, or addresses/CIDRs, got "${text}"`);
  return false;
}

/** "30m", "900s", "2h", "1500ms", or bare milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
  return n * factor;
}
