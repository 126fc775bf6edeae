/**
 * A payment attempt as the connectors see it, and what the gateway keeps about the attempt in
 * progress (the method, the instrument's masked info, the EMI choice, where the customer is) in the
 * payment's challenge_info column, so any later step (the OTP page, the browser's return from an
 * upstream, a notification, the reconciler) can finish it without the customer repeating anything.
 */
import type { Merchant } from '../domain/merchant.js';
import type { Payment, PaymentMethod } from '../domain/payment.js';
import { EMI_RATES_BPS } from '../domain/emi.js';
import { percentOf } from '../domain/money.js';
import {
  methodOfKey,
  isMethodKey,
  type InstrumentInfo,
  type Instrument,
  type MethodKey,
  type PaymentAttempt,
  type RedirectTarget,
  type UpstreamRef,
} from '../acquirers/port.js';
import { INSTRUMENT_CODE_TABLE, WALLET_CODE_KEYS, ibankingCodes } from '../acquirers/codes.js';

export interface EmiChoice {
  period: number;
  bank: string;
}

/** Kept with an attempt in progress (challenge_info). */
export interface AttemptState {
  method: PaymentMethod;
  /** The routed method key (absent in states written before connectors: read as the method). */
  key?: MethodKey;
  info: InstrumentInfo;
  hint: string;
  emi: EmiChoice | null;
  /** Where the browser was sent (a redirect connector), so the payment page can send it again. */
  redirect?: RedirectTarget;
  /** The page's extra path segment and language when the customer left for the upstream. */
  extra?: string | null;
  lang?: string;
}

export function readAttemptState(text: string | null): AttemptState | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as AttemptState; // written by attemptStateText below
    return typeof v === 'object' && v !== null && typeof v.method === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export const attemptStateText = (s: AttemptState): string => JSON.stringify(s);

export function keyOf(st: AttemptState): MethodKey {
  if (st.key && isMethodKey(st.key)) return st.key;
  return st.method === 'mobile_wallet' ? 'bkash' : st.method;
}

/** What the customer is charged in BDT with an EMI choice: the surcharge on top, the discount off. */
export function bankAmountWith(p: Payment, emi: EmiChoice | null): bigint {
  const bps = emi ? (EMI_RATES_BPS[emi.period] ?? 0) : 0;
  return p.amountBdtMinor + percentOf(p.amountBdtMinor, bps) - p.discountMinor;
}

/** The upstream's reference of a payment (empty while none was given). */
export const upstreamOf = (p: Payment): UpstreamRef => ({ ref: p.upstreamRef ?? '', data: p.upstreamData });

/** The URLs the upstream sends the customer and its notifications back to. */
export function upstreamUrls(publicUrl: string, connectorId: string, token: string) {
  const base = `${publicUrl}/upstream/${encodeURIComponent(connectorId)}`;
  return { returnUrl: `${base}/return/${token}`, notifyUrl: `${base}/notify` };
}

export function attemptOf(
  p: Payment,
  merchant: Merchant,
  st: AttemptState,
  publicUrl: string,
  connectorId: string,
  instrument?: Instrument,
): PaymentAttempt {
  let c: Record<string, unknown> = {};
  try {
    c = JSON.parse(p.customerDetails) as Record<string, unknown>; // written by init as an object of strings
  } catch {
    // the fields below fall back to the columns
  }
  const text = (k: string) => (typeof c[k] === 'string' ? (c[k] as string) : ''); // checked just now
  return {
    paymentId: p.id,
    token: p.token,
    refId: p.refId,
    merchantName: merchant.name,
    amountMinor: bankAmountWith(p, st.emi),
    currency: 'BDT',
    method: keyOf(st),
    ...(instrument ? { instrument } : {}),
    customer: {
      name: p.customerName,
      email: p.customerEmail,
      phone: p.customerPhone,
      address: text('customer_add'),
      city: text('customer_city'),
      postcode: text('customer_postcode'),
      country: text('customer_country'),
    },
    description: p.appName ? `${p.appName} order ${p.merchantOrderId}` : `Order ${p.merchantOrderId}`,
    ...upstreamUrls(publicUrl, connectorId, p.token),
  };
}

/** What we know of a method before the upstream names the instrument (used if it never does). */
export function placeholderInfoFor(key: MethodKey, upstreamName: string): InstrumentInfo {
  const method = methodOfKey(key);
  if (method === 'mobile_wallet') {
    const entry = INSTRUMENT_CODE_TABLE[WALLET_CODE_KEYS[key as 'bkash' | 'nagad' | 'rocket']]; // a wallet key here
    return { label: entry.label, cardCode: entry.cardCode, masked: null, isForeign: false };
  }
  if (method === 'internet_banking') return { ...ibankingCodes(upstreamName), masked: null, isForeign: false };
  return {
    label: `CARD-${upstreamName}`,
    cardCode: INSTRUMENT_CODE_TABLE.OTHERCARD.cardCode,
    masked: null,
    isForeign: false,
  };
}
