import { WmxError } from '../domain/errors.js';
import {
  newAccessAppKey,
  newApiKey,
  newId,
  newPassword,
  newSigningSecret,
  newUsername,
  newWmxId,
  slugify,
} from '../domain/ids.js';
import {
  DEFAULT_FEES_BPS,
  DEFAULT_LIMITS,
  normaliseDomain,
  type Merchant,
  type MerchantStatus,
} from '../domain/merchant.js';
import type { MerchantRepo } from '../store/merchants.js';
import { hashPassword, sha256Hex, type Sealer } from './crypto.js';

/** Shown once, never stored in the clear (the signing secret is stored sealed, for signing). */
export interface IssuedCredentials {
  wmx_id: string;
  access_app_key: string;
  username: string;
  password: string;
  signing_secret: string;
  api_key: string;
}

export interface MerchantAdminDeps {
  merchants: MerchantRepo;
  sealer: Sealer;
  /** Called after any change, so in-process caches forget the merchant at once. */
  /** Drops what every instance caches about the merchant (awaited: the change is then in force). */
  onChange?: (wmxId: string) => void | Promise<void>;
}

export interface NewMerchant {
  name: string;
  domains: string[];
  sandbox: boolean;
  emiAllowed?: boolean;
}

/** Replaces every secret of a merchant (in memory; the caller saves it) and returns them, once. */
export async function issueCredentials(m: Merchant, sealer: Sealer): Promise<IssuedCredentials> {
  const creds: IssuedCredentials = {
    wmx_id: m.wmxId,
    access_app_key: newAccessAppKey(),
    username: newUsername(m.slug),
    password: newPassword(),
    signing_secret: newSigningSecret(),
    api_key: newApiKey(),
  };
  m.accessAppKeyHash = sha256Hex(creds.access_app_key);
  m.username = creds.username;
  m.passwordHash = await hashPassword(creds.password);
  m.signingSecretSealed = sealer.seal(creds.signing_secret);
  m.apiKeyHash = sha256Hex(creds.api_key);
  m.credentialsVersion += 1;
  m.credentialsIssuedAt = Date.now();
  return creds;
}

export function createMerchantAdmin(deps: MerchantAdminDeps) {
  const issue = (m: Merchant) => issueCredentials(m, deps.sealer);

  async function mustFind(wmxId: string): Promise<Merchant> {
    const m = await deps.merchants.byWmxId(wmxId);
    if (!m) throw new WmxError('2004', `No merchant with wmx_id ${wmxId}`, 'wmx_id');
    return m;
  }

  return {
    /** Creates an active merchant with fresh credentials. */
    async create(input: NewMerchant): Promise<{ merchant: Merchant; credentials: IssuedCredentials }> {
      const name = input.name.trim();
      if (name === '' || name.length > 255)
        throw new WmxError('2004', 'Merchant name must be 1-255 characters', 'name');
      const domains: string[] = [];
      for (const d of input.domains) {
        const n = normaliseDomain(d);
        if (!n) throw new WmxError('2004', `Not a domain: ${d}`, 'domain');
        if (!domains.includes(n)) domains.push(n);
      }
      if (domains.length === 0 && !input.sandbox) {
        throw new WmxError('2004', 'A live merchant needs at least one --domain', 'domain');
      }
      const now = Date.now();
      const merchant: Merchant = {
        id: newId('mer'),
        wmxId: newWmxId(),
        name,
        slug: slugify(name),
        status: 'active',
        sandbox: input.sandbox,
        accessAppKeyHash: null,
        username: null,
        passwordHash: null,
        signingSecretSealed: null,
        apiKeyHash: null,
        domains,
        minAmountMinor: DEFAULT_LIMITS.minAmountMinor,
        maxAmountMinor: DEFAULT_LIMITS.maxAmountMinor,
        feesBps: { ...DEFAULT_FEES_BPS },
        emiAllowed: input.emiAllowed ?? true,
        credentialsVersion: 0,
        credentialsIssuedAt: null,
        createdAt: now,
        profile: null,
        rejectionReason: null,
        pendingCredentialsSealed: null,
      };
      const credentials = await issue(merchant);
      await deps.merchants.insert(merchant);
      return { merchant, credentials };
    },

    /** Replaces every secret; the old ones stop working at once here, and on every other instance within milliseconds (change-feed.ts). */
    async rotate(wmxId: string): Promise<IssuedCredentials> {
      const m = await mustFind(wmxId);
      const creds = await issue(m);
      await deps.merchants.update(m);
      await deps.onChange?.(wmxId);
      return creds;
    },

    async setStatus(wmxId: string, status: MerchantStatus): Promise<Merchant> {
      const m = await mustFind(wmxId);
      m.status = status;
      await deps.merchants.update(m);
      await deps.onChange?.(wmxId);
      return m;
    },

    list: () => deps.merchants.list(),
  };
}

export type MerchantAdmin = ReturnType<typeof createMerchantAdmin>;
