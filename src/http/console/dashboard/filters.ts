import type { Gateway } from '../../../compose.js';
import type { PaymentMethod, PaymentStatus } from '../../../domain/payment.js';
import type { PaymentFilter } from '../../../store/payment-search.js';
import { DAY_MS, textOf, zoneDayStart } from './common.js';

export const STATUSES: readonly PaymentStatus[] = ['pending', 'approved', 'declined', 'cancelled', 'expired'];
export const METHODS: readonly [PaymentMethod, string][] = [
  ['card', 'Card'],
  ['mobile_wallet', 'Mobile wallet'],
  ['internet_banking', 'Internet banking'],
];

/** The filter form's fields as typed (query parameter names), echoed back into the form and the links. */
export interface FilterValues {
  q: string;
  status: string;
  method: string;
  from: string;
  to: string;
  min_amount: string;
  max_amount: string;
}

export const FILTER_KEYS: readonly (keyof FilterValues)[] = [
  'q',
  'status',
  'method',
  'from',
  'to',
  'min_amount',
  'max_amount',
];

export type ParsedFilter =
  | { ok: true; values: FilterValues; filter: PaymentFilter }
  | { ok: false; values: FilterValues; errors: Partial<Record<keyof FilterValues, string>> };

/** "12", "12.5", "0.00" → minor units; undefined when not a non-negative amount with at most 2 decimals. */
function parseBdt(text: string): bigint | undefined {
  const m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(text);
  return m ? BigInt(m[1] as string) * 100n + BigInt((m[2] ?? '').padEnd(2, '0')) : undefined;
}

/**
 * Reads the payment filters from a query string. The merchant comes from the session, never from the
 * query: whatever is sent, the filter only ever covers that merchant's payments.
 */
export function parseFilter(gw: Gateway, merchantId: string, query: unknown): ParsedFilter {
  const values = Object.fromEntries(
    FILTER_KEYS.map((k) => [k, textOf(query, k, 200).trim()]),
  ) as unknown as FilterValues; // every key set just above
  const errors: Partial<Record<keyof FilterValues, string>> = {};
  const filter: PaymentFilter = { merchantId };

  if (values.q !== '') filter.q = values.q;
  if (values.status !== '') {
    const s = STATUSES.find((x) => x === values.status);
    if (s) filter.status = s;
    else errors.status = `Status is one of ${STATUSES.join(', ')}.`;
  }
  if (values.method !== '') {
    const m = METHODS.find(([x]) => x === values.method);
    if (m) filter.method = m[0];
    else errors.method = 'Method is card, mobile_wallet or internet_banking.';
  }
  if (values.from !== '') {
    const t = zoneDayStart(gw, values.from);
    if (t === undefined) errors.from = 'Enter a date as YYYY-MM-DD.';
    else filter.from = t;
  }
  if (values.to !== '') {
    const t = zoneDayStart(gw, values.to);
    if (t === undefined) errors.to = 'Enter a date as YYYY-MM-DD.';
    // "To" includes that whole day: the range ends where the next day starts.
    else
      filter.to = zoneDayStart(gw, new Date(Date.parse(values.to) + DAY_MS).toISOString().slice(0, 10)) ?? t + DAY_MS;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to)
    errors.to = '“To” must not be before “From”.';
  for (const [key, field] of [
    ['min_amount', 'minAmountMinor'],
    ['max_amount', 'maxAmountMinor'],
  ] as const) {
    if (values[key] === '') continue;
    const v = parseBdt(values[key]);
    if (v === undefined) errors[key] = 'Enter an amount in BDT, e.g. 100 or 99.50.';
    else filter[field] = v;
  }
  if (
    filter.minAmountMinor !== undefined &&
    filter.maxAmountMinor !== undefined &&
    filter.minAmountMinor > filter.maxAmountMinor
  ) {
    errors.max_amount = 'The maximum must not be below the minimum.';
  }
  return Object.keys(errors).length > 0 ? { ok: false, values, errors } : { ok: true, values, filter };
}

/** The non-empty filters as a query string (for the Older link and the CSV link). */
export function filterQuery(values: FilterValues, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) if (values[k] !== '') p.set(k, values[k]);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}
