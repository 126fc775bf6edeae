import type { Kysely, Selectable } from 'kysely';
import type { Merchant, MerchantStatus } from '../domain/merchant.js';
import type { Database, MerchantsTable } from './schema.js';

export function toMerchant(r: Selectable<MerchantsTable>): Merchant {
  return {
    id: r.id,
    wmxId: r.wmx_id,
    name: r.name,
    slug: r.slug,
    status: r.status as MerchantStatus, // the column only ever holds MerchantStatus values
    sandbox: Number(r.sandbox) === 1,
    accessAppKeyHash: r.access_app_key_hash,
    username: r.username,
    passwordHash: r.password_hash,
    signingSecretSealed: r.signing_secret_sealed,
    apiKeyHash: r.api_key_hash,
    domains: JSON.parse(r.domains) as string[],
    minAmountMinor: BigInt(r.min_amount_minor),
    maxAmountMinor: BigInt(r.max_amount_minor),
    feesBps: {
      card: Number(r.fee_card_bps),
      mobile_wallet: Number(r.fee_mobile_wallet_bps),
      internet_banking: Number(r.fee_internet_banking_bps),
    },
    emiAllowed: Number(r.emi_allowed) === 1,
    credentialsVersion: Number(r.credentials_version),
    credentialsIssuedAt: r.credentials_issued_at === null ? null : Number(r.credentials_issued_at),
    createdAt: Number(r.created_at),
    profile:
      r.email === null
        ? null
        : {
            contactName: r.contact_name ?? '',
            email: r.email,
            phone: r.phone ?? '',
            businessType: r.business_type ?? '',
            tradeLicence: r.trade_licence ?? '',
            settlementAccountName: r.settlement_account_name ?? '',
            settlementAccountNumber: r.settlement_account_number ?? '',
            settlementBank: r.settlement_bank ?? '',
            settlementBranch: r.settlement_branch ?? '',
          },
    rejectionReason: r.rejection_reason,
    pendingCredentialsSealed: r.pending_credentials_sealed,
  };
}

export function fromMerchant(m: Merchant, now: number): MerchantsTable {
  return {
    id: m.id,
    wmx_id: m.wmxId,
    name: m.name,
    slug: m.slug,
    status: m.status,
    sandbox: m.sandbox ? 1 : 0,
    access_app_key_hash: m.accessAppKeyHash,
    username: m.username,
    password_hash: m.passwordHash,
    signing_secret_sealed: m.signingSecretSealed,
    api_key_hash: m.apiKeyHash,
    domains: JSON.stringify(m.domains),
    min_amount_minor: m.minAmountMinor.toString(),
    max_amount_minor: m.maxAmountMinor.toString(),
    fee_card_bps: m.feesBps.card,
    fee_mobile_wallet_bps: m.feesBps.mobile_wallet,
    fee_internet_banking_bps: m.feesBps.internet_banking,
    emi_allowed: m.emiAllowed ? 1 : 0,
    credentials_version: m.credentialsVersion,
    credentials_issued_at: m.credentialsIssuedAt,
    created_at: m.createdAt,
    updated_at: now,
    contact_name: m.profile?.contactName ?? null,
    email: m.profile?.email ?? null,
    phone: m.profile?.phone ?? null,
    business_type: m.profile?.businessType ?? null,
    trade_licence: m.profile?.tradeLicence ?? null,
    settlement_account_name: m.profile?.settlementAccountName ?? null,
    settlement_account_number: m.profile?.settlementAccountNumber ?? null,
    settlement_bank: m.profile?.settlementBank ?? null,
    settlement_branch: m.profile?.settlementBranch ?? null,
    rejection_reason: m.rejectionReason,
    pending_credentials_sealed: m.pendingCredentialsSealed,
  };
}

export function createMerchantRepo(db: Kysely<Database>) {
  return {
    async insert(m: Merchant): Promise<void> {
      await db.insertInto('merchants').values(fromMerchant(m, Date.now())).execute();
    },
    async update(m: Merchant): Promise<void> {
      const { id: _id, created_at: _c, ...rest } = fromMerchant(m, Date.now());
      await db.updateTable('merchants').set(rest).where('id', '=', m.id).execute();
    },
    async byWmxId(wmxId: string): Promise<Merchant | undefined> {
      const r = await db.selectFrom('merchants').selectAll().where('wmx_id', '=', wmxId).executeTakeFirst();
      return r && toMerchant(r);
    },
    async byId(id: string): Promise<Merchant | undefined> {
      const r = await db.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toMerchant(r);
    },
    async list(): Promise<Merchant[]> {
      const rows = await db.selectFrom('merchants').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toMerchant);
    },
  };
}

export type MerchantRepo = ReturnType<typeof createMerchantRepo>;
