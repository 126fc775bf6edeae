/**
 * bKash Tokenized Checkout, "Checkout URL" mode 0011 (payment without agreement), as a connector.
 * Sources (stored copies of developer.bka.sh and bKash's own code, see /docs in the README):
 * bKash-developer/bKash-for-woocommerce (ApiComm.php, ProcessPayments.php), the portal's API
 * reference as transcribed in api-evangelist/bkash, and real sandbox answers published by
 * integrators.
 *
 * Flow: create payment (→ paymentID, bkashURL) → the customer's browser goes to bkashURL → bKash
 * sends it back to our callback with `paymentID` and `status` = success | failure | cancel → on
 * success we execute, and only `transactionStatus: "Completed"` with a trxID is a payment. The
 * callback is not authenticated (its `signature` is the same in all three URLs and already known
 * at create time), so nothing is decided on its word: a failure or cancel is checked with the
 * status query (a lying callback cannot hide a completed payment), and a success is executed.
 * When execute gives no answer, or says it was already executed (2062/2068/2116/2117), the status
 * query decides (bKash's plugin does the same). A paymentID bKash verified but nobody executed
 * (the callback never came) is executed by the inquiry: the customer authorised it.
 */
import { maskWallet } from '../../domain/card.js';
import { formatMinor } from '../../domain/money.js';
import { walletCodes } from '../codes.js';
import type {
  CallContext,
  Connector,
  FinalOutcome,
  InstrumentInfo,
  PaymentAttempt,
  RefundResult,
  Settlement,
  UpstreamRef,
} from '../port.js';
import { field, parseMinor } from '../upstream-http.js';
import type { ConnectorConfig, ConnectorDeps } from '../registry.js';
import { createBkashClient, type BkashAnswer, type BkashClient } from './client.js';
import { ALREADY_EXECUTED, TRANSIENT, configProblemText, declineText, refundFailureText } from './mapping.js';

/** bKash's hosts (bKash-for-woocommerce ApiComm::constructURL). */
export const BKASH_BASE_URLS = {
  sandbox: 'https://tokenized.sandbox.bka.sh/v1.2.0-beta',
  live: 'https://tokenized.pay.bka.sh/v1.2.0-beta',
} as const;

/** bKash's limits per payment in checkout (BDT minor units): from 1.00 upward; the top is the wallet's limit. */
const MIN_AMOUNT_MINOR = 100n;

function infoOf(json: unknown): InstrumentInfo {
  const msisdn = field(json, 'customerMsisdn') || field(json, 'payerAccount');
  return { ...walletCodes('bkash'), masked: msisdn ? maskWallet(msisdn) : null, isForeign: false };
}

/** An 11-digit Bangladeshi number pre-fills bKash's wallet page; anything else is a space (bKash: "Space acceptable"). */
function payerReferenceOf(phone: string): string {
  const digits = phone.replace(/\D/g, '').replace(/^(?:00)?880/, '0');
  return /^01\d{9}$/.test(digits) ? digits : ' ';
}

export function createBkashConnector(c: ConnectorConfig, deps: ConnectorDeps): Connector {
  const baseUrl = (c.config.base_url ?? '').trim().replace(/\/+$/, '') || BKASH_BASE_URLS[c.environment];
  const client: BkashClient = createBkashClient(
    {
      baseUrl,
      username: c.config.username ?? '',
      appKey: c.config.app_key ?? '',
      password: c.secrets.password ?? '',
      appSecret: c.secrets.app_secret ?? '',
    },
    deps.http,
    deps.now,
  );

  /** A Completed payment as an approval; anything else undefined. */
  function approvedOf(
    json: unknown,
    paymentId: string,
    info?: InstrumentInfo,
  ): Extract<FinalOutcome, { outcome: 'approved' }> | undefined {
    const trxId = field(json, 'trxID');
    if (field(json, 'transactionStatus') !== 'Completed' || !trxId) return undefined;
    const amount = parseMinor(field(json, 'amount'));
    return {
      outcome: 'approved',
      info: info ?? infoOf(json),
      authCode: trxId,
      ...(amount !== undefined ? { amountMinor: amount } : {}),
      upstream: { ref: paymentId, data: { trxID: trxId } },
    };
  }

  /** The status query, read as a settlement; `executeIfVerified`: execute a verified, unexecuted payment. */
  async function query(paymentId: string, ctx: CallContext, executeIfVerified: boolean): Promise<Settlement> {
    if (!paymentId) return { outcome: 'absent' };
    const r = await client.call(ctx, 'query_payment', '/tokenized/checkout/payment/status', { paymentID: paymentId });
    if (r.kind === 'none') return { outcome: 'pending', reason: `bKash status query: ${r.why}` };
    if (r.kind === 'error') {
      if (r.code === '2002') return { outcome: 'absent' };
      return { outcome: 'pending', reason: `bKash status query: ${r.code} ${r.message}` };
    }
    const status = field(r.json, 'transactionStatus');
    const done = approvedOf(r.json, paymentId);
    if (done) return withMsisdn(done, ctx);
    // verificationStatus in real answers, userVerificationStatus in the reference: read either.
    const verified = (field(r.json, 'verificationStatus') || field(r.json, 'userVerificationStatus')) === 'Complete';
    switch (status) {
      case 'Initiated':
        return verified && executeIfVerified ? execute(paymentId, ctx, false) : { outcome: 'open' };
      case 'Expired':
        return { outcome: 'expired' };
      case 'Cancelled':
        return { outcome: 'cancelled', reason: 'Cancelled by customer' };
      case 'Failed':
      case 'Declined':
        return { outcome: 'declined', reason: 'Declined: the payment failed at bKash' };
      default:
        // 'Pending Authorized', 'Authorized' (intent authorization, not ours) or unknown: not final.
        return { outcome: 'pending', reason: `bKash status ${status || 'unknown'}` };
    }
  }

  /** The status query answers no msisdn; the transaction search does (best effort). */
  async function withMsisdn(done: Extract<FinalOutcome, { outcome: 'approved' }>, ctx: CallContext) {
    if (done.info.masked) return done;
    const s = await client.call(ctx, 'search_transaction', '/tokenized/checkout/general/searchTransaction', {
      trxID: done.authCode,
    });
    return s.kind === 'ok' && field(s.json, 'customerMsisdn') ? { ...done, info: infoOf(s.json) } : done;
  }

  async function execute(paymentId: string, ctx: CallContext, queryAfter = true): Promise<Settlement> {
    const r: BkashAnswer = await client.call(ctx, 'execute_payment', '/tokenized/checkout/execute', {
      paymentID: paymentId,
    });
    if (r.kind === 'ok') {
      const done = approvedOf(r.json, paymentId);
      if (done) return done;
      return queryAfter
        ? query(paymentId, ctx, false)
        : { outcome: 'pending', reason: 'execute answered without a completed transaction' };
    }
    if (r.kind === 'none' || ALREADY_EXECUTED.has(r.code) || TRANSIENT.has(r.code)) {
      // No answer, or "already executed": the status query is the authority (never execute twice).
      return queryAfter
        ? query(paymentId, ctx, false)
        : { outcome: 'pending', reason: r.kind === 'none' ? r.why : r.code };
    }
    if (r.code === '2056' || r.code === '2060') {
      // Not in an executable state: not verified yet (a callback that came too early or was forged)
      // or ended at bKash. The status query says which.
      return query(paymentId, ctx, false);
    }
    return { outcome: 'declined', info: infoOf(undefined), reason: declineText(r.code, r.message) };
  }

  return {
    id: c.id,
    kind: 'bkash',
    displayName: 'bKash',
    capabilities: {
      methods: ['bkash'],
      collectsInstrument: false,
      minAmountMinor: MIN_AMOUNT_MINOR,
      // bKash keeps a paymentID executable for 24 h, but its page's session is short; a customer
      // who authorised late is executed by the inquiry while the payment is not yet expired here.
      settleWindowMs: 10 * 60_000,
      timeoutIsDecline: false,
    },

    async authorize(attempt: PaymentAttempt, ctx) {
      const r = await client.call(ctx, 'create_payment', '/tokenized/checkout/create', {
        mode: '0011',
        payerReference: payerReferenceOf(attempt.customer.phone),
        callbackURL: attempt.returnUrl,
        amount: formatMinor(attempt.amountMinor),
        currency: 'BDT',
        intent: 'sale',
        merchantInvoiceNumber: attempt.refId,
      });
      // No payment was made without our execute, so a failed create is only "try again".
      if (r.kind === 'none') return { outcome: 'unavailable', reason: `bKash did not answer (${r.why})` };
      if (r.kind === 'error') return { outcome: 'unavailable', reason: configProblemText(r.code, r.message) };
      const paymentId = field(r.json, 'paymentID');
      const url = field(r.json, 'bkashURL');
      if (!paymentId || !/^https?:\/\//.test(url)) {
        return { outcome: 'unavailable', reason: 'bKash answered without a payment page' };
      }
      return {
        outcome: 'redirect',
        upstream: { ref: paymentId, data: {} },
        redirect: { url, method: 'GET', fields: {} },
      };
    },

    async complete(params, _attempt, upstream: UpstreamRef, ctx) {
      // A callback for another paymentID (an old tab, a forged link) says nothing about this one.
      if (!upstream.ref || params.paymentID !== upstream.ref) return query(upstream.ref, ctx, false);
      switch (params.status) {
        case 'success':
          return execute(upstream.ref, ctx);
        case 'cancel': {
          const s = await query(upstream.ref, ctx, false);
          return s.outcome === 'open' || s.outcome === 'absent'
            ? { outcome: 'cancelled', reason: 'Cancelled by customer' }
            : s;
        }
        case 'failure': {
          const s = await query(upstream.ref, ctx, false);
          return s.outcome === 'open' || s.outcome === 'absent'
            ? { outcome: 'declined', reason: 'Declined: the payment failed at bKash' }
            : s;
        }
        default:
          return query(upstream.ref, ctx, true);
      }
    },

    inquire: (_attempt, upstream, ctx) => query(upstream.ref, ctx, true),

    async refund(req, ctx): Promise<RefundResult> {
      const paymentId = req.upstream?.ref ?? '';
      const r = await client.call(ctx, 'refund', '/tokenized/checkout/payment/refund', {
        paymentID: paymentId,
        amount: formatMinor(req.amountMinor),
        trxID: req.authCode,
        sku: 'refund',
        reason: req.reason.slice(0, 255),
      });
      if (r.kind === 'none') return { outcome: 'pending', reason: `bKash did not answer the refund (${r.why})` };
      if (r.kind === 'error') return { outcome: 'failed', reason: refundFailureText(r.code, r.message) };
      const ref = field(r.json, 'refundTrxID');
      if (field(r.json, 'transactionStatus') === 'Completed' && ref) {
        return { outcome: 'succeeded', upstream: { ref, data: { refundTrxID: ref } } };
      }
      return {
        outcome: 'pending',
        reason: `bKash refund ${field(r.json, 'transactionStatus') || 'not completed'}`,
        ...(ref ? { upstream: { ref, data: {} } } : {}),
      };
    },

    async refundStatus(req, ctx): Promise<RefundResult> {
      // The same path without an amount answers the payment's latest refund (bKash plugin refundStatus()).
      const r = await client.call(ctx, 'refund_status', '/tokenized/checkout/payment/refund', {
        paymentID: req.upstream?.ref ?? '',
        trxID: req.authCode,
      });
      if (r.kind === 'none') return { outcome: 'pending', reason: `bKash did not answer (${r.why})` };
      const noRecord = { outcome: 'failed', reason: 'bKash has no record of this refund' } as const;
      if (r.kind === 'error') return TRANSIENT.has(r.code) ? { outcome: 'pending', reason: r.code } : noRecord;
      const ref = field(r.json, 'refundTrxID');
      const completed = field(r.json, 'transactionStatus') === 'Completed';
      const amount = parseMinor(field(r.json, 'amount'));
      const ours =
        ref !== '' && (ref === req.refundRef || (!req.otherRefundRefs.includes(ref) && amount === req.amountMinor));
      if (ours && completed) return { outcome: 'succeeded', upstream: { ref, data: { refundTrxID: ref } } };
      if (ours) return { outcome: 'pending', reason: `bKash refund ${field(r.json, 'transactionStatus')}` };
      return noRecord;
    },

    async test(ctx) {
      const t = await client.grant(ctx);
      if (typeof t === 'string') {
        const left = Math.round(((client.tokenExpiresAt() ?? deps.now()) - deps.now()) / 1000);
        return { ok: true, detail: `bKash granted a token at ${baseUrl} (valid for ${left} s)` };
      }
      if (t.kind === 'error') return { ok: false, message: configProblemText(t.code, t.message) };
      return { ok: false, message: `bKash did not answer at ${baseUrl}: ${t.kind === 'none' ? t.why : 'no token'}` };
    },
  };
}
