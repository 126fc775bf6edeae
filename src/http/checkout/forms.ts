import { EMI_RATES_BPS } from '../../domain/emi.js';
import { asciiDigits, normaliseWalletNumber, validateCardForm } from '../../domain/card.js';
import type { PaymentMethod } from '../../domain/payment.js';
import type { Instrument } from '../../acquirers/port.js';
import type { EmiChoice } from '../../app/pay.js';
import type { Translate } from './i18n.js';

type Body = Record<string, string | undefined>;

export type ReadResult =
  | { ok: true; instrument: Instrument; emi: EmiChoice | null; values: Record<string, string> }
  | { ok: false; values: Record<string, string>; errors: Record<string, string> };

const PROVIDERS = ['bkash', 'nagad', 'rocket'] as const;

/**
 * Turns a submitted payment form into an instrument, or into messages next to the fields. A typo is
 * caught here (Luhn, expiry, CVV length) and never reaches the bank or the payment's outcome.
 * Values echoed back for correction never include the CVV, PIN or password.
 */
export function readInstrument(
  method: PaymentMethod,
  b: Body,
  t: Translate,
  nowMs: number,
  opts: { emiAllowed: boolean; emiBanks: string[] },
): ReadResult {
  const str = (k: string, max = 128) => (b[k] ?? '').trim().slice(0, max);
  const errors: Record<string, string> = {};

  if (method === 'card') {
    const values = { card_number: str('card_number', 32), expiry: str('expiry', 10), card_name: str('card_name', 64) };
    const r = validateCardForm(
      { number: values.card_number, expiry: values.expiry, cvv: str('cvv', 8), name: values.card_name },
      nowMs,
    );
    let emi: EmiChoice | null = null;
    const period = str('emi_period', 4);
    if (period !== '') {
      const n = Number(period);
      const bank = str('emi_bank', 32);
      if (!opts.emiAllowed || EMI_RATES_BPS[n] === undefined || !opts.emiBanks.includes(bank))
        errors.emi_period = t('errEmi');
      else emi = { period: n, bank };
      Object.assign(values, { emi_period: period, emi_bank: bank });
    }
    if (!r.ok) {
      const e = r.errors;
      if (e.number) {
        errors.card_number =
          e.number === 'required'
            ? t('errRequired')
            : e.number === 'unknown_brand'
              ? t('errCardBrand')
              : e.number === 'luhn'
                ? t('errCardLuhn')
                : t('errCardFormat');
      }
      if (e.expiry)
        errors.expiry =
          e.expiry === 'past' ? t('errExpiryPast') : e.expiry === 'required' ? t('errRequired') : t('errExpiryFormat');
      if (e.cvv) errors.cvv = t('errCvv', { n: values.card_number.replace(/\D/g, '').startsWith('3') ? 4 : 3 });
      if (e.name) errors.card_name = t('errName');
    }
    if (!r.ok || Object.keys(errors).length > 0) return { ok: false, values, errors };
    const c = r.card;
    return {
      ok: true,
      instrument: {
        kind: 'card',
        digits: c.digits,
        brand: c.brand,
        expMonth: c.expMonth,
        expYear: c.expYear,
        cvv: c.cvv,
        holder: c.holder,
      },
      emi,
      values,
    };
  }

  if (method === 'mobile_wallet') {
    const provider = PROVIDERS.find((p) => p === str('provider', 16)) ?? 'bkash';
    const values = { provider, wallet_number: str('wallet_number', 20) };
    const walletNumber = normaliseWalletNumber(values.wallet_number);
    const pin = asciiDigits(str('pin', 16)); // Bangla digits from a Bangla keyboard count too
    if (!walletNumber) errors.wallet_number = values.wallet_number === '' ? t('errRequired') : t('errWallet');
    if (!/^\d{4,8}$/.test(pin)) errors.pin = t('errPin');
    if (!walletNumber || Object.keys(errors).length > 0) return { ok: false, values, errors };
    return { ok: true, instrument: { kind: 'mobile_wallet', provider, walletNumber, pin }, emi: null, values };
  }

  const values = { bank: str('bank', 32) || 'sandbox', username: str('username', 64) };
  const password = (b.password ?? '').slice(0, 128);
  if (values.username === '') errors.username = t('errRequired');
  if (password === '') errors.password = t('errRequired');
  if (Object.keys(errors).length > 0) return { ok: false, values, errors };
  return {
    ok: true,
    instrument: { kind: 'internet_banking', bank: values.bank, username: values.username, password },
    emi: null,
    values,
  };
}
