import { WmxError } from './errors.js';

/**
 * Money is integer minor units (bigint). Every currency the gateway accepts has two decimals.
 * Rates are fixed-point integers with RATE_DECIMALS decimals; fees are basis points.
 */
export const RATE_DECIMALS = 6;
export const RATE_SCALE = 10n ** BigInt(RATE_DECIMALS);

/** At most 2 significant decimals; zeros after them change nothing (`510.0000` is 510.00, as .NET's decimal prints it). */
const AMOUNT_RE = /^(\d+)(?:\.(\d{1,2})0*)?$/;

/** Parses a protocol amount ("10", "10.5", "48.78", "510.0000") into minor units; throws 2005 when invalid. */
export function parseAmount(text: string, field = 'amount'): bigint {
  const t = text.trim();
  const m = AMOUNT_RE.exec(t);
  if (!m) {
    const why = /^\d+\.\d{3,}$/.test(t) ? 'at most 2 decimals are allowed' : 'must be a positive decimal number';
    throw new WmxError('2005', `Invalid amount: ${why}`, field);
  }
  const minor = BigInt(m[1] as string) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
  if (minor <= 0n) throw new WmxError('2005', 'Invalid amount: must be greater than 0', field);
  return minor;
}

/** Minor units → "10.00". */
export function formatMinor(minor: bigint): string {
  const neg = minor < 0n;
  const abs = neg ? -minor : minor;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** a × b / d rounded half-up (for non-negative a, b; d > 0). */
export function mulDivHalfUp(a: bigint, b: bigint, d: bigint): bigint {
  const p = a * b;
  const q = p / d;
  return (p % d) * 2n >= d ? q + 1n : q;
}

/** Converts minor units of a currency to BDT minor units at a fixed-point rate, half-up. */
export function convertAtRate(amountMinor: bigint, rateScaled: bigint): bigint {
  return mulDivHalfUp(amountMinor, rateScaled, RATE_SCALE);
}

/** Percentage expressed in basis points (200 = 2.00 %) of an amount, half-up. */
export function percentOf(amountMinor: bigint, bps: number): bigint {
  return mulDivHalfUp(amountMinor, BigInt(bps), 10_000n);
}

/** Parses a decimal rate ("121.4567") into fixed point; undefined if not a positive decimal of ≤ 6 places. */
export function parseRate(text: string): bigint | undefined {
  const m = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return undefined;
  const v = BigInt(m[1] as string) * RATE_SCALE + BigInt((m[2] ?? '').padEnd(RATE_DECIMALS, '0'));
  return v > 0n ? v : undefined;
}

/** Fixed-point rate → decimal text with at least 2 decimals ("1.00", "121.4567"). */
export function formatRate(rateScaled: bigint): string {
  const whole = rateScaled / RATE_SCALE;
  let frac = (rateScaled % RATE_SCALE).toString().padStart(RATE_DECIMALS, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${whole}.${frac}`;
}

/** Basis points → percent text with 2 decimals (200 → "2.00"). */
export function formatBps(bps: number): string {
  return formatMinor(BigInt(bps));
}

/** Percent text ("2", "2.5", "2.25") → basis points; undefined when not 0–100 with ≤ 2 decimals. */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  const bps = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return bps <= 10_000 ? bps : undefined;
}
