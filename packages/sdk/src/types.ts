/** Wire types of the Walletmix v2 protocol and of the gateway's JSON API, field names as on the wire. */

/** `GET /check-server`: where init goes and the payment page base URL, or maintenance. */
export type CheckServerResult =
  | {
      selectedServer: true;
      /** Absolute URL of init-payment-process. */
      url: string;
      /** Base of the hosted payment page: the customer goes to `${bank_payment_url}/${token}`. */
      bank_payment_url: string;
    }
  | {
      /** Maintenance: do not start payments now. */
      selectedServer: false;
      statusMsg: string;
    };

/**
 * The check-payment record (PROTOCOL.md section 7). Every value is a string or null, except
 * `statusCode`, a number: 1000 when `txn_status` is "1000", else 1008.
 */
export interface CheckPaymentRecord {
  /** The merchant id, echoed. */
  wmx_id: string;
  /** Gateway transaction reference (15 alphanumerics). */
  ref_id: string;
  token: string;
  /** Requested amount in `merchant_currency`, 2 decimals ("10.00"). */
  merchant_req_amount: string;
  merchant_ref_id: string;
  merchant_order_id: string;
  /** The order currency, upper case. */
  merchant_currency: string;
  /** currency→BDT rate locked at init ("1.00" for BDT). */
  conversion_rate: string;
  merchant_amount_bdt: string;
  /** The fee percent of the method used ("2.50"). */
  service_ratio: string;
  wmx_charge_bdt: string;
  emi_ratio: string;
  emi_charge: string;
  discount_bdt: string;
  /** What the customer was charged, in BDT. */
  bank_amount_bdt: string;
  request_ip: string;
  /** "1000" paid, "1001" declined, "1009" cancelled or expired, null while not finished. */
  txn_status: string | null;
  /** "Approved", "Declined: insufficient funds", "Cancelled by customer", "Expired", "Awaiting payment", … */
  txn_details: string;
  /** The string sent at init, or null. */
  extra_json: string | null;
  /** Masked instrument (`411111******1111`); null before payment. */
  card_details: string | null;
  /** "1" for a card issued outside Bangladesh, else "0". */
  is_foreign: string;
  /** `VISA-Sandbox Bank`, `BKASH-bKash`, …; "" before payment. */
  payment_card: string;
  card_code: string;
  payment_method: string;
  /** `YYYY-MM-DD HH:MM:SS` in the gateway's time zone. */
  init_time: string;
  txn_time: string | null;
  /** A JSON-encoded string of the customer and shipping fields. */
  customer_details: string;
  /** wmx-gateway extension: succeeded refunds so far, BDT (absent on other gateways). */
  refunded_amount_bdt?: string;
  statusCode: 1000 | 1008;
}

/** The fields of the record that are strings, always present. */
export const RECORD_STRING_FIELDS = [
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
  'txn_details',
  'is_foreign',
  'payment_card',
  'card_code',
  'payment_method',
  'init_time',
  'customer_details',
] as const satisfies readonly (keyof CheckPaymentRecord)[];

/** The fields that are a string or null. */
export const RECORD_NULLABLE_FIELDS = [
  'txn_status',
  'extra_json',
  'card_details',
  'txn_time',
] as const satisfies readonly (keyof CheckPaymentRecord)[];

/** `merchant_txn_data` of the result callback, as the browser posted it (all strings). */
export interface CallbackData {
  token: string;
  /** What the callback claims: "1000" paid, "1001" declined, "1009" cancelled/expired. Never trust it. */
  txn_status: string;
  merchant_order_id: string;
  merchant_ref_id: string;
  amount: string;
  currency: string;
  wmx_id: string;
  /** The extra path segment of the payment page URL, when there was one. */
  username?: string;
}

// ---- JSON API (/api/v1) ----

export type PaymentStatus = 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired';
export type PaymentMethod = 'card' | 'mobile_wallet' | 'internet_banking';

/** A payment in the JSON API. Money is decimal strings, times ISO 8601 UTC. */
export interface Payment {
  token: string;
  ref_id: string;
  merchant_order_id: string;
  merchant_ref_id: string;
  status: PaymentStatus;
  txn_status: '1000' | '1001' | '1009' | null;
  txn_details: string;
  currency: string;
  amount: string;
  conversion_rate: string;
  amount_bdt: string;
  fee_percent: string;
  fee_bdt: string;
  emi_months: number | null;
  emi_bank: string | null;
  emi_percent: string;
  emi_charge_bdt: string;
  discount_bdt: string;
  charged_bdt: string;
  refunded_bdt: string;
  method: PaymentMethod | null;
  card_details: string | null;
  payment_card: string | null;
  is_foreign: boolean;
  customer: { name: string; email: string; phone: string };
  created_at: string;
  completed_at: string | null;
  expires_at: string;
}

export interface Refund {
  /** `rfd_…` */
  id: string;
  payment_token: string;
  /** BDT, 2 decimals. */
  amount: string;
  currency: 'BDT';
  /** `pending` until the bank's final answer; follow it with refunds.get or the refund.* webhook. */
  status: 'pending' | 'succeeded' | 'failed';
  /** Why a refund failed (from the bank). */
  reason: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface Balance {
  currency: 'BDT';
  available: string;
  pending_refunds: string;
  settled: string;
  fees: string;
}

export interface Settlement {
  id: string;
  date: string;
  currency: 'BDT';
  gross: string;
  fees: string;
  emi: string;
  refunds: string;
  net: string;
  payment_count: number;
  created_at: string;
}

export interface WebhookEndpoint {
  /** `whe_…` */
  id: string;
  url: string;
  enabled: boolean;
  created_at: string;
}

/** A page of a list; pass `next_cursor` as `cursor` (with the same filters) for the next one. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface PageParams {
  /** 1–100, default 20. */
  limit?: number;
  cursor?: string;
}

export interface ListPaymentsParams extends PageParams {
  status?: PaymentStatus;
  method?: PaymentMethod;
  /** Initiated at or after: `2025-01-31` (a day in the gateway's zone), an ISO date-time with offset, epoch s/ms, or a Date. */
  created_from?: string | number | Date;
  /** Initiated before (a bare date includes that day). */
  created_to?: string | number | Date;
  /** Minimum BDT amount, inclusive ("99.50"). */
  min_amount?: string;
  max_amount?: string;
  /** Exact match on order id, token, ref_id, merchant_ref_id, customer phone or email. */
  q?: string;
}

// ---- Webhook events ----

export type PaymentEventType = 'payment.succeeded' | 'payment.failed' | 'payment.cancelled' | 'payment.expired';
export type RefundEventType = 'refund.succeeded' | 'refund.failed';
export type WebhookEventType = PaymentEventType | RefundEventType;

export interface PaymentEvent {
  /** `evt_…`: dedupe on it (a delivery may come more than once). */
  id: string;
  type: PaymentEventType;
  /** Unix seconds. */
  created: number;
  /** The check-payment record at that moment. */
  data: CheckPaymentRecord;
}

export interface RefundEvent {
  id: string;
  type: RefundEventType;
  created: number;
  /** The refund, with the payment's check-payment record (refunded total included) under `payment`. */
  data: Refund & { payment: CheckPaymentRecord | null };
}

/**
 * An event, as sent to webhook endpoints and listed by `GET /api/v1/events`. Switch on `type` with a
 * default branch: a newer gateway may add types.
 */
export type WebhookEvent = PaymentEvent | RefundEvent;

export interface ListEventsParams extends PageParams {
  type?: WebhookEventType;
}
