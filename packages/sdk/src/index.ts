/**
 * @wmx-gateway/sdk — the merchant SDK of wmx-gateway (Walletmix v2 protocol). Zero dependencies;
 * fetch, Web Crypto and TextEncoder only, so it runs on Node 20+, Deno and Bun.
 */
export {
  WmxClient,
  type Customer,
  type FetchLike,
  type HandleCallbackOptions,
  type InitPaymentInput,
  type InitPaymentResult,
  type RequestOptions,
  type Shipping,
  type WmxClientOptions,
} from './client.js';
export {
  WebhookSignatureError,
  WmxApiError,
  WmxConnectionError,
  WmxError,
  WmxResponseError,
  WmxSdkError,
  type WebhookFailureReason,
} from './errors.js';
export { formatMinor, type Amount } from './money.js';
export { signPayload } from './crypto.js';
export {
  outcomeOf,
  parseCallbackBody,
  verifyPaymentRecord,
  type CallbackBody,
  type CallbackRejection,
  type CallbackVerdict,
  type ExpectedPayment,
  type MismatchReason,
  type PaymentOutcome,
  type PaymentVerdict,
} from './verify.js';
export {
  isPaymentEvent,
  isRefundEvent,
  verifyWebhook,
  type SignatureHeader,
  type VerifyWebhookOptions,
} from './webhook.js';
export type {
  Balance,
  CallbackData,
  CheckPaymentRecord,
  CheckServerResult,
  ListEventsParams,
  ListPaymentsParams,
  Page,
  PageParams,
  Payment,
  PaymentEvent,
  PaymentEventType,
  PaymentMethod,
  PaymentStatus,
  Refund,
  RefundEvent,
  RefundEventType,
  Settlement,
  WebhookEndpoint,
  WebhookEvent,
  WebhookEventType,
} from './types.js';
