/**
 * The sandbox bank: a deterministic acquirer implementing PROTOCOL.md section 10, so merchants can
 * exercise every outcome. It never logs, stores or returns a full card number or a CVV: results carry
 * masked info only, and challenge references (persisted by the gateway) hold nothing else.
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
  type CardBrand,
} from '../../domain/card.js';
import { randomString } from '../../domain/ids.js';
import { cardCodes, ibankingCodes, walletCodes } from '../codes.js';
import type { Acquirer, AuthorizeResult, Instrument, InstrumentInfo } from '../port.js';

// The docs render the published code table from here, next to the sandbox instruments.
export { INSTRUMENT_CODES } from '../codes.js';

export const SANDBOX_BANK_NAME = 'Sandbox Bank';
export const SANDBOX_OTP = '123456';
export const SANDBOX_WALLET_PIN = '12121';
export const SANDBOX_IBANKING_USER = 'sandbox';
export const SANDBOX_IBANKING_PASSWORD = 'sandbox';
/** A Luhn-valid 16-digit DBBL Nexus test card (ours): approved, domestic. */
export const SANDBOX_NEXUS_CARD = '9012345678901238';
/** Payments with this card are approved but their refunds fail. */
export const SANDBOX_REFUND_FAIL_CARD = '4000000000005126';
/** What the sandbox bank answers when it "hangs" long enough to time out on its own. */
export { BANK_TIMEOUT_REASON } from '../port.js';
import { BANK_TIMEOUT_REASON } from '../port.js';

type Behaviour =
  | { kind: 'approve'; foreign?: boolean; refundFails?: boolean }
  | { kind: 'decline'; reason: string }
  | { kind: 'otp'; then: 'approve' | 'decline' }
  | { kind: 'hang' };

interface SandboxCard {
  number: string;
  brand: CardBrand;
  behaviour: Behaviour;
  outcome: string;
}

const CARDS: readonly SandboxCard[] = [
  {
    number: '4111111111111111',
    brand: 'VISA',
    behaviour: { kind: 'approve' },
    outcome: 'approved, domestic',
  },
  {
    number: '5555555555554444',
    brand: 'MASTERCARD',
    behaviour: { kind: 'approve' },
    outcome: 'approved, domestic',
  },
  { number: '378282246310005', brand: 'AMEX', behaviour: { kind: 'approve' }, outcome: 'approved, domestic' },
  {
    number: SANDBOX_NEXUS_CARD,
    brand: 'NEXUS',
    behaviour: { kind: 'approve' },
    outcome: 'approved, domestic',
  },
  {
    number: '4242424242424242',
    brand: 'VISA',
    behaviour: { kind: 'approve', foreign: true },
    outcome: 'approved, foreign card (is_foreign "1")',
  },
  {
    number: '4000000000000002',
    brand: 'VISA',
    behaviour: { kind: 'decline', reason: 'Declined' },
    outcome: 'declined (generic)',
  },
  {
    number: '4000000000009995',
    brand: 'VISA',
    behaviour: { kind: 'decline', reason: 'Declined: insufficient funds' },
    outcome: 'declined, insufficient funds',
  },
  {
    number: '4000000000000069',
    brand: 'VISA',
    behaviour: { kind: 'decline', reason: 'Declined: expired card' },
    outcome: 'declined, expired card',
  },
  {
    number: '4000000000000127',
    brand: 'VISA',
    behaviour: { kind: 'decline', reason: 'Declined: incorrect CVV' },
    outcome: 'declined, incorrect CVV',
  },
  {
    number: '4000000000003220',
    brand: 'VISA',
    behaviour: { kind: 'otp', then: 'approve' },
    outcome: `one-time password step (OTP ${SANDBOX_OTP}), then approved; 3 wrong OTPs → declined`,
  },
  {
    number: '4000008400001629',
    brand: 'VISA',
    behaviour: { kind: 'otp', then: 'decline' },
    outcome: 'one-time password step, then declined (authentication failed)',
  },
  {
    number: '4000000000000119',
    brand: 'VISA',
    behaviour: { kind: 'hang' },
    outcome: 'the bank does not answer in time → declined with "Bank timeout", nothing charged',
  },
  {
    number: SANDBOX_REFUND_FAIL_CARD,
    brand: 'VISA',
    behaviour: { kind: 'approve', refundFails: true },
    outcome: 'approved; refunds of the payment fail',
  },
];

const CARD_BEHAVIOUR: ReadonlyMap<string, Behaviour> = new Map(CARDS.map((c) => [c.number, c.behaviour]));

export interface SandboxInstrument {
  kind: Instrument['kind'];
  /** What to enter, as a customer types it (cards grouped in fours, Amex 4-6-5). */
  instrument: string;
  brand?: CardBrand;
  outcome: string;
}

const BRAND_NAMES: Readonly<Record<CardBrand, string>> = {
  VISA: 'Visa',
  MASTERCARD: 'Mastercard',
  AMEX: 'Amex',
  NEXUS: 'DBBL Nexus',
};

function groupCard(n: string): string {
  return n.length === 15 ? `${n.slice(0, 4)} ${n.slice(4, 10)} ${n.slice(10)}` : n.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** The published sandbox instruments, for docs and the payment page's hints. */
export const SANDBOX_INSTRUMENTS: SandboxInstrument[] = [
  ...CARDS.map((c) => ({
    kind: 'card' as const,
    instrument: groupCard(c.number),
    brand: c.brand,
    outcome: `${BRAND_NAMES[c.brand]}: ${c.outcome}`,
  })),
  {
    kind: 'card',
    instrument: 'any other Luhn-valid Visa, Mastercard, Amex or Nexus number',
    outcome: 'approved, domestic',
  },
  {
    kind: 'mobile_wallet',
    instrument: `wallet 01700000001, PIN ${SANDBOX_WALLET_PIN}, OTP ${SANDBOX_OTP}`,
    outcome: 'approved (bKash, Nagad and Rocket alike; a wrong PIN or OTP may be retried)',
  },
  { kind: 'mobile_wallet', instrument: 'wallet 01700000002', outcome: 'declined, insufficient balance' },
  {
    kind: 'mobile_wallet',
    instrument: 'any other wallet number',
    outcome: 'declined, wallet not registered',
  },
  {
    kind: 'internet_banking',
    instrument: `internet banking user ${SANDBOX_IBANKING_USER}, password ${SANDBOX_IBANKING_PASSWORD}`,
    outcome: 'approved (anything else: wrong username or password, may be retried)',
  },
];

export interface SandboxBankOptions {
  /** Simulated latency of every call, abortable. Default 0. */
  latencyMs?: number;
  /** How long the "no answer" card hangs before the bank itself gives up. Default 60 s. */
  timeoutHangMs?: number;
  /** Clock for the expiry check. Default Date.now. */
  now?: () => number;
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

const approved = (info: InstrumentInfo, refundFails = false): AuthorizeResult => ({
  outcome: 'approved',
  info,
  authCode: newAuthCode(refundFails),
});

const declined = (info: InstrumentInfo, reason: string): AuthorizeResult => ({
  outcome: 'declined',
  info,
  reason,
});

export function createSandboxBank(opts: SandboxBankOptions = {}): Acquirer {
  const latencyMs = opts.latencyMs ?? 0;
  const hangMs = opts.timeoutHangMs ?? 60_000;
  const now = opts.now ?? Date.now;

  async function authorizeCard(
    card: Extract<Instrument, { kind: 'card' }>,
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

  return {
    name: SANDBOX_BANK_NAME,

    async authorize(req, signal) {
      await sleep(latencyMs, signal);
      const ins = req.instrument;
      switch (ins.kind) {
        case 'card':
          return authorizeCard(ins, signal);
        case 'mobile_wallet':
          return authorizeWallet(ins);
        case 'internet_banking':
          return authorizeIbanking(ins);
      }
    },

    async completeChallenge(ref, otp, signal) {
      await sleep(latencyMs, signal);
      const state = decodeRef(ref);
      if (asciiDigits(otp).trim() !== SANDBOX_OTP) {
        return { outcome: 'retry', info: state.info, field: 'otp', message: 'Wrong one-time password' };
      }
      return state.o === 'approve' ? approved(state.info) : declined(state.info, 'Declined: authentication failed');
    },

    async refund(req, signal) {
      await sleep(latencyMs, signal);
      if (req.amountMinor <= 0n) return { outcome: 'failed', reason: 'Invalid refund amount' };
      if (req.authCode.startsWith('RF')) return { outcome: 'failed', reason: 'Refund declined by issuer' };
      return { outcome: 'succeeded' };
    },
  };
}
