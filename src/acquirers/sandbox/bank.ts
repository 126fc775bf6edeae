/**
 * The sandbox bank: a deterministic connector implementing PROTOCOL.md section 10, so merchants can
 * exercise every outcome, including a redirect to the bank's own page (3-D Secure cards) so the
 * redirect path runs in sandbox too. It never logs, stores or returns a full card number or a CVV:
 * results carry masked info only, and challenge references (persisted by the gateway) hold nothing
 * else.
 *
 * Its books (what it authorised, refunded, and its authentication sessions) live in memory: like a
 * bank that lost its state, after a restart it has no record of earlier authorisations, and an
 * inquiry answers `absent` (nothing charged), which is what the process that died with it did too.
 */
import {
  asciiDigits,
  cardBrand,
  cvvLengthFor,
  expiryInPast,
  luhnValid,
  maskCard,
  maskBankLogin,
  maskWallet,
  normaliseWalletNumber,
} from '../../domain/card.js';
import { randomString } from '../../domain/ids.js';
import { cardCodes, ibankingCodes, walletCodes } from '../codes.js';
import {
  BANK_TIMEOUT_REASON,
  type AuthorizeResult,
  type CallContext,
  type Connector,
  type FinalOutcome,
  type Instrument,
  type InstrumentInfo,
  type RefundResult,
  type Settlement,
} from '../port.js';
import {
  CARD_BEHAVIOUR,
  SANDBOX_BANK_NAME,
  SANDBOX_IBANKING_PASSWORD,
  SANDBOX_IBANKING_USER,
  SANDBOX_OTP,
  SANDBOX_WALLET_PIN,
} from './instruments.js';

export {
  SANDBOX_3DS_CARD,
  SANDBOX_BANK_NAME,
  SANDBOX_IBANKING_PASSWORD,
  SANDBOX_IBANKING_USER,
  SANDBOX_INSTRUMENTS,
  SANDBOX_NEXUS_CARD,
  SANDBOX_OTP,
  SANDBOX_REFUND_FAIL_CARD,
  SANDBOX_WALLET_PIN,
  type SandboxInstrument,
} from './instruments.js';
// The docs render the published code table from here, next to the sandbox instruments.
export { INSTRUMENT_CODES } from '../codes.js';
/** What the sandbox bank answers when it "hangs" long enough to time out on its own. */
export { BANK_TIMEOUT_REASON } from '../port.js';

export interface SandboxBankOptions {
  /** Simulated latency of every call, abortable. Default 0. */
  latencyMs?: number;
  /** How long the "no answer" card hangs before the bank itself gives up. Default 60 s. */
  timeoutHangMs?: number;
  /** Clock for the expiry check. Default Date.now. */
  now?: () => number;
  /** The gateway's public base URL: the bank's own authentication page is served under it. */
  publicUrl?: string;
}

/** Challenge reference: base64url JSON. Masked info only; the gateway stores it. */
interface ChallengeState {
  v: 1;
  o: 'approve' | 'decline';
  info: InstrumentInfo;
}

function encodeRef(state: ChallengeState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeRef(ref: string): ChallengeState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(ref, 'base64url').toString('utf8'));
  } catch {
    throw new Error('Invalid sandbox challenge reference');
  }
  if (isChallengeState(parsed)) return parsed;
  throw new Error('Invalid sandbox challenge reference');
}

function isChallengeState(v: unknown): v is ChallengeState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>; // shape-checked field by field below
  const info = s.info as Record<string, unknown> | null | undefined;
  return (
    s.v === 1 &&
    (s.o === 'approve' || s.o === 'decline') &&
    typeof info === 'object' &&
    info !== null &&
    typeof info.label === 'string' &&
    typeof info.cardCode === 'string' &&
    (typeof info.masked === 'string' || info.masked === null) &&
    typeof info.isForeign === 'boolean'
  );
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('Aborted');
}

/** Resolves after `ms`, or rejects with the abort reason; the timer never outlives an abort. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const AUTH_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Six uppercase alphanumerics; the prefix tells refund() whether the issuer will refuse refunds. */
function newAuthCode(refundFails: boolean): string {
  return (refundFails ? 'RF' : 'OK') + randomString(4, AUTH_ALPHABET);
}

const approved = (info: InstrumentInfo, refundFails = false): FinalOutcome => ({
  outcome: 'approved',
  info,
  authCode: newAuthCode(refundFails),
});

const declined = (info: InstrumentInfo, reason: string): FinalOutcome => ({ outcome: 'declined', info, reason });

/** An authentication session on the bank's own page (3-D Secure by redirect). */
interface AuthSession {
  paymentId: string;
  merchantName: string;
  amountMinor: bigint;
  then: 'approve' | 'decline';
  info: InstrumentInfo;
  returnUrl: string;
  state: 'open' | 'approved' | 'declined' | 'cancelled';
  outcome?: FinalOutcome;
}

/** What the bank's authentication page shows. */
export interface AuthenticationView {
  merchantName: string;
  amountMinor: bigint;
  masked: string | null;
  open: boolean;
}

export interface SandboxBank extends Connector {
  /** The authentication session behind the bank's page, or undefined. */
  authentication(id: string): AuthenticationView | undefined;
  /** The customer's choice on that page; the URL to send the browser back to, or undefined. */
  authenticate(id: string, choice: 'approve' | 'fail' | 'cancel'): string | undefined;
}

/** A bounded map: the bank's memory of recent sessions, authorisations and refunds. */
function remember<V>(max: number) {
  const m = new Map<string, V>();
  return {
    get: (k: string) => m.get(k),
    set(k: string, v: V) {
      m.delete(k);
      m.set(k, v);
      if (m.size > max) m.delete(m.keys().next().value as string); // the map is non-empty here
    },
  };
}

export function createSandboxBank(opts: SandboxBankOptions = {}): SandboxBank {
  const latencyMs = opts.latencyMs ?? 0;
  const hangMs = opts.timeoutHangMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const publicUrl = opts.publicUrl ?? 'http://127.0.0.1:8080';
  const sessions = remember<AuthSession>(50_000);
  const authorised = remember<FinalOutcome>(200_000);
  const refunds = remember<RefundResult>(200_000);

  /** Every call is one row of the payment's upstream log, as a real bank's would be. */
  async function traced<T extends { outcome: string }>(
    ctx: CallContext,
    operation: string,
    call: () => Promise<T> | T,
  ): Promise<T> {
    const startedAt = Date.now();
    try {
      await sleep(latencyMs, ctx.signal);
      const r = await call();
      ctx.record({
        operation,
        startedAt,
        latencyMs: Date.now() - startedAt,
        outcome: 'ok',
        httpStatus: null,
        code: r.outcome,
        message: null,
      });
      return r;
    } catch (e) {
      const timeout = ctx.signal.aborted;
      ctx.record({
        operation,
        startedAt,
        latencyMs: Date.now() - startedAt,
        outcome: timeout ? 'timeout' : 'error',
        httpStatus: null,
        code: null,
        message: timeout ? 'no answer in time' : String(e),
      });
      throw e;
    }
  }

  async function authorizeCard(
    paymentId: string,
    card: Extract<Instrument, { kind: 'card' }>,
    attempt: Parameters<Connector['authorize']>[0],
    signal: AbortSignal,
  ): Promise<AuthorizeResult> {
    const brand = cardBrand(card.digits);
    const info: InstrumentInfo = {
      ...cardCodes(brand ?? card.brand, SANDBOX_BANK_NAME),
      masked: maskCard(card.digits),
      isForeign: false,
    };
    // The form validates all of this first; the bank re-checks rather than trusting its caller.
    if (brand === undefined || !luhnValid(card.digits)) return declined(info, 'Declined: invalid card number');
    if (expiryInPast({ month: card.expMonth, year: card.expYear }, now())) {
      return declined(info, 'Declined: expired card');
    }
    if (!/^\d+$/.test(card.cvv) || card.cvv.length !== cvvLengthFor(brand)) {
      return declined(info, 'Declined: incorrect CVV');
    }
    const behaviour = CARD_BEHAVIOUR.get(card.digits) ?? { kind: 'approve' };
    switch (behaviour.kind) {
      case 'approve':
        return approved({ ...info, isForeign: behaviour.foreign === true }, behaviour.refundFails === true);
      case 'decline':
        return declined(info, behaviour.reason);
      case 'otp':
        return {
          outcome: 'challenge',
          info,
          challenge: {
            kind: 'otp',
            ref: encodeRef({ v: 1, o: behaviour.then, info }),
            hint: `Enter the one-time password sent to the phone registered with card ${info.masked}. Sandbox OTP: ${SANDBOX_OTP}`,
          },
        };
      case 'redirect': {
        const id = randomString(24);
        sessions.set(id, {
          paymentId,
          merchantName: attempt.merchantName,
          amountMinor: attempt.amountMinor,
          then: behaviour.then,
          info,
          returnUrl: attempt.returnUrl,
          state: 'open',
        });
        return {
          outcome: 'redirect',
          upstream: { ref: id, data: {} },
          redirect: { url: `${publicUrl}/sandbox-bank/authenticate/${id}`, method: 'GET', fields: {} },
        };
      }
      case 'hang':
        await sleep(hangMs, signal);
        return declined(info, BANK_TIMEOUT_REASON);
    }
  }

  function authorizeWallet(w: Extract<Instrument, { kind: 'mobile_wallet' }>): AuthorizeResult {
    const number = normaliseWalletNumber(w.walletNumber);
    const info: InstrumentInfo = {
      ...walletCodes(w.provider),
      masked: maskWallet(number ?? w.walletNumber.slice(0, 20)),
      isForeign: false,
    };
    if (number === '01700000002') return declined(info, 'Declined: insufficient balance');
    if (number !== '01700000001') return declined(info, 'Declined: wallet not registered');
    if (w.pin !== SANDBOX_WALLET_PIN) return { outcome: 'retry', info, field: 'pin', message: 'Wrong PIN' };
    return {
      outcome: 'challenge',
      info,
      challenge: {
        kind: 'otp',
        ref: encodeRef({ v: 1, o: 'approve', info }),
        hint: `Enter the verification code sent to ${info.masked}. Sandbox OTP: ${SANDBOX_OTP}`,
      },
    };
  }

  function authorizeIbanking(b: Extract<Instrument, { kind: 'internet_banking' }>): AuthorizeResult {
    const info: InstrumentInfo = {
      ...ibankingCodes(SANDBOX_BANK_NAME),
      masked: maskBankLogin(b.username),
      isForeign: false,
    };
    if (b.username.trim() === SANDBOX_IBANKING_USER && b.password === SANDBOX_IBANKING_PASSWORD) {
      return approved(info);
    }
    return { outcome: 'retry', info, field: 'password', message: 'Wrong username or password' };
  }

  /** Final outcomes go into the bank's books, so an inquiry can tell what it did. */
  const booked = <T extends AuthorizeResult>(paymentId: string, r: T): T => {
    if (r.outcome === 'approved' || r.outcome === 'declined') authorised.set(paymentId, r);
    return r;
  };

  const settlementOf = (s: AuthSession): Settlement =>
    s.outcome ??
    (s.state === 'cancelled' ? { outcome: 'cancelled', reason: 'Cancelled by customer' } : { outcome: 'open' });

  return {
    id: 'sandbox',
    kind: 'sandbox',
    displayName: SANDBOX_BANK_NAME,
    capabilities: {
      methods: ['card', 'bkash', 'nagad', 'rocket', 'internet_banking'],
      collectsInstrument: true,
      settleWindowMs: 5 * 60_000,
      timeoutIsDecline: true,
    },

    authorize: (attempt, ctx) =>
      traced(ctx, 'authorize', async () => {
        const ins = attempt.instrument;
        if (!ins) return { outcome: 'declined', reason: 'Declined: no instrument' } as const;
        switch (ins.kind) {
          case 'card':
            return booked(attempt.paymentId, await authorizeCard(attempt.paymentId, ins, attempt, ctx.signal));
          case 'mobile_wallet':
            return booked(attempt.paymentId, authorizeWallet(ins));
          case 'internet_banking':
            return booked(attempt.paymentId, authorizeIbanking(ins));
        }
      }),

    completeChallenge: (ref, otp, ctx) =>
      traced(ctx, 'complete_challenge', () => {
        const state = decodeRef(ref);
        if (asciiDigits(otp).trim() !== SANDBOX_OTP) {
          return { outcome: 'retry', info: state.info, field: 'otp', message: 'Wrong one-time password' } as const;
        }
        return state.o === 'approve' ? approved(state.info) : declined(state.info, 'Declined: authentication failed');
      }),

    complete: (_params, attempt, upstream, ctx) =>
      traced(ctx, 'authentication_result', (): Settlement => {
        const s = sessions.get(upstream.ref);
        if (!s || s.paymentId !== attempt.paymentId) return { outcome: 'absent' };
        return settlementOf(s);
      }),

    inquire: (attempt, upstream, ctx) =>
      traced(ctx, 'inquire', (): Settlement => {
        const s = upstream.ref ? sessions.get(upstream.ref) : undefined;
        if (s && s.paymentId === attempt.paymentId) return settlementOf(s);
        return authorised.get(attempt.paymentId) ?? { outcome: 'absent' };
      }),

    refund: (req, ctx) =>
      traced(ctx, 'refund', (): RefundResult => {
        const r: RefundResult =
          req.amountMinor <= 0n
            ? { outcome: 'failed', reason: 'Invalid refund amount' }
            : req.authCode.startsWith('RF')
              ? { outcome: 'failed', reason: 'Refund declined by issuer' }
              : { outcome: 'succeeded' };
        refunds.set(req.refundId, r);
        return r;
      }),

    refundStatus: (req, ctx) =>
      traced(
        ctx,
        'refund_status',
        (): RefundResult =>
          refunds.get(req.refundId) ?? { outcome: 'failed', reason: 'The bank has no record of this refund' },
      ),

    test: async () => ({ ok: true, detail: 'The sandbox bank is built in and always answers.' }),

    authentication(id) {
      const s = sessions.get(id);
      return (
        s && {
          merchantName: s.merchantName,
          amountMinor: s.amountMinor,
          masked: s.info.masked,
          open: s.state === 'open',
        }
      );
    },

    authenticate(id, choice) {
      const s = sessions.get(id);
      if (!s) return undefined;
      if (s.state === 'open') {
        if (choice === 'cancel') s.state = 'cancelled';
        else if (choice === 'fail' || s.then === 'decline') {
          s.state = 'declined';
          s.outcome = declined(s.info, 'Declined: authentication failed');
        } else {
          s.state = 'approved';
          s.outcome = approved(s.info);
        }
        if (s.outcome) authorised.set(s.paymentId, s.outcome);
      }
      return `${s.returnUrl}${s.returnUrl.includes('?') ? '&' : '?'}session=${encodeURIComponent(id)}`;
    },
  };
}
