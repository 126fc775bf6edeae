import type { Gateway } from '../compose.js';
import { CLI_ACTOR } from '../app/audit.js';
import { WmxError } from '../domain/errors.js';
import { formatMinor, parseAmount } from '../domain/money.js';

export const MONEY_USAGE = `  refund <token> <amount|full>      refund a payment (BDT, e.g. 12.50), exits 1 when it fails
  settle [--date YYYY-MM-DD]        settle every merchant's day (default: yesterday, gateway time zone)
  ledger verify [--json]            check every ledger invariant, exits 1 on any breach`;

/** Bad usage of a money command; wmx prints it with the usage text. */
export class MoneyUsageError extends Error {}

type Print = (line: string) => void;

/**
 * `wmx refund`, `wmx settle` and `wmx ledger verify`. Returns the exit code, or undefined when the
 * command is not one of these.
 */
export async function runMoneyCommand(
  gw: Gateway,
  pos: string[],
  v: { date?: string | undefined; json?: boolean | undefined },
  print: Print,
): Promise<number | undefined> {
  const [group, verb, third] = pos;
  if (group === 'refund') {
    if (!verb || !third)
      throw new MoneyUsageError('refund needs a token and an amount (a BDT amount like 12.50, or "full")');
    let amount: bigint | null = null;
    if (third.toLowerCase() !== 'full') {
      try {
        amount = parseAmount(third, 'amount');
      } catch (e) {
        if (e instanceof WmxError) throw new MoneyUsageError(`refund amount: ${e.message}`);
        throw e;
      }
    }
    // The operator refunds on the merchant's behalf: the payment says which merchant.
    const p = /^[0-9a-f]{40}$/.test(verb) ? await gw.payments.byToken(verb) : undefined;
    if (!p) throw new WmxError('2009', `Token not found: ${verb}`);
    const r = await gw.refunds.create(p.merchantId, verb, amount, CLI_ACTOR);
    if (v.json) {
      print(
        JSON.stringify({
          id: r.id,
          status: r.status,
          amount_bdt: formatMinor(r.amountMinor),
          reason: r.reason,
          token: r.token,
        }),
      );
    } else {
      print(`${r.id} ${r.status} ${formatMinor(r.amountMinor)} BDT${r.reason ? ` (${r.reason})` : ''}`);
    }
    return r.status === 'succeeded' ? 0 : 1;
  }
  if (group === 'settle') {
    const date = v.date ?? gw.settlements.defaultDate();
    const created = await gw.settlements.settle(date, CLI_ACTOR);
    if (v.json) {
      print(
        JSON.stringify(
          created.map((b) => ({
            id: b.id,
            merchant_id: b.merchantId,
            date: b.date,
            gross_bdt: formatMinor(b.grossMinor),
            fees_bdt: formatMinor(b.feesMinor),
            emi_bdt: formatMinor(b.emiMinor),
            refunds_bdt: formatMinor(b.refundsMinor),
            net_bdt: formatMinor(b.netMinor),
            payment_count: b.paymentCount,
          })),
        ),
      );
      return 0;
    }
    if (created.length === 0)
      print(`Nothing to settle for ${date} (already settled, or no payments or refunds that day).`);
    for (const b of created) {
      print(
        `${b.id} ${b.merchantId} ${b.date}: ${b.paymentCount} payments, gross ${formatMinor(b.grossMinor)}, fees ${formatMinor(b.feesMinor)}, ` +
          `refunds ${formatMinor(b.refundsMinor)}, net ${formatMinor(b.netMinor)} BDT`,
      );
    }
    return 0;
  }
  if (group === 'ledger' && verb === 'verify') {
    const report = await gw.ledgerVerify();
    if (v.json) print(JSON.stringify(report));
    else {
      for (const b of report.breaches) print(`BREACH ${b}`);
      const s = report.summary;
      print(
        `${report.ok ? 'Ledger OK' : `Ledger has ${report.breaches.length} breach(es)`}: ${s.transfers} transfers, ${s.postings} postings, ` +
          `${s.approvedPayments} approved payments, ${s.succeededRefunds} succeeded refunds, ${s.settlementBatches} settlement batches.`,
      );
    }
    return report.ok ? 0 : 1;
  }
  return undefined;
}
