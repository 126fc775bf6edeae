/**
 * SSLCommerz v4 (developer.sslcommerz.com/doc/v4/; the official SDKs sslcommerz/SSLCommerz-PHP,
 * SSLCommerz-Laravel and SSLCommerz-Python show the same contract), as a connector:
 * - session: POST /gwprocess/v4/api.php → GatewayPageURL, where the customer pays (card, wallet,
 *   internet banking; `multi_card_name` keeps the page to the routed method);
 * - SSLCommerz posts the customer back to success_url / fail_url / cancel_url and posts an IPN to
 *   ipn_url, both signed with `verify_sign` (md5 over the fields named in `verify_key` and
 *   md5(store_passwd), verify-sign.ts);
 * - nothing is approved on a post's word: the order validation API
 *   (/validator/api/validationserverAPI.php, by val_id) is the authority, and its tran_id, amount
 *   and currency must be ours; a failure or cancel is checked with the transaction query by
 *   tran_id (/validator/api/merchantTransIDvalidationAPI.php), which also finds a payment whose
 *   return and IPN never came;
 * - refunds through the same endpoint (bank_tran_id + refund_amount), then the refund query by
 *   refund_ref_id until SSLCommerz says refunded.
 * Our tran_id is the payment's ref_id: known before the session exists, so a payment can be asked
 * about even if the gateway died while the session was being opened.
 */
import { formatMinor } from '../../domain/money.js';
import type {
  CallContext,
  Connector,
  FinalOutcome,
  NotificationResult,
  PaymentAttempt,
  RefundResult,
  Settlement,
  UpstreamRef,
} from '../port.js';
import type { ConnectorConfig, ConnectorDeps } from '../registry.js';
import { field, parseMinor, type HttpAnswer } from '../upstream-http.js';
import { MULTI_CARD_NAME, failureText, instrumentOf, riskNote } from './mapping.js';
import { verifySslcommerzSign } from './verify-sign.js';

export const SSLCOMMERZ_BASE_URLS = {
  sandbox: 'https://sandbox.sslcommerz.com',
  live: 'https://securepay.sslcommerz.com',
} as const;

const VALIDATION_PATH = '/validator/api/validationserverAPI.php';
const QUERY_PATH = '/validator/api/merchantTransIDvalidationAPI.php';
const PAID = new Set(['VALID', 'VALIDATED']);

/** SSLCommerz takes 10.00 to 500000.00 BDT per transaction (v4 doc, total_amount). */
const MIN_AMOUNT_MINOR = 1_000n;
const MAX_AMOUNT_MINOR = 50_000_000n;

type Answer = { kind: 'ok'; json: unknown } | { kind: 'none'; why: string };

const read = (a: HttpAnswer): Answer => {
  if (a.kind === 'timeout') return { kind: 'none', why: 'no answer in time' };
  if (a.kind === 'error') return { kind: 'none', why: a.message };
  if (a.status >= 500 || typeof a.json !== 'object' || a.json === null) {
    return { kind: 'none', why: `HTTP ${a.status}${a.json === undefined ? ', no JSON' : ''}` };
  }
  return { kind: 'ok', json: a.json };
};

/** What the call log keeps of an answer: its status and APIConnect, never the body. */
const describe = (a: Extract<HttpAnswer, { kind: 'answer' }>) => {
  const status = field(a.json, 'status');
  const api = field(a.json, 'APIConnect');
  const ok = a.status < 400 && typeof a.json === 'object' && (api === '' || api === 'DONE') && status !== 'FAILED';
  return {
    outcome: ok ? ('ok' as const) : ('failed' as const),
    code: status || api || String(a.status),
    message:
      (field(a.json, 'failedreason') || field(a.json, 'errorReason') || field(a.json, 'error') || api || '').slice(
        0,
        200,
      ) || null,
  };
};

/** A form body or query string as fields (first value of a repeated key). */
function formFields(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) if (!(k in out)) out[k] = v;
  return out;
}

export function createSslcommerzConnector(c: ConnectorConfig, deps: ConnectorDeps): Connector {
  const baseUrl = (c.config.base_url ?? '').trim().replace(/\/+$/, '') || SSLCOMMERZ_BASE_URLS[c.environment];
  const storeId = c.config.store_id ?? '';
  const storePasswd = c.secrets.store_passwd ?? '';
  const creds = { store_id: storeId, store_passwd: storePasswd };

  const get = async (ctx: CallContext, operation: string, path: string, params: Record<string, string>) =>
    read(
      await deps.http.request(
        ctx,
        {
          operation,
          url: `${baseUrl}${path}?${new URLSearchParams({ ...params, ...creds, v: '1', format: 'json' })}`,
          method: 'GET',
        },
        describe,
      ),
    );

  /** The validation API on a val_id: the only thing that approves a payment. */
  async function validate(valId: string, tranId: string, ctx: CallContext): Promise<Settlement> {
    const r = await get(ctx, 'validate', VALIDATION_PATH, { val_id: valId });
    if (r.kind === 'none') return { outcome: 'pending', reason: `SSLCommerz validation: ${r.why}` };
    const status = field(r.json, 'status');
    if (!PAID.has(status)) {
      // INVALID_TRANSACTION: this val_id is not a payment (a forged post): the query by tran_id decides.
      return status === 'INVALID_TRANSACTION'
        ? queryByTranId(tranId, ctx, false)
        : { outcome: 'pending', reason: `SSLCommerz validation status ${status || 'missing'}` };
    }
    if (field(r.json, 'tran_id').trim() !== tranId) {
      return { outcome: 'pending', reason: 'SSLCommerz validated another tran_id' };
    }
    const currency = field(r.json, 'currency_type') || field(r.json, 'currency');
    const amountText = field(r.json, 'currency_amount') || field(r.json, 'amount');
    const amount = parseMinor(amountText);
    if (currency.toUpperCase() !== 'BDT' || amount === undefined) {
      return { outcome: 'pending', reason: `SSLCommerz validated ${amountText} ${currency}` };
    }
    const bankTranId = field(r.json, 'bank_tran_id');
    const note = riskNote(r.json);
    const done: FinalOutcome = {
      outcome: 'approved',
      info: instrumentOf(r.json),
      authCode: bankTranId || valId,
      amountMinor: amount,
      ...(note ? { note } : {}),
      upstream: {
        ref: tranId,
        data: {
          val_id: valId,
          bank_tran_id: bankTranId,
          card_type: field(r.json, 'card_type'),
          risk_level: field(r.json, 'risk_level'),
          risk_title: field(r.json, 'risk_title'),
        },
      },
    };
    return done;
  }

  /** The transaction query by our tran_id; `openWhenEmpty`: nothing attempted yet reads as open. */
  async function queryByTranId(tranId: string, ctx: CallContext, openWhenEmpty = true): Promise<Settlement> {
    if (!tranId) return { outcome: 'absent' };
    const r = await get(ctx, 'query_transaction', QUERY_PATH, { tran_id: tranId });
    if (r.kind === 'none') return { outcome: 'pending', reason: `SSLCommerz query: ${r.why}` };
    const api = field(r.json, 'APIConnect');
    if (api !== 'DONE') return { outcome: 'pending', reason: `SSLCommerz query: APIConnect ${api || 'missing'}` };
    const raw = (r.json as { element?: unknown }).element; // the documented array of attempts
    const elements = Array.isArray(raw) ? raw : [];
    const paid = elements.find((e) => PAID.has(field(e, 'status')) && field(e, 'val_id'));
    if (paid) return validate(field(paid, 'val_id'), tranId, ctx);
    if (elements.some((e) => field(e, 'status') === 'PENDING'))
      return { outcome: 'pending', reason: 'SSLCommerz: PENDING' };
    const last = elements[elements.length - 1];
    switch (last === undefined ? '' : field(last, 'status')) {
      case '':
        return openWhenEmpty ? { outcome: 'open' } : { outcome: 'absent' };
      case 'FAILED':
        return { outcome: 'declined', reason: failureText(field(last, 'error')) };
      case 'CANCELLED':
        return { outcome: 'cancelled', reason: 'Cancelled by customer' };
      case 'UNATTEMPTED':
        return { outcome: 'cancelled', reason: 'Cancelled: no payment method was chosen' };
      case 'EXPIRED':
        return { outcome: 'expired' };
      default:
        return { outcome: 'pending', reason: `SSLCommerz status ${field(last, 'status')}` };
    }
  }

  /** What a signed post (the browser's return or the IPN) settles to, confirmed with SSLCommerz. */
  async function fromPost(params: Readonly<Record<string, string>>, upstream: UpstreamRef, ctx: CallContext) {
    const signed = params.verify_sign !== undefined && verifySslcommerzSign({ ...params }, storePasswd);
    // An unsigned or forged post, or one about another tran_id, says nothing: ask SSLCommerz.
    if (!signed || (params.tran_id ?? '').trim() !== upstream.ref) return queryByTranId(upstream.ref, ctx);
    const status = params.status ?? '';
    if (PAID.has(status) && params.val_id) return validate(params.val_id, upstream.ref, ctx);
    // A failure, cancel or timeout: still asked, so a lying post cannot hide a payment.
    const s = await queryByTranId(upstream.ref, ctx);
    if (s.outcome !== 'open' && s.outcome !== 'absent') return s;
    switch (status) {
      case 'FAILED':
        return { outcome: 'declined', reason: failureText(params.error ?? '') } as const;
      case 'CANCELLED':
        return { outcome: 'cancelled', reason: 'Cancelled by customer' } as const;
      case 'UNATTEMPTED':
        return { outcome: 'cancelled', reason: 'Cancelled: no payment method was chosen' } as const;
      case 'EXPIRED':
        return { outcome: 'expired' } as const;
      default:
        return s;
    }
  }

  async function refundQuery(ref: string, ctx: CallContext): Promise<RefundResult> {
    const r = await get(ctx, 'refund_query', QUERY_PATH, { refund_ref_id: ref });
    if (r.kind === 'none')
      return { outcome: 'pending', reason: `SSLCommerz refund query: ${r.why}`, upstream: { ref, data: {} } };
    const status = field(r.json, 'status').toLowerCase();
    if (status === 'refunded') return { outcome: 'succeeded', upstream: { ref, data: { refund_ref_id: ref } } };
    if (status === 'cancelled' || status === 'failed') {
      return {
        outcome: 'failed',
        reason: `SSLCommerz ${status} the refund${field(r.json, 'errorReason') ? `: ${field(r.json, 'errorReason')}` : ''}`,
      };
    }
    return {
      outcome: 'pending',
      reason: `SSLCommerz refund ${status || 'status unknown'}`,
      upstream: { ref, data: {} },
    };
  }

  /** Initiates (or, with the same refund id, finds again) a refund; then asks its status once. */
  async function initiate(req: Parameters<Connector['refund']>[0], ctx: CallContext): Promise<RefundResult> {
    const r = await get(ctx, 'refund', QUERY_PATH, {
      bank_tran_id: req.authCode,
      refund_amount: formatMinor(req.amountMinor),
      refund_remarks: req.reason.slice(0, 255),
      refe_id: req.refundId,
      refund_trans_id: req.refundId,
    });
    if (r.kind === 'none') return { outcome: 'pending', reason: `SSLCommerz did not answer the refund (${r.why})` };
    const api = field(r.json, 'APIConnect');
    const status = field(r.json, 'status').toLowerCase();
    const ref = field(r.json, 'refund_ref_id');
    if (api !== 'DONE' || status === 'failed') {
      const why = field(r.json, 'errorReason') || (api !== 'DONE' ? `APIConnect ${api || 'missing'}` : 'refused');
      return { outcome: 'failed', reason: `SSLCommerz refused the refund: ${why}` };
    }
    if (!ref) return { outcome: 'pending', reason: `SSLCommerz refund ${status || 'accepted'} without a reference` };
    return refundQuery(ref, ctx);
  }

  return {
    id: c.id,
    kind: 'sslcommerz',
    displayName: 'SSLCommerz',
    capabilities: {
      methods: ['card', 'bkash', 'nagad', 'rocket', 'internet_banking'],
      collectsInstrument: false,
      minAmountMinor: MIN_AMOUNT_MINOR,
      maxAmountMinor: MAX_AMOUNT_MINOR,
      // The session page's lifetime is not documented; a payment is asked about this long after
      // our own expiry before it is called expired.
      settleWindowMs: 30 * 60_000,
      timeoutIsDecline: false,
      referenceIsOurs: true,
    },

    async authorize(attempt: PaymentAttempt, ctx) {
      const back = (result: string) => `${attempt.returnUrl}?result=${result}`;
      const cust = attempt.customer;
      const body = new URLSearchParams({
        ...creds,
        total_amount: formatMinor(attempt.amountMinor),
        currency: 'BDT',
        tran_id: attempt.refId,
        success_url: back('success'),
        fail_url: back('fail'),
        cancel_url: back('cancel'),
        ipn_url: attempt.notifyUrl,
        multi_card_name: MULTI_CARD_NAME[attempt.method],
        cus_name: cust.name.slice(0, 50),
        cus_email: cust.email.slice(0, 50),
        cus_add1: (cust.address || 'N/A').slice(0, 50),
        cus_city: (cust.city || 'N/A').slice(0, 50),
        cus_postcode: (cust.postcode || '0000').slice(0, 30),
        cus_country: (cust.country || 'Bangladesh').slice(0, 50),
        cus_phone: cust.phone.slice(0, 20),
        shipping_method: 'NO',
        num_of_item: '1',
        product_name: attempt.description.slice(0, 255),
        product_category: 'General',
        product_profile: 'general',
        value_a: attempt.paymentId,
      });
      const r = read(
        await deps.http.request(
          ctx,
          {
            operation: 'create_session',
            url: `${baseUrl}/gwprocess/v4/api.php`,
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: body.toString(),
          },
          describe,
        ),
      );
      if (r.kind === 'none') return { outcome: 'unavailable', reason: `SSLCommerz did not answer (${r.why})` };
      const url = field(r.json, 'GatewayPageURL');
      if (field(r.json, 'status') !== 'SUCCESS' || !/^https?:\/\//.test(url)) {
        return {
          outcome: 'unavailable',
          reason: `SSLCommerz refused the session: ${field(r.json, 'failedreason') || 'no payment page'}`,
        };
      }
      return {
        outcome: 'redirect',
        upstream: { ref: attempt.refId, data: { sessionkey: field(r.json, 'sessionkey') } },
        redirect: { url, method: 'GET', fields: {} },
      };
    },

    complete: (params, _attempt, upstream, ctx) => fromPost(params, upstream, ctx),

    inquire: (_attempt, upstream, ctx) => queryByTranId(upstream.ref, ctx),

    refund: (req, ctx) => initiate(req, ctx),

    refundStatus: (req, ctx) => (req.refundRef ? refundQuery(req.refundRef, ctx) : initiate(req, ctx)),

    parseNotification(rawBody): NotificationResult {
      const form = formFields(rawBody);
      if (!form.tran_id) return { ok: false, reason: 'no tran_id' };
      if (!verifySslcommerzSign(form, storePasswd))
        return {
          ok: false,
          reason: `verify_sign does not match (tran_id ${form.tran_id.slice(0, 40)})`,
          claimedRef: form.tran_id.trim().slice(0, 64),
        };
      const amount = parseMinor(form.currency_amount || form.amount || '');
      return {
        ok: true,
        ref: form.tran_id.trim(),
        params: form,
        claim: form.status ?? '',
        ...(amount !== undefined && PAID.has(form.status ?? '') ? { amountMinor: amount } : {}),
      };
    },

    async test(ctx) {
      // A query by a tran_id that does not exist: DONE with nothing found proves the store's credentials.
      const r = await get(ctx, 'query_transaction', QUERY_PATH, { tran_id: `wmx-test-${deps.now()}` });
      if (r.kind === 'none') return { ok: false, message: `SSLCommerz did not answer at ${baseUrl}: ${r.why}` };
      const api = field(r.json, 'APIConnect');
      if (api === 'DONE') return { ok: true, detail: `SSLCommerz accepted store ${storeId} at ${baseUrl}` };
      return {
        ok: false,
        message:
          api === 'INVALID_REQUEST'
            ? `SSLCommerz refused store ${storeId}: check the store ID and password (APIConnect INVALID_REQUEST)`
            : `SSLCommerz answered APIConnect ${api || 'nothing'} for store ${storeId}${api === 'INACTIVE' ? ': the store is not active' : ''}`,
      };
    },
  };
}
