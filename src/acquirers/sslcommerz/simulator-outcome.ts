/**
 * Reaching a session's outcome, once: the simulator records it, posts the IPN to the merchant's
 * ipn_url (server to server, url-encoded, notes §4.1) and hands back what the customer's browser posts
 * to success_url / fail_url / cancel_url (notes §3). The per-request knobs decide the IPN's timing.
 *
 * Order: the first IPN attempt is awaited (bounded) before the browser is answered, since the Python
 * SDK says "All the payment notification will reach through IPN prior to user return back"
 * (sslcommerz/SSLCommerz-Python sslcommerz_lib/sslcommerz.py). Retries are undocumented (notes §4.1);
 * ours: `ipnRetries` more attempts after 200 ms, 1 s, then 5 s each, while the answer is not 2xx.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstrumentInfo } from './simulator-catalog.js';
import { postedFields } from './simulator-fields.js';
import {
  newTimedId,
  type IpnAttempt,
  type OutcomeStatus,
  type Session,
  type SimulatorBooks,
  type SslcommerzSimulatorStore,
} from './simulator-state.js';

export interface SimContext {
  books: SimulatorBooks;
  store: SslcommerzSimulatorStore;
  publicUrl: () => string;
  now: () => number;
  hangMs: number;
  sessionTtlMs: number;
  refundDelayMs: number;
  ipnRetries: number;
  /** Aborted when the server closes: ends hangs, IPN retries and waits. */
  closing: AbortSignal;
}

const RETRY_BACKOFF_MS = [200, 1_000];
const LATER_RETRY_MS = 5_000;
/** How long one IPN attempt may take. */
const IPN_TIMEOUT_MS = 10_000;
/** How long the browser waits for the first IPN attempt before it is answered anyway. */
const FIRST_IPN_WAIT_MS = 2_000;
/** Knob `ipn-after-return`: how long after the browser's answer the IPN goes. */
const IPN_AFTER_RETURN_MS = 300;

/** Waits `ms`; false when `signal` ended the wait first. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

export interface BrowserReturn {
  /** Where the browser posts `fields`; null when the knob `no-return` keeps the browser from coming back. */
  action: string | null;
  fields: Record<string, string>;
}

export interface OutcomeRequest {
  status: OutcomeStatus;
  error: string;
  instrument?: InstrumentInfo | undefined;
}

/** What the browser posts once the session has its outcome (nothing before). */
export const browserReturn = (s: Session): BrowserReturn => ({
  action: s.knob === 'no-return' || s.outcome === undefined ? null : s.outcome.action,
  fields: s.outcome?.fields ?? {},
});

/**
 * Records the outcome (the first one wins; later calls get the recorded one back), sends the IPN as the
 * session's knob says and resolves with what the browser posts.
 */
export async function completeSession(ctx: SimContext, s: Session, req: OutcomeRequest): Promise<BrowserReturn> {
  if (s.outcome !== undefined) return browserReturn(s);
  const at = ctx.now();
  const parts = {
    status: req.status,
    error: req.error,
    instrument: req.instrument,
    valId: req.status === 'VALID' ? newTimedId(at) : '',
    // A cancelled or expired session never reached a bank (monim67/sslcommerz-sdk testing.py: bank_tran_id "").
    bankTranId: req.status === 'VALID' || req.status === 'FAILED' ? newTimedId(at) : '',
  };
  const action = req.status === 'VALID' ? s.successUrl : req.status === 'CANCELLED' ? s.cancelUrl : s.failUrl;
  s.outcome = { ...parts, at, fields: postedFields(s, parts, ctx.store), action };
  s.pending = undefined;
  if (parts.valId !== '') ctx.books.byValId.set(parts.valId, s);
  if (parts.bankTranId !== '') ctx.books.byBankTranId.set(parts.bankTranId, s);

  if (s.ipnUrl !== undefined && s.knob !== 'no-ipn') {
    if (s.knob === 'ipn-after-return') {
      void pause(IPN_AFTER_RETURN_MS, ctx.closing).then((go) => (go ? deliverIpn(ctx, s) : undefined));
    } else {
      // The wait ends with the first attempt's answer, so it does not outlive it (a timer and an
      // abort listener on ctx.closing per session for 2 s, which busy tests pile up past Node's limit).
      const answered = new AbortController();
      const first = deliverIpn(ctx, s).finally(() => answered.abort());
      await Promise.race([first, pause(FIRST_IPN_WAIT_MS, AbortSignal.any([ctx.closing, answered.signal]))]);
    }
  }
  return browserReturn(s);
}

/** Resolves once the first attempt has an answer; retries (and the knob's duplicate) go on in the background. */
function deliverIpn(ctx: SimContext, s: Session): Promise<void> {
  return new Promise<void>((firstDone) => {
    void (async () => {
      let delivered = false;
      for (let n = 1; n <= 1 + ctx.ipnRetries && !delivered; n++) {
        if (n > 1 && !(await pause(RETRY_BACKOFF_MS[n - 2] ?? LATER_RETRY_MS, ctx.closing))) break;
        delivered = await postIpn(ctx, s);
        firstDone();
      }
      // Knob `duplicate-ipn`: the same body once more, as a gateway that re-sends would.
      if (delivered && s.knob === 'duplicate-ipn') await postIpn(ctx, s);
      firstDone();
    })();
  });
}

/** One IPN attempt, recorded on the session and in the stats; true on a 2xx. */
async function postIpn(ctx: SimContext, s: Session): Promise<boolean> {
  const url = s.ipnUrl;
  if (url === undefined || s.outcome === undefined || ctx.closing.aborted) return false;
  const attempt: IpnAttempt = { attempt: s.ipn.length + 1, at: ctx.now(), statusCode: null };
  s.ipn.push(attempt);
  ctx.books.stats.ipnSent++;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(s.outcome.fields).toString(),
      redirect: 'manual',
      signal: AbortSignal.any([ctx.closing, AbortSignal.timeout(IPN_TIMEOUT_MS)]),
    });
    attempt.statusCode = res.status;
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return true;
    attempt.error = `HTTP ${res.status}`;
  } catch (err) {
    attempt.error = err instanceof Error ? err.message : String(err);
  }
  ctx.books.stats.ipnFailed++;
  return false;
}

/** The control API's re-send: the same signed body once more, now; true on a 2xx. */
export const resendIpn = (ctx: SimContext, s: Session): Promise<boolean> => postIpn(ctx, s);
