import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { WmxError } from '../domain/errors.js';
import { newId, newWmxId, slugify } from '../domain/ids.js';
import {
  DEFAULT_FEES_BPS,
  DEFAULT_LIMITS,
  normaliseDomain,
  type Merchant,
  type MerchantStatus,
} from '../domain/merchant.js';
import { formatRate } from '../domain/money.js';
import type { PaymentMethod } from '../domain/payment.js';
import type { Registration } from '../domain/registration.js';
import type { MerchantRepo } from '../store/merchants.js';
import type { ReferenceRepo } from '../store/reference.js';
import type { Database } from '../store/schema.js';
import type { Accounts, Role, User } from './accounts.js';
import type { Actor, AuditLog } from './audit.js';
import { sha256Hex, type Sealer } from './crypto.js';
import { issueCredentials, type IssuedCredentials } from './merchant-admin.js';
import { MAINTENANCE_KEY } from './reference-cache.js';

export const INVITE_TTL_MS = 7 * 24 * 3_600_000;

export interface OnboardingDeps {
  db: Kysely<Database>;
  merchants: MerchantRepo;
  accounts: Accounts;
  audit: AuditLog;
  sealer: Sealer;
  referenceRepo: ReferenceRepo;
  /** Forget cached merchant state in this process (credentials, status, limits). */
  forget(wmxId: string): void | Promise<void>;
  /** Rates, EMI banks or maintenance changed: every instance reloads them (change-feed.ts). */
  referenceChanged(): Promise<void>;
  now?: () => number;
}

export interface MerchantSettings {
  domains: string[];
  minAmountMinor: bigint;
  maxAmountMinor: bigint;
  feesBps: Record<PaymentMethod, number>;
  emiAllowed: boolean;
}

/** Registration, the operators' decisions, merchant settings and team invitations. */
export function createOnboarding(deps: OnboardingDeps) {
  const now = deps.now ?? Date.now;

  async function mustFind(id: string): Promise<Merchant> {
    const m = await deps.merchants.byId(id);
    if (!m) throw new WmxError('2004', 'No such merchant', 'merchant');
    return m;
  }

  async function save(m: Merchant): Promise<void> {
    await deps.merchants.update(m);
    await deps.forget(m.wmxId);
  }

  async function setStatus(
    id: string,
    status: MerchantStatus,
    actor: Actor,
    action: string,
    reason?: string,
  ): Promise<Merchant> {
    const m = await mustFind(id);
    m.status = status;
    if (reason !== undefined) m.rejectionReason = reason;
    await save(m);
    await deps.audit.record(actor, action, m.id, reason ? { reason } : {});
    return m;
  }

  return {
    /** A registration creates a pending merchant and its owner's login; nothing can pay until approval. */
    async register(r: Registration, ip: string): Promise<{ merchant: Merchant; owner: User }> {
      if (await deps.accounts.findByEmail('merchant', r.profile.email)) {
        throw new WmxError('2004', 'An account with this email already exists. Log in instead.', 'email');
      }
      const t = now();
      const merchant: Merchant = {
        id: newId('mer'),
        wmxId: newWmxId(),
        name: r.businessName,
        slug: slugify(r.businessName),
        status: 'pending',
        sandbox: false,
        accessAppKeyHash: null,
        username: null,
        passwordHash: null,
        signingSecretSealed: null,
        apiKeyHash: null,
        domains: r.domains,
        minAmountMinor: DEFAULT_LIMITS.minAmountMinor,
        maxAmountMinor: DEFAULT_LIMITS.maxAmountMinor,
        feesBps: { ...DEFAULT_FEES_BPS },
        emiAllowed: false,
        credentialsVersion: 0,
        credentialsIssuedAt: null,
        createdAt: t,
        profile: r.profile,
        rejectionReason: null,
        pendingCredentialsSealed: null,
      };
      await deps.merchants.insert(merchant);
      const owner = await deps.accounts.createUser({
        kind: 'merchant',
        email: r.profile.email,
        password: r.password,
        name: r.profile.contactName,
        merchantId: merchant.id,
        role: 'owner',
      });
      await deps.audit.record({ kind: 'merchant', id: owner.email, ip }, 'merchant.registered', merchant.id, {
        name: merchant.name,
        domains: merchant.domains,
      });
      return { merchant, owner };
    },

    /** Approval activates the merchant and issues its credentials, kept sealed until the owner reads them. */
    async approve(id: string, actor: Actor): Promise<Merchant> {
      const m = await mustFind(id);
      if (m.status !== 'pending' && m.status !== 'rejected')
        throw new WmxError('2004', `Cannot approve a merchant that is ${m.status}`);
      const creds = await issueCredentials(m, deps.sealer);
      m.status = 'active';
      m.rejectionReason = null;
      m.pendingCredentialsSealed = deps.sealer.seal(JSON.stringify(creds));
      await save(m);
      await deps.audit.record(actor, 'merchant.approved', m.id, { wmx_id: m.wmxId });
      return m;
    },
    reject: (id: string, reason: string, actor: Actor) => {
      const why = reason.trim();
      if (why === '' || why.length > 500)
        throw new WmxError('2004', 'Give a reason (at most 500 characters)', 'reason');
      return setStatus(id, 'rejected', actor, 'merchant.rejected', why);
    },
    suspend: (id: string, actor: Actor) => setStatus(id, 'suspended', actor, 'merchant.suspended'),
    reactivate: async (id: string, actor: Actor) => {
      const m = await mustFind(id);
      if (m.status !== 'suspended')
        throw new WmxError('2004', `Only a suspended merchant can be reactivated (this one is ${m.status})`);
      return setStatus(id, 'active', actor, 'merchant.reactivated');
    },

    /** The owner reads the credentials issued at approval: once; the sealed copy is then destroyed. */
    async revealIssuedCredentials(user: User, ip: string): Promise<IssuedCredentials | undefined> {
      if (user.role !== 'owner' || !user.merchantId) return undefined;
      const m = await mustFind(user.merchantId);
      if (!m.pendingCredentialsSealed) return undefined;
      const creds = JSON.parse(deps.sealer.open(m.pendingCredentialsSealed)) as IssuedCredentials; // sealed by approve()
      m.pendingCredentialsSealed = null;
      await save(m);
      await deps.audit.record({ kind: 'merchant', id: user.email, ip }, 'credentials.revealed', m.id);
      return creds;
    },

    /** Owner-only: new secrets, shown once; the old ones stop working at once. */
    async rotate(user: User, ip: string): Promise<IssuedCredentials> {
      if (user.role !== 'owner' || !user.merchantId)
        throw new WmxError('2001', 'Only the owner can rotate credentials');
      const m = await mustFind(user.merchantId);
      if (m.status !== 'active') throw new WmxError('2002', 'Credentials can be rotated once the merchant is active');
      const creds = await issueCredentials(m, deps.sealer);
      m.pendingCredentialsSealed = null;
      await save(m);
      await deps.audit.record({ kind: 'merchant', id: user.email, ip }, 'credentials.rotated', m.id);
      return creds;
    },

    async updateSettings(id: string, s: MerchantSettings, actor: Actor): Promise<Merchant> {
      const m = await mustFind(id);
      const domains = s.domains.map((d) => normaliseDomain(d));
      if (domains.some((d) => d === undefined)) throw new WmxError('2004', 'A domain is not valid', 'domains');
      if (s.minAmountMinor <= 0n || s.maxAmountMinor < s.minAmountMinor)
        throw new WmxError('2005', 'The minimum must be above 0 and not above the maximum', 'min_amount');
      for (const bps of Object.values(s.feesBps))
        if (!Number.isInteger(bps) || bps < 0 || bps > 10_000)
          throw new WmxError('2004', 'Fees are 0 to 100 %', 'fees');
      const before = {
        domains: m.domains,
        min: m.minAmountMinor.toString(),
        max: m.maxAmountMinor.toString(),
        fees: m.feesBps,
        emi: m.emiAllowed,
      };
      m.domains = [...new Set(domains as string[])];
      m.minAmountMinor = s.minAmountMinor;
      m.maxAmountMinor = s.maxAmountMinor;
      m.feesBps = { ...s.feesBps };
      m.emiAllowed = s.emiAllowed;
      await save(m);
      await deps.audit.record(actor, 'merchant.settings_changed', m.id, {
        before,
        after: {
          domains: m.domains,
          min: m.minAmountMinor.toString(),
          max: m.maxAmountMinor.toString(),
          fees: m.feesBps,
          emi: m.emiAllowed,
        },
      });
      return m;
    },

    /** A new rate for new payments; payments already made keep the rate locked at their init. */
    async setRate(currency: string, rateScaled: bigint, actor: Actor): Promise<void> {
      const c = currency.toUpperCase();
      if (!/^[A-Z]{3}$/.test(c)) throw new WmxError('2006', 'A currency is three letters', 'currency');
      if (c === 'BDT' && rateScaled !== 1_000_000n)
        throw new WmxError('2004', 'BDT is the settlement currency; its rate is 1', 'rate');
      await deps.referenceRepo.setRate(c, rateScaled);
      await deps.db
        .insertInto('currency_rate_history')
        .values({
          id: newId('evt').replace('evt_', 'rth_'),
          currency: c,
          rate_scaled: rateScaled.toString(),
          changed_at: now(),
          changed_by: actor.id,
        })
        .execute();
      await deps.referenceChanged();
      await deps.audit.record(actor, 'rate.changed', null, { currency: c, rate: formatRate(rateScaled) });
    },

    async rateHistory(limit = 200) {
      const rows = await deps.db
        .selectFrom('currency_rate_history')
        .selectAll()
        .orderBy('changed_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        currency: r.currency,
        rate: formatRate(BigInt(r.rate_scaled)),
        changedAt: Number(r.changed_at),
        changedBy: r.changed_by,
      }));
    },

    async setMaintenance(message: string | null, actor: Actor): Promise<void> {
      if (message === null) await deps.referenceRepo.deleteSetting(MAINTENANCE_KEY);
      else await deps.referenceRepo.setSetting(MAINTENANCE_KEY, message.trim() || 'Scheduled maintenance');
      await deps.referenceChanged();
      await deps.audit.record(
        actor,
        message === null ? 'maintenance.off' : 'maintenance.on',
        null,
        message === null ? {} : { message },
      );
    },

    /** An owner invites a team member; the one-time link is shown to the inviter only. */
    async invite(by: User, email: string, role: Role, ip: string): Promise<{ token: string; expiresAt: number }> {
      if (by.role !== 'owner' || !by.merchantId) throw new WmxError('2001', 'Only the owner can invite');
      if (role !== 'owner' && role !== 'developer' && role !== 'viewer')
        throw new WmxError('2004', 'Role is owner, developer or viewer', 'role');
      const e = email.trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) throw new WmxError('2004', 'Enter a valid email address', 'email');
      if (await deps.accounts.findByEmail('merchant', e))
        throw new WmxError('2004', 'This email already has an account', 'email');
      const token = crypto.randomBytes(24).toString('base64url');
      const t = now();
      await deps.db
        .insertInto('invites')
        .values({
          id: newId('evt').replace('evt_', 'inv_'),
          merchant_id: by.merchantId,
          email: e,
          role,
          token_hash: sha256Hex(token),
          created_by: by.email,
          created_at: t,
          expires_at: t + INVITE_TTL_MS,
          accepted_at: null,
        })
        .execute();
      await deps.audit.record({ kind: 'merchant', id: by.email, ip }, 'team.invited', by.merchantId, {
        email: e,
        role,
      });
      return { token, expiresAt: t + INVITE_TTL_MS };
    },

    async findInvite(token: string) {
      const r = await deps.db
        .selectFrom('invites')
        .selectAll()
        .where('token_hash', '=', sha256Hex(token))
        .executeTakeFirst();
      if (!r || r.accepted_at !== null || Number(r.expires_at) <= now()) return undefined;
      return { id: r.id, merchantId: r.merchant_id, email: r.email, role: r.role as Role }; // role written by invite()
    },

    /** Accepting an invite creates the member's login; the link works once. */
    async acceptInvite(token: string, name: string, password: string, ip: string): Promise<User> {
      const inv = await this.findInvite(token);
      if (!inv) throw new WmxError('2004', 'This invitation link is not valid any more', 'token');
      const claimed = await deps.db
        .updateTable('invites')
        .set({ accepted_at: now() })
        .where('id', '=', inv.id)
        .where('accepted_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1)
        throw new WmxError('2004', 'This invitation link is not valid any more', 'token');
      const user = await deps.accounts.createUser({
        kind: 'merchant',
        email: inv.email,
        password,
        name,
        merchantId: inv.merchantId,
        role: inv.role,
      });
      await deps.audit.record({ kind: 'merchant', id: user.email, ip }, 'team.joined', inv.merchantId, {
        role: inv.role,
      });
      return user;
    },

    async listInvites(merchantId: string) {
      const rows = await deps.db
        .selectFrom('invites')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((r) => ({
        email: r.email,
        role: r.role,
        createdBy: r.created_by,
        createdAt: Number(r.created_at),
        expiresAt: Number(r.expires_at),
        acceptedAt: r.accepted_at === null ? null : Number(r.accepted_at),
      }));
    },
  };
}

export type Onboarding = ReturnType<typeof createOnboarding>;
