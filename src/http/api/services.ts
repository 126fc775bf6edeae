import type { Gateway } from '../../compose.js';
import type { ApiIdempotency } from '../../app/api-idempotency.js';
import type { ApiKeyAuth } from '../../app/api-keys.js';
import type { Refunds } from '../../app/refunds.js';
import type { Webhooks } from '../../app/webhooks.js';
import type { SandboxHelpers } from '../../app/sandbox-helpers.js';
import type { Listen } from '../../app/listen.js';
import type { PaymentSearch } from '../../store/payment-search.js';
import type { BalanceLike, SettlementLike } from './views.js';

/** What the API routes use of the gateway: narrow, so each route file shows what it touches. */
export interface ApiServices {
  paymentSearch: Pick<PaymentSearch, 'page' | 'byToken'>;
  refunds: Pick<Refunds, 'create' | 'get'>;
  balance(merchantId: string): Promise<BalanceLike>;
  /** A page of settlement batches, or 'bad_cursor' for a cursor the API never issued. */
  settlements(
    merchantId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ batches: SettlementLike[]; next: string | undefined } | 'bad_cursor'>;
  idempotency: ApiIdempotency;
  apiKeys: ApiKeyAuth;
  formatTime(epochMs: number): string;
  webhooks: Pick<Webhooks, 'list' | 'add' | 'remove' | 'eventsPage' | 'event'>;
  sandboxHelpers: SandboxHelpers;
  listen: Listen;
  /** The gateway's public base URL (payment page links). */
  publicUrl: string;
}

export function apiServices(gw: Gateway): ApiServices {
  return {
    paymentSearch: gw.paymentSearch,
    refunds: gw.refunds,
    balance: (merchantId) => gw.balance(merchantId),
    settlements: async (merchantId, cursor, limit) => {
      // The store ignores a cursor it cannot read (and starts over); the API says so instead.
      if (
        cursor !== undefined &&
        !/^\d{4}-\d{2}-\d{2}\|stl_[A-Za-z0-9]+$/.test(Buffer.from(cursor, 'base64url').toString('utf8'))
      )
        return 'bad_cursor';
      const page = await gw.settlements.list(merchantId, cursor, limit);
      return { batches: page.items, next: page.nextCursor ?? undefined };
    },
    idempotency: gw.apiIdempotency,
    apiKeys: gw.apiKeys,
    formatTime: gw.formatTime,
    webhooks: gw.webhooks,
    sandboxHelpers: gw.sandboxHelpers,
    listen: gw.listen,
    publicUrl: gw.config.publicUrl,
  };
}
