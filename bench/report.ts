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
    return { ...m, ratio, aim, aimMet: aim === null || ratio === null ? null : ratio >= aim };
  });
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
