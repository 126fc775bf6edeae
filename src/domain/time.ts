/**
 * The offset (local wall clock − UTC, in ms) of an IANA time zone at an instant. Intl is asked once
 * per quarter hour of time (every real zone changes offset on such a boundary); the answers are
 * cached per zone, because Intl's formatToParts on every call showed up in the hot path.
 */
const offsetFns = new Map<string, (epochMs: number) => number>();

export function zoneOffset(timeZone: string): (epochMs: number) => number {
  const known = offsetFns.get(timeZone);
  if (known) return known;
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const QUARTER = 15 * 60_000;
  const offsets = new Map<number, number>();
  const offsetAt = (epochMs: number): number => {
    const bucket = Math.floor(epochMs / QUARTER);
    let off = offsets.get(bucket);
    if (off === undefined) {
      const at = bucket * QUARTER;
      const p: Record<string, string> = {};
      for (const part of fmt.formatToParts(at)) p[part.type] = part.value;
      const wall = Date.UTC(
        Number(p.year),
        Number(p.month) - 1,
        Number(p.day),
        Number(p.hour),
        Number(p.minute),
        Number(p.second),
      );
      off = wall - at;
      if (offsets.size > 10_000) offsets.clear();
      offsets.set(bucket, off);
    }
    return off;
  };
  offsetFns.set(timeZone, offsetAt);
  return offsetAt;
}

/** Formats epoch milliseconds as "YYYY-MM-DD HH:MM:SS" in an IANA time zone. */
export function createTimeFormatter(timeZone: string): (epochMs: number) => string {
  const offsetAt = zoneOffset(timeZone);
  return (epochMs) => new Date(epochMs + offsetAt(epochMs)).toISOString().slice(0, 19).replace('T', ' ');
}
