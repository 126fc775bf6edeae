/**
 * The SSLCommerz simulator's server-to-server APIs, as plain functions over the parsed parameters:
 * session initiation (`/gwprocess/v4/api.php`), order validation (`validationserverAPI.php`) and the
 * four jobs of `merchantTransIDvalidationAPI.php` (research notes §1, §2, §5–§7). Every answer is
 * HTTP 200 with a JSON body, failures included, as SSLCommerz does.
 */
import { formatMinor } from '../../domain/money.js';
import { BDT_RATES, gatewayGroups, selectGateways } from './simulator-catalog.js';
import { queryElement, sessionQueryBody, validationBody } from './simulator-fields.js';
import { pause, type SimContext } from './simulator-outcome.js';
import {
  addSession,
  dhakaTime,
  knobOf,
  newRefundRefId,
  newSessionKey,
  parseDecimal2,
  statusOf,
  toBdt,
  type Refund,
  type Session,
} from './simulator-state.js';

export type Params = Record<string, string>;

const present = (p: Params, k: string): boolean => (p[k] ?? '').trim() !== '';
const credentialsOk = (ctx: SimContext, p: Params) =>
  p.store_id === ctx.store.storeId && p.store_passwd === ctx.store.storePasswd;

/** The one failedreason verified in real answers (notes §2.2, §11). */
export const CREDENTIAL_ERROR = 'Store Credential Error Or Store is De-active';

/**
 * The fields the doc marks mandatory, in its order, minus cus_add1/cus_city/cus_postcode/cus_country and
 * num_of_item, which working integrations omit (notes §2.1: the labels are not the server's behaviour).
 */
const MANDATORY = [
  'total_amount',
  'currency',
  'tran_id',
  'product_category',
  'success_url',
  'fail_url',
  'cancel_url',
  'cus_name',
  'cus_email',
  'cus_phone',
  'shipping_method',
  'product_name',
  'product_profile',
] as const;
const SHIP_FIELDS = ['ship_name', 'ship_add1', 'ship_city', 'ship_postcode', 'ship_country'] as const;
const PRODUCT_PROFILES = new Set([
  'general',
  'physical-goods',
  'non-physical-goods',
  'airline-tickets',
  'travel-vertical',
  'telecom-vertical',
]);
const SHIPPING_METHODS = new Set(['YES', 'NO', 'COURIER', 'SSLCOMMERZ_LOGISTIC']);
// The doc's range: "from 10.00 BDT to 500000.00 BDT", decimal (10,2) (notes §2.1), checked on total_amount as sent.
const MIN_MINOR = 1_000n;
const MAX_MINOR = 50_000_000n;

// failedreason wording beyond the credential error is not in any stored material (notes §11): ours.
const invalid = (why: string) => ({ status: 'FAILED', failedreason: `Invalid Information! ${why}` });

const isHttpUrl = (text: string): boolean => {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

/** `POST /gwprocess/v4/api.php` (notes §2). */
export function createSession(ctx: SimContext, p: Params): object {
  ctx.books.stats.session++;
  if (!credentialsOk(ctx, p)) return { status: 'FAILED', failedreason: CREDENTIAL_ERROR };
  const missing = MANDATORY.find((k) => !present(p, k));
  if (missing !== undefined) return invalid(`'${missing}' is missing`);
  const totalText = (p.total_amount ?? '').trim();
  const total = parseDecimal2(totalText);
  if (total === undefined || total < MIN_MINOR || total > MAX_MINOR)
    return invalid(`'total_amount' must be from 10.00 to 500000.00 with at most 2 decimals`);
  const currency = (p.currency ?? '').trim().toUpperCase();
  const rate = BDT_RATES[currency];
  if (rate === undefined) return invalid(`'currency' ${currency} is not supported`);
  const tranId = (p.tran_id ?? '').trim();
  if (tranId.length > 30) return invalid(`'tran_id' must be at most 30 characters`);
  for (const k of ['success_url', 'fail_url', 'cancel_url', 'ipn_url'] as const)
    if (present(p, k) && !isHttpUrl((p[k] ?? '').trim())) return invalid(`'${k}' is not a valid URL`);
  if (!PRODUCT_PROFILES.has((p.product_profile ?? '').trim())) return invalid(`'product_profile' is not valid`);
  const shipping = (p.shipping_method ?? '').trim().toUpperCase();
  if (!SHIPPING_METHODS.has(shipping)) return invalid(`'shipping_method' must be YES, NO or Courier`);
  // "Mandatory, if shipping_method is YES" (doc, via the SDK comments).
  const shipMissing = shipping === 'YES' ? SHIP_FIELDS.find((k) => !present(p, k)) : undefined;
  if (shipMissing !== undefined) return invalid(`'${shipMissing}' is missing`);
  const gateways = selectGateways(p.multi_card_name);
  if (gateways.length === 0) return invalid(`'multi_card_name' selects no gateway`);

  const knob = knobOf(total);
  const currencyMinor = knob === 'amount-mismatch' ? total - 100n : total;
  const allowedBins = present(p, 'allowed_bin')
    ? (p.allowed_bin ?? '')
        .split(',')
        .map((b) => b.trim())
        .filter((b) => /^\d{6}$/.test(b))
    : undefined;
  const s: Session = {
    sessionkey: newSessionKey(),
    tranId,
    createdAt: ctx.now(),
    totalAmountText: totalText,
    currencyMinor,
    currencyType: currency,
    rate,
    bdtMinor: toBdt(currencyMinor, rate),
    successUrl: (p.success_url ?? '').trim(),
    failUrl: (p.fail_url ?? '').trim(),
    cancelUrl: (p.cancel_url ?? '').trim(),
    ipnUrl: present(p, 'ipn_url') ? (p.ipn_url ?? '').trim() : undefined,
    values: { value_a: p.value_a ?? '', value_b: p.value_b ?? '', value_c: p.value_c ?? '', value_d: p.value_d ?? '' },
    customer: { name: p.cus_name ?? '', email: p.cus_email ?? '', phone: p.cus_phone ?? '' },
    gateways,
    allowedBins: allowedBins !== undefined && allowedBins.length > 0 ? allowedBins : undefined,
    knob,
    outcome: undefined,
    pending: undefined,
    validations: 0,
    validatedAt: undefined,
    ipn: [],
    refunds: [],
  };
  addSession(ctx.books, s);

  const base = ctx.publicUrl();
  const page = pageUrl(base, s.sessionkey);
  return {
    status: 'SUCCESS',
    failedreason: '',
    sessionkey: s.sessionkey,
    gw: gatewayGroups(gateways),
    // "If you add this key with the parameter of redirectGatewayURL, then it will be redirected to that
    // gateway directly" (doc, notes §2.2): the page reads ?cardname=<gw>.
    redirectGatewayURL: `${page}?cardname=`,
    // Seen in real answers (EX3P, KOT GwProcessResponse), meaning undocumented: left empty.
    directPaymentURLBank: '',
    directPaymentURLCard: '',
    directPaymentURL: '',
    redirectGatewayURLFailed: '',
    GatewayPageURL: page,
    storeBanner: `${base}/stores/logos/banner.png`,
    storeLogo: `${base}/stores/logos/logo.png`,
    store_name: 'WMX Simulator Store',
    desc: gateways.map((g) => ({
      name: g.name,
      type: g.type,
      logo: `${base}/gwprocess/v4/image/gw/${g.gw}.png`,
      gw: g.gw,
      r_flag: '1',
      redirectGatewayURL: `${page}?cardname=${g.gw}`,
    })),
    is_direct_pay_enable: '1',
  };
}

/** The recent sandbox form of GatewayPageURL (notes §2.2). */
export const pageUrl = (base: string, sessionkey: string): string =>
  `${base}/EasyCheckOut/testcde${sessionkey.toLowerCase()}`;

/**
 * `validationserverAPI.php` (notes §5): VALID on the first call for a paid val_id, VALIDATED after.
 * INVALID_TRANSACTION for an unknown val_id and for wrong credentials; the latter also says
 * APIConnect INVALID_REQUEST (the body beside the status is undocumented), so a connector can tell a
 * configuration error from an unknown payment. Undefined when the caller left during a hang.
 */
export async function validate(ctx: SimContext, p: Params, signal: AbortSignal): Promise<object | undefined> {
  ctx.books.stats.validation++;
  if (!credentialsOk(ctx, p)) return { status: 'INVALID_TRANSACTION', APIConnect: 'INVALID_REQUEST' };
  const s = ctx.books.byValId.get((p.val_id ?? '').trim());
  if (s === undefined) return { status: 'INVALID_TRANSACTION', APIConnect: 'DONE' };
  if (s.knob === 'validation-hangs' && !(await pause(ctx.hangMs, signal))) return undefined;
  s.validations++;
  const now = ctx.now();
  s.validatedAt ??= now;
  return validationBody(s, s.validations === 1 ? 'VALID' : 'VALIDATED', now);
}

/**
 * `merchantTransIDvalidationAPI.php`: one endpoint, four jobs, told apart by which parameters are
 * present (notes §1), in the order the notes suggest: refund_ref_id, refund, sessionkey, tran_id.
 */
export function merchantTransaction(ctx: SimContext, p: Params): object {
  const stats = ctx.books.stats;
  const job = present(p, 'refund_ref_id')
    ? 'refundQuery'
    : present(p, 'bank_tran_id') && present(p, 'refund_amount')
      ? 'refund'
      : present(p, 'sessionkey')
        ? 'queryBySession'
        : present(p, 'tran_id')
          ? 'queryByTranId'
          : undefined;
  if (job !== undefined) stats[job]++;
  // The stub answer seen for wrong credentials (notes §11).
  if (job === undefined || !credentialsOk(ctx, p)) return { APIConnect: 'INVALID_REQUEST' };
  const now = ctx.now();
  switch (job) {
    case 'refundQuery':
      return refundQuery(ctx, (p.refund_ref_id ?? '').trim(), now);
    case 'refund':
      return initiateRefund(ctx, p, now);
    case 'queryBySession': {
      const s = ctx.books.sessions.get((p.sessionkey ?? '').trim());
      // No documented answer for an unknown session; validation's word for an unknown id is reused.
      if (s === undefined) return { APIConnect: 'DONE', status: 'INVALID_TRANSACTION', sessionkey: p.sessionkey };
      return sessionQueryBody(s, statusOf(s, now, ctx.sessionTtlMs));
    }
    case 'queryByTranId': {
      // Oldest first: integrators take element[no_of_trans_found-1] as the latest (notes §6.1).
      const list = ctx.books.byTranId.get((p.tran_id ?? '').trim()) ?? [];
      return {
        APIConnect: 'DONE',
        // A JSON number: the wire type is unverified (notes §6.1); connectors accept both.
        no_of_trans_found: list.length,
        element: list.map((s) => queryElement(s, statusOf(s, now, ctx.sessionTtlMs))),
      };
    }
  }
}

export type RefundState = 'processing' | 'refunded' | 'cancelled';

/** processing until refundDelayMs has passed, then refunded (or cancelled, knob `refund-cancelled`). */
export function refundState(ctx: SimContext, r: Refund, now: number): RefundState {
  if (now - r.initiatedAt < ctx.refundDelayMs) return 'processing';
  return ctx.books.sessions.get(r.sessionkey)?.knob === 'refund-cancelled' ? 'cancelled' : 'refunded';
}

/** Refund initiate (notes §7.1). A failure to initiate is `status: "failed"` with an errorReason. */
function initiateRefund(ctx: SimContext, p: Params, now: number): object {
  const bankTranId = (p.bank_tran_id ?? '').trim();
  const failed = (errorReason: string, tranId?: string) => ({
    APIConnect: 'DONE',
    bank_tran_id: bankTranId,
    ...(tranId === undefined ? {} : { trans_id: tranId }),
    status: 'failed',
    errorReason,
  });
  if (!present(p, 'refund_remarks'))
    return { APIConnect: 'INVALID_REQUEST', errorReason: "'refund_remarks' is missing" };
  const s = ctx.books.byBankTranId.get(bankTranId);
  // trans_id "Will be return only when … the bank_tran_id is a valid id" (doc via CI3P).
  if (s === undefined || s.outcome?.status !== 'VALID') return failed('Invalid bank_tran_id');
  // refund_trans_id (required since 24/02/2025, per third-party copies) else refe_id identifies a refund.
  const merchantRef = present(p, 'refund_trans_id')
    ? (p.refund_trans_id ?? '').trim()
    : present(p, 'refe_id')
      ? (p.refe_id ?? '').trim()
      : undefined;
  const earlier = merchantRef === undefined ? undefined : ctx.books.refundsByMerchantRef.get(merchantRef);
  if (earlier !== undefined) {
    if (earlier.bankTranId !== bankTranId) return failed('refund_trans_id was already used', s.tranId);
    // "processing: The refund has been initiated already" (doc via CI3P).
    return ok(earlier, 'processing');
  }
  if (s.knob === 'refund-refused') return failed('Refund not allowed for this transaction', s.tranId);
  const amount = parseDecimal2(p.refund_amount ?? '');
  if (amount === undefined || amount <= 0n) return failed('Invalid refund_amount', s.tranId);
  // Partial and repeated refunds are undocumented (notes §7.2): any number, up to what was paid.
  const taken = s.refunds.reduce(
    (sum, r) => (refundState(ctx, r, now) === 'cancelled' ? sum : sum + r.amountMinor),
    0n,
  );
  if (amount > s.bdtMinor - taken)
    return failed(`Refund amount exceeds the refundable amount ${formatMinor(s.bdtMinor - taken)}`, s.tranId);
  const r: Refund = {
    refundRefId: newRefundRefId(),
    sessionkey: s.sessionkey,
    bankTranId,
    tranId: s.tranId,
    amountMinor: amount,
    remarks: p.refund_remarks ?? '',
    merchantRef,
    initiatedAt: now,
  };
  s.refunds.push(r);
  ctx.books.refunds.set(r.refundRefId, r);
  if (merchantRef !== undefined) ctx.books.refundsByMerchantRef.set(merchantRef, r);
  return ok(r, 'success');
}

const ok = (r: Refund, status: 'success' | 'processing') => ({
  APIConnect: 'DONE',
  bank_tran_id: r.bankTranId,
  trans_id: r.tranId,
  refund_ref_id: r.refundRefId,
  status,
  errorReason: '',
});

/** Refund query (notes §7.2). An unknown refund_ref_id is undocumented: answered `failed`. */
function refundQuery(ctx: SimContext, refundRefId: string, now: number): object {
  const r = ctx.books.refunds.get(refundRefId);
  if (r === undefined)
    return { APIConnect: 'DONE', refund_ref_id: refundRefId, status: 'failed', errorReason: 'Invalid refund_ref_id' };
  const status = refundState(ctx, r, now);
  return {
    APIConnect: 'DONE',
    bank_tran_id: r.bankTranId,
    tran_id: r.tranId,
    refund_ref_id: r.refundRefId,
    initiated_on: dhakaTime(r.initiatedAt),
    refunded_on: status === 'refunded' ? dhakaTime(r.initiatedAt + ctx.refundDelayMs) : '',
    status,
    errorReason: status === 'cancelled' ? 'Refund request has been cancelled' : '',
  };
}
