/**
 * The published code tables (ours): payment_card labels and card_code (PROTOCOL.md section 7). Every
 * connector labels its instruments from here, so check-payment speaks one vocabulary whatever the rail.
 */
import type { CardBrand } from '../domain/card.js';
import type { PaymentMethod } from '../domain/payment.js';
import type { WalletProvider } from './port.js';

export type InstrumentCodeKey =
  CardBrand | 'OTHERCARD' | 'BKASH' | 'NAGAD' | 'ROCKET' | 'UPAY' | 'TAP' | 'MCASH' | 'OTHERWALLET' | 'IBANKING';

export interface InstrumentCodeEntry {
  key: InstrumentCodeKey;
  method: PaymentMethod;
  /** card_code on the wire. */
  cardCode: string;
  /** payment_card pattern; angle brackets mark the part the acquirer fills in. */
  label: string;
  /** Human name for docs and the payment page. */
  name: string;
}

/** The published table, in display order (docs render it as is). */
export const INSTRUMENT_CODES: InstrumentCodeEntry[] = [
  { key: 'VISA', method: 'card', cardCode: '1001', label: 'VISA-<issuing bank>', name: 'Visa' },
  {
    key: 'MASTERCARD',
    method: 'card',
    cardCode: '1002',
    label: 'MASTERCARD-<issuing bank>',
    name: 'Mastercard',
  },
  { key: 'AMEX', method: 'card', cardCode: '1003', label: 'AMEX-<issuing bank>', name: 'American Express' },
  { key: 'NEXUS', method: 'card', cardCode: '1004', label: 'NEXUS-<issuing bank>', name: 'DBBL Nexus' },
  {
    key: 'OTHERCARD',
    method: 'card',
    cardCode: '1099',
    label: '<brand>-<issuing bank>',
    name: 'Other cards (UnionPay, Diners, …) through an aggregator',
  },
  { key: 'BKASH', method: 'mobile_wallet', cardCode: '6001', label: 'BKASH-bKash', name: 'bKash' },
  { key: 'NAGAD', method: 'mobile_wallet', cardCode: '6002', label: 'NAGAD-Nagad', name: 'Nagad' },
  { key: 'ROCKET', method: 'mobile_wallet', cardCode: '6003', label: 'ROCKET-Rocket', name: 'Rocket' },
  { key: 'UPAY', method: 'mobile_wallet', cardCode: '6004', label: 'UPAY-Upay', name: 'Upay' },
  { key: 'TAP', method: 'mobile_wallet', cardCode: '6005', label: 'TAP-Tap', name: 'Tap' },
  { key: 'MCASH', method: 'mobile_wallet', cardCode: '6006', label: 'MCASH-mCash', name: 'mCash (IBBL)' },
  {
    key: 'OTHERWALLET',
    method: 'mobile_wallet',
    cardCode: '6099',
    label: '<WALLET>-<wallet name>',
    name: 'Other mobile wallets through an aggregator',
  },
  {
    key: 'IBANKING',
    method: 'internet_banking',
    cardCode: '7001',
    label: 'IBANKING-<bank name>',
    name: 'Internet banking',
  },
];

/** The same table keyed by instrument. */
export const INSTRUMENT_CODE_TABLE: Readonly<Record<InstrumentCodeKey, InstrumentCodeEntry>> = Object.fromEntries(
  INSTRUMENT_CODES.map((e) => [e.key, e]),
) as Record<InstrumentCodeKey, InstrumentCodeEntry>; // every key appears once in the list above (unit-tested)

export const WALLET_CODE_KEYS: Readonly<Record<WalletProvider, 'BKASH' | 'NAGAD' | 'ROCKET'>> = {
  bkash: 'BKASH',
  nagad: 'NAGAD',
  rocket: 'ROCKET',
};

/** label + cardCode of a card issued by `issuer` (e.g. 'VISA-Sandbox Bank', '1001'). */
export function cardCodes(brand: CardBrand, issuer: string): { label: string; cardCode: string } {
  return { label: `${brand}-${issuer}`, cardCode: INSTRUMENT_CODE_TABLE[brand].cardCode };
}

/** label + cardCode of a mobile wallet (e.g. 'BKASH-bKash', '6001'). */
export function walletCodes(provider: WalletProvider): { label: string; cardCode: string } {
  const entry = INSTRUMENT_CODE_TABLE[WALLET_CODE_KEYS[provider]];
  return { label: entry.label, cardCode: entry.cardCode };
}

/** label + cardCode of internet banking at `bankName` (e.g. 'IBANKING-Sandbox Bank', '7001'). */
export function ibankingCodes(bankName: string): { label: string; cardCode: string } {
  return { label: `IBANKING-${bankName}`, cardCode: INSTRUMENT_CODE_TABLE.IBANKING.cardCode };
}
