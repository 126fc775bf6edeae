/**
 * `wmx doctor` (and the dashboard's Callback doctor): finds out whether a shop's callback handler
 * would ship an order that was not paid. The most common and most costly mistake with a redirect
 * gateway is trusting the browser's callback (`merchant_txn_data`) without asking check-payment, or
 * without comparing the amount with the order: anyone can post a "paid" callback.
 *
 * It takes one order the shop knows (its newest pending payment for this callback URL, or a token
 * given), posts to the handler what an attacker could post about that order, then the genuine
 * result, and classifies each answer as "accepted" (would ship) or "refused":
 *
 * 1. "paid" for the unpaid token, with a well-formed but wrong wmx_signature;
 * 2. the same, unsigned;
 * 3. a genuine paid callback of another merchant's payment for the same order id and amount;
 * 4. a genuine paid callback of a payment of this merchant for the same order, for less;
 * 5. a paid token of another order, its data changed to name this order;
 * 6. a genuine declined callback for the order (the "refused" reference);
 * 7. the order's own token paid on the sandbox bank, its genuine callback (the "accepted" reference);
 * 8. that genuine callback again (a replay: it must not ship twice).
 *
 * The truth of every token is the gateway's record (what check-payment answers), which the report
 * shows next to the handler's answer. Fixtures are real sandbox payments (app/sandbox-helpers.ts):
 * the CLI makes them over the JSON API, the dashboard in process.
 */
import crypto from 'node:crypto';

/** A payment as the doctor needs it, and its genuine callback once final. */
export interface DoctorPayment {
  token: string;
  wmxId: string;
  orderId: string;
  refId: string;
  amount: string;
  currency: string;
  /** pending | approved | declined | cancelled | expired */
  status: string;
  /** Where the hosted page sends its result (verbatim, query string included). */
  callbackUrl: string;
  callback: { merchant_txn_data: string; wmx_signature: string } | null;
}

export interface DoctorFixtures {
  /** The shop's own newest pending payment for this callback URL, or the one with `token`. */
  shopPending(callbackUrl: string, token?: string): Promise<DoctorPayment | undefined>;
  create(input: {
    outcome: 'succeeded' | 'failed' | 'pending';
    orderId?: string;
    amount?: string;
    currency?: string;
    callbackUrl: string;
    otherMerchant?: boolean;
  }): Promise<DoctorPayment>;
  pay(token: string, outcome: 'succeeded' | 'failed'): Promise<DoctorPayment>;
}

export type Classified = 'accepted' | 'refused' | 'unclear';
export type CheckResult = 'pass' | 'fail' | 'warn';

export interface HandlerAnswer {
  status: number | null;
  location: string | null;
  excerpt: string;
  error: string | null;
  latencyMs: number;
}

export interface DoctorCheck {
  id: string;
  title: string;
  /** What the gateway's record says about the token posted (the truth). */
  truth: string;
  answer: HandlerAnswer;
  classified: Classified;
  expected: 'accepted' | 'refused';
  result: CheckResult;
  /** What to fix, when the result is not a pass. */
  fix: string | null;
}

export interface DoctorReport {
  callbackUrl: string;
  /** safe: refused every forgery and accepted the genuine payment; unsafe: would ship an unpaid order. */
  verdict: 'safe' | 'unsafe' | 'inconclusive';
  summary: string;
  order: { orderId: string; amount: string; currency: string; token: string; shopsOwn: boolean };
  checks: DoctorCheck[];
}

const ANSWER_TIMEOUT_MS = 10_000;
const EXCERPT_MAX = 2_000;

/** Words a handler's page uses to refuse (looked for first: "not paid" contains "paid"). */
const REFUSE_RE =
  /\b(not paid|unpaid|not verified|unverified|fail(ed|ure)?|invalid|declin\w*|error|reject\w*|refused?|mismatch\w*|cancel\w*|forbidden|denied|bad signature|could not|cannot|unknown order|not found|unsuccessful|tamper\w*|fraud\w*|suspicious|on hold)\b/i;
const ACCEPT_RE = /\b(paid|success\w*|thank(s| you)|shipped|confirmed|complete[d]?|approved|fulfil+ed|order placed)\b/i;

async function post(url: string, fields: Record<string, string>): Promise<HandlerAnswer> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'wmx-doctor/1' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    const text = (await res.text().catch(() => '')).slice(0, EXCERPT_MAX);
    return {
      status: res.status,
      location: res.headers.get('location'),
      excerpt: text,
      error: null,
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    const error =
      e instanceof Error && e.name === 'TimeoutError'
        ? `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`
        : (cause?.code ?? String(e));
    return { status: null, location: null, excerpt: '', error, latencyMs: Math.round(performance.now() - started) };
  }
}

/** The answer with what differs between posts (ids, amounts, numbers, tags) taken out. */
function shapeOf(a: HandlerAnswer, variable: readonly string[]): string {
  let body = a.excerpt.toLowerCase();
  for (const v of variable) if (v.length >= 3) body = body.split(v.toLowerCase()).join('~');
  body = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/[0-9a-f]{16,}/g, '#')
    .replace(/\d+([.,]\d+)*/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
  const loc = a.location ? a.location.split('?', 1)[0] : '';
  return `${a.status === null ? 'none' : Math.floor(a.status / 100)}|${loc}|${body}`;
}

const visibleText = (a: HandlerAnswer) =>
  `${a.location ?? ''} ${a.excerpt.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ')}`;

/** Reads one answer, with the shop's own answers to a refused and a genuine callback as references. */
export function classify(
  a: HandlerAnswer,
  refs: { accepted?: HandlerAnswer | undefined; refused?: HandlerAnswer | undefined },
  variable: readonly string[] = [],
): Classified {
  if (a.status === null) return 'unclear';
  if (a.status >= 400) return 'refused';
  const shape = shapeOf(a, variable);
  const acc = refs.accepted && refs.accepted.status !== null && refs.accepted.status < 400 ? refs.accepted : undefined;
  const accShape = acc && shapeOf(acc, variable);
  const refShape = refs.refused && shapeOf(refs.refused, variable);
  // References the handler answered alike tell nothing apart.
  const distinct = accShape === undefined || refShape === undefined || accShape !== refShape;
  if (distinct && accShape !== undefined && shape === accShape) return 'accepted';
  if (distinct && refShape !== undefined && shape === refShape) return 'refused';
  const text = visibleText(a);
  if (REFUSE_RE.test(text)) return 'refused';
  if (ACCEPT_RE.test(text)) return 'accepted';
  // No words to go by: the status alone, when the shop's two references differ by it.
  if (acc && refs.refused && acc.status !== refs.refused.status) {
    if (a.status === acc.status) return 'accepted';
    if (a.status === refs.refused.status) return 'refused';
  }
  return 'unclear';
}

/** Decimal text a hundredth of `amount` (at least 0.01): a cheaper payment for the same order. */
function cheaper(amount: string): string | undefined {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(amount);
  if (!m) return undefined;
  const minor = BigInt(m[1]!) * 100n + BigInt((m[2] ?? '').padEnd(2, '0'));
  const less = minor / 100n > 0n ? minor / 100n : minor > 1n ? 1n : 0n;
  if (less === 0n || less >= minor) return undefined;
  return `${less / 100n}.${String(less % 100n).padStart(2, '0')}`;
}

const txnData = (p: DoctorPayment, over: Record<string, string> = {}) =>
  JSON.stringify({
    token: p.token,
    txn_status: '1000',
    merchant_order_id: p.orderId,
    merchant_ref_id: p.refId,
    amount: p.amount,
    currency: p.currency,
    wmx_id: p.wmxId,
    ...over,
  });

const truthOf = (p: DoctorPayment) =>
  `token ${p.token.slice(0, 8)}… is ${p.status}: order ${p.orderId}, ${p.amount} ${p.currency}, merchant ${p.wmxId}`;

export async function runDoctorChecks(
  fixtures: DoctorFixtures,
  opts: { callbackUrl: string; token?: string | undefined },
): Promise<DoctorReport> {
  const own = await fixtures.shopPending(opts.callbackUrl, opts.token);
  // Posted where the gateway itself would post this order's result: its callback URL verbatim (a
  // shop may name the order in the query string).
  const url = own?.callbackUrl ?? opts.callbackUrl;
  const order =
    own ??
    (await fixtures.create({
      outcome: 'pending',
      orderId: `doctor-${crypto.randomBytes(4).toString('hex')}`,
      amount: '100.00',
      currency: 'BDT',
      callbackUrl: url,
    }));
  if (order.status !== 'pending')
    throw new Error(
      `payment ${order.token} is ${order.status}: the doctor needs an unpaid order (start a new checkout)`,
    );
  const { orderId, amount, currency } = order;
  const base = { orderId, amount, currency, callbackUrl: url };

  // Real sandbox payments that an attacker could have (or make) about this order.
  const other = await fixtures.create({ ...base, outcome: 'succeeded', otherMerchant: true });
  const lessAmount = cheaper(amount);
  const cheap = lessAmount ? await fixtures.create({ ...base, amount: lessAmount, outcome: 'succeeded' }) : undefined;
  const otherOrder = await fixtures.create({ ...base, orderId: `${orderId}-x`.slice(0, 64), outcome: 'succeeded' });
  const declined = await fixtures.create({ ...base, outcome: 'failed' });

  const variable = [order.token, other.token, cheap?.token, otherOrder.token, declined.token, orderId, amount]
    .concat(lessAmount ?? [])
    .filter((x): x is string => typeof x === 'string');
  const forgedSig = `t=${Math.floor(Date.now() / 1000)},v1=${crypto.randomBytes(32).toString('hex')}`;
  type Planned = Omit<DoctorCheck, 'answer' | 'classified' | 'result'> & { fields: Record<string, string> };
  const planned: Planned[] = [
    {
      id: 'unpaid_token',
      title: '"paid" callback for the unpaid token (forged signature)',
      truth: truthOf(order),
      expected: 'refused',
      fields: { merchant_txn_data: txnData(order), wmx_signature: forgedSig },
      fix: 'Never trust merchant_txn_data: ask check-payment for the token and ship only on txn_status "1000".',
    },
    {
      id: 'unsigned',
      title: '"paid" callback for the unpaid token without wmx_signature',
      truth: truthOf(order),
      expected: 'refused',
      fields: { merchant_txn_data: txnData(order) },
      fix: 'Refuse a callback without a valid wmx_signature (HMAC-SHA256 with your signing secret over t + "." + merchant_txn_data), and ask check-payment before shipping.',
    },
    {
      id: 'other_merchant',
      title: "another merchant's genuinely paid token for the same order id and amount",
      truth: `${truthOf(other)} (not your merchant)`,
      expected: 'refused',
      fields: other.callback ?? { merchant_txn_data: txnData(other) },
      fix: 'Ask check-payment with your own credentials (it answers 2009 for another merchant’s token), compare wmx_id with your Merchant ID, and verify wmx_signature with your own signing secret.',
    },
  ];
  if (cheap) {
    planned.push({
      id: 'changed_amount',
      title: `a genuinely paid payment for the same order, for ${cheap.amount} ${currency} instead of ${amount}`,
      truth: truthOf(cheap),
      expected: 'refused',
      fields: cheap.callback ?? { merchant_txn_data: txnData(cheap) },
      fix: 'Compare the paid amount and currency from check-payment (merchant_req_amount, merchant_currency) with the order total in your database, never with the callback’s.',
    });
  }
  planned.push(
    {
      id: 'other_order',
      title: 'a paid token of another order, its data changed to name this order',
      truth: truthOf(otherOrder),
      expected: 'refused',
      fields: {
        merchant_txn_data: txnData(otherOrder, { merchant_order_id: orderId }),
        wmx_signature: otherOrder.callback?.wmx_signature ?? forgedSig,
      },
      fix: 'Compare check-payment’s merchant_order_id (and the token you stored at init) with the order you are about to mark paid.',
    },
    {
      id: 'declined',
      title: 'the genuine callback of a declined payment for this order',
      truth: truthOf(declined),
      expected: 'refused',
      fields: declined.callback ?? { merchant_txn_data: txnData(declined, { txn_status: '1001' }) },
      fix: 'Ship only when check-payment says txn_status "1000".',
    },
  );

  const checks: DoctorCheck[] = [];
  for (const p of planned) {
    const { fields, ...rest } = p;
    checks.push({ ...rest, answer: await post(url, fields), classified: 'unclear', result: 'warn' });
  }
  // Now the order is really paid on the sandbox bank: its genuine callback, and a replay of it.
  const paid = await fixtures.pay(order.token, 'succeeded');
  const genuine = paid.callback ?? { merchant_txn_data: txnData(paid) };
  const genuineAnswer = await post(url, genuine);
  const replayAnswer = await post(url, genuine);
  const accepted = genuineAnswer;
  const refused = checks.find((c) => c.id === 'declined')?.answer;

  for (const c of checks) {
    c.classified = classify(c.answer, { accepted, refused }, variable);
    c.result = c.classified === 'refused' ? 'pass' : c.classified === 'accepted' ? 'fail' : 'warn';
    if (c.result === 'pass') c.fix = null;
  }
  const genuineClass = classify(genuineAnswer, { refused }, variable);
  checks.push({
    id: 'genuine_paid',
    title: 'the genuine callback of this order, now paid',
    truth: truthOf(paid),
    expected: 'accepted',
    answer: genuineAnswer,
    classified: genuineClass,
    result: genuineClass === 'accepted' ? 'pass' : own ? 'fail' : 'warn',
    fix:
      genuineClass === 'accepted'
        ? null
        : own
          ? 'Your handler did not accept a genuinely paid order: customers who paid would be told it failed. Check what it compares (check-payment’s merchant_req_amount against the order total, wmx_id, merchant_order_id, token).'
          : 'The doctor made this order itself (your shop had no pending payment for this callback URL), so a handler that looks orders up refuses it: start a checkout on your shop without paying, then run the doctor again (or pass --token).',
  });
  const replayClass = classify(replayAnswer, { accepted, refused }, variable);
  const sameAsFirst = replayAnswer.status === genuineAnswer.status && replayAnswer.excerpt === genuineAnswer.excerpt;
  const replayResult: CheckResult =
    genuineClass !== 'accepted' || replayClass === 'refused' || !sameAsFirst ? 'pass' : 'warn';
  checks.push({
    id: 'replay',
    title: 'the same genuine callback posted again (a replay)',
    truth: truthOf(paid),
    expected: 'refused',
    answer: replayAnswer,
    classified: replayClass,
    result: replayResult,
    fix:
      replayResult === 'pass'
        ? null
        : 'The replay got exactly the first answer: make sure fulfilment happens once per order (mark it paid by token in one transaction; a repeat shows the same page without shipping again).',
  });

  const forgedAccepted = checks.filter((c) => c.expected === 'refused' && c.id !== 'replay' && c.result === 'fail');
  const unclear = checks.filter((c) => c.classified === 'unclear');
  let verdict: DoctorReport['verdict'];
  let summary: string;
  if (forgedAccepted.length > 0) {
    verdict = 'unsafe';
    summary = `UNSAFE: your handler accepted ${forgedAccepted.length} forged or unpaid callback${forgedAccepted.length > 1 ? 's' : ''}; your shop would ship orders nobody paid for.`;
  } else if (unclear.length > 0) {
    verdict = 'inconclusive';
    summary = `INCONCLUSIVE: ${unclear.length} answer${unclear.length > 1 ? 's' : ''} could not be read as accepted or refused (answer 4xx to refuse, or say "paid" / "not paid").`;
  } else if (genuineClass !== 'accepted') {
    verdict = 'inconclusive';
    summary = own
      ? 'INCONCLUSIVE: your handler refused every forgery, but also the genuine payment.'
      : 'INCONCLUSIVE: your handler refused every callback, including the genuine one for an order it had never seen.';
  } else {
    verdict = 'safe';
    summary = 'SAFE: your handler refused every forgery and accepted the genuine payment.';
  }
  return {
    callbackUrl: url,
    verdict,
    summary,
    order: { orderId, amount, currency, token: order.token, shopsOwn: own !== undefined },
    checks,
  };
}

/** The report as the CLI prints it (the dashboard renders the same fields as a table). */
export function formatDoctorReport(r: DoctorReport): string[] {
  const lines = [`wmx doctor: callback handler at ${r.callbackUrl}`];
  lines.push(
    r.order.shopsOwn
      ? `Order: ${r.order.orderId} (${r.order.amount} ${r.order.currency}), your shop's pending payment ${r.order.token}`
      : `Order: ${r.order.orderId} (${r.order.amount} ${r.order.currency}), made by the doctor: your shop had no pending payment for this callback URL`,
  );
  lines.push('');
  for (const c of r.checks) {
    const a = c.answer;
    const said =
      a.status === null
        ? (a.error ?? 'no answer')
        : `${a.status}${a.location ? ` -> ${a.location}` : ''} ${JSON.stringify(visibleText(a).replace(/\s+/g, ' ').trim().slice(0, 60))}`;
    lines.push(`  ${c.result.toUpperCase().padEnd(4)}  ${c.title}`);
    lines.push(`        gateway: ${c.truth}`);
    lines.push(`        handler: ${said} (${c.classified})`);
    if (c.fix) lines.push(`        fix: ${c.fix}`);
  }
  lines.push('', r.summary);
  return lines;
}
