/**
 * The sandbox bank's published instruments (PROTOCOL.md section 10, and the docs and payment page
 * hints rendered from here): which card, wallet or login gives which outcome.
 */
import type { CardBrand } from '../../domain/card.js';
import type { Instrument } from '../port.js';

export const SANDBOX_BANK_NAME = 'Sandbox Bank';
export const SANDBOX_OTP = '123456';
export const SANDBOX_WALLET_PIN = '12121';
export const SANDBOX_IBANKING_USER = 'sandbox';
export const SANDBOX_IBANKING_PASSWORD = 'sandbox';
/** A Luhn-valid 16-digit DBBL Nexus test card (ours): approved, domestic. */
export const SANDBOX_NEXUS_CARD = '9012345678901238';
/** Payments with this card are approved but their refunds fail. */
export const SANDBOX_REFUND_FAIL_CARD = '4000000000005126';
/** This card is authenticated on the bank's own page (a redirect), then approved. */
export const SANDBOX_3DS_CARD = '4000002760003184';

export type Behaviour =
  | { kind: 'approve'; foreign?: boolean; refundFails?: boolean }
  | { kind: 'decline'; reason: string }
  | { kind: 'otp'; then: 'approve' | 'decline' }
  /** 3-D Secure by redirect: the customer authenticates on the bank's own page, then comes back. */
  | { kind: 'redirect'; then: 'approve' | 'decline' }
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
    number: SANDBOX_3DS_CARD,
    brand: 'VISA',
    behaviour: { kind: 'redirect', then: 'approve' },
    outcome: "3-D Secure: the bank's authentication page (a redirect), then approved",
  },
  {
    number: '4000008260003178',
    brand: 'VISA',
    behaviour: { kind: 'redirect', then: 'decline' },
    outcome: "3-D Secure: the bank's authentication page (a redirect), then declined (authentication failed)",
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

export const CARD_BEHAVIOUR: ReadonlyMap<string, Behaviour> = new Map(CARDS.map((c) => [c.number, c.behaviour]));

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
