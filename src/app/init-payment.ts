import { WmxError, fieldInvalid, fieldMissing } from '../domain/errors.js';
import { EMI_RATES_BPS, emiRequestFrom } from '../domain/emi.js';
import { newId, newMerchantRefId, newPaymentToken, newRefId } from '../domain/ids.js';
import { callbackHostAllowed, type Merchant } from '../domain/merchant.js';
import { convertAtRate, formatMinor, parseAmount, percentOf } from '../domain/money.js';
import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import type { Authenticator } from './authenticate.js';
import { sha256Hex } from './crypto.js';
import type { ReferenceCache } from './reference-cache.js';
import { expireIfDue } from './expire.js';

export type Fields = Readonly<Record<string, string | undefined>>;

export interface InitPaymentDeps {
  auth: Authenticator;
  payments: Pick<PaymentRepo, 'insertIfNewRef' | 'liveByMerchantRef' | 'finalize' | 'byToken'>;
  reference: ReferenceCache;
  paymentTtlMs: number;
  now?: () => number;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Text fields, their length limits, and whether they are required. cart_info and options are never validated. */
const CUSTOMER_FIELDS = [
  ['customer_name', 255, true],
  ['customer_email', 254, true],
  ['customer_phone', 32, true],
  ['customer_add', 1024, false],
  ['customer_city', 128, false],
  ['customer_country', 128, false],
  ['customer_postcode', 32, false],
  ['shipping_name', 255, false],
  ['shipping_add', 1024, false],
  ['shipping_city', 128, false],
  ['shipping_country', 128, false],
  ['shipping_postCode', 32, false],
] as const;

/** Reads a text field: trims, rejects NUL (no store keeps it) and enforces the length limit. */
function text(f: Fields, name: string, max: number, required: true): string;
function text(f: Fields, name: string, max: number, required: false): string | undefined;
function text(f: Fields, name: string, max: number, required: boolean): string | undefined {
  const raw = f[name];
  const v = raw?.trim();
  if (v === undefined || v === '') {
    if (required) throw fieldMissing(name);
    return undefined;
  }
  // UTF-16 length bounds the code-point count from above: count code points only when it matters.
  if (v.length > max && [...v].length > max) throw fieldInvalid(name, `longer than ${max} characters`);
  if (v.includes('\u0000')) throw fieldInvalid(name, 'contains a NUL character');
  return v;
}

/** Best-effort decoding of `options` (base64 of `s=<site>,i=<ip>`); never rejects. */
export function decodeOptions(raw: string): string {
  // Spaces first: a trailing '+' sent unescaped arrives as a trailing space, which trim() would drop.
  const b64 = raw.replace(/ /g, '+').trim();
  if (b64 === '' || !/^[A-Za-z0-9+/=_-]+$/.test(b64)) return '';
  const decoded = Buffer.from(b64, 'base64').toString('utf8').replaceAll('\u0000', '');
  return /^[\x20-\x7e\u00a0-\uffff]*$/.test(decoded) ? decoded : '';
}

export function createInitPayment(deps: InitPaymentDeps) {
  const now = deps.now ?? Date.now;

  /**
   * afterAuth runs once the merchant is known (the wire adapter's per-merchant rate limit): after
   * authentication, so wrong credentials can never spend another merchant's allowance.
   */
  async function initPayment(
    f: Fields,
    requestIp: string,
    afterAuth?: (merchant: Merchant) => void | Promise<void>,
  ): Promise<{ token: string }> {
    const state = deps.reference.current();
    if (state.maintenance !== undefined)
      throw new WmxError('3001', `Gateway is under maintenance: ${state.maintenance}`);
    const merchant = await deps.auth.authenticate(f);
    const limited = afterAuth?.(merchant); // a promise only when a shared limit had to be asked
    if (limited) await limited;
    return initFor(merchant, f, requestIp);
  }

  /**
   * The same init for a merchant already known (the sandbox test helpers, authenticated by the
   * API key): every field rule, limit and the merchant_ref_id idempotency apply as on the wire.
   * `ttlMs` shortens the payment's life (a helper making an expired payment).
   */
  async function initFor(
    merchant: Merchant,
    f: Fields,
    requestIp: string,
    opts: { ttlMs?: number } = {},
  ): Promise<{ token: string }> {
    const state = deps.reference.current();
    // The wire checked both before authenticating; a caller that knows the merchant already has not.
    if (state.maintenance !== undefined)
      throw new WmxError('3001', `Gateway is under maintenance: ${state.maintenance}`);
    if (merchant.status !== 'active') throw new WmxError('2002');
    const merchantOrderId = text(f, 'merchant_order_id', 64, true);
    const merchantRefId = text(f, 'merchant_ref_id', 64, false);
    const appName = text(f, 'app_name', 255, false) ?? '';
    const customer: Record<string, string> = {};
    for (const [name, max, required] of CUSTOMER_FIELDS) {
      const v = required ? text(f, name, max, true) : text(f, name, max, false);
      if (v !== undefined) customer[name] = v;
    }
    if (!EMAIL_RE.test(customer.customer_email!)) throw fieldInvalid('customer_email', 'not an email address');
    const productDesc = text(f, 'product_desc', 4096, true);

    const amountText = text(f, 'amount', 32, false);
    if (amountText === undefined) throw fieldMissing('amount');
    const currencyText = text(f, 'currency', 8, false);
    if (currencyText === undefined) throw fieldMissing('currency');
    const amountMinor = parseAmount(amountText);
    const currency = currencyText.toUpperCase();
    const rate = state.rates.get(currency);
    if (rate === undefined) throw new WmxError('2006', `Currency not supported: ${currency}`, 'currency');
    const amountBdtMinor = convertAtRate(amountMinor, rate);
    checkLimits(merchant, amountBdtMinor);

    const callbackUrl = text(f, 'callback_url', 2048, true);
    checkCallbackUrl(merchant, callbackUrl);

    const extraJsonRaw = f.extra_json;
    if (extraJsonRaw !== undefined && extraJsonRaw.length > 4096)
      throw fieldInvalid('extra_json', 'longer than 4096 characters');
    if (extraJsonRaw?.includes('\u0000')) throw fieldInvalid('extra_json', 'contains a NUL character');
    // Kept exactly as received, the empty string included (PROTOCOL.md section 4); null only when absent.
    const extraJson = extraJsonRaw ?? null;
    const cartInfo = (f.cart_info ?? '').replaceAll('\u0000', '');
    const optionsRaw = (f.options ?? '').replaceAll('\u0000', '');

    const emi = merchant.emiAllowed ? emiRequestFrom(extraJson) : undefined;
    const emiBps = emi ? EMI_RATES_BPS[emi.period]! : 0;
    const emiChargeMinor = percentOf(amountBdtMinor, emiBps);
    const feeBps = merchant.feesBps.card;

    const fingerprint = sha256Hex(
      JSON.stringify([
        merchantOrderId,
        appName,
        customer,
        productDesc,
        formatMinor(amountMinor),
        currency,
        callbackUrl,
        extraJson,
      ]),
    );
    const t = now();
    const payment: Payment = {
      id: newId('pay'),
      token: newPaymentToken(),
      merchantId: merchant.id,
      wmxId: merchant.wmxId,
      refId: newRefId(),
      merchantOrderId,
      merchantRefId: merchantRefId ?? newMerchantRefId(),
      fingerprint,
      appName,
      cartInfo,
      customerName: customer.customer_name!,
      customerEmail: customer.customer_email!,
      customerPhone: customer.customer_phone!,
      customerDetails: JSON.stringify(customer),
      productDesc,
      currency,
      amountMinor,
      rateScaled: rate,
      amountBdtMinor,
      emiPeriod: emi?.period ?? null,
      emiBank: emi?.bank ?? null,
      emiBps,
      emiChargeMinor,
      discountMinor: 0n,
      feeBps,
      feeMinor: percentOf(amountBdtMinor, feeBps),
      bankAmountMinor: amountBdtMinor + emiChargeMinor,
      callbackUrl,
      extraJson,
      optionsRaw,
      optionsDecoded: decodeOptions(optionsRaw),
      requestIp,
      status: 'pending',
      txnDetails: 'Awaiting payment',
      method: null,
      cardDetails: null,
      isForeign: false,
      paymentCard: null,
      cardCode: null,
      pageExtra: null,
      initAt: t,
      txnAt: null,
      expiresAt: t + (opts.ttlMs ?? deps.paymentTtlMs),
      processingUntil: null,
      challengeRef: null,
      challengeInfo: null,
      attempts: 0,
      authCode: null,
      connectorId: null,
      upstreamRef: null,
      upstreamState: null,
      upstreamData: {},
      reconcileAt: null,
      reconcileAttempts: 0,
    };

    return { token: await insertOrReuse(payment, t) };
  }

  /**
   * A merchant_ref_id names one live payment (pending or approved) at a time. Taken by one: a retry
   * of the same order within the window gets its token back (no second payment), anything else is
   * 2008. Free again once its payment was declined, cancelled or expired: a new payment, so a shop
   * that derives the reference from its order number can let the customer try again.
   */
  async function insertOrReuse(payment: Payment, t: number): Promise<string> {
    for (let tries = 0; ; tries++) {
      if (await deps.payments.insertIfNewRef(payment)) return payment.token;
      const live = await deps.payments.liveByMerchantRef(payment.merchantId, payment.merchantRefId);
      // It ended between the two statements, or is past its expiry and only waits for the sweeper:
      // end it as a lookup would, and try once more.
      if (tries === 0 && (live === undefined || (live.status === 'pending' && live.expiresAt <= t))) {
        if (live) await expireIfDue(deps.payments, live, t);
        continue;
      }
      if (live && live.fingerprint === payment.fingerprint && t - live.initAt < IDEMPOTENCY_WINDOW_MS)
        return live.token;
      throw new WmxError('2008', undefined, 'merchant_ref_id');
    }
  }

  return Object.assign(initPayment, { forMerchant: initFor });
}

function checkLimits(m: Merchant, amountBdtMinor: bigint): void {
  if (amountBdtMinor < m.minAmountMinor || amountBdtMinor > m.maxAmountMinor) {
    throw new WmxError(
      '2005',
      `Invalid amount: must be between ${formatMinor(m.minAmountMinor)} and ${formatMinor(m.maxAmountMinor)} BDT`,
      'amount',
    );
  }
}

function checkCallbackUrl(m: Merchant, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fieldInvalid('callback_url', 'not an absolute URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw fieldInvalid('callback_url', 'must be an http(s) URL');
  }
  if (url.username || url.password) throw fieldInvalid('callback_url', 'must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!callbackHostAllowed(m, host))
    throw new WmxError('2007', `callback_url host ${host} is not registered for this merchant`, 'callback_url');
}
