import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { formatMinor } from '../../../domain/money.js';
import { txnStatusOf, type Payment } from '../../../domain/payment.js';
import type { PaymentFilter } from '../../../store/payment-search.js';
import { merchantOf, merchantOnly, notYetOpen, type DashCtx } from './common.js';
import { parseFilter } from './filters.js';

export const CSV_COLUMNS = [
  'init_time',
  'txn_time',
  'token',
  'ref_id',
  'merchant_order_id',
  'merchant_ref_id',
  'status',
  'txn_status',
  'txn_details',
  'method',
  'amount',
  'currency',
  'amount_bdt',
  'fee_bdt',
  'emi_charge_bdt',
  'bank_amount_bdt',
  'card_details',
  'customer_name',
  'customer_email',
  'customer_phone',
] as const;

/**
 * One CSV cell (RFC 4180 quoting). A cell a spreadsheet would read as a formula (=, +, -, @, or a
 * leading tab/CR) gets a leading apostrophe: customer names come from the internet.
 */
export function csvCell(value: string | null): string {
  let v = value ?? '';
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvRow(p: Payment, formatTime: (ms: number) => string): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string | null> = {
    init_time: formatTime(p.initAt),
    txn_time: p.txnAt === null ? '' : formatTime(p.txnAt),
    token: p.token,
    ref_id: p.refId,
    merchant_order_id: p.merchantOrderId,
    merchant_ref_id: p.merchantRefId,
    status: p.status,
    txn_status: txnStatusOf(p.status) ?? '',
    txn_details: p.txnDetails,
    method: p.method ?? '',
    amount: formatMinor(p.amountMinor),
    currency: p.currency,
    amount_bdt: formatMinor(p.amountBdtMinor),
    fee_bdt: formatMinor(p.feeMinor),
    emi_charge_bdt: formatMinor(p.emiChargeMinor),
    bank_amount_bdt: formatMinor(p.bankAmountMinor),
    card_details: p.cardDetails,
    customer_name: p.customerName,
    customer_email: p.customerEmail,
    customer_phone: p.customerPhone,
  };
  return CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',') + '\r\n';
}

/** The CSV export: the list's filters, streamed a database page at a time so memory stays flat. */
export async function paymentsCsvRoutes(app: FastifyInstance, ctx: DashCtx): Promise<void> {
  const { gw } = ctx;

  async function* lines(filter: PaymentFilter): AsyncGenerator<string> {
    yield CSV_COLUMNS.join(',') + '\r\n';
    // Rows go out in chunks of a few hundred: one write per row costs more than the rows themselves.
    let chunk = '';
    let n = 0;
    for await (const p of gw.paymentSearch.all(filter)) {
      chunk += csvRow(p, gw.formatTime);
      if (++n % 500 === 0) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk !== '') yield chunk;
  }

  app.get('/dashboard/payments.csv', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    reply.header('cache-control', 'no-store');
    if (!m) return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
    if (notYetOpen(m))
      return reply.code(409).type('text/plain; charset=utf-8').send('Your merchant account is not approved.\n');
    const parsed = parseFilter(gw, m.id, req.query);
    if (!parsed.ok) {
      return reply
        .code(400)
        .type('text/plain; charset=utf-8')
        .send(
          `Invalid filters:\n${Object.entries(parsed.errors)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n')}\n`,
        );
    }
    const day = gw.formatTime(gw.now()).slice(0, 10);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="payments-${m.wmxId}-${day}.csv"`)
      .send(Readable.from(lines(parsed.filter)));
  });
}
