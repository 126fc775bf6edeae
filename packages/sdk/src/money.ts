/**
 * Money is never a float here: amounts travel as decimal strings and are compared as integer minor
 * units (bigint). Every currency of the protocol has two decimals.
 */

/** What a caller may pass: "100", "100.5", "100.50" (no sign, no exponent, at most 2 decimals). */
const INPUT_RE = /^(\d{1,15})(?:\.(\d{1,2}))?$/;
/** What the gateway may send: decimals beyond the second must be zeros ("510.0000"). */
const WIRE_RE = /^(\d{1,15})(?:\.(\d{1,2})0*)?$/;

/** An amount: either a decimal string, or integer minor units (10000 = "100.00") — never both. */
export type Amount = { amount: string; amountMinor?: undefined } | { amountMinor: number | bigint; amount?: undefined };

const toMinor = (m: RegExpExecArray): bigint => BigInt(m[1] as string) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));

/** Minor units → "100.00". */
export function formatMinor(minor: bigint): string {
  const neg = minor < 0n;
  const abs = neg ? -minor : minor;
  return `${neg ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** A decimal amount from the gateway ("10.00") → minor units; undefined when it is not one. */
export function wireMinor(text: string | null | undefined): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const m = WIRE_RE.exec(text);
  return m ? toMinor(m) : undefined;
}

/**
 * Reads `{ amount }` or `{ amountMinor }` (as given by a caller) into minor units; throws a TypeError
 * for a number amount, a malformed string, a non-integer minor amount, both or neither, or ≤ 0.
 */
export function amountMinorOf(input: { amount?: unknown; amountMinor?: unknown }, what = 'amount'): bigint {
  const { amount, amountMinor } = input;
  if (amount !== undefined && amountMinor !== undefined)
    throw new TypeError(`${what}: pass either amount or amountMinor, not both`);
  let minor: bigint;
  if (amount !== undefined) {
    if (typeof amount !== 'string')
      throw new TypeError(
        `${what}: amount must be a decimal string such as "100.00" (or pass integer amountMinor); floats are not money`,
      );
    const m = INPUT_RE.exec(amount);
    if (!m) throw new TypeError(`${what}: "${amount}" is not a decimal amount with at most 2 decimals`);
    minor = toMinor(m);
  } else if (amountMinor !== undefined) {
    if (typeof amountMinor === 'bigint') minor = amountMinor;
    else if (typeof amountMinor === 'number' && Number.isSafeInteger(amountMinor)) minor = BigInt(amountMinor);
    else throw new TypeError(`${what}: amountMinor must be an integer number of minor units (or a bigint)`);
  } else {
    throw new TypeError(`${what}: amount (a decimal string) or amountMinor (an integer) is required`);
  }
  if (minor <= 0n) throw new TypeError(`${what}: the amount must be greater than 0`);
  return minor;
}
