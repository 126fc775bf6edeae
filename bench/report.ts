import type { Measurement } from './load.js';

/** Throughput targets as a share of hello-world (DESIGN.md); reported, never enforced. */
export const AIMS: Readonly<Record<string, number>> = {
  'init-payment-process': 0.4,
  'check-payment': 0.6,
};

/** Other processes using more than this many cores during a run disturbed it. */
export const DISTURBED_CORES = 0.3;

export interface RatioRow extends Measurement {
  /** req/s ÷ the hello-world baseline (null without a hello-world measurement). */
  ratio: number | null;
  aim: number | null;
  aimMet: boolean | null;
  /** A tagged row (`<endpoint> [tag]`, --pg): its req/s ÷ the untagged row's of the same run. */
  vsUntagged?: number | null;
}

/** The name of an endpoint measured in another setup: `check-payment [pg limits]`. */
export const tagged = (endpoint: string, tag: string): string => `${endpoint} [${tag}]`;

/** The endpoint and tag of a tagged row's name, or undefined for a plain row. */
export function untag(name: string): { endpoint: string; tag: string } | undefined {
  const m = /^(.*) \[(.+)\]$/.exec(name);
  return m ? { endpoint: m[1]!, tag: m[2]! } : undefined; // both groups always match
}

/**
 * The hello-world baseline: the mean of its measurements (the run measures it first and last, so
 * drift over the run shows up as two rows that disagree). Runs that other processes disturbed are
 * left out while an undisturbed one exists: one starved baseline would skew every ratio.
 */
export function baseline(ms: Measurement[]): number | null {
  const hello = ms.filter((m) => m.name.startsWith('hello-world') && m.reqPerSec > 0);
  const clean = hello.filter((m) => (m.cpu.other ?? 0) <= DISTURBED_CORES);
  const used = clean.length > 0 ? clean : hello;
  return used.length === 0 ? null : used.reduce((s, m) => s + m.reqPerSec, 0) / used.length;
}

export function ratioRows(ms: Measurement[]): RatioRow[] {
  const base = baseline(ms);
  return ms.map((m) => {
    const ratio = base === null ? null : m.reqPerSec / base;
    const aim = AIMS[m.name] ?? null;
    const row: RatioRow = { ...m, ratio, aim, aimMet: aim === null || ratio === null ? null : ratio >= aim };
    const t = untag(m.name);
    if (t) {
      const plain = ms.find((x) => x.name === t.endpoint);
      row.vsUntagged = plain && plain.reqPerSec > 0 ? m.reqPerSec / plain.reqPerSec : null;
    }
    return row;
  });
}

/**
 * What the tagged rows (--pg) say against the plain rows of the same run: the shared limits
 * against no limits, several instances (their summed req/s) against one. Empty without them.
 */
export function sharedRowsSummary(rows: RatioRow[], cores: number): string[] {
  const variants = rows.filter((r) => untag(r.name));
  if (variants.length === 0) return [];
  const width = Math.max(...variants.map((r) => r.name.length));
  const out = ['tagged rows against the plain row of the same endpoint in this run:'];
  for (const r of variants) {
    const { endpoint, tag } = untag(r.name)!; // filtered above
    const plain = rows.find((x) => x.name === endpoint);
    const several = /^\d+ instances$/.test(tag);
    const vs = r.vsUntagged === null || r.vsUntagged === undefined ? '-' : r.vsUntagged.toFixed(2);
    out.push(
      `  ${r.name.padEnd(width)}  ${num(r.reqPerSec, 0).padStart(7)} req/s${several ? ' (all instances)' : ''} = ` +
        `${r.ratio === null ? '-' : r.ratio.toFixed(2)} × hello-world, ${vs} × ${endpoint} ` +
        `${several ? 'on one instance' : 'without limits'}; cpu µs/req ${cpuPerRequest(r)} against ` +
        `${plain ? cpuPerRequest(plain) : '-'}`,
    );
  }
  if (variants.some((r) => /limits$/.test(untag(r.name)!.tag)))
    out.push(
      'limits rows: per-merchant init and check limits on, shared by all instances, set far above these rates ' +
        'so that nothing is refused: an instance takes tokens from the shared bucket a few at a time, so most ' +
        'requests are admitted without asking the store; the rows measure that path, not refusals.',
    );
  const multi = variants.find((r) => /^\d+ instances$/.test(untag(r.name)!.tag));
  if (multi) {
    const n = Number(/^(\d+)/.exec(untag(multi.name)!.tag)![1]); // matched just above
    out.push(
      `instances rows: ${n} gateway processes on one PostgreSQL database (limits off, as in the plain rows), ` +
        'the connections spread over them in turn; every answer was checked as for one instance. ' +
        (cores < n + 2
          ? `On this ${cores}-core machine the ${n} instances, PostgreSQL and the load generator compete for ` +
            `${cores} cores, so these rows show that the shared setup works and what it costs, not how it scales.`
          : `With ${cores} cores there is room for each instance, but the load generator is one process and may ` +
            'set the pace: compare the cpu columns before reading scaling into the figure.'),
    );
  }
  return out;
}

export function formatTable(rows: RatioRow[]): string {
  const header = [
    'endpoint',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'non-2xx',
    'bad body',
    'cpu srv/db/gen/other',
    'cpu µs/req',
    'ratio',
    'aim',
    'vs aim',
  ];
  const body = rows.map((r) => [
    r.name,
    num(r.reqPerSec, 0),
    num(r.latencyMs.p50, 0),
    num(r.latencyMs.p99, 0),
    String(r.errors),
    String(r.non2xx),
    String(r.badBodies),
    [r.cpu.server, r.cpu.database, r.cpu.client, r.cpu.other].map((c) => (c === null ? '-' : c.toFixed(2))).join('/'),
    cpuPerRequest(r),
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.aim === null ? '' : `≥ ${r.aim.toFixed(2)}`,
    r.aimMet === null ? '' : r.aimMet ? 'met' : 'below aim',
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length))); // rows are as wide as the header
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 || i >= 10 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    widths
      .map((w) => '-'.repeat(w))
      .join('  ')
      .trimEnd(),
    ...body.map(line),
  ].join('\n');
}

/**
 * Server CPU per answered request (gateway process + its database server), in microseconds: less
 * at the mercy of the shared cores than req/s, so the better figure to compare changes with.
 */
export function cpuPerRequest(r: Measurement): string {
  if (r.cpu.server === null || r.reqPerSec <= 0) return '-';
  return num(((r.cpu.server + (r.cpu.database ?? 0)) / r.reqPerSec) * 1e6, 0);
}

const num = (n: number, digits: number) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Plain-language warnings about what limited or disturbed the figures. */
export function caveats(rows: RatioRow[]): string[] {
  const out: string[] = [];
  const disturbed = rows.filter((r) => r.cpu.other !== null && r.cpu.other > DISTURBED_CORES);
  if (disturbed.length > 0) {
    const worst = Math.max(...disturbed.map((r) => r.cpu.other!)); // filtered to non-null above
    out.push(
      `other processes used up to ${worst.toFixed(2)} cores during ${disturbed.map((r) => r.name).join(', ')}: ` +
        'those figures are disturbed; rerun on a quiet machine.',
    );
  }
  for (const r of rows.filter((x) => x.name.startsWith('hello-world'))) {
    if (r.cpu.server !== null && r.cpu.client !== null && r.cpu.server < 0.85 && r.cpu.client > r.cpu.server) {
      out.push(
        `${r.name}: the server used ${r.cpu.server.toFixed(2)} cores and autocannon ${r.cpu.client.toFixed(2)}: ` +
          'the load generator set the pace, so the baseline understates Fastify and the ratios overstate the gateway.',
      );
    }
  }
  return out;
}
