import type { PaymentMethod } from './payment.js';

export type MerchantStatus = 'pending' | 'active' | 'suspended' | 'rejected';

/** What a merchant gave at registration (absent for merchants made with the CLI). */
export interface MerchantProfile {
  contactName: string;
  email: string;
  phone: string;
  businessType: string;
  tradeLicence: string;
  settlementAccountName: string;
  settlementAccountNumber: string;
  settlementBank: string;
  settlementBranch: string;
}

export interface Merchant {
  id: string;
  wmxId: string;
  name: string;
  slug: string;
  status: MerchantStatus;
  sandbox: boolean;
  accessAppKeyHash: string | null;
  username: string | null;
  passwordHash: string | null;
  signingSecretSealed: string | null;
  apiKeyHash: string | null;
  domains: string[];
  minAmountMinor: bigint;
  maxAmountMinor: bigint;
  feesBps: Record<PaymentMethod, number>;
  emiAllowed: boolean;
  credentialsVersion: number;
  credentialsIssuedAt: number | null;
  createdAt: number;
  profile: MerchantProfile | null;
  rejectionReason: string | null;
  /** Credentials issued at approval, sealed, until the owner reads them once in the dashboard. */
  pendingCredentialsSealed: string | null;
}

export const DEFAULT_LIMITS = { minAmountMinor: 1n, maxAmountMinor: 100_000_000_000n }; // 0.01 .. 1,000,000,000.00 BDT
export const DEFAULT_FEES_BPS: Readonly<Record<PaymentMethod, number>> = {
  card: 250,
  mobile_wallet: 185,
  internet_banking: 150,
};

/**
 * A callback (or webhook) host is allowed when it is one of the merchant's registered domains
 * (PROTOCOL.md section 4), compared without case, a trailing dot or the port. A subdomain is not
 * the domain: a shop on both `shop.example` and `www.shop.example` registers both, and a forgotten
 * subdomain's DNS record (taken over by someone else) never receives a customer's result.
 * Sandbox merchants may use any host.
 */
export function callbackHostAllowed(merchant: Pick<Merchant, 'sandbox' | 'domains'>, host: string): boolean {
  if (merchant.sandbox) return true;
  const h = host.toLowerCase().replace(/\.$/, '');
  return merchant.domains.some((d) => d.toLowerCase().replace(/\.$/, '') === h);
}

/** Normalises an operator-typed domain ("https://Shop.example.com/x" → "shop.example.com"). */
export function normaliseDomain(input: string): string | undefined {
  const t = input.trim().toLowerCase();
  if (t === '') return undefined;
  let host: string;
  try {
    host = new URL(/^[a-z][a-z0-9+.-]*:\/\//.test(t) ? t : `http://${t}`).hostname;
  } catch {
    return undefined;
  }
  if (host === '' || host.length > 253) return undefined;
  return host.replace(/^\[|\]$/g, '');
}

/**
 * A host a merchant may register: a DNS name with a dot (shop.example.com), `localhost`, or an IPv4
 * address (for shops tested locally). Input is already normalised (lower case, no scheme or port).
 */
export function isRegistrableHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(host)) return true;
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(host);
}
