import { FEE_REVENUE, merchantAccount } from '../domain/ledger.js';
import type { LedgerRepo } from '../store/ledger.js';
import type { RefundRepo } from '../store/refunds.js';

export interface Balance {
  currency: 'BDT';
  /**
   * What the gateway owes the merchant now and will pay in coming settlements: payments net of fees
   * minus succeeded refunds, not yet settled. Negative when unsettled refunds exceed it (the next
   * settlement deducts them).
   */
  available_minor: bigint;
  /** Refunds accepted but not yet answered by the bank (not in the ledger until they succeed). */
  pending_refunds_minor: bigint;
  /** Net amounts of every settlement batch so far. */
  settled_minor: bigint;
  /** Every fee charged on the merchant's approved payments (fees are not returned on refunds). */
  fees_minor: bigint;
}

/** A merchant's balance, derived from ledger postings (balances are never stored). */
export function createBalance(deps: {
  ledger: Pick<LedgerRepo, 'accountSums'>;
  refunds: Pick<RefundRepo, 'pendingTotal'>;
}) {
  return async function balance(merchantId: string): Promise<Balance> {
    const [sums, pending] = await Promise.all([
      deps.ledger.accountSums(merchantId),
      deps.refunds.pendingTotal(merchantId),
    ]);
    const sum = (account: string): bigint => sums.get(account) ?? 0n;
    // Liabilities and income are credit-normal (negative sums); the refunds contra account is debit-normal.
    return {
      currency: 'BDT',
      available_minor: -sum(merchantAccount(merchantId, 'payable')) - sum(merchantAccount(merchantId, 'refunds')),
      pending_refunds_minor: pending,
      settled_minor: -sum(merchantAccount(merchantId, 'paid_out')),
      fees_minor: -sum(FEE_REVENUE),
    };
  };
}

export type BalanceOf = ReturnType<typeof createBalance>;
