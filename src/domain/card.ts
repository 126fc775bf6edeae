/**
 * Card and wallet instruments as the checkout form sees them: normalising, validating, masking.
 * Pure: the page maps the error codes to English/Bangla text; nothing here logs or stores a number.
 */
export type CardBrand = 'VISA' | 'MASTERCARD' | 'AMEX' | 'NEXUS';

/** Why a card form field was refused; the page owns the wording. */
export type CardFieldError = 'required' | 'format' | 'length' | 'luhn' | 'unknown_brand' | 'past';

export type CardField = 'number' | 'expiry' | 'cvv' | 'name';

export interface CardExpiry {
  month: number;
  year: number;
}

export interface CardFormInput {
  number?: string | undefined;
  expiry?: string | undefined;
  cvv?: string | undefined;
  name?: string | undefined;
}

export interface ValidCard {
  digits: string;
  brand: CardBrand;
  expMonth: number;
  expYear: number;
  cvv: string;
  holder: string;
}

export type CardFormResult =
  { ok: true; card: ValidCard } | { ok: false; errors: Partial<Record<CardField, CardFieldError>> };

export const HOLDER_MAX_LENGTH = 64;

/** Card numbers are 12–19 digits (ISO/IEC 7812). */
const CARD_DIGITS_RE = /^\d{12,19}$/;

export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Bangla digits (০–৯, common on Bangla keyboards) → ASCII; other characters unchanged. */
export function asciiDigits(input: string): string {
  return input.replace(/[\u09e6-\u09ef]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x09e6 + 48));
}

const stripSeparators = (input: string): string => asciiDigits(input).replace(/[\s-]+/g, '');

/** Strips spaces and dashes; undefined unless what remains is 12–19 digits. */
export function normaliseCardNumber(input: string): string | undefined {
  const digits = stripSeparators(input);
  return CARD_DIGITS_RE.test(digits) ? digits : undefined;
}

/** Brand from the number's prefix alone (no length check); lets the form tell "wrong length" apart. */
export function cardBrandByPrefix(digits: string): CardBrand | undefined {
  if (digits.startsWith('4')) return 'VISA';
  if (/^3[47]/.test(digits)) return 'AMEX';
  if (/^5[1-5]/.test(digits)) return 'MASTERCARD';
  const four = Number(digits.slice(0, 4));
  if (digits.length >= 4 && four >= 2221 && four <= 2720) return 'MASTERCARD';
  // DBBL Nexus (ours): the domestic scheme's cards start with 9.
  if (digits.startsWith('9')) return 'NEXUS';
  return undefined;
}

/** Card number lengths each brand issues. */
export const CARD_LENGTHS: Readonly<Record<CardBrand, readonly number[]>> = {
  VISA: [13, 16, 19],
  MASTERCARD: [16],
  AMEX: [15],
  NEXUS: [16],
};

/** Brand of a digits-only card number, checking prefix and length; undefined when unknown. */
export function cardBrand(digits: string): CardBrand | undefined {
  if (!/^\d+$/.test(digits)) return undefined;
  const brand = cardBrandByPrefix(digits);
  return brand !== undefined && CARD_LENGTHS[brand].includes(digits.length) ? brand : undefined;
}

export function cvvLengthFor(brand: CardBrand): 3 | 4 {
  return brand === 'AMEX' ? 4 : 3;
}

/**
 * Accepts "MM/YY", "MM / YY", "MMYY", "MM/YYYY" (also "M/YY", "MM-YY", "MMYYYY").
 * Two-digit years are 20YY.
 */
export function parseExpiry(input: string): CardExpiry | undefined {
  const t = asciiDigits(input).trim();
  const m = /^(\d{1,2})\s*[/-]\s*(\d{2}|\d{4})$/.exec(t) ?? /^(\d{2})(\d{2}|\d{4})$/.exec(t);
  if (!m) return undefined;
  const month = Number(m[1]);
  const yearText = m[2] as string;
  const year = yearText.length === 2 ? 2000 + Number(yearText) : Number(yearText);
  if (month < 1 || month > 12) return undefined;
  return { month, year };
}

/** A card is valid through the last day of its expiry month (compared in UTC). */
export function expiryInPast(exp: CardExpiry, nowMs: number): boolean {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return exp.year < year || (exp.year === year && exp.month < month);
}

/** First 6 + stars + last 4 (411111******1111); shorter strings keep only the last 4. */
export function maskCard(digits: string): string {
  if (digits.length >= 12) return digits.slice(0, 6) + '*'.repeat(digits.length - 10) + digits.slice(-4);
  return '*'.repeat(Math.max(0, digits.length - 4)) + digits.slice(-4);
}

type Checked<T> = { error: CardFieldError } | { value: T };

function validateNumber(raw: string): Checked<{ digits: string; brand: CardBrand }> {
  const stripped = stripSeparators(raw);
  if (stripped === '') return { error: 'required' };
  if (!/^\d+$/.test(stripped)) return { error: 'format' };
  if (stripped.length < 12 || stripped.length > 19) return { error: 'length' };
  const brand = cardBrandByPrefix(stripped);
  if (brand === undefined) return { error: 'unknown_brand' };
  if (!CARD_LENGTHS[brand].includes(stripped.length)) return { error: 'length' };
  if (!luhnValid(stripped)) return { error: 'luhn' };
  return { value: { digits: stripped, brand } };
}

function validateExpiry(raw: string, nowMs: number): Checked<CardExpiry> {
  if (raw.trim() === '') return { error: 'required' };
  const exp = parseExpiry(raw);
  if (!exp) return { error: 'format' };
  return expiryInPast(exp, nowMs) ? { error: 'past' } : { value: exp };
}

/** Without a known brand (the number is wrong too) either length passes, so only the number is flagged. */
function validateCvv(raw: string, brand: CardBrand | undefined): Checked<string> {
  const cvv = asciiDigits(raw).trim();
  if (cvv === '') return { error: 'required' };
  if (!/^\d+$/.test(cvv)) return { error: 'format' };
  const ok = brand === undefined ? cvv.length === 3 || cvv.length === 4 : cvv.length === cvvLengthFor(brand);
  return ok ? { value: cvv } : { error: 'length' };
}

function validateHolder(raw: string): Checked<string> {
  const name = raw.trim().replace(/\s+/g, ' ');
  if (name === '') return { error: 'required' };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { error: 'format' };
  return [...name].length > HOLDER_MAX_LENGTH ? { error: 'length' } : { value: name };
}

/** Validates the card form; every field is checked so the page can show all problems at once. */
export function validateCardForm(input: CardFormInput, nowMs: number): CardFormResult {
  const number = validateNumber(input.number ?? '');
  const expiry = validateExpiry(input.expiry ?? '', nowMs);
  const cvv = validateCvv(input.cvv ?? '', 'value' in number ? number.value.brand : undefined);
  const holder = validateHolder(input.name ?? '');
  if ('value' in number && 'value' in expiry && 'value' in cvv && 'value' in holder) {
    return {
      ok: true,
      card: {
        digits: number.value.digits,
        brand: number.value.brand,
        expMonth: expiry.value.month,
        expYear: expiry.value.year,
        cvv: cvv.value,
        holder: holder.value,
      },
    };
  }
  const errors: Partial<Record<CardField, CardFieldError>> = {};
  if ('error' in number) errors.number = number.error;
  if ('error' in expiry) errors.expiry = expiry.error;
  if ('error' in cvv) errors.cvv = cvv.error;
  if ('error' in holder) errors.name = holder.error;
  return { ok: false, errors };
}

/** Bangladeshi mobile numbers: 01[3-9] + 8 digits; "+8801…" and "8801…" are accepted too. */
export function normaliseWalletNumber(input: string): string | undefined {
  let n = stripSeparators(input);
  if (n.startsWith('+880')) n = n.slice(3);
  else if (n.startsWith('880')) n = n.slice(2);
  return /^01[3-9]\d{8}$/.test(n) ? n : undefined;
}

/**
 * An internet-banking login as card_details shows it once paid: the first two characters and a
 * fixed run of stars, so neither the rest nor the length is told ("sandbox" → "sa******").
 */
export function maskBankLogin(login: string): string {
  const chars = [...login.trim()];
  return chars.slice(0, chars.length > 4 ? 2 : 0).join('') + '******';
}

/** 01700000001 → 017****0001. */
export function maskWallet(number: string): string {
  if (number.length <= 7) return '*'.repeat(Math.max(0, number.length - 4)) + number.slice(-4);
  return number.slice(0, 3) + '*'.repeat(number.length - 7) + number.slice(-4);
}
