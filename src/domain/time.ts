/** Formats epoch milliseconds as "YYYY-MM-DD HH:MM:SS" in an IANA time zone. */
export function createTimeFormatter(timeZone: string): (epochMs: number) => string {
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
  return (epochMs) => {
    const p: Record<string, string> = {};
    for (const part of fmt.formatToParts(epochMs)) p[part.type] = part.value;
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  };
}
