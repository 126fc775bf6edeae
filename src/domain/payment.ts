/** The payment aggregate, as the use cases see it (the store maps rows to this). */
export type PaymentStatus = 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired';

export type PaymentMethod = 'card' | 'mobile_wallet' | 'internet_banking';

export interface Payment {
  id: string;
  token: string;
  merchantId: string;
  wmxId: string;
  refId: string;
  merchantOrderId: string;
  merchantRefId: string;
  fingerprint: string;
  appName: string;
  cartInfo: string;
  customerName: string;
  customerEmail: string;
  customerPhone: string;
  /** JSON text of every customer and shipping field received (check-payment's customer_details). */
  customerDetails: string;
  productDesc: string;
  currency: string;
  amountMinor: bigint;
  rateScaled: bigint;
  amountBdtMinor: bigint;
  emiPeriod: number | null;
  emiBank: string | null;
  emiBps: number;
  emiChargeMinor: bigint;
  discountMinor: bigint;
  feeBps: number;
  feeMinor: bigint;
  bankAmountMinor: bigint;
  callbackUrl: string;
  extraJson: string | null;
  optionsRaw: string;
  optionsDecoded: string;
  requestIp: string;
  status: PaymentStatus;
  txnDetails: string;
  method: PaymentMethod | null;
  cardDetails: string | null;
  isForeign: boolean;
  paymentCard: string | null;
  cardCode: string | null;
  pageExtra: string | null;
  initAt: number;
  txnAt: number | null;
  expiresAt: number;
  /** Set while the bank is being asked (a lease); null otherwise. */
  processingUntil: number | null;
  /** An open one-time-password step: the acquirer's opaque reference and what to show. */
  challengeRef: string | null;
  challengeInfo: string | null;
  /** Wrong PIN / password / OTP tries so far; three decline the payment. */
  attempts: number;
  authCode: string | null;
  /** Succeeded refunds so far (BDT minor units); absent before the payment is stored. */
  refundedMinor?: bigint;
  /** The connector that took (or is taking) the payment; null until one is asked. */
  connectorId: string | null;
  /** The payment's id at the upstream (a bKash paymentID, an SSLCommerz tran_id). */
  upstreamRef: string | null;
  /** Where a pending payment stands at its upstream; null when it is not there (or is final). */
  upstreamState: UpstreamState | null;
  /** The connector's notes about the payment (never a secret). */
  upstreamData: Readonly<Record<string, string>>;
  /** When the reconciler asks the upstream next; null when nothing is owed. */
  reconcileAt: number | null;
  reconcileAttempts: number;
}

/**
 * A pending payment's place at its upstream:
 * - authorizing: our page's instrument is with the bank (a direct connector), answer awaited;
 * - creating: a session is being opened at a redirect upstream;
 * - redirected: the customer was sent to the upstream's page;
 * - confirming: the upstream sent the customer back or notified us, and the outcome is being (or
 *   could not yet be) confirmed with it.
 * Any of them after a lapsed lease means the outcome is unknown: the reconciler asks the upstream.
 */
export type UpstreamState = 'authorizing' | 'creating' | 'redirected' | 'confirming';
export const UPSTREAM_STATES: readonly UpstreamState[] = ['authorizing', 'creating', 'redirected', 'confirming'];

/**
 * What the check-payment record (PROTOCOL.md section 7) is made of, plus what deciding on it takes
 * (owner, status, expiry). The hot read loads only these columns; a full Payment is one too.
 */
export type PaymentRecordView = Pick<
  Payment,
  | 'merchantId'
  | 'status'
  | 'expiresAt'
  | 'wmxId'
  | 'refId'
  | 'token'
  | 'amountMinor'
  | 'merchantRefId'
  | 'merchantOrderId'
  | 'currency'
  | 'rateScaled'
  | 'amountBdtMinor'
  | 'feeBps'
  | 'feeMinor'
  | 'emiBps'
  | 'emiChargeMinor'
  | 'discountMinor'
  | 'bankAmountMinor'
  | 'requestIp'
  | 'txnDetails'
  | 'extraJson'
  | 'cardDetails'
  | 'isForeign'
  | 'paymentCard'
  | 'cardCode'
  | 'method'
  | 'initAt'
  | 'txnAt'
  | 'customerDetails'
  | 'refundedMinor'
>;

/** txn_status on the wire for a status; null while nothing is final. */
export function txnStatusOf(status: PaymentStatus): '1000' | '1001' | '1009' | null {
  switch (status) {
    case 'approved':
      return '1000';
    case 'declined':
      return '1001';
    case 'cancelled':
    case 'expired':
      return '1009';
    case 'pending':
      return null;
  }
}

export const isFinal = (status: PaymentStatus): boolean => status !== 'pending';

/** Published numeric codes for payment_method (PROTOCOL.md section 7, ours). */
export const PAYMENT_METHOD_CODES: Readonly<Record<PaymentMethod, string>> = {
  card: '1',
  mobile_wallet: '2',
  internet_banking: '3',
};
