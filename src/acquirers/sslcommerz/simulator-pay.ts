/**
 * What the customer's input leads to, shared by the hosted page and the control API: a card is checked
 * (number, whether this session takes it, expiry, CVV, issuer) before its OTP; a wallet needs a number
 * and an OTP; a bank login anything non-empty. Outcomes and error texts follow real payloads where the
 * notes have them (§3, §10: "Invalid CVV", "Invalid expiration date", "Cancelled by User").
 */
import {
  cardBrand,
  expiryInPast,
  luhnValid,
  normaliseCardNumber,
  normaliseWalletNumber,
  parseExpiry,
} from '../../domain/card.js';
import {
  ACCOUNT_INSTRUMENTS,
  CARD_BY_BRAND,
  TEST_CARDS,
  TEST_OTPS,
  maskCardNo,
  type Gateway,
  type InstrumentInfo,
} from './simulator-catalog.js';
import type { OutcomeRequest } from './simulator-outcome.js';
import type { Session } from './simulator-state.js';

export type CardStep =
  /** Asked again: the page shows the message by the form. */
  | { next: 'retry'; message: string }
  | { next: 'otp'; instrument: InstrumentInfo }
  | { next: 'outcome'; outcome: OutcomeRequest };

export interface CardInput {
  number: string;
  expiry: string;
  cvv: string;
}

export const NOT_ACCEPTED = 'This card is not accepted for this payment';

export function checkCard(s: Session, input: CardInput, nowMs: number): CardStep {
  const digits = normaliseCardNumber(input.number);
  if (digits === undefined || !luhnValid(digits)) return { next: 'retry', message: 'Invalid card number' };
  const brand = cardBrand(digits);
  const card = TEST_CARDS[digits] ?? (brand === undefined ? undefined : CARD_BY_BRAND[brand]);
  if (card === undefined) return { next: 'retry', message: NOT_ACCEPTED };
  // multi_card_name and allowed_bin limit which cards the session takes (notes §2.1).
  const gateway = s.gateways.find((g) => g.gw === card.gw) ?? s.gateways.find((g) => g.type === card.type);
  if (gateway === undefined) return { next: 'retry', message: NOT_ACCEPTED };
  if (s.allowedBins !== undefined && !s.allowedBins.includes(digits.slice(0, 6)))
    return { next: 'retry', message: NOT_ACCEPTED };
  const instrument: InstrumentInfo = { ...card.info, gw: gateway.gw, cardNo: maskCardNo(digits) };
  const fail = (error: string): CardStep => ({ next: 'outcome', outcome: { status: 'FAILED', error, instrument } });
  const exp = parseExpiry(input.expiry);
  if (exp === undefined || expiryInPast(exp, nowMs)) return fail('Invalid expiration date');
  // The sandbox's own Amex test card is documented with CVV 111, so Amex takes 3 or 4 digits.
  const cvvOk = brand === 'AMEX' ? /^\d{3,4}$/.test(input.cvv.trim()) : /^\d{3}$/.test(input.cvv.trim());
  if (!cvvOk) return fail('Invalid CVV');
  if (card.decline !== undefined) return fail(card.decline);
  return { next: 'otp', instrument };
}

/** Wrong OTPs allowed before the payment fails. */
export const MAX_WRONG_OTPS = 3;
export const isTestOtp = (otp: string): boolean => TEST_OTPS.has(otp.trim());

export const gatewayOf = (s: Session, gw: string, type: Gateway['type']): Gateway | undefined =>
  s.gateways.find((g) => g.gw === gw && g.type === type);

/** Instrument info of a wallet or bank (no card number: notes §3, "empty for mobile and internet banking"). */
export const accountInstrument = (gw: string): InstrumentInfo | undefined => {
  const info = ACCOUNT_INSTRUMENTS[gw];
  return info === undefined ? undefined : { ...info, gw, cardNo: '' };
};

export function checkWallet(wallet: string, otp: string): string | undefined {
  if (normaliseWalletNumber(wallet) === undefined) return 'Invalid wallet number';
  if (!isTestOtp(otp)) return 'Wrong OTP';
  return undefined;
}

export const checkBankLogin = (userId: string, password: string): string | undefined =>
  userId.trim() === '' || password === '' ? 'Enter your user ID and password' : undefined;

export const CANCELLED: OutcomeRequest = { status: 'CANCELLED', error: 'Cancelled by User' };
// No EXPIRED sample was found; the doc's meaning of the status is "Payment Timeout" (notes §4.1).
export const EXPIRED: OutcomeRequest = { status: 'EXPIRED', error: 'Payment Timeout' };
