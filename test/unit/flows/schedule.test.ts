import { describe, expect, it } from 'vitest';
import { occurrences, zonedTimeToUtc } from '../../../core/flow/schedule.ts';
import { shippedFlow } from '../helpers.ts';

describe('schedule occurrences', () => {
  it('turns days after the anchor at local time into UTC instants with reminder and expiry', () => {
    const schedule = shippedFlow('post-op').schedule;
    if (!schedule) return expect.fail('post-op has a schedule');
    const list = occurrences(schedule, '2026-01-10');
    expect(list.map((o) => o.date)).toEqual(['2026-01-11', '2026-01-12', '2026-01-13', '2026-01-15', '2026-01-17', '2026-01-24']);
    expect(list[0]).toEqual({
      day: 1,
      date: '2026-01-11',
      dueAt: new Date('2026-01-11T08:00:00Z'), // 09:00 CET
      remindAt: new Date('2026-01-11T11:00:00Z'),
      expiresAt: new Date('2026-01-11T20:00:00Z'),
    });
  });

  it('keeps 09:00 local across the daylight-saving change', () => {
    const schedule = { anchor: 'surgery', days: [0, 1], time: '09:00', timezone: 'Europe/Berlin' };
    const [before, after] = occurrences(schedule, '2026-03-28');
    expect(before?.dueAt.toISOString()).toBe('2026-03-28T08:00:00.000Z'); // CET, UTC+1
    expect(after?.dueAt.toISOString()).toBe('2026-03-29T07:00:00.000Z'); // CEST, UTC+2
  });

  it('handles a time inside the spring-forward gap and other zones', () => {
    expect(zonedTimeToUtc('2026-03-29', 2, 30, 'Europe/Berlin').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(zonedTimeToUtc('2026-07-01', 9, 0, 'UTC').toISOString()).toBe('2026-07-01T09:00:00.000Z');
    expect(() => occurrences({ anchor: 'x', days: [1], time: '09:00', timezone: 'UTC' }, 'not-a-date')).toThrow(RangeError);
  });
});
