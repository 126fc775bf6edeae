import crypto from 'node:crypto';
import type { Config } from './config.js';
import { createAuthenticator } from './app/authenticate.js';
import { createApiIdempotency } from './app/api-idempotency.js';
import { createApiKeyAuth } from './app/api-keys.js';
import { createCheckPayment } from './app/check-payment.js';
import { createSealer } from './app/crypto.js';
import { createInitPayment } from './app/init-payment.js';
import { createSandboxHelpers } from './app/sandbox-helpers.js';
import { createListen } from './app/listen.js';
import { createMerchantAdmin } from './app/merchant-admin.js';
import { createReferenceCache } from './app/reference-cache.js';
import { createPay } from './app/pay.js';
import { createCancelPayment } from './app/cancel-payment.js';
import { createSandboxBank, type SandboxBank } from './acquirers/sandbox/bank.js';
import { createConnectorRouter } from './acquirers/router.js';
import { createUpstreamHttp } from './acquirers/upstream-http.js';
import { createConnectorRepo } from './store/connectors.js';
import { createUpstreamCallRepo } from './store/upstream-calls.js';
import { createConnectorCalls } from './app/connector-calls.js';
import { createSettle } from './app/settle.js';
import { createUpstreamSync } from './app/upstream-sync.js';
import { createReconciler } from './app/reconciler.js';
import { createConnectorsAdmin } from './app/connectors-admin.js';
import type { Merchant } from './domain/merchant.js';
import { createAccounts } from './app/accounts.js';
import { createAuditLog } from './app/audit.js';
import { createOnboarding } from './app/onboarding.js';
import { createTimeFormatter } from './domain/time.js';
import { openDatabase, type Db, type DbOptions } from './store/db.js';
import { createMerchantRepo } from './store/merchants.js';
import { latestMigrationName, migrateToLatest } from './store/migrations.js';
import { createOpsStats } from './store/ops-stats.js';
import { createGatewayMetrics } from './app/metrics.js';
import { createReadiness } from './app/readiness.js';
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
import { createChangeFeed } from './app/change-feed.js';
import { createChangeStore } from './store/changes.js';
import { createInstance } from './app/instances.js';
import { createInstanceRepo } from './store/instances.js';
import { createPgBucketStore } from './store/rate-buckets.js';
import { createRedisBucketStore } from './store/redis-buckets.js';
import type { BucketStore } from './app/rate-limit.js';
import { createWebhookOutbox } from './delivery/webhook-events.js';
import { createWebhookWorker } from './delivery/webhook-worker.js';

export interface GatewayOptions extends DbOptions {
  /** The server secret (already resolved: from WMX_SECRET or the sandbox data folder). */
  secret: string;
  now?: () => number;
  /** Replaces the sandbox bank (tests use a faster or slower one). */
  sandboxBank?: SandboxBank;
  /** Replaces fetch for upstream calls (tests). */
  fetch?: typeof fetch;
  /** Servers: apply the changes other processes make (the CLI only publishes its own). */
  watchChanges?: boolean;
  /** Logs the background workers' troubles (main.ts passes the app's logger). */
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

/** Builds the store, the use cases and their caches. The HTTP app and the CLI both stand on this. */
export async function createGateway(config: Config, opts: GatewayOptions) {
  const db: Db = openDatabase(config.databaseUrl, opts);
  await migrateToLatest(db.kysely, db.dialect);

  const merchants = createMerchantRepo(db.kysely);
  const now = opts.now ?? Date.now;
  // What the hot paths cache is dropped on every instance when any of them (or the CLI) changes it.
  const changes = createChangeFeed({
    store: createChangeStore(db, opts.log ? { log: opts.log } : {}),
    now,
    ...(opts.log ? { log: opts.log } : {}),
  });
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
  const merchantById = (id: string) => merchants.byId(id);
  const log = opts.log;
  // Connectors: the operator's rails, routed per payment method (router.ts); the sandbox bank is one.
  const sandboxBank = opts.sandboxBank ?? createSandboxBank({ publicUrl: config.publicUrl });
  const connectorRepo = createConnectorRepo(db.kysely);
  const router = createConnectorRouter({
    repo: connectorRepo,
    openSecrets: (sealed) => JSON.parse(sealer.open(sealed)) as Record<string, string>, // sealed by connectors-admin as a JSON object
    connectorDeps: {
      publicUrl: config.publicUrl,
      http: createUpstreamHttp({ timeoutMs: config.bankTimeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) }),
      now,
      sandboxBank,
    },
    mode: config.mode,
    ...(log ? { log } : {}),
  });
  changes.on('merchant', (wmxId) => {
    auth.forget(wmxId);
    apiKeys.forget();
  });
  changes.on('reference', () => reference.refresh());
  changes.on('connectors', () => router.invalidate());
  if (opts.watchChanges) await changes.start();
  const upstreamCalls = createUpstreamCallRepo(db.kysely);
  // /metrics and /readyz (src/http/ops); the metrics see every upstream call as it is logged.
  const opsStats = createOpsStats(db.kysely);
  const metrics = createGatewayMetrics({ stats: opsStats, now, ...(log ? { log } : {}) });
  const readiness = createReadiness({
    stats: opsStats,
    latestMigration: latestMigrationName(),
    ...(log ? { log } : {}),
  });
  const calls = createConnectorCalls({
    calls: upstreamCalls,
    bankTimeoutMs: config.bankTimeoutMs,
    observe: metrics.observeUpstream,
    ...(log ? { log } : {}),
  });
  const settle = createSettle({ payments, now, scheduleMs: config.reconcileScheduleMs, ...(log ? { log } : {}) });
  const sync = createUpstreamSync({
    payments,
    merchantById,
    router,
    calls,
    settle,
    publicUrl: config.publicUrl,
    now,
    ...(log ? { log } : {}),
  });
  const accounts = createAccounts(db.kysely, now);
  const audit = createAuditLog(db.kysely, now);
  const onboarding = createOnboarding({
    db: db.kysely,
    merchants,
    accounts,
    audit,
    sealer,
    referenceRepo,
    forget: (wmxId) => changes.publish('merchant', wmxId),
    referenceChanged: () => changes.publish('reference'),
    now,
  });
  const pay = createPay({
    payments,
    merchantById,
    router,
    calls,
    settle,
    publicUrl: config.publicUrl,
    now,
    redirectCheckMs: config.reconcileRedirectCheckMs,
  });
  // Money: the ledger (postings written by the payment, refund and settlement transactions), refunds
  // through the same acquirer that took the payment, daily settlement batches.
  const ledger = createLedgerRepo(db.kysely);
  const refundRepo = createRefundRepo(db, outbox);
  const settlementRepo = createSettlementRepo(db.kysely);
  const refunds = createRefunds({
    payments,
    refunds: refundRepo,
    merchantById,
    router,
    calls,
    audit,
    now,
    scheduleMs: config.reconcileScheduleMs,
  });
  // main.ts starts it after listen; tests drive it with runOnce() / drain().
  const reconciler = createReconciler({
    payments,
    refunds: refundRepo,
    sync,
    refundsApp: refunds,
    now,
    ...(log ? { log } : {}),
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
  // Rate limits shared by the instances on one database: in Redis when configured, else in
  // PostgreSQL; SQLite keeps them in process (http/app.ts builds the limits on this store).
  let limitStore: BucketStore | undefined = db.dialect === 'postgres' ? createPgBucketStore(db.kysely) : undefined;
  if (config.redisUrl) {
    const redis = createRedisBucketStore(
      config.redisUrl,
      `wmx:rl:${limitNamespace(config.databaseUrl, opts.pgSchema)}:`,
    );
    if (!(await redis.ready(2_000)))
      log?.('Redis (WMX_REDIS_URL) not reachable yet; rate limits decide in process until it is', {});
    limitStore = redis;
  }
  // This process among the instances sharing the database (heartbeats; main.ts starts it).
  const instance = createInstance({
    repo: createInstanceRepo(db.kysely),
    id: changes.origin,
    now,
    ...(log ? { log } : {}),
  });
  const webhookWorker = createWebhookWorker({
    repo: webhookRepo,
    owner: instance.owner,
    merchantById,
    signingSecretOf,
    retryScheduleMs: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    now,
  });
  // main.ts starts the worker after listen; tests drive it with runOnce().
  const webhooks = { ...createWebhooks({ repo: webhookRepo, now }), repo: webhookRepo, worker: webhookWorker };
  const listen = createListen({ repo: webhookRepo, signingSecretOf, now });
  // main.ts starts it after listen; tests drive it with runOnce().
  const expirySweeper = createExpirySweeper({ payments, now });

  const merchantAdmin = createMerchantAdmin({
    merchants,
    sealer,
    onChange: (wmxId) => changes.publish('merchant', wmxId),
  });
  const initPayment = createInitPayment({ auth, payments, reference, paymentTtlMs: config.paymentTtlMs, now });
  const cancelPayment = createCancelPayment({ payments, sync, now });
  const paymentSearch = createPaymentSearch(db.kysely);

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
    merchantAdmin,
    initPayment,
    checkPayment: createCheckPayment({ auth, payments, now }),
    pay,
    cancelPayment,
    sandboxHelpers: createSandboxHelpers({
      initFor: initPayment.forMerchant,
      pay,
      cancelPayment,
      payments,
      merchants,
      search: paymentSearch,
      merchantAdmin,
      signingSecretOf,
      publicUrl: config.publicUrl,
      now,
    }),
    sandboxBank,
    connectorRepo,
    connectors: createConnectorsAdmin({
      repo: connectorRepo,
      sealer,
      router,
      calls,
      audit,
      merchantExists: async (id) => (await merchants.byId(id)) !== undefined,
      changed: () => changes.publish('connectors'),
      now,
    }),
    router,
    upstreamCalls,
    sync,
    reconciler,
    merchantById,
    accounts,
    audit,
    onboarding,
    paymentSearch,
    apiKeys,
    apiIdempotency: createApiIdempotency({ store: createIdempotencyStore(db.kysely), now }),
    ledger,
    refunds,
    settlements,
    balance,
    ledgerVerify,
    signingSecretOf,
    webhooks,
    listen,
    expirySweeper,
    changes,
    instance,
    limitStore,
    metrics,
    readiness,
    close: async () => {
      await limitStore?.close();
      await changes.stop();
      await reconciler.stop();
      await expirySweeper.stop();
      await webhookWorker.stop();
      await instance.stop();
      await reference.stop();
      await db.close();
    },
  };
}

export type Gateway = Awaited<ReturnType<typeof createGateway>>;

/** Instances on one database share limits; gateways on other databases (or schemas) never do. */
function limitNamespace(databaseUrl: string, pgSchema: string | undefined): string {
  return crypto
    .createHash('sha256')
    .update(`${databaseUrl}\0${pgSchema ?? ''}`)
    .digest('hex')
    .slice(0, 12);
}
