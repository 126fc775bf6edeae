/**
 * Learning a payment's outcome from its upstream after the customer left our page: the browser's
 * return, the upstream's server-to-server notification, an inquiry (the reconciler, a look at the
 * payment page, a cancel). Each takes the payment's lease first, so when they arrive together one
 * asks the upstream and records the outcome and the others read it (settle.ts records it once).
 */
import type { Merchant } from '../domain/merchant.js';
import type { Payment } from '../domain/payment.js';
import type { Connector, Settlement } from '../acquirers/port.js';
import type { ConnectorRouter } from '../acquirers/router.js';
import type { PaymentRepo } from '../store/payments.js';
import { formatMinor } from '../domain/money.js';
import {
  attemptOf,
  bankAmountWith,
  keyOf,
  placeholderInfoFor,
  readAttemptState,
  upstreamOf,
  type AttemptState,
} from './attempt.js';
import type { ConnectorCalls } from './connector-calls.js';
import type { Settle } from './settle.js';

export interface UpstreamSyncDeps {
  payments: Pick<PaymentRepo, 'byToken' | 'byUpstreamRef' | 'claimAtUpstream' | 'release' | 'finalize'>;
  merchantById(id: string): Promise<Merchant | undefined>;
  router: Pick<ConnectorRouter, 'connector'>;
  calls: ConnectorCalls;
  settle: Settle;
  publicUrl: string;
  now: () => number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

export type NotifyResult = { ok: true; payment: Payment | undefined } | { ok: false; reason: string };

export function createUpstreamSync(deps: UpstreamSyncDeps) {
  /** The attempt state of a payment at an upstream (a minimal one if it was never written). */
  const stateOf = (p: Payment, c: Connector): AttemptState =>
    readAttemptState(p.challengeInfo) ?? {
      method: 'card',
      info: placeholderInfoFor('card', c.displayName),
      hint: '',
      emi: null,
    };

  /**
   * Under the lease: asks the upstream (`op`) and records what it says. undefined when someone else
   * holds the lease (they will record it) or the payment is not at this upstream.
   */
  async function underLease(
    p: Payment,
    op: (c: Connector, claimed: Payment, st: AttemptState, merchant: Merchant) => Promise<Settlement | undefined>,
    opts: { state?: 'confirming'; cancelIfOpen?: boolean } = {},
  ): Promise<Payment | undefined> {
    if (p.status !== 'pending' || p.upstreamState === null || !p.connectorId) return undefined;
    const connector = await deps.router.connector(p.connectorId);
    const merchant = await deps.merchantById(p.merchantId);
    if (!connector || !merchant) {
      deps.log?.('payment at an unknown connector', { payment: p.id, connector: p.connectorId });
      return undefined;
    }
    const claimed = await deps.payments.claimAtUpstream(
      p.token,
      deps.now(),
      deps.calls.leaseMsOf(connector),
      opts.state,
    );
    if (!claimed) return undefined;
    const st = stateOf(claimed, connector);
    const s = (await op(connector, claimed, st, merchant)) ?? { outcome: 'pending', reason: 'no answer' };
    if (opts.cancelIfOpen && (s.outcome === 'open' || s.outcome === 'absent')) {
      // The customer gave up on our page and the upstream holds nothing final: cancelled.
      return deps.settle.finish(
        claimed,
        merchant,
        st,
        { outcome: 'cancelled', reason: 'Cancelled by customer' },
        connector,
      );
    }
    return deps.settle.apply(claimed, merchant, st, s, connector);
  }

  /** Runs a connector operation for a payment under the calls' deadline; undefined on no answer. */
  async function ask(
    c: Connector,
    p: Payment,
    call: (ctx: Parameters<Connector['inquire']>[2]) => Promise<Settlement>,
  ): Promise<Settlement | undefined> {
    const ran = await deps.calls.run(c, { paymentId: p.id }, call);
    return ran.ok ? ran.value : undefined;
  }

  const attempt = (p: Payment, st: AttemptState, m: Merchant, c: Connector) =>
    attemptOf(p, m, st, deps.publicUrl, c.id);

  /** The upstream's authoritative status, recorded (the reconciler, the payment page, a cancel). */
  function inquire(p: Payment, opts: { cancelIfOpen?: boolean } = {}): Promise<Payment | undefined> {
    return underLease(
      p,
      (c, claimed, st, m) => ask(c, claimed, (ctx) => c.inquire(attempt(claimed, st, m, c), upstreamOf(claimed), ctx)),
      opts,
    );
  }

  return {
    inquire,

    /**
     * The customer's browser came back from `connectorId` for `token` with these fields. The
     * payment as it stands afterwards (still pending while the outcome is being confirmed);
     * undefined for an unknown token or one that never went to this connector.
     */
    async returned(
      connectorId: string,
      token: string,
      params: Readonly<Record<string, string>>,
    ): Promise<Payment | undefined> {
      const p = await deps.payments.byToken(token);
      if (!p || p.connectorId !== connectorId) return undefined;
      if (p.status !== 'pending' || p.upstreamState === null) return p;
      const done = await underLease(
        p,
        (c, claimed, st, m) =>
          c.complete
            ? ask(c, claimed, (ctx) => c.complete!(params, attempt(claimed, st, m, c), upstreamOf(claimed), ctx))
            : ask(c, claimed, (ctx) => c.inquire(attempt(claimed, st, m, c), upstreamOf(claimed), ctx)),
        { state: 'confirming' },
      );
      return done ?? (await deps.payments.byToken(token)) ?? p;
    },

    /**
     * A server-to-server notification for `connectorId`. A forged, unreadable or unknown one
     * changes nothing and is logged (and answered as refused); a verified one is confirmed with the
     * upstream (complete() decides what to trust) and recorded once.
     */
    async notified(
      connectorId: string,
      rawBody: string,
      headers: Readonly<Record<string, string>>,
    ): Promise<NotifyResult> {
      const c = await deps.router.connector(connectorId);
      if (!c || !c.parseNotification) return { ok: false, reason: 'no such connector takes notifications' };
      const startedAt = Date.now();
      const parsed = c.parseNotification(rawBody, headers, { signal: new AbortController().signal, record: () => {} });
      // A refused notification is filed under the payment it names (unverified), so its detail page shows it.
      const ref = parsed.ok ? parsed.ref : parsed.claimedRef;
      const p = ref ? await deps.payments.byUpstreamRef(c.id, ref) : undefined;
      const note = (outcome: 'ok' | 'refused', code: string | null, message: string | null) =>
        deps.calls.log(c.id, { paymentId: p?.id ?? null }, [
          {
            operation: 'notification',
            startedAt,
            latencyMs: Date.now() - startedAt,
            outcome,
            httpStatus: null,
            code,
            message,
          },
        ]);
      if (!parsed.ok) {
        deps.log?.('upstream notification refused', { connector: c.id, reason: parsed.reason });
        await note('refused', null, parsed.reason);
        return { ok: false, reason: parsed.reason };
      }
      if (!p) {
        deps.log?.('upstream notification for an unknown payment', { connector: c.id, ref: parsed.ref });
        await note('refused', parsed.claim, `unknown payment ${parsed.ref}`);
        return { ok: false, reason: 'unknown payment' };
      }
      const expected = bankAmountWith(p, readAttemptState(p.challengeInfo)?.emi ?? null);
      if (parsed.amountMinor !== undefined && parsed.amountMinor !== expected) {
        const why = `amount ${formatMinor(parsed.amountMinor)} BDT, ${formatMinor(expected)} BDT expected`;
        deps.log?.('upstream notification refused', { connector: c.id, payment: p.id, reason: why });
        await note('refused', parsed.claim, why);
        return { ok: false, reason: why };
      }
      const late =
        p.status !== 'pending' && p.status !== 'approved' && /^(VALID|VALIDATED|Completed)$/i.test(parsed.claim);
      await note(
        late ? 'refused' : 'ok',
        parsed.claim,
        late ? `paid at the upstream after the payment ended here (${p.status}): refund it there` : null,
      );
      if (p.status !== 'pending') {
        // The upstream says it was paid after we ended it: an operator must refund it there.
        if (late) deps.log?.('upstream reports a payment the gateway had ended', { payment: p.id, status: p.status });
        return { ok: true, payment: p };
      }
      const done = await underLease(p, (conn, claimed, st, m) =>
        conn.complete
          ? ask(conn, claimed, (ctx) =>
              conn.complete!(parsed.params, attempt(claimed, st, m, conn), upstreamOf(claimed), ctx),
            )
          : ask(conn, claimed, (ctx) => conn.inquire(attempt(claimed, st, m, conn), upstreamOf(claimed), ctx)),
      );
      return { ok: true, payment: done ?? (await deps.payments.byToken(p.token)) };
    },

    keyOf,
  };
}

export type UpstreamSync = ReturnType<typeof createUpstreamSync>;
