/**
 * SSLCommerz's transaction fields in the gateway's published vocabulary (codes.ts): which
 * instrument (card_type "VISA-Dutch Bangla", card_brand VISA / MASTERCARD / AMEX / IB /
 * MOBILEBANKING), its mask, whether the card is foreign, and the risk note. Field meanings from the
 * v4 documentation's validation response table (developer.sslcommerz.com/doc/v4/, as copied into
 * sslcommerz/SSLCommerz-PHP and sslcommerz/SSLCommerz-Laravel), values as seen in real answers.
 */
import { INSTRUMENT_CODE_TABLE, ibankingCodes, type InstrumentCodeKey } from '../codes.js';
import type { InstrumentInfo, MethodKey } from '../port.js';
import { field } from '../upstream-http.js';

/** multi_card_name per routed method (the v4 gateway keys; `nagad` is seen in the wild, undocumented). */
export const MULTI_CARD_NAME: Readonly<Record<MethodKey, string>> = {
  card: 'visacard,mastercard,amexcard,othercard',
  bkash: 'bkash',
  nagad: 'nagad',
  rocket: 'dbblmobilebanking',
  internet_banking: 'internetbank',
};

/** Wallet card_type prefixes (before the "-") → our code table. */
const WALLETS: readonly [RegExp, InstrumentCodeKey, string][] = [
  [/^BKASH/i, 'BKASH', 'BKASH-bKash'],
  [/^NAGAD/i, 'NAGAD', 'NAGAD-Nagad'],
  [/^(DBBLMOBILEB|ROCKET)/i, 'ROCKET', 'ROCKET-Rocket'],
  [/^UPAY/i, 'UPAY', 'UPAY-Upay'],
  [/^TAP/i, 'TAP', 'TAP-Tap'],
  [/^(MCASH|IBBLMOBILE)/i, 'MCASH', 'MCASH-mCash'],
];

/** 6 first and 4 last digits of SSLCommerz's mask (418117XXXXXX6675, 552213******3239); null otherwise. */
export function maskOf(cardNo: string): string | null {
  const m = /^(\d{6})[X*x\d]{2,9}(\d{4})$/.exec(cardNo.replace(/\s/g, ''));
  return m ? `${m[1]}******${m[2]}` : null;
}

/** The instrument of a validated (or posted) transaction. */
export function instrumentOf(json: unknown): InstrumentInfo {
  const cardType = field(json, 'card_type');
  const brand = field(json, 'card_brand').toUpperCase().replace(/\s+/g, '');
  const country = field(json, 'card_issuer_country_code').toUpperCase();
  const after = cardType.includes('-') ? cardType.slice(cardType.indexOf('-') + 1).trim() : '';
  const issuer = after || field(json, 'card_issuer') || 'SSLCommerz';
  if (brand === 'MOBILEBANKING' || WALLETS.some(([re]) => re.test(cardType))) {
    const hit = WALLETS.find(([re]) => re.test(cardType));
    const key: InstrumentCodeKey = hit ? hit[1] : 'OTHERWALLET';
    return {
      label: hit ? hit[2] : cardType || 'WALLET-Mobile banking',
      cardCode: INSTRUMENT_CODE_TABLE[key].cardCode,
      masked: null,
      isForeign: false,
    };
  }
  if (brand === 'IB' || brand === 'INTERNETBANKING') {
    return { ...ibankingCodes(issuer), masked: null, isForeign: false };
  }
  const key: InstrumentCodeKey =
    brand === 'VISA'
      ? 'VISA'
      : brand === 'MASTER' || brand === 'MASTERCARD'
        ? 'MASTERCARD'
        : brand === 'AMEX'
          ? 'AMEX'
          : /NEXUS/i.test(cardType)
            ? 'NEXUS'
            : 'OTHERCARD';
  const label = key === 'OTHERCARD' ? cardType || `CARD-${issuer}` : `${key}-${issuer}`;
  return {
    label,
    cardCode: INSTRUMENT_CODE_TABLE[key].cardCode,
    masked: maskOf(field(json, 'card_no')),
    isForeign: country !== '' && country !== 'BD',
  };
}

/**
 * risk_level "1" ("Not Safe"): SSLCommerz asks the merchant to hold the service and verify the
 * customer (developer.sslcommerz.com: "if risk_level = 1 and transaction status = VALID, then
 * please hold the transaction and verify the customer"). Shown in txn_details and the detail pages.
 */
export function riskNote(json: unknown): string | undefined {
  if (field(json, 'risk_level') !== '1') return undefined;
  const title = field(json, 'risk_title') || 'Not Safe';
  return `risk_level 1 (${title}): SSLCommerz advises holding the order and verifying the customer`;
}

/** txn_details for a transaction SSLCommerz reports failed. */
export function failureText(error: string): string {
  const e = error.trim().replace(/\s+/g, ' ').slice(0, 120);
  return e ? `Declined: ${e}` : 'Declined: the payment failed at SSLCommerz';
}
