import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTimeFormatter } from '../../src/domain/time.js';

describe('createTimeFormatter', () => {
  it('formats Dhaka time as YYYY-MM-DD HH:MM:SS (UTC+6)', () => {
    const f = createTimeFormatter('Asia/Dhaka');
    assert.equal(f(Date.UTC(2026, 10, 23, 19, 5, 9)), '2026-11-24 01:05:09');
  });

  it('agrees with Intl across a year, including DST changes and odd offsets', () => {
    for (const tz of ['Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
      const f = createTimeFormatter(tz);
      const ref = new Intl.DateTimeFormat('en-CA', {
        timeZone: tz,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      });
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 97 * 60_000 + 13_000) {
        const p: Record<string, string> = {};
        for (const x of ref.formatToParts(t)) p[x.type] = x.value;
        assert.equal(f(t), `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`, `${tz} at ${t}`);
      }
    }
  });
});
