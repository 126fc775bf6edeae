/**
 * Calendar days in the gateway's time zone (settlement batches are per merchant and local day).
 * Pure: only the Intl global, no node:* import.
 */
import { zoneOffset } from './time.js';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** True for a real calendar date written YYYY-MM-DD. */
export function isIsoDate(text: string): boolean {
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}

/** Offset (local wall clock − UTC, in ms) of `timeZone` at an instant. */
const offsetAt = (timeZone: string, epochMs: number): number => zoneOffset(timeZone)(epochMs);

/** The local date (YYYY-MM-DD) of an instant in `timeZone`. */
export function dateInZone(epochMs: number, timeZone: string): string {
  return new Date(epochMs + offsetAt(timeZone, epochMs)).toISOString().slice(0, 10);
}

/** The date `days` after (or before, when negative) a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Local midnight of `date` in `timeZone`, as epoch ms (correct across offset changes). */
function startOfDay(date: string, timeZone: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Two rounds settle the offset even when midnight is near a daylight-saving change.
  let t = wall - offsetAt(timeZone, wall);
  t = wall - offsetAt(timeZone, t);
  return t;
}

/** [start, end) in epoch ms of a local day: the window settlement sums over. */
export function dayBounds(date: string, timeZone: string): { start: number; end: number } {
  return { start: startOfDay(date, timeZone), end: startOfDay(addDays(date, 1), timeZone) };
}
