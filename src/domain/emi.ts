/** EMI (instalment) surcharge percent per period, in basis points; paid by the customer (ours). */
export const EMI_RATES_BPS: Readonly<Record<number, number>> = { 3: 300, 6: 450, 9: 600, 12: 750 };

export const EMI_PERIODS = [3, 6, 9, 12] as const;

export interface EmiRequest {
  period: number;
  bank: string | null;
}

/**
 * Reads the EMI request from extra_json best-effort: the field is never rejected, so anything that
 * is not a recognisable EMI request simply means "no EMI".
 */
export function emiRequestFrom(extraJson: string | null): EmiRequest | undefined {
  if (extraJson === null || extraJson.length > 4096) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(extraJson);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const obj = parsed as Record<string, unknown>;
  const period = Number(obj.emi_period);
  if (!Number.isInteger(period) || EMI_RATES_BPS[period] === undefined) return undefined;
  const bank = typeof obj.emi_selected_bank === 'string' && obj.emi_selected_bank !== '' ? obj.emi_selected_bank : null;
  return { period, bank };
}
