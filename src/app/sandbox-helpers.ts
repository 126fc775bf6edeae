/**
 * Sandbox test helpers: real sandbox payments in a chosen final state, made with the merchant's API
 * key instead of a browser. They run the same code the wire and the hosted page run (init with all
 * its rules, the sandbox bank through the connector router, cancel, expiry), so each one writes the
 * same rows, ledger postings and webhook events a customer's payment would. `wmx trigger` and
 * `wmx doctor` are built on them. Sandbox merchants only: a live merchant never gets a payment it
 * did not take.
 */
import { validateCardForm } from '../domain/card.js';
import { newMerchantRefId, randomHex } from '../domain/ids.js';
import type { Merchant } from '../domain/merchant.js';
import type { Payment } from '../domain/payment.js';
import type { PaymentRepo } from '../store/payments.js';
import type { MerchantRepo } from '../store/merchants.js';
import type { PaymentSearch } from '../store/payment-search.js';
import type { MerchantAdmin } from './merchant-admin.js';
import type { Instrument } from '../acquirers/port.js';
import type { Pay } from './pay.js';
import { callbackFields } from './callback.js';
import { expireIfDue } from './expire.js';
import type { Fields } from './init-payment.js';

export const SANDBOX_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'expired', 'pending'] as const;
export type SandboxOutcome = (typeof SANDBOX_OUTCOMES)[number];
/** What a pending payment can be driven to. */
export const PAY_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export type PayOutcome = (typeof PAY_OUTCOMES)[number];

/** The sandbox cards behind each outcome (README "Sandbox test instruments"). */
const CARDS = {
  succeeded: '4111111111111111',
  failed: '4000000000000002',
  /** Approved; every refund of it fails at the sandbox bank. */
  refundsFail: '4000000000005126',
} as const;

/** The gateway's own sandbox merchant whose payments play "another merchant's token" (wmx doctor). */
export const OTHER_SHOP_NAME = 'Sandbox: another shop (test helpers)';

export interface SandboxPaymentInput {
  outcome: SandboxOutcome;
  amount?: string | undefined;
  currency?: string | undefined;
  orderId?: string | undefined;
  callbackUrl?: string | undefined;
  /** Approved with the card whose refunds fail (for refund.failed). */
  refundsFail?: boolean | undefined;
  /** Make it on the gateway's other sandbox merchant instead (a token that is not the caller's). */
  otherMerchant?: boolean | undefined;
}

export interface SandboxPaymentResult {
  payment: Payment;
  merchant: Merchant;
  /** What the hosted page posts to the callback URL once the payment is final; null while pending. */
  callback: { url: string; fields: { merchant_txn_data: string; wmx_signature: string } } | null;
}

/** A URL without its query string or fragment (a shop's callback may carry its order number). */
function sansQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

export class SandboxHelperError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createSandboxHelpers(deps: {
  initFor(merchant: Merchant, f: Fields, requestIp: string, opts?: { ttlMs?: number }): Promise<{ token: string }>;
  pay: Pick<Pay, 'submit' | 'offers'>;
  cancelPayment(token: string, pageExtra: string | null): Promise<Payment | undefined>;
  payments: Pick<PaymentRepo, 'byToken' | 'finalize'>;
  merchants: Pick<MerchantRepo, 'list'>;
  search: Pick<PaymentSearch, 'page'>;
  merchantAdmin: Pick<MerchantAdmin, 'create'>;
  signingSecretOf(m: Merchant): string;
  publicUrl: string;
  now: () => number;
}) {
  let otherShop: Promise<Merchant> | undefined;

  /** Found or made once per process; a lost race makes a second one, which is as good. */
  function otherMerchant(): Promise<Merchant> {
    otherShop ??= (async () => {
      const found = (await deps.merchants.list()).find((m) => m.sandbox && m.name === OTHER_SHOP_NAME);
      if (found) return found;
      return (await deps.merchantAdmin.create({ name: OTHER_SHOP_NAME, domains: [], sandbox: true })).merchant;
    })().catch((e: unknown) => {
      otherShop = undefined;
      throw e;
    });
    return otherShop;
  }

  function sandboxOnly(m: Merchant): void {
    if (!m.sandbox)
      throw new SandboxHelperError(403, 'sandbox_only', 'Test helpers make sandbox payments: this merchant is live.');
  }

  function callbackOf(p: Payment, m: Merchant): SandboxPaymentResult['callback'] {
    if (p.status === 'pending') return null;
    return { url: p.callbackUrl, fields: callbackFields(p, deps.signingSecretOf(m), deps.now()) };
  }

  function card(digits: string): Instrument {
    const r = validateCardForm({ number: digits, expiry: '12/39', cvv: '123', name: 'Sandbox Helper' }, deps.now());
    if (!r.ok) throw new Error(`sandbox card ${digits.slice(-4)} does not validate`); // a constant above
    return { kind: 'card', ...r.card };
  }

  /** Drives a pending payment to `outcome` as a customer on the hosted page would. */
  async function drive(p: Payment, m: Merchant, outcome: PayOutcome, refundsFail: boolean): Promise<Payment> {
    if (outcome === 'cancelled') return (await deps.cancelPayment(p.token, null)) ?? p;
    // Asked first: a card routed to an upstream's own page would send the payment there.
    const offer = (await deps.pay.offers(p, m)).find((o) => o.key === 'card');
    if (offer && !offer.connector.capabilities.collectsInstrument)
      throw new SandboxHelperError(
        409,
        'sandbox_route_redirects',
        `Cards of this merchant are routed to ${offer.connector.id}, which pays on its own page; test helpers pay on the sandbox bank only. The payment ${p.token} is left unpaid.`,
      );
    const digits = outcome === 'failed' ? CARDS.failed : refundsFail ? CARDS.refundsFail : CARDS.succeeded;
    const r = await deps.pay.submit(p.token, 'card', card(digits), null, null);
    if (r?.kind === 'final') return r.payment;
    const current = (await deps.payments.byToken(p.token)) ?? p;
    if (r?.kind === 'redirect')
      throw new SandboxHelperError(
        409,
        'sandbox_route_redirects',
        'Cards of this merchant are routed to a connector that pays on its own page; test helpers pay on the sandbox bank only.',
      );
    if (r?.kind === 'unavailable')
      throw new SandboxHelperError(409, 'method_unavailable', 'Card payments are not offered to this merchant now.');
    if (current.status !== 'pending') return current;
    throw new SandboxHelperError(409, 'payment_busy', 'The payment is being paid by someone else right now.');
  }

  return {
    otherMerchant,

    async createPayment(
      caller: Merchant,
      input: SandboxPaymentInput,
      requestIp: string,
    ): Promise<SandboxPaymentResult> {
      sandboxOnly(caller);
      const merchant = input.otherMerchant ? await otherMerchant() : caller;
      const orderId = input.orderId ?? `test-${randomHex(6)}`;
      const fields: Fields = {
        merchant_order_id: orderId,
        merchant_ref_id: newMerchantRefId(),
        app_name: 'wmx test helpers',
        customer_name: 'Sandbox Customer',
        customer_email: 'customer@sandbox.example',
        customer_phone: '01700000000',
        product_desc: `Test payment for ${orderId}`,
        amount: input.amount ?? '100.00',
        currency: input.currency ?? 'BDT',
        callback_url: input.callbackUrl ?? `${deps.publicUrl}/demo/callback`,
      };
      const ttl = input.outcome === 'expired' ? { ttlMs: 0 } : {};
      const { token } = await deps.initFor(merchant, fields, requestIp, ttl);
      let p = (await deps.payments.byToken(token)) as Payment; // just inserted
      if (input.outcome === 'expired') p = await expireIfDue(deps.payments, p, deps.now());
      else if (input.outcome !== 'pending') p = await drive(p, merchant, input.outcome, input.refundsFail === true);
      return { payment: p, merchant, callback: callbackOf(p, merchant) };
    },

    /**
     * The caller's newest payment still payable on our page (pending, unexpired, not at an
     * upstream) whose callback URL is `callbackUrl` (its query string aside), or the one with
     * `token`: the order a shop knows and has not been paid for (wmx doctor's subject).
     */
    async shopPending(
      caller: Merchant,
      callbackUrl: string,
      token?: string,
    ): Promise<SandboxPaymentResult | undefined> {
      sandboxOnly(caller);
      const now = deps.now();
      const payable = (p: Payment) => p.status === 'pending' && p.expiresAt > now && p.upstreamState === null;
      if (token !== undefined) {
        const p = await deps.payments.byToken(token);
        if (!p || p.merchantId !== caller.id) throw new SandboxHelperError(404, 'not_found', 'Payment not found');
        if (!payable(p))
          throw new SandboxHelperError(409, 'payment_not_pending', `Payment ${token} is ${p.status}, not payable.`);
        return { payment: p, merchant: caller, callback: null };
      }
      const want = sansQuery(callbackUrl);
      const page = await deps.search.page({ merchantId: caller.id, status: 'pending' }, undefined, 100);
      const p = page.payments.find((x) => payable(x) && sansQuery(x.callbackUrl) === want);
      return p && { payment: p, merchant: caller, callback: null };
    },

    /** Pays (or fails, or cancels) one of the caller's own pending sandbox payments. */
    async payPending(
      caller: Merchant,
      token: string,
      outcome: PayOutcome,
      refundsFail = false,
    ): Promise<SandboxPaymentResult> {
      sandboxOnly(caller);
      const p = await deps.payments.byToken(token);
      if (!p || p.merchantId !== caller.id) throw new SandboxHelperError(404, 'not_found', 'Payment not found');
      const now = await expireIfDue(deps.payments, p, deps.now());
      if (now.status !== 'pending')
        throw new SandboxHelperError(409, 'payment_not_pending', `The payment is already ${now.status}.`);
      const done = await drive(now, caller, outcome, refundsFail);
      return { payment: done, merchant: caller, callback: callbackOf(done, caller) };
    },
  };
}

export type SandboxHelpers = ReturnType<typeof createSandboxHelpers>;
