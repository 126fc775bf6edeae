import fastJson from 'fast-json-stringify';
import { formatBps, formatMinor, formatRate } from '../../domain/money.js';
import { PAYMENT_METHOD_CODES, txnStatusOf, type PaymentRecordView } from '../../domain/payment.js';

/** The check-payment record's fields in the order of PROTOCOL.md section 7. All strings or null. */
export const RECORD_FIELDS = [
  'wmx_id',
  'ref_id',
  'token',
  'merchant_req_amount',
  'merchant_ref_id',
  'merchant_order_id',
  'merchant_currency',
  'conversion_rate',
  'merchant_amount_bdt',
  'service_ratio',
  'wmx_charge_bdt',
  'emi_ratio',
  'emi_charge',
  'discount_bdt',
  'bank_amount_bdt',
  'request_ip',
  'txn_status',
  'txn_details',
  'extra_json',
  'card_details',
  'is_foreign',
  'payment_card',
  'card_code',
  'payment_method',
  'init_time',
  'txn_time',
  'customer_details',
  // Ours (PROTOCOL.md section 9): appended so every legacy field keeps its place.
  'refunded_amount_bdt',
] as const;

export type CheckPaymentRecord = Record<(typeof RECORD_FIELDS)[number], string | null> & { statusCode: 1000 | 1008 };

export function toCheckPaymentRecord(p: PaymentRecordView, formatTime: (ms: number) => string): CheckPaymentRecord {
  const txnStatus = txnStatusOf(p.status);
  return {
    wmx_id: p.wmxId,
    ref_id: p.refId,
    token: p.token,
    merchant_req_amount: formatMinor(p.amountMinor),
    merchant_ref_id: p.merchantRefId,
    merchant_order_id: p.merchantOrderId,
    merchant_currency: p.currency,
    conversion_rate: formatRate(p.rateScaled),
    merchant_amount_bdt: formatMinor(p.amountBdtMinor),
    service_ratio: formatBps(p.feeBps),
    wmx_charge_bdt: formatMinor(p.feeMinor),
    emi_ratio: formatBps(p.emiBps),
    emi_charge: formatMinor(p.emiChargeMinor),
    discount_bdt: formatMinor(p.discountMinor),
    bank_amount_bdt: formatMinor(p.bankAmountMinor),
    request_ip: p.requestIp,
    txn_status: txnStatus,
    txn_details: p.txnDetails,
    extra_json: p.extraJson,
    card_details: p.cardDetails,
    is_foreign: p.isForeign ? '1' : '0',
    payment_card: p.paymentCard ?? '',
    card_code: p.cardCode ?? '',
    payment_method: p.method ? PAYMENT_METHOD_CODES[p.method] : '',
    init_time: formatTime(p.initAt),
    txn_time: p.txnAt === null ? null : formatTime(p.txnAt),
    customer_details: p.customerDetails,
    refunded_amount_bdt: formatMinor(p.refundedMinor ?? 0n),
    statusCode: txnStatus === '1000' ? 1000 : 1008,
  };
}

/**
 * The record's type already fixes every JSON type (strings or null, statusCode a number), and
 * JSON.stringify measured faster here than a schema serializer or a hand-built string.
 */
export const serializeCheckPayment = (record: CheckPaymentRecord): string => JSON.stringify(record);

export const serializeInitSuccess = fastJson({
  type: 'object',
  properties: { statusCode: { type: 'string' }, statusMsg: { type: 'string' }, token: { type: 'string' } },
}) as (body: { statusCode: '1000'; statusMsg: 'Success'; token: string }) => string;

export const serializeError = fastJson({
  type: 'object',
  properties: {
    statusCode: { type: 'string' },
    statusMsg: { type: 'string' },
    field: { type: 'string' },
    request_id: { type: 'string' },
  },
}) as (body: { statusCode: string; statusMsg: string; field?: string; request_id?: string }) => string;
