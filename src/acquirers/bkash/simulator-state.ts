/**
 * The bKash simulator's memory: tokens, payments, refunds, call counts, and the customer's side of a
 * payment (shared by the hosted page and the control API). Contract details cite the research notes
 * (/work/notes/bkash-spec.md, "§n") and the sources they name.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { randomString } from '../../domain/ids.js';

export interface BkashSimulatorCredentials {
  username: string;
  password: string;
  appKey: string;
  appSecret: string;
}

/** Invented values shaped like a sandbox merchant's; never real ones. */
export const BKASH_SIMULATOR_DEFAULT_CREDENTIALS: BkashSimulatorCredentials = Object.freeze({
  username: 'sandboxTokenizedUser01',
  password: 'simulatorPass#4711',
  appKey: '5sim0appkey7Tq3Lw9Xc2Vb8Nr4Mz6',
  appSecret: 'sim1appsecret8Kd2Hf5Jg7Lp3Qs9Wv0Yx4Zc6',
});

export interface BkashSimulatorOptions {
  /** Absolute URL where the plugin is reachable from browsers AND the gateway, without trailing slash, e.g. 'http://127.0.0.1:4010' or 'http://127.0.0.1:8080/simulators/bkash'. Used to build bkashURL. */
  publicUrl: string;
  credentials?: BkashSimulatorCredentials;
  /** id_token lifetime, default 3600 (§2.3). */
  tokenTtlSeconds?: number;
  /** How long a "hang" knob delays its answer, default 60_000. */
  hangMs?: number;
  /** How long a paymentID stays executable, default 24 h (§10). */
  paymentTtlMs?: number;
  now?: () => number;
}

export interface ResolvedOptions {
  publicUrl: () => string;
  credentials: BkashSimulatorCredentials;
  tokenTtlSeconds: number;
  hangMs: number;
  paymentTtlMs: number;
  now: () => number;
}

export type WalletBehaviour = 'success' | 'insufficient_balance' | 'debit_block';

/** The sandbox test wallets (§11, from bkash-pgw.vercel.app/docs and the lists copied in many repos). */
export const BKASH_SIMULATOR_WALLETS: readonly { wallet: string; behaviour: WalletBehaviour }[] = [
  { wallet: '01770618575', behaviour: 'success' },
  { wallet: '01929918378', behaviour: 'success' },
  { wallet: '01770618576', behaviour: 'success' },
  { wallet: '01877722345', behaviour: 'success' },
  { wallet: '01619777282', behaviour: 'success' },
  { wallet: '01619777283', behaviour: 'success' },
  { wallet: '01823074817', behaviour: 'insufficient_balance' },
  { wallet: '01823074818', behaviour: 'debit_block' },
];
export const BKASH_SIMULATOR_DEFAULT_WALLET = '01770618575';
export const BKASH_SIMULATOR_OTP = '123456';
export const BKASH_SIMULATOR_PIN = '12121';
/** Wrong codes tolerated before the page ends the payment as a failure. */
export const MAX_CODE_ATTEMPTS = 3;

export function walletBehaviour(wallet: string): WalletBehaviour | undefined {
  return BKASH_SIMULATOR_WALLETS.find((w) => w.wallet === wallet)?.behaviour;
}

/** Per-payment knobs, chosen by the two digits after the amount's decimal point ("10.71"). */
export type Knob =
  'execute_hang' | 'execute_500' | 'no_callback' | 'refund_refused' | 'refund_hang' | 'create_hang' | 'status_503';

const KNOBS: Readonly<Record<string, Knob>> = {
  '71': 'execute_hang',
  '72': 'execute_500',
  '73': 'no_callback',
  '74': 'refund_refused',
  '75': 'refund_hang',
  '76': 'create_hang',
  '77': 'status_503',
};

export function knobOf(amountText: string): Knob | undefined {
  const cents = amountText.split('.')[1];
  return cents === undefined ? undefined : KNOBS[cents];
}

/**
 * bKash amounts are decimal strings with at most two decimals (§3, §8.1); a JSON number is accepted
 * too, as bKash does (S5 sends `100`). Answers undefined unless the amount is such a value above zero.
 */
export function parseAmount(v: unknown): { text: string; minor: bigint } | undefined {
  const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  const m = text === undefined ? null : /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(text);
  if (!text || !m) return undefined;
  const minor = BigInt(m[1] ?? '0') * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
  return minor > 0n ? { text, minor } : undefined;
}

/** bKash's non-ISO time, Dhaka time: `2024-07-25T19:35:17:574 GMT+0600` (§3, observed S7). */
export function bkashTime(ms: number): string {
  // Bangladesh has kept UTC+6 without daylight saving since 2009, so a fixed offset is exact.
  const d = new Date(ms + 6 * 3600_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}` +
    `T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}:${p(d.getUTCMilliseconds(), 3)} GMT+0600`
  );
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Constant-time equality of a presented secret (any type) with the expected one. */
export function sameSecret(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export type CustomerOutcome = 'pending' | 'success' | 'failure' | 'cancel';
export type PageStep = 'wallet' | 'otp' | 'pin';

export interface SimRefund {
  refundTrxID: string;
  amount: string;
  minor: bigint;
  sku: string;
  reason: string;
  completedTime: string;
}

export interface SimPayment {
  paymentID: string;
  hash: string;
  signature: string;
  amount: string;
  minor: bigint;
  currency: string;
  intent: string;
  merchantInvoiceNumber: string;
  payerReference: string;
  callbackURL: string;
  merchantAssociationInfo: string | undefined;
  knob: Knob | undefined;
  createdAt: number;
  step: PageStep;
  wallet: string | undefined;
  otpFailures: number;
  pinFailures: number;
  customerOutcome: CustomerOutcome;
  /** Set when execute refused the wallet (2023, 2037): the payment can never complete after that. */
  executeError: '2023' | '2037' | undefined;
  trxID: string | undefined;
  executedAt: number | undefined;
  executeCalls: number;
  statusQueries: number;
  refunds: SimRefund[];
}

export type StatName =
  'grant' | 'refresh' | 'create' | 'execute' | 'status' | 'refund' | 'refundStatus' | 'search' | 'unauthorized';

/** bKash says a refresh token yields new tokens "for at most 28 days" (§2.3, S4). */
const REFRESH_TTL_MS = 28 * 24 * 3600_000;

export type SimulatorState = ReturnType<typeof createSimulatorState>;

export function createSimulatorState(opts: ResolvedOptions) {
  const { now } = opts;
  const payments = new Map<string, SimPayment>();
  const byTrxID = new Map<string, SimPayment>();
  const usedTrxIDs = new Set<string>();
  const idTokens = new Map<string, number>(); // token → expires at (ms)
  const refreshTokens = new Map<string, number>();
  const hangs = new Set<() => void>();
  const stats: Record<StatName, number> = {
    grant: 0,
    refresh: 0,
    create: 0,
    execute: 0,
    status: 0,
    refund: 0,
    refundStatus: 0,
    search: 0,
    unauthorized: 0,
  };
  let lastSweep = now();
  let closing = false;

  // The memory stays bounded in a long-running sandbox: dead tokens and long-expired, never-executed
  // payments go, at most once a minute. Executed payments stay (they can still be refunded).
  function sweep(): void {
    const t = now();
    if (t - lastSweep < 60_000) return;
    lastSweep = t;
    const day = 24 * 3600_000;
    for (const [k, exp] of idTokens) if (exp + day < t) idTokens.delete(k);
    for (const [k, exp] of refreshTokens) if (exp < t) refreshTokens.delete(k);
    for (const [k, p] of payments) if (!p.trxID && p.createdAt + opts.paymentTtlMs + day < t) payments.delete(k);
  }

  function newTrxID(): string {
    let id = randomString(10, UPPER_ALNUM);
    while (usedTrxIDs.has(id)) id = randomString(10, UPPER_ALNUM);
    usedTrxIDs.add(id);
    return id;
  }

  const expired = (p: SimPayment) => !p.trxID && now() >= p.createdAt + opts.paymentTtlMs;
  const callbackFor = (p: SimPayment, status: 'success' | 'failure' | 'cancel') => {
    // bKash appends to the merchant's callbackURL, keeping its own query (§3, §4; S1, S8).
    const [base = '', fragment] = p.callbackURL.split('#', 2);
    const query = `paymentID=${encodeURIComponent(p.paymentID)}&status=${status}&signature=${p.signature}`;
    return `${base}${base.includes('?') ? '&' : '?'}${query}${fragment === undefined ? '' : `#${fragment}`}`;
  };

  return {
    opts,
    payments,
    byTrxID,
    stats,
    sweep,

    issueTokens(refreshToken?: string): { idToken: string; refreshToken: string } {
      sweep();
      // Opaque strings: the real sandbox issues a Cognito JWT, which merchants must not parse (§11).
      const idToken = `simid.${randomString(48)}`;
      idTokens.set(idToken, now() + opts.tokenTtlSeconds * 1000);
      const refresh = refreshToken ?? `simrf.${randomString(64)}`;
      if (!refreshToken) refreshTokens.set(refresh, now() + REFRESH_TTL_MS);
      return { idToken, refreshToken: refresh };
    },
    refreshValid: (token: unknown) => typeof token === 'string' && (refreshTokens.get(token) ?? 0) > now(),
    tokenState(token: string | undefined): 'valid' | 'expired' | 'unknown' {
      const exp = token === undefined ? undefined : idTokens.get(token);
      return exp === undefined ? 'unknown' : exp > now() ? 'valid' : 'expired';
    },
    /** Every id_token issued so far is expired from now on; refresh tokens stay valid. */
    expireTokens(): number {
      const t = now();
      for (const [k, exp] of idTokens) if (exp > t) idTokens.set(k, t);
      return idTokens.size;
    },

    newPaymentID: () => `TR0011${randomString(7)}${now()}`, // observed shape, §3
    newTrxID,
    newHash: () => randomString(32),
    newSignature: () => randomString(10), // 10 alphanumerics, the same in all three URLs (§4)
    expired,
    callbackFor,
    transactionStatus(p: SimPayment): 'Initiated' | 'Completed' | 'Expired' {
      // Documented for this flow: Initiated until executed, then Completed (§6, S4). What the customer
      // did on the page shows only in verificationStatus, as bKash's docs describe it. After the 24 h
      // window the older enum's Expired (§6) is used: the live value is undocumented (§14 q6).
      return p.trxID ? 'Completed' : expired(p) ? 'Expired' : 'Initiated';
    },
    /** Whether the hosted page still takes the customer's input. */
    open: (p: SimPayment) => p.customerOutcome === 'pending' && !expired(p),

    /**
     * Ends the customer's part. Answers the URL the browser is sent to (with the `apiVersion` bKash
     * appends at redirect time, §4), or null when the `.73` knob holds the success callback back.
     */
    finish(p: SimPayment, outcome: 'success' | 'failure' | 'cancel'): string | null {
      p.customerOutcome = outcome;
      if (outcome === 'success' && p.knob === 'no_callback') return null;
      return `${callbackFor(p, outcome)}&apiVersion=1.2.0-beta/`;
    },

    /**
     * Waits hangMs, or less when the caller hangs up or the simulator closes (so close() never waits
     * for a hung answer).
     */
    hang(res: ServerResponse): Promise<void> {
      return new Promise((resolve) => {
        const done = () => {
          // An answer let go by close() ends its connection: the server closes only the connections
          // idle at that moment, and a kept-alive one would hold close() for the keep-alive timeout.
          if (closing && !res.headersSent) res.setHeader('connection', 'close');
          clearTimeout(timer);
          hangs.delete(done);
          res.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, opts.hangMs);
        hangs.add(done);
        res.once('close', done);
      });
    },
    releaseHangs(): void {
      closing = true;
      for (const done of [...hangs]) done();
    },
  };
}
