import type { Generated } from 'kysely';

/** 64-bit integers come back as numbers (SQLite) or strings (pg); the store maps them. */
export type Int8 = number | string | bigint;

export interface MerchantsTable {
  id: string;
  wmx_id: string;
  name: string;
  slug: string;
  status: string; // pending | active | suspended | rejected
  sandbox: number; // 0 | 1
  access_app_key_hash: string | null;
  username: string | null;
  password_hash: string | null;
  /** AES-GCM sealed with the server secret: it must be usable to sign callbacks and webhooks. */
  signing_secret_sealed: string | null;
  api_key_hash: string | null;
  domains: string; // JSON array of hosts
  min_amount_minor: Int8;
  max_amount_minor: Int8;
  fee_card_bps: number;
  fee_mobile_wallet_bps: number;
  fee_internet_banking_bps: number;
  emi_allowed: number; // 0 | 1
  credentials_version: number;
  credentials_issued_at: Int8 | null;
  created_at: Int8;
  updated_at: Int8;
  contact_name: string | null;
  email: string | null;
  phone: string | null;
  business_type: string | null;
  trade_licence: string | null;
  settlement_account_name: string | null;
  settlement_account_number: string | null;
  settlement_bank: string | null;
  settlement_branch: string | null;
  rejection_reason: string | null;
  pending_credentials_sealed: string | null;
}

export interface UsersTable {
  id: string;
  email: string;
  kind: string; // admin | merchant
  merchant_id: string | null;
  role: string; // admin | owner | developer | viewer
  name: string;
  password_hash: string;
  failed_logins: number;
  locked_until: Int8 | null;
  last_login_at: Int8 | null;
  created_at: Int8;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  ip: string;
  created_at: Int8;
  expires_at: Int8;
}

export interface InvitesTable {
  id: string;
  merchant_id: string;
  email: string;
  role: string;
  token_hash: string;
  created_by: string;
  created_at: Int8;
  expires_at: Int8;
  accepted_at: Int8 | null;
}

export interface AuditLogTable {
  id: string;
  seq: Int8;
  at: Int8;
  actor_kind: string; // admin | merchant | system | cli
  actor: string;
  merchant_id: string | null;
  action: string;
  detail: string;
  ip: string;
  /** Hash chain (0008): null only while a pre-0008 row awaits the migration's backfill. */
  prev_hash: string | null;
  hash: string | null;
}

export interface CurrencyRateHistoryTable {
  id: string;
  currency: string;
  rate_scaled: Int8;
  changed_at: Int8;
  changed_by: string;
}

export interface PaymentsTable {
  id: string;
  token: string;
  merchant_id: string;
  wmx_id: string;
  ref_id: string;
  merchant_order_id: string;
  merchant_ref_id: string;
  fingerprint: string;
  app_name: string;
  cart_info: string;
  customer_name: string;
  customer_email: string;
  customer_phone: string;
  customer_details: string;
  product_desc: string;
  currency: string;
  amount_minor: Int8;
  rate_scaled: Int8;
  amount_bdt_minor: Int8;
  emi_period: number | null;
  emi_bank: string | null;
  emi_bps: number;
  emi_charge_minor: Int8;
  discount_minor: Int8;
  fee_bps: number;
  fee_minor: Int8;
  bank_amount_minor: Int8;
  callback_url: string;
  extra_json: string | null;
  options_raw: string;
  options_decoded: string;
  request_ip: string;
  status: string;
  txn_details: string;
  method: string | null;
  card_details: string | null;
  is_foreign: number;
  payment_card: string | null;
  card_code: string | null;
  page_extra: string | null;
  init_at: Int8;
  txn_at: Int8 | null;
  expires_at: Int8;
  processing_until: Int8 | null;
  challenge_ref: string | null;
  challenge_info: string | null;
  attempts: number;
  auth_code: string | null;
  /** Total of succeeded refunds (BDT minor units); 0 until one succeeds. */
  refunded_minor: Int8;
  /** The connector that took (or is taking) the payment; null until one is asked. */
  connector_id: string | null;
  /** The payment's id at the upstream (a bKash paymentID, an SSLCommerz tran_id). */
  upstream_ref: string | null;
  /** creating | redirected | confirming | authorizing while pending at an upstream; null otherwise. */
  upstream_state: string | null;
  /** JSON object of the connector's notes (never a secret). */
  upstream_data: string | null;
  /** When the reconciler asks the upstream next; null when nothing is owed. */
  reconcile_at: Int8 | null;
  reconcile_attempts: number;
}

export interface CurrencyRatesTable {
  currency: string;
  rate_scaled: Int8;
  updated_at: Int8;
}

export interface EmiBanksTable {
  bank_key: string;
  name: string;
  sort_order: number;
  active: number;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: Int8;
}

export interface DemoOrdersTable {
  token: string;
  merchant_ref_id: string;
  lines: string;
  total_minor: Int8;
  status: string;
  created_at: Int8;
}

export interface ApiIdempotencyTable {
  merchant_id: string;
  key: string;
  /** sha256 hex of the canonical request (method, path, JSON body). */
  request_hash: string;
  status: string; // in_progress | created | done
  response_status: number | null;
  response_body: string | null;
  created_at: Int8;
  /** What the request created, written with it in one transaction (a refund: rfd_…); null otherwise. */
  resource_id: Generated<string | null>;
}

export interface LedgerTransfersTable {
  id: string;
  idempotency_key: string;
  kind: string; // payment | refund | settlement
  merchant_id: string;
  currency: string;
  payment_id: string | null;
  refund_id: string | null;
  settlement_id: string | null;
  created_at: Int8;
}

export interface LedgerPostingsTable {
  id: string;
  transfer_id: string;
  account: string;
  merchant_id: string;
  currency: string;
  /** Signed: a debit is positive, a credit negative; a transfer's postings sum to zero. */
  amount_minor: Int8;
  created_at: Int8;
}

export interface RefundsTable {
  id: string;
  payment_id: string;
  token: string;
  merchant_id: string;
  amount_minor: Int8;
  currency: string;
  status: string; // pending | succeeded | failed
  reason: string | null;
  created_at: Int8;
  completed_at: Int8 | null;
  connector_id: string | null;
  /** The refund's id at the upstream (a bKash refundTrxID, an SSLCommerz refund_ref_id). */
  upstream_ref: string | null;
  upstream_data: string | null;
  /** When the reconciler asks refundStatus next (a pending refund at an upstream). */
  reconcile_at: Int8 | null;
  reconcile_attempts: number;
}

export interface ConnectorsTable {
  id: string;
  kind: string; // sandbox | bkash | sslcommerz
  environment: string; // sandbox | live
  /** JSON object of the non-secret settings (base URL, store id, username…). */
  config: string;
  /** AES-GCM sealed JSON object of the secrets (passwords, app secrets); null when none. */
  secrets_sealed: string | null;
  enabled: number; // 0 | 1
  created_at: Int8;
  updated_at: Int8;
}

export interface ConnectorRoutesTable {
  /** '*' for every merchant, else a merchant id. */
  scope: string;
  method: string; // card | bkash | nagad | rocket | internet_banking
  connector_id: string;
  updated_at: Int8;
}

export interface UpstreamCallsTable {
  id: string; // upc_…
  connector_id: string;
  payment_id: string | null;
  refund_id: string | null;
  operation: string;
  started_at: Int8;
  latency_ms: number;
  outcome: string; // ok | failed | timeout | error | refused
  http_status: number | null;
  code: string | null;
  message: string | null;
}

export interface SettlementBatchesTable {
  id: string;
  merchant_id: string;
  date: string; // YYYY-MM-DD in the gateway's time zone
  currency: string;
  gross_minor: Int8;
  fees_minor: Int8;
  emi_minor: Int8;
  refunds_minor: Int8;
  net_minor: Int8;
  payment_count: number;
  refund_count: number;
  created_at: Int8;
}

export interface Database {
  demo_orders: DemoOrdersTable;
  users: UsersTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  audit_log: AuditLogTable;
  currency_rate_history: CurrencyRateHistoryTable;
  merchants: MerchantsTable;
  payments: PaymentsTable;
  currency_rates: CurrencyRatesTable;
  emi_banks: EmiBanksTable;
  settings: SettingsTable;
  ledger_transfers: LedgerTransfersTable;
  ledger_postings: LedgerPostingsTable;
  refunds: RefundsTable;
  settlement_batches: SettlementBatchesTable;
  api_idempotency: ApiIdempotencyTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  connectors: ConnectorsTable;
  connector_routes: ConnectorRoutesTable;
  upstream_calls: UpstreamCallsTable;
  changes: ChangesTable;
  instances: InstancesTable;
  rate_buckets: RateBucketsTable;
}

export interface ChangesTable {
  seq: Generated<Int8>;
  topic: string;
  key: string;
  /** The instance that made the change (it has already applied it). */
  origin: string;
  at: Int8;
}

export interface InstancesTable {
  id: string; // ins_…
  host: string;
  pid: number;
  started_at: Int8;
  heartbeat_at: Int8;
}

/** PostgreSQL only. */
export interface RateBucketsTable {
  key: string;
  tokens: number;
  at: Int8;
  taken: number;
}

export interface WebhookEndpointsTable {
  id: string; // whe_…
  merchant_id: string;
  url: string;
  /** 0 once removed: the row stays so the delivery log keeps its endpoint. */
  enabled: number;
  created_at: Int8;
  /** 'http' (the worker POSTs to url) or 'listen' (a `wmx listen` session fetches its deliveries). */
  kind: Generated<string>;
  /** A listen session's last poll; null for http endpoints. */
  seen_at: Int8 | null;
}

export interface WebhookEventsTable {
  id: string; // evt_…
  merchant_id: string;
  type: string;
  /** The exact JSON body sent (and signed). */
  payload: string;
  created_at: Int8;
}

export interface WebhookDeliveriesTable {
  id: string; // whd_…
  event_id: string;
  endpoint_id: string;
  status: string; // pending | delivered | failed
  attempts: number;
  next_attempt_at: Int8;
  lease_until: Int8 | null;
  /** The instance holding the lease (its heartbeat tells whether it still lives). */
  lease_owner: string | null;
  last_status_code: number | null;
  created_at: Int8;
}

export interface WebhookAttemptsTable {
  id: string; // wha_…
  delivery_id: string;
  attempted_at: Int8;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
}

// Kept for future tables with generated keys.
export type { Generated };
