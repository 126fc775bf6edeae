import { type Kysely, type Migration, type MigrationProvider, Migrator, PostgresAdapter, sql } from 'kysely';
import { AUDIT_GENESIS_HASH, auditHash, type AuditHashFields } from '../domain/audit-chain.js';

/**
 * Forward-only migrations. Types stay portable across SQLite and PostgreSQL: text ids, bigint minor
 * units and epoch-millisecond timestamps, JSON as text. Never edit a migration that has shipped.
 */
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('merchants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('wmx_id', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('slug', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('access_app_key_hash', 'text')
        .addColumn('username', 'text', (c) => c.unique())
        .addColumn('password_hash', 'text')
        .addColumn('signing_secret_sealed', 'text')
        .addColumn('api_key_hash', 'text', (c) => c.unique())
        .addColumn('domains', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('min_amount_minor', 'bigint', (c) => c.notNull())
        .addColumn('max_amount_minor', 'bigint', (c) => c.notNull())
        .addColumn('fee_card_bps', 'integer', (c) => c.notNull())
        .addColumn('fee_mobile_wallet_bps', 'integer', (c) => c.notNull())
        .addColumn('fee_internet_banking_bps', 'integer', (c) => c.notNull())
        .addColumn('emi_allowed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('credentials_version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('credentials_issued_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('payments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token', 'text', (c) => c.notNull().unique())
        .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
        .addColumn('wmx_id', 'text', (c) => c.notNull())
        .addColumn('ref_id', 'text', (c) => c.notNull().unique())
        .addColumn('merchant_order_id', 'text', (c) => c.notNull())
        .addColumn('merchant_ref_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('app_name', 'text', (c) => c.notNull())
        .addColumn('cart_info', 'text', (c) => c.notNull())
        .addColumn('customer_name', 'text', (c) => c.notNull())
        .addColumn('customer_email', 'text', (c) => c.notNull())
        .addColumn('customer_phone', 'text', (c) => c.notNull())
        .addColumn('customer_details', 'text', (c) => c.notNull())
        .addColumn('product_desc', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount_minor', 'bigint', (c) => c.notNull())
        .addColumn('rate_scaled', 'bigint', (c) => c.notNull())
        .addColumn('amount_bdt_minor', 'bigint', (c) => c.notNull())
        .addColumn('emi_period', 'integer')
        .addColumn('emi_bank', 'text')
        .addColumn('emi_bps', 'integer', (c) => c.notNull())
        .addColumn('emi_charge_minor', 'bigint', (c) => c.notNull())
        .addColumn('discount_minor', 'bigint', (c) => c.notNull())
        .addColumn('fee_bps', 'integer', (c) => c.notNull())
        .addColumn('fee_minor', 'bigint', (c) => c.notNull())
        .addColumn('bank_amount_minor', 'bigint', (c) => c.notNull())
        .addColumn('callback_url', 'text', (c) => c.notNull())
        .addColumn('extra_json', 'text')
        .addColumn('options_raw', 'text', (c) => c.notNull())
        .addColumn('options_decoded', 'text', (c) => c.notNull())
        .addColumn('request_ip', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('txn_details', 'text', (c) => c.notNull())
        .addColumn('method', 'text')
        .addColumn('card_details', 'text')
        .addColumn('is_foreign', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('payment_card', 'text')
        .addColumn('card_code', 'text')
        .addColumn('page_extra', 'text')
        .addColumn('init_at', 'bigint', (c) => c.notNull())
        .addColumn('txn_at', 'bigint')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('payments_merchant_ref_uq')
        .on('payments')
        .columns(['merchant_id', 'merchant_ref_id'])
        .unique()
        .execute();
      await db.schema
        .createIndex('payments_merchant_init_idx')
        .on('payments')
        .columns(['merchant_id', 'init_at', 'id'])
        .execute();

      await db.schema
        .createTable('currency_rates')
        .addColumn('currency', 'text', (c) => c.primaryKey())
        .addColumn('rate_scaled', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('emi_banks')
        .addColumn('bank_key', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('sort_order', 'integer', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      const now = Date.now();
      // Editable starting rates (BDT per unit), 6-decimal fixed point.
      const rates: [string, string][] = [
        ['BDT', '1'],
        ['USD', '122.50'],
        ['EUR', '133.10'],
        ['GBP', '155.20'],
        ['INR', '1.4150'],
        ['SGD', '91.30'],
        ['MYR', '27.40'],
        ['AUD', '80.15'],
        ['CAD', '88.60'],
        ['AED', '33.35'],
        ['SAR', '32.65'],
      ];
      for (const [currency, rate] of rates) {
        const [w, f = ''] = rate.split('.');
        const scaled = BigInt(w!) * 1_000_000n + BigInt(f.padEnd(6, '0'));
        await sql`insert into currency_rates (currency, rate_scaled, updated_at) values (${currency}, ${scaled.toString()}, ${now})`.execute(
          db,
        );
      }
      const banks: [string, string][] = [
        ['dbbl', 'Dutch-Bangla Bank'],
        ['ebl', 'Eastern Bank'],
        ['city', 'The City Bank'],
        ['brac', 'BRAC Bank'],
        ['scb', 'Standard Chartered Bank'],
        ['mtb', 'Mutual Trust Bank'],
        ['ucb', 'United Commercial Bank'],
        ['prime', 'Prime Bank'],
      ];
      let i = 0;
      for (const [key, name] of banks) {
        await sql`insert into emi_banks (bank_key, name, sort_order, active) values (${key}, ${name}, ${i++}, 1)`.execute(
          db,
        );
      }
    },
  },
};

migrations['0002_checkout'] = {
  async up(db: Kysely<unknown>) {
    // A lease taken while the bank is being asked, so a second Pay cannot reach the bank twice.
    await db.schema.alterTable('payments').addColumn('processing_until', 'bigint').execute();
    // A pending one-time-password step: the acquirer's opaque reference and the wrong tries so far.
    await db.schema.alterTable('payments').addColumn('challenge_ref', 'text').execute();
    await db.schema.alterTable('payments').addColumn('challenge_info', 'text').execute();
    await db.schema
      .alterTable('payments')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('payments').addColumn('auth_code', 'text').execute();
  },
};

migrations['0003_demo_orders'] = {
  async up(db: Kysely<unknown>) {
    // Orders of the sandbox demo shop (/demo), which plays a merchant against this gateway.
    await db.schema
      .createTable('demo_orders')
      .addColumn('token', 'text', (c) => c.primaryKey())
      .addColumn('merchant_ref_id', 'text', (c) => c.notNull())
      .addColumn('lines', 'text', (c) => c.notNull())
      .addColumn('total_minor', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

migrations['0004_console'] = {
  async up(db: Kysely<unknown>) {
    // What a merchant gives at registration.
    for (const col of [
      'contact_name',
      'email',
      'phone',
      'business_type',
      'trade_licence',
      'settlement_account_name',
      'settlement_account_number',
      'settlement_bank',
      'settlement_branch',
      'rejection_reason',
      // Credentials issued at approval, sealed until the merchant's owner reads them once.
      'pending_credentials_sealed',
    ]) {
      await db.schema.alterTable('merchants').addColumn(col, 'text').execute();
    }

    // People who log in: operators (kind admin) and merchant team members (owner/developer/viewer).
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.references('merchants.id'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', 'bigint')
      .addColumn('last_login_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('users_kind_email_uq').on('users').columns(['kind', 'email']).unique().execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('ip', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('invites')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('accepted_at', 'bigint')
      .execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull().unique())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor_kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('ip', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_merchant_idx').on('audit_log').columns(['merchant_id', 'seq']).execute();

    await db.schema
      .createTable('currency_rate_history')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('rate_scaled', 'bigint', (c) => c.notNull())
      .addColumn('changed_at', 'bigint', (c) => c.notNull())
      .addColumn('changed_by', 'text', (c) => c.notNull())
      .execute();

    // Dashboard search and filters by merchant.
    await db.schema
      .createIndex('payments_merchant_status_idx')
      .on('payments')
      .columns(['merchant_id', 'status', 'init_at'])
      .execute();
    await db.schema
      .createIndex('payments_merchant_order_idx')
      .on('payments')
      .columns(['merchant_id', 'merchant_order_id'])
      .execute();
    await db.schema
      .createIndex('payments_merchant_phone_idx')
      .on('payments')
      .columns(['merchant_id', 'customer_phone'])
      .execute();
    await db.schema
      .createIndex('payments_merchant_email_idx')
      .on('payments')
      .columns(['merchant_id', 'customer_email'])
      .execute();
  },
};

migrations['0005_ledger'] = {
  async up(db: Kysely<unknown>) {
    // Succeeded refunds so far, kept in the same transaction as each refund's success so that
    // check-payment (refunded_amount_bdt) still reads one row.
    await db.schema
      .alterTable('payments')
      .addColumn('refunded_minor', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();

    // Append-only double-entry ledger (src/domain/ledger.ts documents the accounts). Balances are sums
    // of postings; nothing stores a balance. idempotency_key makes a retried operation post once.
    await db.schema
      .createTable('ledger_transfers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('payment_id', 'text')
      .addColumn('refund_id', 'text')
      .addColumn('settlement_id', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('ledger_transfers_payment_idx')
      .on('ledger_transfers')
      .columns(['payment_id', 'kind'])
      .execute();
    await db.schema.createIndex('ledger_transfers_refund_idx').on('ledger_transfers').column('refund_id').execute();
    await db.schema
      .createIndex('ledger_transfers_settlement_idx')
      .on('ledger_transfers')
      .column('settlement_id')
      .execute();

    await db.schema
      .createTable('ledger_postings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('transfer_id', 'text', (c) => c.notNull().references('ledger_transfers.id'))
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('amount_minor', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ledger_postings_transfer_idx').on('ledger_postings').column('transfer_id').execute();
    await db.schema
      .createIndex('ledger_postings_merchant_account_idx')
      .on('ledger_postings')
      .columns(['merchant_id', 'account'])
      .execute();

    await db.schema
      .createTable('refunds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('payment_id', 'text', (c) => c.notNull().references('payments.id'))
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('amount_minor', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema.createIndex('refunds_payment_idx').on('refunds').columns(['payment_id', 'status']).execute();
    await db.schema
      .createIndex('refunds_merchant_completed_idx')
      .on('refunds')
      .columns(['merchant_id', 'status', 'completed_at'])
      .execute();

    await db.schema
      .createTable('settlement_batches')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('date', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('gross_minor', 'bigint', (c) => c.notNull())
      .addColumn('fees_minor', 'bigint', (c) => c.notNull())
      .addColumn('emi_minor', 'bigint', (c) => c.notNull())
      .addColumn('refunds_minor', 'bigint', (c) => c.notNull())
      .addColumn('net_minor', 'bigint', (c) => c.notNull())
      .addColumn('payment_count', 'integer', (c) => c.notNull())
      .addColumn('refund_count', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // One batch per merchant and day: the second `wmx settle` for a day finds it and settles nothing.
    await db.schema
      .createIndex('settlement_batches_merchant_date_uq')
      .on('settlement_batches')
      .columns(['merchant_id', 'date'])
      .unique()
      .execute();
    await db.schema
      .createIndex('settlement_batches_date_idx')
      .on('settlement_batches')
      .columns(['date', 'id'])
      .execute();

    // Settlement sums the approved payments of one day (by txn_at), for every merchant at once.
    await db.schema.createIndex('payments_status_txn_idx').on('payments').columns(['status', 'txn_at']).execute();
  },
};

migrations['0006_api'] = {
  async up(db: Kysely<unknown>) {
    // Idempotency keys of the JSON API: the row is taken before the work is done, so of two
    // concurrent requests with one key only the one that inserted it acts (UNIQUE decides).
    await db.schema
      .createTable('api_idempotency')
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull()) // in_progress | done
      .addColumn('response_status', 'integer')
      .addColumn('response_body', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('api_idempotency_merchant_key_uq', ['merchant_id', 'key'])
      .execute();
    await db.schema.createIndex('api_idempotency_created_idx').on('api_idempotency').column('created_at').execute();
  },
};

migrations['0007_webhooks'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('webhook_endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('webhook_endpoints_merchant_idx')
      .on('webhook_endpoints')
      .columns(['merchant_id', 'enabled'])
      .execute();
    await db.schema
      .createTable('webhook_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('webhook_events_merchant_idx')
      .on('webhook_events')
      .columns(['merchant_id', 'created_at'])
      .execute();
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull()) // pending | delivered | failed
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_until', 'bigint')
      .addColumn('last_status_code', 'integer')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // The worker's claim scans pending rows by due time.
    await db.schema
      .createIndex('webhook_deliveries_due_idx')
      .on('webhook_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_endpoint_idx')
      .on('webhook_deliveries')
      .columns(['endpoint_id', 'created_at'])
      .execute();
    await db.schema
      .createTable('webhook_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('attempted_at', 'bigint', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('latency_ms', 'integer', (c) => c.notNull())
      .addColumn('response_excerpt', 'text')
      .addColumn('error', 'text')
      .execute();
    await db.schema
      .createIndex('webhook_attempts_delivery_idx')
      .on('webhook_attempts')
      .columns(['delivery_id', 'attempted_at'])
      .execute();
  },
};

migrations['0008_hardening'] = {
  async up(db: Kysely<unknown>) {
    // Tamper-evident audit log: each row carries the hash of the one before and its own hash over
    // both (src/domain/audit-chain.ts). Nullable, as SQLite cannot add a NOT NULL column without a
    // default; every row is filled in here and by every later insert.
    await db.schema.alterTable('audit_log').addColumn('prev_hash', 'text').execute();
    await db.schema.alterTable('audit_log').addColumn('hash', 'text').execute();
    // Backfill the chain over existing rows in seq order, in pages so a long log needs little memory.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema type lives in schema.ts
    const k = db as Kysely<any>;
    let prev = AUDIT_GENESIS_HASH;
    let after = -1;
    for (;;) {
      const rows = (await k
        .selectFrom('audit_log')
        .select(['id', 'seq', 'at', 'actor_kind', 'actor', 'merchant_id', 'action', 'detail', 'ip'])
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(500)
        .execute()) as (AuditHashFields & { id: string })[];
      if (rows.length === 0) break;
      for (const r of rows) {
        const hash = auditHash(prev, r);
        await k.updateTable('audit_log').set({ prev_hash: prev, hash }).where('id', '=', r.id).execute();
        prev = hash;
        after = Number(r.seq);
      }
    }
  },
};

migrations['0009_expiry_sweep'] = {
  async up(db: Kysely<unknown>) {
    // The expiry sweeper finds pending payments past their expiry without scanning every pending
    // one. Partial: a row leaves the index when it leaves pending; expires_at grows with time, so
    // inserts append to the index.
    await db.schema
      .createIndex('payments_pending_expiry_idx')
      .on('payments')
      .column('expires_at')
      .where(sql.ref('status'), '=', 'pending')
      .execute();
  },
};

migrations['0010_live_merchant_ref'] = {
  async up(db: Kysely<unknown>) {
    // A merchant_ref_id names one live payment (pending or approved) at a time. Once its payment is
    // declined, cancelled or expired, the shop may start the same order again under the same
    // reference (plugins derive it from the order number): a new payment, while the old token keeps
    // answering its final state. Searches by reference still find every attempt (the plain index).
    await db.schema
      .createIndex('payments_merchant_ref_idx')
      .on('payments')
      .columns(['merchant_id', 'merchant_ref_id'])
      .execute();
    await db.schema.dropIndex('payments_merchant_ref_uq').execute();
    await db.schema
      .createIndex('payments_live_ref_uq')
      .on('payments')
      .columns(['merchant_id', 'merchant_ref_id'])
      .unique()
      .where(sql.ref('status'), 'in', [sql.lit('pending'), sql.lit('approved')])
      .execute();
  },
};

migrations['0011_connectors'] = {
  async up(db: Kysely<unknown>) {
    // The rails the operator holds accounts with. Secrets (passwords, app secrets) are sealed with
    // the server secret as one JSON object; config holds what may be shown (base URL, store id).
    await db.schema
      .createTable('connectors')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull()) // sandbox | bkash | sslcommerz
      .addColumn('environment', 'text', (c) => c.notNull()) // sandbox | live
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('secrets_sealed', 'text')
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // Which connector takes each payment method: scope '*' for every merchant, or a merchant id.
    await db.schema
      .createTable('connector_routes')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('connector_routes_pk', ['scope', 'method'])
      .execute();
    // The built-in sandbox bank is a connector like the others; sandbox payments route to it.
    await sql`insert into connectors (id, kind, environment, config, secrets_sealed, enabled, created_at, updated_at)
      values ('sandbox', 'sandbox', 'sandbox', '{}', null, 1, 0, 0)`.execute(db);

    // A payment at an upstream: which connector, its reference there, what state we left it in
    // (creating | redirected | confirming | authorizing), the connector's notes, and when the
    // reconciler asks next. Pending payments with an upstream state belong to the reconciler.
    for (const col of ['connector_id', 'upstream_ref', 'upstream_state', 'upstream_data']) {
      await db.schema.alterTable('payments').addColumn(col, 'text').execute();
    }
    await db.schema.alterTable('payments').addColumn('reconcile_at', 'bigint').execute();
    await db.schema
      .alterTable('payments')
      .addColumn('reconcile_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('payments_reconcile_idx')
      .on('payments')
      .column('reconcile_at')
      .where(sql.ref('reconcile_at'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('payments_upstream_ref_idx')
      .on('payments')
      .columns(['connector_id', 'upstream_ref'])
      .where(sql.ref('upstream_ref'), 'is not', null)
      .execute();

    for (const col of ['connector_id', 'upstream_ref', 'upstream_data']) {
      await db.schema.alterTable('refunds').addColumn(col, 'text').execute();
    }
    await db.schema.alterTable('refunds').addColumn('reconcile_at', 'bigint').execute();
    await db.schema
      .alterTable('refunds')
      .addColumn('reconcile_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('refunds_reconcile_idx')
      .on('refunds')
      .column('reconcile_at')
      .where(sql.ref('reconcile_at'), 'is not', null)
      .execute();

    // Every call made to an upstream (time, operation, outcome, latency, its codes), for the payment
    // detail pages. Never a secret or card data.
    await db.schema
      .createTable('upstream_calls')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('connector_id', 'text', (c) => c.notNull())
      .addColumn('payment_id', 'text')
      .addColumn('refund_id', 'text')
      .addColumn('operation', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('latency_ms', 'integer', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('code', 'text')
      .addColumn('message', 'text')
      .execute();
    await db.schema
      .createIndex('upstream_calls_payment_idx')
      .on('upstream_calls')
      .columns(['payment_id', 'started_at'])
      .execute();
    await db.schema
      .createIndex('upstream_calls_connector_idx')
      .on('upstream_calls')
      .columns(['connector_id', 'started_at'])
      .execute();
  },
};

const isPostgres = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

migrations['0012_instances'] = {
  async up(db: Kysely<unknown>) {
    // Changes to what instances cache (credentials, status, rates, maintenance, connectors), in
    // order: every instance reads the rows after the last one it saw when woken (PostgreSQL NOTIFY,
    // SQLite's data_version) and drops what they name. Pruned after an hour.
    const pg = isPostgres(db);
    await db.schema
      .createTable('changes')
      .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    // Running gateway processes and their heartbeats: a lease held by an instance whose heartbeat
    // stopped (killed) is taken over within seconds instead of at the lease's end.
    await db.schema
      .createTable('instances')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('webhook_deliveries').addColumn('lease_owner', 'text').execute();
    if (pg) {
      // Shared rate-limit buckets (PostgreSQL only; SQLite keeps them in process). Unlogged: a
      // bucket lost to a crash starts full again, and no write-ahead log is paid per request.
      await sql`create unlogged table rate_buckets (
        key text primary key,
        tokens double precision not null,
        at bigint not null,
        taken integer not null
      )`.execute(db);
    }
  },
};

migrations['0013_idempotency_resource'] = {
  async up(db: Kysely<unknown>) {
    // A refund's Idempotency-Key is written in the transaction that creates the refund (status
    // 'created', naming the refund here): a crash before the answer leaves both or neither, and a
    // retry answers that refund instead of making another.
    await db.schema.alterTable('api_idempotency').addColumn('resource_id', 'text').execute();
  },
};

migrations['0014_listen_sessions'] = {
  async up(db: Kysely<unknown>) {
    // `wmx listen` sessions are endpoints too (kind 'listen'): each event gets a delivery for a live
    // session in the event's own transaction, so a session that reconnects misses nothing. Their
    // deliveries wait as 'queued' (the webhook worker claims only 'pending') until the CLI fetches
    // and acknowledges them; `seen_at` is the session's last poll (idle ones stop receiving).
    await db.schema
      .alterTable('webhook_endpoints')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('http'))
      .execute();
    await db.schema.alterTable('webhook_endpoints').addColumn('seen_at', 'bigint').execute();
  },
};

/** The newest migration this code knows (readiness compares the database's newest with it). */
export function latestMigrationName(): string {
  return Object.keys(migrations).sort().at(-1) ?? '';
}

/**
 * Runs every pending migration; throws (loudly) on any failure. On PostgreSQL the bookkeeping tables
 * are looked up in the connection's current schema: otherwise Kysely would find another schema's
 * and skip creating its own.
 */
export async function migrateToLatest(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
  db: Kysely<any>,
  dialect: 'sqlite' | 'postgres',
  /** Tests only: another set of migrations (how a failing one is rolled back). */
  set: Record<string, Migration> = migrations,
): Promise<string[]> {
  let migrationTableSchema: string | undefined;
  if (dialect === 'postgres') {
    const r = await sql<{ s: string }>`select current_schema() as s`.execute(db);
    migrationTableSchema = r.rows[0]?.s;
  }
  const provider: MigrationProvider = { getMigrations: async () => set };
  const migrator = new Migrator({ db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  let { error, results } = await migrator.migrateToLatest();
  // Before migrating, Kysely's migrator introspects the tables of every schema of the database. On
  // PostgreSQL that query fails if another schema is being dropped at the same moment (another
  // deployment or test sharing the database): "schema … does not exist" (3F000), "relation … does
  // not exist" (42P01). Nothing has run yet then, so try again.
  for (let attempt = 1; attempt < 30 && !results?.length && isConcurrentDropError(error); attempt++) {
    await new Promise((r) => setTimeout(r, Math.min(20 * attempt, 200)));
    ({ error, results } = await migrator.migrateToLatest());
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const what = failed ? `migration ${failed.migrationName} failed` : 'migrations failed';
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

const isConcurrentDropError = (e: unknown): boolean => {
  const { code } = (e ?? {}) as { code?: unknown };
  // XX000 ("cache lookup failed for relation …", "could not open relation with OID …", "tuple
  // concurrently updated"): the catalog row vanished or changed mid-introspection. 40P01: a
  // deadlock with the DROP SCHEMA … CASCADE's catalog locks. 42703 / 42704 ("column … of relation …
  // does not exist", "type … does not exist"): a column or type read as its table was dropped.
  return ['3F000', '42P01', '42703', '42704', 'XX000', '40P01'].includes(String(code));
};
