import { isRegistrableHost, normaliseDomain, type MerchantProfile } from './merchant.js';

export const BUSINESS_TYPES = [
  'Sole proprietorship',
  'Partnership',
  'Private limited company',
  'Public limited company',
  'NGO or non-profit',
  'Other',
] as const;

export const MIN_PASSWORD_LENGTH = 12;

export interface RegistrationInput {
  business_name: string;
  domains: string;
  contact_name: string;
  email: string;
  phone: string;
  business_type: string;
  trade_licence: string;
  account_name: string;
  account_number: string;
  bank: string;
  branch: string;
  password: string;
  password_confirm: string;
}

export interface Registration {
  businessName: string;
  domains: string[];
  profile: MerchantProfile;
  password: string;
}

export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Bangladeshi mobile numbers: 01[3-9]XXXXXXXX, also written +8801… or 8801…; returns the 11-digit form. */
export function normaliseBdPhone(input: string): string | undefined {
  const d = input.replace(/[\s-]/g, '');
  const m = /^(?:\+?88)?(01[3-9]\d{8})$/.exec(d);
  return m?.[1];
}

/** Checks every field at once; messages are shown next to the field. */
export function validateRegistration(
  i: RegistrationInput,
): { ok: true; value: Registration } | { ok: false; errors: Partial<Record<keyof RegistrationInput, string>> } {
  const errors: Partial<Record<keyof RegistrationInput, string>> = {};
  const need = (k: keyof RegistrationInput, max: number, label: string) => {
    const v = i[k].trim();
    if (v === '') errors[k] = `Enter the ${label}.`;
    else if (v.length > max) errors[k] = `The ${label} must be at most ${max} characters.`;
    return v;
  };
  const businessName = need('business_name', 120, 'business name');
  const domains: string[] = [];
  const domainTexts = i.domains.split(/[\s,]+/).filter((d) => d !== '');
  if (domainTexts.length === 0) errors.domains = 'Enter at least one website domain, e.g. shop.example.com.';
  for (const d of domainTexts) {
    const n = normaliseDomain(d);
    if (!n || !isRegistrableHost(n)) {
      errors.domains = `"${d.slice(0, 80)}" is not a website domain (e.g. shop.example.com).`;
      break;
    }
    if (!domains.includes(n)) domains.push(n);
  }
  if (domains.length > 10) errors.domains = 'At most 10 domains.';
  const contactName = need('contact_name', 120, 'contact name');
  const email = i.email.trim().toLowerCase();
  if (!EMAIL_RE.test(email) || email.length > 254)
    errors.email = 'Enter a valid email address, e.g. owner@example.com.';
  const phone = normaliseBdPhone(i.phone);
  if (!phone) errors.phone = 'Enter a Bangladeshi mobile number, e.g. 01712345678 or +8801712345678.';
  const businessType = i.business_type.trim();
  if (!(BUSINESS_TYPES as readonly string[]).includes(businessType))
    errors.business_type = 'Choose the type of business.';
  const tradeLicence = i.trade_licence.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9/-]{3,39}$/.test(tradeLicence)) {
    errors.trade_licence = 'Enter the trade licence number (4 to 40 letters, digits, / or -).';
  }
  const accountName = need('account_name', 120, 'account name');
  const accountNumber = i.account_number.replace(/[\s-]/g, '');
  if (!/^\d{8,20}$/.test(accountNumber)) errors.account_number = 'Enter the bank account number (8 to 20 digits).';
  const bank = need('bank', 120, 'bank name');
  const branch = need('branch', 120, 'branch');
  if (i.password.length < MIN_PASSWORD_LENGTH) errors.password = `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  else if (i.password.length > 200) errors.password = 'Use at most 200 characters.';
  if (i.password_confirm !== i.password) errors.password_confirm = 'The two passwords differ.';

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      businessName,
      domains,
      password: i.password,
      profile: {
        contactName,
        email,
        phone: phone!,
        businessType,
        tradeLicence,
        settlementAccountName: accountName,
        settlementAccountNumber: accountNumber,
        settlementBank: bank,
        settlementBranch: branch,
      },
    },
  };
}
