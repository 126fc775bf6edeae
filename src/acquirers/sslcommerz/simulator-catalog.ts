/**
 * What the SSLCommerz simulator offers: its gateways (the `desc[]` of a session and the `gw` groups),
 * the `multi_card_name` filter, its test instruments and currencies. Gateway keys and groups follow the
 * v4 doc's list as the official SDKs copy it (sslcommerz/SSLCommerz-PHP lib/SslCommerzNotification.php
 * setRequiredInfo comments; research notes §9) and the doc's session response example (notes §2.2, EX3P).
 */

/** The `type` of a desc[] element, which is also the key of the `gw` object. */
export type GatewayType = 'visa' | 'master' | 'amex' | 'othercards' | 'internetbanking' | 'mobilebanking';

export interface Gateway {
  gw: string;
  type: GatewayType;
  /** desc[].name, in the `<CODE>-<Label>` style the doc example uses. */
  name: string;
  /** The button on the simulator's page. */
  label: string;
}

export const GATEWAYS: readonly Gateway[] = [
  { gw: 'dbbl_visa', type: 'visa', name: 'VISA-Dutch bank', label: 'DBBL Visa' },
  { gw: 'brac_visa', type: 'visa', name: 'VISA-Brac bank', label: 'BRAC Visa' },
  { gw: 'city_visa', type: 'visa', name: 'VISA-City Bank', label: 'City Visa' },
  { gw: 'ebl_visa', type: 'visa', name: 'VISA-Eastern Bank Limited', label: 'EBL Visa' },
  { gw: 'dbbl_master', type: 'master', name: 'MASTER-Dutch Bangla', label: 'DBBL Mastercard' },
  { gw: 'brac_master', type: 'master', name: 'MASTER-Brac bank', label: 'BRAC Mastercard' },
  { gw: 'city_master', type: 'master', name: 'MASTER-City bank', label: 'City Mastercard' },
  { gw: 'ebl_master', type: 'master', name: 'MASTER-Eastern Bank Limited', label: 'EBL Mastercard' },
  { gw: 'city_amex', type: 'amex', name: 'AMEX-City Bank', label: 'American Express' },
  { gw: 'dbbl_nexus', type: 'othercards', name: 'DBBL-Nexus', label: 'DBBL Nexus' },
  { gw: 'qcash', type: 'othercards', name: 'QCash', label: 'Q-Cash' },
  { gw: 'city', type: 'internetbanking', name: 'City Touch', label: 'City Touch' },
  { gw: 'bankasia', type: 'internetbanking', name: 'Bank Asia Internet Banking', label: 'Bank Asia' },
  { gw: 'ibbl', type: 'internetbanking', name: 'IBBL Internet Banking', label: 'IBBL' },
  { gw: 'mtbl', type: 'internetbanking', name: 'MTB Internet Banking', label: 'MTB' },
  { gw: 'abbank', type: 'internetbanking', name: 'AB Bank Internet Banking', label: 'AB Bank' },
  { gw: 'bkash', type: 'mobilebanking', name: 'BKash', label: 'bKash' },
  // Not in the documented key list (notes §9), but Nagad payments do occur: accepted as a key here.
  { gw: 'nagad', type: 'mobilebanking', name: 'Nagad', label: 'Nagad' },
  { gw: 'dbblmobilebanking', type: 'mobilebanking', name: 'DBBL Mobile Banking', label: 'Rocket' },
];

/** Group keys of multi_card_name and the type each selects (doc key list, notes §9). */
const GROUP_KEYS: Readonly<Record<string, GatewayType>> = {
  visacard: 'visa',
  mastercard: 'master',
  amexcard: 'amex',
  othercard: 'othercards',
  internetbank: 'internetbanking',
  mobilebank: 'mobilebanking',
};
const GROUP_KEY_OF = Object.fromEntries(Object.entries(GROUP_KEYS).map(([k, t]) => [t, k])) as Record<
  GatewayType,
  string
>; // the inverse of a total map over GatewayType is total too

export const CARD_TYPES: ReadonlySet<GatewayType> = new Set(['visa', 'master', 'amex', 'othercards']);

/** The gateways a session offers: all, or those multi_card_name selects (unknown keys are ignored). */
export function selectGateways(multiCardName: string | undefined): Gateway[] {
  const keys = (multiCardName ?? '')
    .split(',')
    .map((k) => k.trim().toLowerCase())
    .filter((k) => k !== '');
  if (keys.length === 0) return [...GATEWAYS];
  const types = new Set(keys.flatMap((k) => GROUP_KEYS[k] ?? []));
  return GATEWAYS.filter((g) => types.has(g.type) || keys.includes(g.gw));
}

/** The `gw` object: per type, its gateways' keys and the group key, comma-separated (doc example). */
export function gatewayGroups(gateways: readonly Gateway[]): Record<GatewayType, string> {
  const out = {} as Record<GatewayType, string>; // filled for every type just below
  for (const type of ['visa', 'master', 'amex', 'othercards', 'internetbanking', 'mobilebanking'] as const) {
    const keys = gateways.filter((g) => g.type === type).map((g) => g.gw);
    out[type] = keys.length > 0 ? [...keys, GROUP_KEY_OF[type]].join(',') : '';
  }
  return out;
}

/** What the posts and the validation answer say about the instrument (notes §3, §9 card_type table). */
export interface InstrumentInfo {
  gw: string;
  cardType: string;
  cardNo: string;
  cardIssuer: string;
  cardBrand: string;
  cardSubBrand: string;
  cardCategory: string;
  country: string;
  countryCode: string;
  riskLevel: '0' | '1';
  riskTitle: 'Safe' | 'Not Safe';
}

const BD = { country: 'Bangladesh', countryCode: 'BD', riskLevel: '0', riskTitle: 'Safe' } as const;

export interface TestCard {
  gw: string;
  type: GatewayType;
  info: Omit<InstrumentInfo, 'gw' | 'cardNo'>;
  /** A card the issuer declines: FAILED with this error. */
  decline?: string;
}

const DBBL = 'DUTCH BANGLA BANK LIMITED';
const visa = { cardType: 'VISA-Dutch Bangla', cardBrand: 'VISA', cardSubBrand: 'Classic', cardCategory: 'DEBIT' };
const DBBL_VISA: TestCard = { gw: 'dbbl_visa', type: 'visa', info: { ...visa, cardIssuer: DBBL, ...BD } };
const DBBL_MASTER: TestCard = {
  gw: 'dbbl_master',
  type: 'master',
  info: { ...visa, cardType: 'MASTER-Dutch Bangla', cardBrand: 'MASTERCARD', cardIssuer: DBBL, ...BD },
};
const CITY_AMEX: TestCard = {
  gw: 'city_amex',
  type: 'amex',
  info: { ...visa, cardType: 'AMEX-City Bank', cardBrand: 'AMEX', cardIssuer: 'THE CITY BANK LIMITED', ...BD },
};

/**
 * The sandbox's published test cards (notes §10: 4111…, 5111…, 3711…, any future expiry, CVV 111) plus
 * ours: a foreign-issued card that SSLCommerz marks risky (real live samples, notes §8) and a declined one.
 */
export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  '4111111111111111': DBBL_VISA,
  '5111111111111111': DBBL_MASTER,
  '371111111111111': CITY_AMEX,
  '4242424242424242': {
    ...DBBL_VISA,
    info: {
      ...DBBL_VISA.info,
      cardIssuer: 'NATIONAL WESTMINSTER BANK PLC',
      country: 'United Kingdom',
      countryCode: 'GB',
      riskLevel: '1',
      riskTitle: 'Not Safe',
    },
  },
  '4000000000000002': { ...DBBL_VISA, decline: 'Declined by issuer' },
};

/** Any other well-formed card of a known brand pays like the test card of its brand. */
export const CARD_BY_BRAND: Readonly<Record<string, TestCard>> = {
  VISA: DBBL_VISA,
  MASTERCARD: DBBL_MASTER,
  AMEX: CITY_AMEX,
  NEXUS: {
    gw: 'dbbl_nexus',
    type: 'othercards',
    info: { ...visa, cardType: 'DBBLNEXUS-Dbbl Nexus', cardBrand: 'NEXUS', cardIssuer: DBBL, ...BD },
  },
};

/** 411111XXXXXX1111: first 6, X for the middle, last 4, the masking SSLCommerz posts (notes §3). */
export const maskCardNo = (digits: string): string =>
  digits.slice(0, 6) + 'X'.repeat(digits.length - 10) + digits.slice(-4);

/** Wallets and internet banks: card_type/card_issuer as seen in real payloads (notes §9), or invented. */
export const ACCOUNT_INSTRUMENTS: Readonly<Record<string, Omit<InstrumentInfo, 'gw' | 'cardNo'>>> = {
  bkash: wallet('BKASH-BKash', 'BKash Mobile Banking'),
  nagad: wallet('NAGAD-Nagad', 'Nagad'),
  dbblmobilebanking: wallet('DBBLMOBILEB-Dbbl Mobile Banking', 'DBBL Mobile Banking'),
  city: bank('CITYTOUCHIB-City Bank', 'The City Bank Limited'),
  ibbl: bank('IBBL-Islami Bank', 'Islami Bank Bangladesh Limited'),
  abbank: bank('ABBANKIB-AB Bank', 'AB Bank Limited'),
  bankasia: bank('BANKASIAIB-Bank Asia', 'Bank Asia Limited'),
  mtbl: bank('MTBLIB-Mutual Trust Bank', 'Mutual Trust Bank Limited'),
};

function wallet(cardType: string, cardIssuer: string): Omit<InstrumentInfo, 'gw' | 'cardNo'> {
  return { cardType, cardIssuer, cardBrand: 'MOBILEBANKING', cardSubBrand: '', cardCategory: '', ...BD };
}
function bank(cardType: string, cardIssuer: string): Omit<InstrumentInfo, 'gw' | 'cardNo'> {
  return { cardType, cardIssuer, cardBrand: 'IB', cardSubBrand: '', cardCategory: '', ...BD };
}

/** The control API's wallet names → gateway keys. */
export const WALLET_GW = { bkash: 'bkash', nagad: 'nagad', rocket: 'dbblmobilebanking' } as const;

/** OTPs the sandbox accepts ("Mobile OTP: 111111 or 123456", notes §10). */
export const TEST_OTPS: ReadonlySet<string> = new Set(['111111', '123456']);

/**
 * Currencies a session may be in and their BDT rate (4 decimals, as currency_rate is posted). SSLCommerz
 * converts non-BDT amounts to BDT at "the current convert rate" (notes §2.1); these rates are invented.
 */
export const BDT_RATES: Readonly<Record<string, string>> = {
  BDT: '1.0000',
  USD: '120.0000',
  EUR: '130.0000',
  GBP: '152.0000',
  SGD: '89.0000',
  INR: '1.4300',
  MYR: '26.0000',
};
