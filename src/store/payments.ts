import type SqliteDatabase from 'better-sqlite3';
import DataLoader from 'dataloader';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import { paymentTransfer } from '../domain/ledger.js';
import type { Payment, PaymentMethod, PaymentRecordView, PaymentStatus, UpstreamState } from '../domain/payment.js';
import { andThen, type MaybePromise } from '../domain/maybe-promise.js';
import { TtlCache } from '../domain/ttl-cache.js';
import type { Db } from './db.js';
import { postTransfer } from './ledger.js';
import type { Database, PaymentsTable } from './schema.js';

export function toPayment(r: Selectable<PaymentsTable>): Payment {
  return {
    // The record's 30 columns are converted in one place (toRecordView); the rest here.
    ...toRecordView(VIEW_COLUMNS.map((c) => r[c])),
    id: r.id,
    fingerprint: r.fingerprint,
    appName: r.app_name,
    cartInfo: r.cart_info,
    customerName: r.customer_name,
    customerEmail: r.customer_email,
    customerPhone: r.customer_phone,
    productDesc: r.product_desc,
    emiPeriod: r.emi_period === null ? null : Number(r.emi_period),
    emiBank: r.emi_bank,
    callbackUrl: r.callback_url,
    optionsRaw: r.options_raw,
    optionsDecoded: r.options_decoded,
    pageExtra: r.page_extra,
    processingUntil: r.processing_until === null ? null : Number(r.processing_until),
    challengeRef: r.challenge_ref,
    challengeInfo: r.challenge_info,
    attempts: Number(r.attempts),
    authCode: r.auth_code,
    connectorId: r.connector_id,
    upstreamRef: r.upstream_ref,
    upstreamState: r.upstream_state as UpstreamState | null, // the column only ever holds UpstreamState values
    upstreamData: parseUpstreamData(r.upstream_data),
    reconcileAt: r.reconcile_at === null ? null : Number(r.reconcile_at),
    reconcileAttempts: Number(r.reconcile_attempts ?? 0),
  };
}

/** The connector's notes: a JSON object of strings (anything else reads as empty). */
export function parseUpstreamData(text: string | null): Record<string, string> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
    return out;
  } catch {
    return {};
  }
}

const upstreamDataText = (d: Readonly<Record<string, string>>): string | null =>
  Object.keys(d).length === 0 ? null : JSON.stringify(d);

export function fromPayment(p: Payment): PaymentsTable {
  return {
    id: p.id,
    token: p.token,
    merchant_id: p.merchantId,
    wmx_id: p.wmxId,
    ref_id: p.refId,
    merchant_order_id: p.merchantOrderId,
    merchant_ref_id: p.merchantRefId,
    fingerprint: p.fingerprint,
    app_name: p.appName,
    cart_info: p.cartInfo,
    customer_name: p.customerName,
    customer_email: p.customerEmail,
    customer_phone: p.customerPhone,
    customer_details: p.customerDetails,
    product_desc: p.productDesc,
    currency: p.currency,
    amount_minor: p.amountMinor.toString(),
    rate_scaled: p.rateScaled.toString(),
    amount_bdt_minor: p.amountBdtMinor.toString(),
    emi_period: p.emiPeriod,
    emi_bank: p.emiBank,
    emi_bps: p.emiBps,
    emi_charge_minor: p.emiChargeMinor.toString(),
    discount_minor: p.discountMinor.toString(),
    fee_bps: p.feeBps,
    fee_minor: p.feeMinor.toString(),
    bank_amount_minor: p.bankAmountMinor.toString(),
    callback_url: p.callbackUrl,
    extra_json: p.extraJson,
    options_raw: p.optionsRaw,
    options_decoded: p.optionsDecoded,
    request_ip: p.requestIp,
    status: p.status,
    txn_details: p.txnDetails,
    method: p.method,
    card_details: p.cardDetails,
    is_foreign: p.isForeign ? 1 : 0,
    payment_card: p.paymentCard,
    card_code: p.cardCode,
    page_extra: p.pageExtra,
    init_at: p.initAt,
    txn_at: p.txnAt,
    expires_at: p.expiresAt,
    processing_until: p.processingUntil,
    challenge_ref: p.challengeRef,
    challenge_info: p.challengeInfo,
    attempts: p.attempts,
    auth_code: p.authCode,
    refunded_minor: (p.refundedMinor ?? 0n).toString(),
    connector_id: p.connectorId,
    upstream_ref: p.upstreamRef,
    upstream_state: p.upstreamState,
    upstream_data: upstreamDataText(p.upstreamData),
    reconcile_at: p.reconcileAt,
    reconcile_attempts: p.reconcileAttempts,
  };
}

/** The columns behind a PaymentRecordView: the hot read loads these and nothing else. */
const VIEW_COLUMNS = [
  'merchant_id',
  'status',
  'expires_at',
  'wmx_id',
  'ref_id',
  'token',
  'amount_minor',
  'merchant_ref_id',
  'merchant_order_id',
  'currency',
  'rate_scaled',
  'amount_bdt_minor',
  'fee_bps',
  'fee_minor',
  'emi_bps',
  'emi_charge_minor',
  'discount_minor',
  'bank_amount_minor',
  'request_ip',
  'txn_details',
  'extra_json',
  'card_details',
  'is_foreign',
  'payment_card',
  'card_code',
  'method',
  'init_at',
  'txn_at',
  'customer_details',
  'refunded_minor',
] as const;

const num = (v: unknown): number => Number(v);
const big = (v: unknown): bigint => BigInt(v as string | number | bigint);
const str = (v: unknown): string => v as string; // TEXT NOT NULL columns
const strOrNull = (v: unknown): string | null => v as string | null; // nullable TEXT columns

/** A row of VIEW_COLUMNS as an array, as the drivers hand it over in array mode. */
function toRecordView(v: unknown[]): PaymentRecordView {
  const [
    merchantId,
    status,
    expiresAt,
    wmxId,
    refId,
    token,
    amountMinor,
    merchantRefId,
    merchantOrderId,
    currency,
    rateScaled,
    amountBdtMinor,
    feeBps,
    feeMinor,
    emiBps,
    emiChargeMinor,
    discountMinor,
    bankAmountMinor,
    requestIp,
    txnDetails,
    extraJson,
    cardDetails,
    isForeign,
    paymentCard,
    cardCode,
    method,
    initAt,
    txnAt,
    customerDetails,
    refundedMinor,
  ] = v;
  return {
    merchantId: str(merchantId),
    status: status as PaymentStatus, // the column only ever holds PaymentStatus values
    expiresAt: num(expiresAt),
    wmxId: str(wmxId),
    refId: str(refId),
    token: str(token),
    amountMinor: big(amountMinor),
    merchantRefId: str(merchantRefId),
    merchantOrderId: str(merchantOrderId),
    currency: str(currency),
    rateScaled: big(rateScaled),
    amountBdtMinor: big(amountBdtMinor),
    feeBps: num(feeBps),
    feeMinor: big(feeMinor),
    emiBps: num(emiBps),
    emiChargeMinor: big(emiChargeMinor),
    discountMinor: big(discountMinor),
    bankAmountMinor: big(bankAmountMinor),
    requestIp: str(requestIp),
    txnDetails: str(txnDetails),
    extraJson: strOrNull(extraJson),
    cardDetails: strOrNull(cardDetails),
    isForeign: num(isForeign) === 1,
    paymentCard: strOrNull(paymentCard),
    cardCode: strOrNull(cardCode),
    method: method as PaymentMethod | null, // likewise
    initAt: num(initAt),
    txnAt: txnAt === null ? null : num(txnAt),
    customerDetails: str(customerDetails),
    refundedMinor: big(refundedMinor ?? 0),
  };
}

/**
 * Reads on the read-only connection share one read transaction per turn of the event loop: the
 * first read of a turn opens it, and it ends when the turn's I/O callbacks are done. Every read of
 * a lone statement otherwise takes and releases SQLite's file locks (three system calls, most of
 * such a read's cost). All reads of a turn see the data committed when the turn's first read ran;
 * a request answered from it arrived before anything committed later in the turn was answered.
 *
 * `version()` is the open snapshot's `PRAGMA data_version`: SQLite changes it on this connection
 * whenever any other connection (this process's writer, the CLI, another process) has committed a
 * change since the connection's previous read transaction, and never otherwise. Two snapshots with
 * the same version therefore hold the same data.
 */
interface TurnSnapshot {
  read<T>(read: () => T): T;
  /** The data version of the current turn's snapshot (opening it if needed). */
  version(): number;
}

function readSnapshotPerTurn(reader: SqliteDatabase.Database): TurnSnapshot {
  const begin = reader.prepare('BEGIN');
  const end = reader.prepare('COMMIT');
  // Run right after BEGIN, the pragma starts the read transaction itself: its value and the data
  // every read of the turn sees belong to the same snapshot.
  const dataVersion = reader.prepare<[], number>('PRAGMA data_version').pluck();
  let open = false;
  let version = 0;
  const close = () => {
    open = false;
    if (reader.inTransaction) end.run();
  };
  const ensureOpen = () => {
    if (open) return;
    begin.run();
    version = dataVersion.get() as number;
    open = true;
    setImmediate(close);
  };
  return {
    read(read) {
      ensureOpen();
      return read();
    },
    version() {
      ensureOpen();
      return version;
    },
  };
}

/**
 * The check-payment read, once per request on the hottest endpoint. SQLite reads on its second
 * connection (committed data only) with statements prepared once; on PostgreSQL the reads of an
 * event-loop turn are batched into one named (server-side prepared) `token = any($1)` query.
 * Rows travel as arrays, and only the record's columns.
 *
 * Recently read records are kept in memory, but never trusted without asking the database: a
 * record's fields change only when the payment leaves `pending` (finalize sets status and the
 * outcome together) or when a refund changes `refunded_minor` — nothing else updates them (see the
 * updates in this file and in refunds.ts). So a kept record is served only after a read of its
 * (status, refunded_minor) finds both unchanged, whichever process or instance made the change.
 * On SQLite that read is skipped when the turn's snapshot has the data version the record was last
 * confirmed at: then nothing at all has been committed since (see readSnapshotPerTurn).
 * The same view object is handed out again, so callers may cache what they derive from it (the
 * legacy route keeps the serialized answer).
 */
function createViewReader(db: Db): (token: string) => MaybePromise<PaymentRecordView | undefined> {
  /** `confirmedAt`: the SQLite data version at which the record was last read or confirmed. */
  type Kept = { view: PaymentRecordView; refunded: string; confirmedAt: number | undefined };
  const kept = new TtlCache<string, Kept>(10_000, 10 * 60_000);
  const STAMP_COLUMNS = ['status', 'refunded_minor', 'token'] as const;
  type Column = keyof PaymentsTable & string;
  const selectSql = (columns: readonly Column[], where: Expression<SqlBool>) =>
    db.kysely.selectFrom('payments').select(columns).where(where).compile().sql;

  type Query = (token: string) => MaybePromise<unknown[] | undefined>;
  let readView: Query;
  let readStamp: Query;
  /** The data version the reads of this moment see; undefined where there is none (PostgreSQL). */
  let dataVersion: () => number | undefined = () => undefined;
  const pool = db.pgPool;
  if (pool) {
    // The reads of one event-loop turn go to PostgreSQL as one query (token = any($1)): the driver's
    // cost per query was most of a check-payment's. Each answer still reflects every commit made
    // before its request arrived, as the query starts after they all did.
    const anyToken = sql<SqlBool>`token = any(${[] as string[]}::text[])`;
    const batched = (name: string, columns: readonly Column[]): Query => {
      const text = selectSql(columns, anyToken);
      const tokenAt = columns.indexOf('token');
      const loader = new DataLoader<string, unknown[] | undefined>(
        async (tokens) => {
          const { rows } = await pool.query<unknown[]>({ name, text, values: [tokens], rowMode: 'array' });
          const byToken = new Map(rows.map((r) => [r[tokenAt] as string, r]));
          return tokens.map((t) => byToken.get(t));
        },
        { cache: false, batchScheduleFn: (run) => setImmediate(run), maxBatchSize: 500 },
      );
      return (token) => loader.load(token);
    };
    readView = batched('wmx_payment_views', VIEW_COLUMNS);
    readStamp = batched('wmx_payment_stamps', STAMP_COLUMNS);
  } else {
    const reader = db.sqliteReader ?? db.sqlite!; // a Db is either SQLite or PostgreSQL
    const turn = db.sqliteReader ? readSnapshotPerTurn(db.sqliteReader) : undefined;
    if (turn) dataVersion = () => turn.version();
    const prepared = (text: string) => {
      let stmt: SqliteDatabase.Statement<[string], unknown[]> | undefined;
      const get = (token: string) => (stmt ??= reader.prepare<[string], unknown[]>(text).raw(true)).get(token);
      return turn ? (token: string) => turn.read(() => get(token)) : get;
    };
    const oneToken = sql<SqlBool>`token = ${''}`;
    readView = prepared(selectSql(VIEW_COLUMNS, oneToken));
    readStamp = prepared(selectSql(STAMP_COLUMNS, oneToken));
  }

  const remember = (token: string, row: unknown[] | undefined, confirmedAt: number | undefined) => {
    if (!row) return undefined;
    const fresh = toRecordView(row);
    kept.set(token, { view: fresh, refunded: String(fresh.refundedMinor ?? 0n), confirmedAt });
    return fresh;
  };
  const readFresh = (token: string, version: number | undefined) =>
    andThen(readView(token), (row) => remember(token, row, version));

  // Synchronous on SQLite (no promise on the hottest read); a promise on PostgreSQL.
  return (token) => {
    const version = dataVersion();
    const known = kept.get(token);
    if (!known) return readFresh(token, version);
    if (version !== undefined && known.confirmedAt === version) return known.view;
    return andThen(readStamp(token), (now) => {
      if (!now) {
        kept.delete(token);
        return undefined;
      }
      if (now[0] !== known.view.status || String(now[1] ?? 0) !== known.refunded) return readFresh(token, version);
      known.confirmedAt = version;
      return known.view;
    });
  };
}

/** What finalising a payment may change. */
export type PaymentOutcome = Pick<
  Payment,
  | 'status'
  | 'txnDetails'
  | 'method'
  | 'cardDetails'
  | 'isForeign'
  | 'paymentCard'
  | 'cardCode'
  | 'feeBps'
  | 'feeMinor'
  | 'emiPeriod'
  | 'emiBank'
  | 'emiBps'
  | 'emiChargeMinor'
  | 'bankAmountMinor'
  | 'authCode'
  | 'txnAt'
  | 'pageExtra'
> &
  Partial<Pick<Payment, 'connectorId' | 'upstreamRef' | 'upstreamData'>>;

/** What a lease holder writes as it takes the lease for an upstream call (see claim). */
export interface UpstreamMark {
  connectorId: string;
  state: UpstreamState;
  ref?: string | null;
  /** The attempt's state (challenge_info), written with the lease. */
  info?: string;
}

/** What giving a lease back may change; absent keys stay as they are. */
export type ReleasePatch = Partial<
  Pick<
    Payment,
    | 'challengeRef'
    | 'challengeInfo'
    | 'attempts'
    | 'connectorId'
    | 'upstreamState'
    | 'upstreamRef'
    | 'upstreamData'
    | 'reconcileAt'
    | 'reconcileAttempts'
  >
>;

/**
 * Who may finalise: the holder of the bank-call lease (its `leaseUntil` value fences out a stale
 * holder), or anyone while no lease is live and the payment is at no upstream (cancel, expiry on
 * our side). A payment at an upstream ends only by a lease holder who asked the upstream.
 */
export type Fence = { leaseUntil: number } | { unclaimedAt: number };

/**
 * Writes what a final transition owes the outside world (the webhook outbox) inside the
 * transaction of the transition itself: both commit, or neither does.
 */
export interface PaymentOutbox {
  paymentFinal(trx: Kysely<Database>, p: Payment): Promise<void>;
}

/** The predicate of payments_live_ref_uq (migration 0010), as the conflict target must repeat it. */
const LIVE_REF_SQL = "status in ('pending', 'approved')";
const LIVE_REF = sql.raw<SqlBool>(LIVE_REF_SQL);

export function createPaymentRepo(db: Db, outbox?: PaymentOutbox) {
  const k: Kysely<Database> = db.kysely;
  const byTokenQuery = k.selectFrom('payments').selectAll().where('token', '=', '').compile();
  const insertOne = db.sqlite !== undefined ? createSqliteGroupInsert(db) : createPgGroupInsert(db);

  return {
    /**
     * Inserts unless the merchant has a live payment (pending or approved) under the same
     * merchant_ref_id; true when this call inserted the row.
     */
    insertIfNewRef(p: Payment): Promise<boolean> {
      return insertOne(fromPayment(p));
    },
    /** The check-payment record's data (committed state only). */
    recordView: createViewReader(db),
    async byToken(token: string): Promise<Payment | undefined> {
      // The hottest read (check-payment, the payment page): compiled once, parameters swapped per call.
      const r = await k.executeQuery<Selectable<PaymentsTable>>({ ...byTokenQuery, parameters: [token] });
      const row = r.rows[0];
      return row && toPayment(row);
    },
    /**
     * Expires up to `limit` overdue payments in one transaction, the longest overdue first
     * (payments_pending_expiry_idx): pending, past `expires_at`, at no upstream (the reconciler
     * expires those once the upstream says they were not paid) and not held by a bank call. Each
     * gets what finalize() writes for an expiry (see endedWithoutPayment in app/expire.ts: the card
     * and authorisation fields cleared, `txn_at` now, fees and amounts as they were) and its
     * webhook event, in the same transaction; nothing is posted. One UPDATE for the batch, guarded
     * by status, so a payment a lookup or another sweeper expired meanwhile drops out; on
     * PostgreSQL the candidates are locked FOR UPDATE SKIP LOCKED, so sweepers on several instances
     * take disjoint batches instead of queueing behind each other. The payments it expired.
     */
    async expireDue(now: number, limit: number): Promise<Payment[]> {
      return k.transaction().execute(async (trx) => {
        const overdue = (eb: ExpressionBuilder<Database, 'payments'>) =>
          eb.and([
            eb('status', '=', 'pending'),
            eb('expires_at', '<=', now),
            eb('upstream_state', 'is', null),
            eb.or([eb('processing_until', 'is', null), eb('processing_until', '<', now)]),
          ]);
        let due = trx.selectFrom('payments').select('id').where(overdue).orderBy('expires_at').limit(limit);
        if (db.dialect === 'postgres') due = due.forUpdate().skipLocked();
        const rows = await trx
          .updateTable('payments')
          .set({
            status: 'expired',
            txn_details: 'Expired',
            method: null,
            card_details: null,
            is_foreign: 0,
            payment_card: null,
            card_code: null,
            auth_code: null,
            txn_at: now,
            processing_until: null,
            challenge_ref: null,
            upstream_state: null,
            reconcile_at: null,
          })
          .where('id', 'in', due)
          // Re-checked on the row itself: on PostgreSQL under its lock, after any concurrent change.
          .where(overdue)
          .returningAll()
          .execute();
        const expired = rows.map(toPayment);
        if (outbox) for (const p of expired) await outbox.paymentFinal(trx, p);
        return expired;
      });
    },
    /** The merchant's live payment (pending or approved) under a merchant_ref_id (payments_live_ref_uq). */
    async liveByMerchantRef(merchantId: string, merchantRefId: string): Promise<Payment | undefined> {
      const r = await k
        .selectFrom('payments')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .where('merchant_ref_id', '=', merchantRefId)
        .where(LIVE_REF)
        .executeTakeFirst();
      return r && toPayment(r);
    },
    /**
     * Takes the bank-call lease on a pending, unexpired payment that is at no upstream. Only one
     * caller at a time gets it: a double-clicked Pay, a second tab or a replayed post finds it taken
     * and never reaches the bank. With `mark`, the same write records which connector is being asked
     * and in what state, and asks the reconciler to look once the lease lapses: a process killed
     * while the bank answers leaves a payment that is not payable again until the bank was asked.
     */
    async claim(token: string, now: number, leaseMs: number, mark?: UpstreamMark): Promise<Payment | undefined> {
      const r = await k
        .updateTable('payments')
        .set({
          processing_until: now + leaseMs,
          ...(mark
            ? {
                connector_id: mark.connectorId,
                upstream_state: mark.state,
                ...(mark.ref !== undefined ? { upstream_ref: mark.ref } : {}),
                ...(mark.info !== undefined ? { challenge_info: mark.info } : {}),
                reconcile_at: now + leaseMs,
              }
            : {}),
        })
        .where('token', '=', token)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .where('upstream_state', 'is', null)
        .where((eb) => eb.or([eb('processing_until', 'is', null), eb('processing_until', '<', now)]))
        .returningAll()
        .executeTakeFirst();
      return r && toPayment(r);
    },
    /**
     * Takes the lease on a pending payment that is at an upstream (the browser's return, a
     * notification, the reconciler, a cancel): whichever comes first asks the upstream, the others
     * find it taken. Its expiry does not matter: the upstream may have taken the money since.
     */
    async claimAtUpstream(
      token: string,
      now: number,
      leaseMs: number,
      state?: UpstreamState,
    ): Promise<Payment | undefined> {
      const r = await k
        .updateTable('payments')
        .set({
          processing_until: now + leaseMs,
          reconcile_at: now + leaseMs,
          ...(state ? { upstream_state: state } : {}),
        })
        .where('token', '=', token)
        .where('status', '=', 'pending')
        .where('upstream_state', 'is not', null)
        .where((eb) => eb.or([eb('processing_until', 'is', null), eb('processing_until', '<', now)]))
        .returningAll()
        .executeTakeFirst();
      return r && toPayment(r);
    },
    /** Gives the lease back, leaving the payment pending (a challenge opened, a try to repeat, the upstream asked). */
    async release(token: string, leaseUntil: number, patch: ReleasePatch): Promise<Payment | undefined> {
      const set: Partial<PaymentsTable> = { processing_until: null };
      if (patch.challengeRef !== undefined) set.challenge_ref = patch.challengeRef;
      if (patch.challengeInfo !== undefined) set.challenge_info = patch.challengeInfo;
      if (patch.attempts !== undefined) set.attempts = patch.attempts;
      if (patch.connectorId !== undefined) set.connector_id = patch.connectorId;
      if (patch.upstreamState !== undefined) set.upstream_state = patch.upstreamState;
      if (patch.upstreamRef !== undefined) set.upstream_ref = patch.upstreamRef;
      if (patch.upstreamData !== undefined) set.upstream_data = upstreamDataText(patch.upstreamData);
      if (patch.reconcileAt !== undefined) set.reconcile_at = patch.reconcileAt;
      if (patch.reconcileAttempts !== undefined) set.reconcile_attempts = patch.reconcileAttempts;
      const r = await k
        .updateTable('payments')
        .set(set)
        .where('token', '=', token)
        .where('status', '=', 'pending')
        .where('processing_until', '=', leaseUntil)
        .returningAll()
        .executeTakeFirst();
      return r && toPayment(r);
    },
    /** The payment an upstream knows by `ref` at this connector (a notification names it so). */
    async byUpstreamRef(connectorId: string, ref: string): Promise<Payment | undefined> {
      const r = await k
        .selectFrom('payments')
        .selectAll()
        .where('connector_id', '=', connectorId)
        .where('upstream_ref', '=', ref)
        .orderBy('init_at', 'desc')
        .executeTakeFirst();
      return r && toPayment(r);
    },
    /** Pending payments the reconciler owes a look (payments_reconcile_idx), the longest due first. */
    async dueReconcile(now: number, limit: number): Promise<Payment[]> {
      const rows = await k
        .selectFrom('payments')
        .selectAll()
        .where('reconcile_at', '<=', now)
        .where('status', '=', 'pending')
        .where('upstream_state', 'is not', null)
        .where((eb) => eb.or([eb('processing_until', 'is', null), eb('processing_until', '<', now)]))
        .orderBy('reconcile_at')
        .limit(limit)
        .execute();
      return rows.map(toPayment);
    },
    /**
     * Moves a pending payment to its final state atomically; every other caller gets undefined.
     * An approval posts its ledger transfer in the same transaction as the UPDATE, so no approved
     * payment exists without its posting (nor the reverse); the transfer is keyed by the payment, so
     * even a replayed approval posts once. Every final transition also writes its webhook event
     * (the outbox) in that transaction, so no state change goes unannounced.
     */
    async finalize(token: string, outcome: PaymentOutcome, fence: Fence): Promise<Payment | undefined> {
      if (outcome.status !== 'approved' && !outbox) return finalizeWith(k, token, outcome, fence);
      return k.transaction().execute(async (trx) => {
        const p = await finalizeWith(trx, token, outcome, fence);
        if (p && outcome.status === 'approved') await postTransfer(trx, paymentTransfer(p), p.txnAt ?? Date.now());
        if (p && outbox) await outbox.paymentFinal(trx, p);
        return p;
      });
    },
  };
}

async function finalizeWith(
  k: Kysely<Database>,
  token: string,
  outcome: PaymentOutcome,
  fence: Fence,
): Promise<Payment | undefined> {
  let q = k
    .updateTable('payments')
    .set({
      status: outcome.status,
      txn_details: outcome.txnDetails,
      method: outcome.method,
      card_details: outcome.cardDetails,
      is_foreign: outcome.isForeign ? 1 : 0,
      payment_card: outcome.paymentCard,
      card_code: outcome.cardCode,
      fee_bps: outcome.feeBps,
      fee_minor: outcome.feeMinor.toString(),
      emi_period: outcome.emiPeriod,
      emi_bank: outcome.emiBank,
      emi_bps: outcome.emiBps,
      emi_charge_minor: outcome.emiChargeMinor.toString(),
      bank_amount_minor: outcome.bankAmountMinor.toString(),
      auth_code: outcome.authCode,
      txn_at: outcome.txnAt,
      page_extra: outcome.pageExtra,
      processing_until: null,
      challenge_ref: null,
      upstream_state: null,
      reconcile_at: null,
      ...(outcome.connectorId !== undefined ? { connector_id: outcome.connectorId } : {}),
      ...(outcome.upstreamRef !== undefined ? { upstream_ref: outcome.upstreamRef } : {}),
      ...(outcome.upstreamData !== undefined ? { upstream_data: upstreamDataText(outcome.upstreamData) } : {}),
    })
    .where('token', '=', token)
    .where('status', '=', 'pending');
  if ('leaseUntil' in fence) q = q.where('processing_until', '=', fence.leaseUntil);
  else {
    const at = fence.unclaimedAt;
    q = q
      .where('upstream_state', 'is', null)
      .where((eb) => eb.or([eb('processing_until', 'is', null), eb('processing_until', '<', at)]));
  }
  const r = await q.returningAll().executeTakeFirst();
  return r && toPayment(r);
}

export type PaymentRepo = ReturnType<typeof createPaymentRepo>;

/** Per row of a batch: inserted (true), skipped as a merchant_ref_id already taken (false), or failed. */
type RowResult = boolean | Error;
const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/**
 * Group commit: calls made while earlier batches are being written are collected and written
 * together, one transaction per batch, so one durable commit covers many payments. At most
 * `maxInFlight` batches are written at a time; while they are, the event loop keeps reading
 * requests and the next batch grows. Each caller is answered once its batch is durable.
 */
function groupCommit<T>(
  write: (items: T[]) => Promise<RowResult[]>,
  opts: { maxInFlight: number; maxBatch: number },
): (item: T) => Promise<boolean> {
  type Waiting = { item: T; resolve: (v: boolean) => void; reject: (e: unknown) => void };
  let queue: Waiting[] = [];
  let scheduled = false;
  let inFlight = 0;

  const schedule = () => {
    if (scheduled || inFlight >= opts.maxInFlight || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  };
  const flush = () => {
    scheduled = false;
    const batch = queue.slice(0, opts.maxBatch);
    queue = queue.slice(batch.length);
    inFlight++;
    write(batch.map((w) => w.item))
      .then(
        (results) =>
          batch.forEach((w, i) => {
            const r = results[i]!;
            if (typeof r === 'boolean') w.resolve(r);
            else w.reject(r);
          }),
        (e: unknown) => batch.forEach((w) => w.reject(e)),
      )
      .finally(() => {
        inFlight--;
        schedule();
      });
    schedule();
  };

  return (item) =>
    new Promise<boolean>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}

/**
 * PostgreSQL: one INSERT … SELECT FROM unnest(one array per column) … ON CONFLICT DO NOTHING
 * RETURNING token per batch: one statement, one commit, and the same SQL text whatever the batch
 * size, so it is prepared once per connection (a multi-row VALUES list was planned anew for every
 * batch). Column types for the array casts come from the catalog. A batch that fails as a whole is
 * retried a row at a time, so one bad row fails alone.
 */
function createPgGroupInsert(db: Db): (row: PaymentsTable) => Promise<boolean> {
  const pool = db.pgPool!; // only called for PostgreSQL
  let statement: Promise<{ text: string; columns: (keyof PaymentsTable)[] }> | undefined;
  const prepare = async (row: PaymentsTable) => {
    const columns = Object.keys(row) as (keyof PaymentsTable)[];
    const types = await sql<{ column_name: string; udt_name: string }>`
      select column_name, udt_name from information_schema.columns
      where table_schema = current_schema() and table_name = 'payments'`.execute(db.kysely);
    const typeOf = new Map(types.rows.map((r) => [r.column_name, r.udt_name]));
    const casts = columns.map((c, i) => {
      const t = typeOf.get(c);
      if (!t || !/^[a-z0-9_]+$/.test(t)) throw new Error(`payments.${c}: no usable column type (${String(t)})`);
      return `$${i + 1}::${t}[]`;
    });
    const text =
      `insert into payments (${columns.map((c) => `"${c}"`).join(', ')}) ` +
      `select * from unnest(${casts.join(', ')}) ` +
      `on conflict (merchant_id, merchant_ref_id) where ${LIVE_REF_SQL} do nothing returning token`;
    return { text, columns };
  };
  const insert = async (rows: PaymentsTable[]): Promise<Set<string>> => {
    statement ??= prepare(rows[0]!).catch((e: unknown) => {
      statement = undefined; // try again with the next batch
      throw e;
    });
    const { text, columns } = await statement;
    const r = await pool.query<{ token: string }>({
      name: 'wmx_payment_insert',
      text,
      values: columns.map((c) => rows.map((row) => row[c])),
    });
    return new Set(r.rows.map((x) => x.token));
  };
  return groupCommit<PaymentsTable>(
    async (rows) => {
      try {
        const inserted = await insert(rows);
        return rows.map((r) => inserted.has(r.token));
      } catch {
        return Promise.all(rows.map(async (r) => insert([r]).then((x) => x.size === 1, asError)));
      }
    },
    { maxInFlight: 4, maxBatch: 500 },
  );
}

/**
 * SQLite: the batch is written on this connection in one transaction. Its COMMIT does not wait for
 * the disk (synchronous=NORMAL for this one transaction); the WAL is then fdatasync'ed on libuv's
 * thread pool (db.walSync) and the callers are answered after a sync that began after the COMMIT:
 * synchronous=FULL's guarantee without blocking the event loop. One batch at a time, so the next
 * one grows while the disk works. Every other write keeps synchronous=FULL. The SQL comes from
 * Kysely; the statement is prepared once.
 */
function createSqliteGroupInsert(db: Db): (row: PaymentsTable) => Promise<boolean> {
  const sqlite = db.sqlite!; // only called when the handle exists
  const walSync = db.walSync;
  let stmt: ReturnType<typeof sqlite.prepare> | undefined;
  let columns: (keyof PaymentsTable)[] = [];

  const compile = (row: PaymentsTable) => {
    const q = db.kysely
      .insertInto('payments')
      .values(row)
      .onConflict((oc) => oc.columns(['merchant_id', 'merchant_ref_id']).where(LIVE_REF).doNothing())
      .compile();
    columns = Object.keys(row) as (keyof PaymentsTable)[];
    stmt = sqlite.prepare(q.sql);
  };
  const insertAll = sqlite.transaction((rows: PaymentsTable[]) =>
    rows.map((row) => stmt!.run(columns.map((c) => row[c])).changes === 1),
  );
  const runBatch = (rows: PaymentsTable[]): boolean[] =>
    walSync ? walSync.withoutSync(() => insertAll(rows)) : insertAll(rows);

  return groupCommit<PaymentsTable>(
    async (rows) => {
      // A Kysely transaction may be open on this connection (awaiting between statements): wait for it.
      while (sqlite.inTransaction) await new Promise((r) => setTimeout(r, 1));
      if (!stmt) compile(rows[0]!);
      let results: RowResult[];
      try {
        results = runBatch(rows);
      } catch {
        // One bad row must not fail its neighbours: retry each on its own.
        results = rows.map((row) => {
          try {
            return runBatch([row])[0]!;
          } catch (e) {
            return asError(e);
          }
        });
      }
      await walSync?.afterSync();
      return results;
    },
    { maxInFlight: 1, maxBatch: 1000 },
  );
}
