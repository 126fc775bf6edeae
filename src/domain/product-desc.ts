/**
 * The official Walletmix product_desc grammar, parsed for display on the payment page:
 *
 *   {2xItem A[5]=[10]}+{1xBook B[20.50]=[20.50]}+{shipping rate:50}-{discount amount:10}=70.50
 *
 * Clients in the wild vary it: items separated by spaces instead of "+", "2 X Name [5]", a
 * "{coupon amount:…}" (WooCommerce) instead of the discount, extra "{tax:…}" / "{service charge:…}"
 * segments, float artefacts ("0.30000000000000004"), a currency code after the total. All of those
 * parse; anything else yields undefined and the page shows the text as received.
 *
 * Written as a single forward scan (indexOf per segment, anchored regexes without overlapping
 * quantifiers on each segment) so hostile 4096-character input stays linear. Never throws.
 */
export interface ParsedOrderItem {
  quantity: number;
  name: string;
  unitPrice: string;
  lineTotal: string;
}

export interface ParsedOrder {
  items: ParsedOrderItem[];
  shipping: string;
  discount: string;
  total: string;
  /** Other "+{label:amount}" segments (tax, service charge…), in order. */
  charges: { label: string; amount: string }[];
  /** Whether quantity × unit price = line total for every item and the lines add up to the total. */
  consistent: boolean;
}

interface Amount {
  text: string;
  minor: bigint;
}

/** Longer than the protocol allows (4096) is not ours to prettify. */
const MAX_INPUT = 16_384;

const SHIPPING_LABELS = new Set(['shipping rate', 'shipping', 'shipping charge', 'shipping cost']);
const DISCOUNT_LABELS = new Set(['discount amount', 'discount', 'coupon amount', 'coupon']);

/** Decimal text (optionally with thousands commas) → 2-decimal text, rounded half-up. */
function parseAmount(raw: string): Amount | undefined {
  let t = raw.trim();
  if (/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(t)) t = t.replace(/,/g, '');
  const m = /^(\d{1,15})(?:\.(\d{1,20}))?$/.exec(t);
  if (!m) return undefined;
  const frac = (m[2] ?? '').padEnd(3, '0');
  let minor = BigInt(m[1] as string) * 100n + BigInt(frac.slice(0, 2));
  if (Number(frac[2]) >= 5) minor += 1n;
  const whole = (minor / 100n).toString();
  const cents = (minor % 100n).toString().padStart(2, '0');
  return { text: `${whole}.${cents}`, minor };
}

function parseItem(inner: string): (ParsedOrderItem & { unit: Amount; line: Amount }) | undefined {
  const head = /^\s*(\d{1,9})\s*[xX×]/.exec(inner);
  if (!head) return undefined;
  const rest = inner.slice(head[0].length);
  const open = rest.indexOf('[');
  if (open < 0) return undefined;
  const name = rest.slice(0, open).trim().replace(/\s+/g, ' ');
  if (name === '' || name.includes(']')) return undefined;
  const prices = /^\[\s*([\d.,]+)\s*\]\s*=\s*\[\s*([\d.,]+)\s*\]\s*$/.exec(rest.slice(open));
  if (!prices) return undefined;
  const unit = parseAmount(prices[1] as string);
  const line = parseAmount(prices[2] as string);
  if (!unit || !line) return undefined;
  return { quantity: Number(head[1]), name, unitPrice: unit.text, lineTotal: line.text, unit, line };
}

function parseLabelled(inner: string): { label: string; key: string; amount: Amount } | undefined {
  const colon = inner.indexOf(':');
  if (colon < 0) return undefined;
  const label = inner.slice(0, colon).trim().replace(/\s+/g, ' ');
  const amount = parseAmount(inner.slice(colon + 1));
  if (label === '' || label.includes(']') || !amount) return undefined;
  return { label, key: label.toLowerCase(), amount };
}

export function parseProductDesc(text: string): ParsedOrder | undefined {
  if (typeof text !== 'string' || text.length > MAX_INPUT) return undefined;
  try {
    return parse(text);
  } catch {
    return undefined; // defensive: display falls back to the raw text
  }
}

function parse(s: string): ParsedOrder | undefined {
  const items: (ParsedOrderItem & { unit: Amount; line: Amount })[] = [];
  const charges: { label: string; amount: Amount }[] = [];
  let shipping: Amount | undefined;
  let discount: Amount | undefined;
  let i = skipWs(s, 0);
  let sep: '' | '+' | '-' = '';
  for (;;) {
    if (s[i] !== '{') return undefined;
    const close = s.indexOf('}', i + 1);
    if (close < 0) return undefined;
    const inner = s.slice(i + 1, close);
    if (inner.includes('{')) return undefined;

    if (inner.includes('[')) {
      // Items come first, joined by "+" or plain whitespace.
      const item = sep === '-' || shipping || discount || charges.length > 0 ? undefined : parseItem(inner);
      if (!item) return undefined;
      items.push(item);
    } else {
      const seg = parseLabelled(inner);
      if (!seg || discount) return undefined;
      if (DISCOUNT_LABELS.has(seg.key)) {
        if (sep !== '-') return undefined;
        discount = seg.amount;
      } else if (sep === '-') {
        return undefined;
      } else if (SHIPPING_LABELS.has(seg.key)) {
        if (shipping) return undefined;
        shipping = seg.amount;
      } else {
        charges.push({ label: seg.label, amount: seg.amount });
      }
    }

    i = skipWs(s, close + 1);
    const c = s[i];
    if (c === '=') break;
    if (c === '+' || c === '-') {
      sep = c;
      i = skipWs(s, i + 1);
    } else if (c === '{' && i > close + 1) {
      sep = ''; // whitespace-separated segments
    } else {
      return undefined;
    }
  }

  const m = /^([\d.,]+)\s*(?:[A-Za-z]{3})?$/.exec(s.slice(i + 1).trim());
  const total = m ? parseAmount(m[1] as string) : undefined;
  if (!total || items.length === 0) return undefined;

  const zero: Amount = { text: '0.00', minor: 0n };
  const ship = shipping ?? zero;
  const disc = discount ?? zero;
  let sum = ship.minor - disc.minor;
  let consistent = true;
  for (const it of items) {
    sum += it.line.minor;
    if (BigInt(it.quantity) * it.unit.minor !== it.line.minor) consistent = false;
  }
  for (const ch of charges) sum += ch.amount.minor;
  if (sum !== total.minor) consistent = false;

  return {
    items: items.map(({ quantity, name, unitPrice, lineTotal }) => ({
      quantity,
      name,
      unitPrice,
      lineTotal,
    })),
    shipping: ship.text,
    discount: disc.text,
    total: total.text,
    charges: charges.map((ch) => ({ label: ch.label, amount: ch.amount.text })),
    consistent,
  };
}

function skipWs(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i] as string)) i++;
  return i;
}
