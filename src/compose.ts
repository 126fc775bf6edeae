import type { Config } from './config.js';
import { createAuthenticator } from './app/authenticate.js';
import { createApiIdempotency } from './app/api-idempotency.js';
import { createApiKeyAuth } from './app/api-keys.js';
import { createCheckPayment } from './app/check-payment.js';
import { createSealer } from './app/crypto.js';
import { createInitPayment } from './app/init-payment.js';
import { createMerchantAdmin } from './app/merchant-admin.js';
import { createReferenceCache } from './app/reference-cache.js';
import { createPay } from './app/pay.js';
import { createCancelPayment } from './app/cancel-payment.js';
import { createSandboxBank } from './acquirers/sandbox/bank.js';
import type { Acquirer } from './acquirers/port.js';
import type { Merchant } from './domain/merchant.js';
import { createAccounts } from './app/accounts.js';
import { createAuditLog } from './app/audit.js';
import { createOnboarding } from './app/onboarding.js';
import { createTimeFormatter } from './domain/time.js';
import { openDatabase, type Db, type DbOptions } from './store/db.js';
import { createMerchantRepo } from './store/merchants.js';
import { migrateToLatest } from './store/migrations.js';
import { createPaymentRepo } from './store/payments.js';
import { createPaymentSearch } from './store/payment-search.js';
import { createIdempotencyStore } from './store/api-idempotency.js';
import { createReferenceRepo } from './store/reference.js';
import { createBalance } from './app/balance.js';
import { createLedgerVerify } from './app/ledger-verify.js';
import { createRefunds } from './app/refunds.js';
import { createSettlements } from './app/settlements.js';
import { createLedgerChecks } from './store/ledger-checks.js';
import { createLedgerRepo } from './store/ledger.js';
import { createRefundRepo } from './store/refunds.js';
import { createSettlementRepo } from './store/settlements.js';
import { createWebhookRepo } from './store/webhooks.js';
import { createWebhooks } from './app/webhooks.js';
import { createExpirySweeper } from './app/expire.js';
import { createWebhookOutbox } from './delivery/webhook-events.js';
import { createWebhookWorker } from './delivery/webhook-worker.js';

export interface GatewayOptions extends DbOptions {
  /** The server secret (already resolved: from WMX_SECRET or the sandbox data folder). */
  secret: string;
  now?: () => number;
  /** Replaces the sandbox bank (tests use a faster or slower one). */
  sandboxBank?: Acquirer;
}

/** Builds the store, the use cases and their caches. The HTTP app and the CLI both stand on this. */
export async function createGateway(config: Config, opts: GatewayOptions) {
  const db: Db = openDatabase(config.databaseUrl, opts);
  await migrateToLatest(db.kysely, db.dialect);

  const merchants = createMerchantRepo(db.kysely);
  const now = opts.now ?? Date.now;
  const formatTime = createTimeFormatter(config.timezone);
  // Final payment and refund transitions write their webhook events in their own transactions.
  const outbox = createWebhookOutbox({ formatTime, now });
  const payments = createPaymentRepo(db, outbox);
  const referenceRepo = createReferenceRepo(db.kysely);
  const reference = createReferenceCache(referenceRepo);
  await reference.refresh();
  reference.start();

  const sealer = createSealer(opts.secret);
  const auth = createAuthenticator({ merchants, serverSecret: opts.secret });
  // JSON API keys; cached briefly, flushed with the protocol credentials whenever a merchant changes.
  const apiKeys = createApiKeyAuth({ db: db.kysely });
  const sandboxBank = opts.sandboxBank ?? createSandboxBank();
  // No live connector exists yet: in live mode only sandbox merchants can pay (on the sandbox bank).
  const acquirerFor = (m: Merchant): Acquirer | undefined =>
    config.mode === 'sandbox' || m.sandbox ? sandboxBank : undefined;
  const merchantById = (id: string) => merchants.byId(id);
  const accounts = createAccounts(db.kysely, now);
  const audit = createAuditLog(db.kysely, now);
  const onboarding = createOnboarding({
    db: db.kysely,
    merchants,
    accounts,
    audit,
    sealer,
    referenceRepo,
    reference,
    forget: (wmxId) => {
      auth.forget(wmxId);
      apiKeys.forget();
    },
    now,
  });
  const pay = createPay({ payments, merchantById, acquirerFor, bankTimeoutMs: config.bankTimeoutMs, now });
  // Money: the ledger (postings written by the payment, refund and settlement transactions), refunds
  // through the same acquirer that took the payment, daily settlement batches.
  const ledger = createLedgerRepo(db.kysely);
  const refundRepo = createRefundRepo(db, outbox);
  const settlementRepo = createSettlementRepo(db.kysely);
  const refunds = createRefunds({
    payments,
    refunds: refundRepo,
    merchantById,
    acquirerFor,
    audit,
    bankTimeoutMs: config.bankTimeoutMs,
    now,
  });
  const settlements = createSettlements({ repo: settlementRepo, audit, timezone: config.timezone, formatTime, now });
  const balance = createBalance({ ledger, refunds: refundRepo });
  const ledgerVerify = createLedgerVerify({
    checks: createLedgerChecks(db.kysely),
    settlements: settlementRepo,
    timezone: config.timezone,
  });

  const signingSecretOf = (m: Merchant): string => sealer.open(m.signingSecretSealed ?? '');
  const webhookRepo = createWebhookRepo(db);
  const webhookWorker = createWebhookWorker({
    repo: webhookRepo,
    merchantById,
    signingSecretOf,
    retryScheduleMs: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    now,
  });
  // main.ts starts the worker after listen; tests drive it with runOnce().
  const webhooks = { ...createWebhooks({ repo: webhookRepo, now }), repo: webhookRepo, worker: webhookWorker };
  // main.ts starts it after listen; tests drive it with runOnce().
  const expirySweeper = createExpirySweeper({ payments, now });

  return {
    config,
    db,
    merchants,
    payments,
    referenceRepo,
    reference,
    sealer,
    auth,
    now,
    formatTime,
    merchantAdmin: createMerchantAdmin({
      merchants,
      sealer,
      onChange: (wmxId) => {
        auth.forget(wmxId);
        apiKeys.forget();
      },
    }),
    initPayment: createInitPayment({ auth, payments, reference, paymentTtlMs: config.paymentTtlMs, now }),
    checkPayment: createCheckPayment({ auth, payments, now }),
    pay,
    cancelPayment: createCancelPayment({ payments, now }),
    merchantById,
    accounts,
    audit,
    onboarding,
    paymentSearch: createPaymentSearch(db.kysely),
    apiKeys,
    apiIdempotency: createApiIdempotency({ store: createIdempotencyStore(db.kysely), now }),
    ledger,
    refunds,
    settlements,
    balance,
    ledgerVerify,
    signingSecretOf,
    webhooks,
    expirySweeper,
    close: async () => {
      await expirySweeper.stop();
      await webhookWorker.stop();
      await reference.stop();
      await db.close();
    },
  };
}

export type Gateway = Awaited<ReturnType<typeof createGateway>>;
