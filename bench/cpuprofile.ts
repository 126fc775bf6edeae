// Summarises a V8 .cpuprofile (node --cpu-prof): where the busy time went, by function (self and
// inclusive) and by module. Used by bench/profile.ts; also runs on its own:
//   node --import tsx bench/cpuprofile.ts FILE.cpuprofile [--top N]
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Cost {
  name: string;
  /** Milliseconds spent in the function itself (or, for a module, in its functions). */
  selfMs: number;
  /** Milliseconds with the function anywhere on the stack (functions only). */
  totalMs: number;
}

export interface ProfileSummary {
  wallMs: number;
  /** Time not idle: the base of every percentage. */
  busyMs: number;
  functions: Cost[];
  modules: Cost[];
}

const IDLE = '(idle)';

/** "node_modules/<pkg>", "node:internal/<area>", "gateway <file>", or a V8 pseudo-frame such as (garbage collector). */
export function moduleOf(f: CallFrame): string {
  const url = f.url;
  if (url === '') return f.functionName.startsWith('(') ? f.functionName : '(native builtins)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm ${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    return `node:${parts.slice(0, parts[0] === 'internal' && parts.length > 2 ? 2 : 1).join('/')}`;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `gateway ${url.slice(dist + 1)}`;
  return url.replace(/^file:\/\//, '');
}

function location(f: CallFrame): string {
  if (f.url === '') return '';
  const nm = f.url.lastIndexOf('/node_modules/');
  const dist = f.url.lastIndexOf('/dist/');
  const short = nm >= 0 ? f.url.slice(nm + 1) : dist >= 0 ? f.url.slice(dist + 1) : f.url.replace(/^file:\/\//, '');
  return `${short}:${f.lineNumber + 1}`;
}

const functionKey = (f: CallFrame): string =>
  `${f.functionName || '(anonymous)'}${f.url === '' ? '' : ` ${location(f)}`}`;

export function summarise(p: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Sample i lasts until sample i+1 (as Chrome DevTools counts it); the last one gets the mean.
  const deltas = p.timeDeltas;
  const meanDelta = deltas.length > 0 ? deltas.reduce((a, b) => a + b, 0) / deltas.length : 0;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const us = i + 1 < deltas.length ? deltas[i + 1]! : meanDelta; // index checked
    const node = byId.get(p.samples[i]!); // samples and timeDeltas have the same length
    if (!node) continue;
    if (node.callFrame.functionName === IDLE) continue;
    busyUs += us;
    const key = functionKey(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    const mod = moduleOf(node.callFrame);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!; // ids come from the profile's own tree
      const k = functionKey(n.callFrame);
      if (seen.has(k)) continue; // recursion counts once
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  const functions = [...new Set([...self.keys(), ...total.keys()])]
    .filter((k) => k !== '(root)')
    .map((name) => ({ name, selfMs: (self.get(name) ?? 0) / 1000, totalMs: (total.get(name) ?? 0) / 1000 }));
  return {
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busyUs / 1000,
    functions,
    modules: [...modules].map(([name, us]) => ({ name, selfMs: us / 1000, totalMs: us / 1000 })),
  };
}

/** A text report: busy share, top modules, top self-time functions, top inclusive gateway functions. */
export function formatSummary(s: ProfileSummary, top = 20): string {
  const pct = (ms: number) => `${((100 * ms) / (s.busyMs || 1)).toFixed(1).padStart(5)}%`;
  const out: string[] = [
    `wall ${(s.wallMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s ` +
      `(${((100 * s.busyMs) / (s.wallMs || 1)).toFixed(0)}% of one core); percentages are of busy time`,
    '',
    'self time by module:',
  ];
  for (const m of [...s.modules].sort((a, b) => b.selfMs - a.selfMs).slice(0, 12)) {
    out.push(`  ${pct(m.selfMs)}  ${m.name}`);
  }
  out.push('', `top ${top} functions by self time:`);
  for (const f of [...s.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) {
    out.push(`  ${pct(f.selfMs)}  ${f.name}`);
  }
  out.push('', `top ${top} gateway functions by inclusive time (self + callees):`);
  const gateway = s.functions.filter((f) => / dist\//.test(f.name));
  for (const f of gateway.sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) {
    out.push(`  ${pct(f.totalMs)}  ${f.name}`);
  }
  return out.join('\n');
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile; // a file V8 wrote
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 20;
  const files = args.filter((a, i) => a !== '--top' && (topAt < 0 || i !== topAt + 1));
  if (files.length === 0 || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: node --import tsx bench/cpuprofile.ts FILE.cpuprofile… [--top N]\n');
    process.exit(2);
  }
  for (const f of files) process.stdout.write(`== ${f}\n${formatSummary(summarise(readProfile(f)), top)}\n\n`);
}
