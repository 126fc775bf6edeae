import type { Kysely } from 'kysely';
import { newPostingId, newTransferId, type TransferDraft } from '../domain/ledger.js';
import type { Database } from './schema.js';

/**
 * Writes one balanced transfer unless its idempotency key was posted before. Pass the caller's
 * transaction: the posting must commit or roll back with the state change it records.
 * Returns true when this call posted it.
 */
export async function postTransfer(db: Kysely<Database>, t: TransferDraft, at: number): Promise<boolean> {
  const id = newTransferId();
  const r = await db
    .insertInto('ledger_transfers')
    .values({
      id,
      idempotency_key: t.idempotencyKey,
      kind: t.kind,
      merchant_id: t.merchantId,
      currency: t.currency,
      payment_id: t.paymentId,
      refund_id: t.refundId,
      settlement_id: t.settlementId,
      created_at: at,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst();
  if (Number(r.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
  if (t.postings.length > 0) {
    await db
      .insertInto('ledger_postings')
      .values(
        t.postings.map((p) => ({
          id: newPostingId(),
          transfer_id: id,
          account: p.account,
          merchant_id: t.merchantId,
          currency: t.currency,
          amount_minor: p.amountMinor,
          created_at: at,
        })),
      )
      .execute();
  }
  return true;
}

export interface LedgerPosting {
  account: string;
  amountMinor: bigint;
}

export interface LedgerTransfer {
  id: string;
  idempotencyKey: string;
  kind: string;
  merchantId: string;
  currency: string;
  paymentId: string | null;
  refundId: string | null;
  settlementId: string | null;
  createdAt: number;
  postings: LedgerPosting[];
}

export function createLedgerRepo(k: Kysely<Database>) {
  return {
    post: (t: TransferDraft, at: number) => postTransfer(k, t, at),

    /** Sum of postings per account for one merchant and currency (the gateway's accounts included). */
    async accountSums(merchantId: string, currency = 'BDT'): Promise<Map<string, bigint>> {
      const rows = await k
        .selectFrom('ledger_postings')
        .select(['account', (eb) => eb.fn.sum<string | number>('amount_minor').as('total')])
        .where('merchant_id', '=', merchantId)
        .where('currency', '=', currency)
        .groupBy('account')
        .execute();
      return new Map(rows.map((r) => [r.account, BigInt(r.total ?? 0)]));
    },

    /** Every transfer recorded for a payment (its approval and its refunds), with postings. */
    async forPayment(paymentId: string): Promise<LedgerTransfer[]> {
      const transfers = await k
        .selectFrom('ledger_transfers')
        .selectAll()
        .where('payment_id', '=', paymentId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      if (transfers.length === 0) return [];
      const postings = await k
        .selectFrom('ledger_postings')
        .select(['transfer_id', 'account', 'amount_minor'])
        .where(
          'transfer_id',
          'in',
          transfers.map((t) => t.id),
        )
        .execute();
      return transfers.map((t) => ({
        id: t.id,
        idempotencyKey: t.idempotency_key,
        kind: t.kind,
        merchantId: t.merchant_id,
        currency: t.currency,
        paymentId: t.payment_id,
        refundId: t.refund_id,
        settlementId: t.settlement_id,
        createdAt: Number(t.created_at),
        postings: postings
          .filter((p) => p.transfer_id === t.id)
          .map((p) => ({ account: p.account, amountMinor: BigInt(p.amount_minor) })),
      }));
    },
  };
}

export type LedgerRepo = ReturnType<typeof createLedgerRepo>;
