import { describe, expect, it } from 'vitest';
import { decideDue, isQuiet, localTime, outOfQuietHours, planCheckins, type DueContext, type DueRow, type SiblingRow } from '../../../core/scheduling.ts';
import { shippedFlow } from '../helpers.ts';

const at = (iso: string) => new Date(iso);
const berlin = 'Europe/Berlin';

describe('quiet hours (default 21:00–08:00 patient-local)', () => {
  it('moves a time inside the quiet hours to their end and leaves others alone', () => {
    // 22:30 CET → 08:00 CET next morning
    expect(outOfQuietHours(at('2026-01-10T21:30:00Z'), berlin).toISOString()).toBe('2026-01-11T07:00:00.000Z');
    // 06:00 CET → 08:00 the same morning
    expect(outOfQuietHours(at('2026-01-10T05:00:00Z'), berlin).toISOString()).toBe('2026-01-10T07:00:00.000Z');
    // exactly 21:00 is quiet, 08:00 is not, 20:59 is not
    expect(isQuiet(at('2026-01-10T20:00:00Z'), berlin)).toBe(true);
    expect(isQuiet(at('2026-01-10T07:00:00Z'), berlin)).toBe(false);
    expect(isQuiet(at('2026-01-10T19:59:00Z'), berlin)).toBe(false);
    const noon = at('2026-01-10T11:00:00Z');
    expect(outOfQuietHours(noon, berlin)).toBe(noon);
  });

  it('uses the given zone and a configurable period, including one that does not cross midnight', () => {
    // 23:00 in Istanbul (UTC+3) is 20:00Z; quiet → 08:00 Istanbul = 05:00Z next day
    expect(outOfQuietHours(at('2026-06-01T20:00:00Z'), 'Europe/Istanbul').toISOString()).toBe('2026-06-02T05:00:00.000Z');
    const lunch = { start: '12:00', end: '13:30' };
    expect(outOfQuietHours(at('2026-06-01T12:15:00Z'), 'UTC', lunch).toISOString()).toBe('2026-06-01T13:30:00.000Z');
    expect(isQuiet(at('2026-06-01T13:30:00Z'), 'UTC', lunch)).toBe(false);
    expect(isQuiet(at('2026-06-01T03:00:00Z'), 'UTC', { start: '08:00', end: '08:00' })).toBe(false);
    expect(() => isQuiet(at('2026-06-01T03:00:00Z'), 'UTC', { start: '25:00', end: '08:00' })).toThrow(RangeError);
  });

  it('ends the quiet period at 08:00 local on the daylight-saving change days', () => {
    // Night into 2026-03-29 (spring forward): 23:00 CET → 08:00 CEST = 06:00Z
    expect(outOfQuietHours(at('2026-03-28T22:00:00Z'), berlin).toISOString()).toBe('2026-03-29T06:00:00.000Z');
    // Night into 2026-10-25 (fall back): 23:00 CEST → 08:00 CET = 07:00Z
    expect(outOfQuietHours(at('2026-10-24T21:00:00Z'), berlin).toISOString()).toBe('2026-10-25T07:00:00.000Z');
  });
});

describe('planCheckins', () => {
  const nineDaily = { anchor: 'surgery', days: [0, 1, 2], time: '09:00', timezone: berlin, reminderAfterHours: 3, expireAfterHours: 12 };

  it('keeps 09:00 local on the DST transition days in Europe/Berlin (2026-03-29, 2026-10-25)', () => {
    const spring = planCheckins(nineDaily, '2026-03-28', berlin);
    expect(spring.map((p) => p.dueAt.toISOString())).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z']);
    const autumn = planCheckins(nineDaily, '2026-10-24', berlin);
    expect(autumn.map((p) => p.dueAt.toISOString())).toEqual(['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z', '2026-10-26T08:00:00.000Z']);
    for (const p of [...spring, ...autumn]) expect(localTime(p.dueAt, berlin).minutes).toBe(9 * 60);
    // The reminder is 3 elapsed hours later (12:00 local on both days), expiry 12 hours.
    expect(spring[1]).toEqual({ day: 1, dueAt: at('2026-03-29T07:00:00Z'), remindAt: at('2026-03-29T10:00:00Z'), expiresAt: at('2026-03-29T19:00:00Z') });
    expect(autumn[1]).toEqual({ day: 1, dueAt: at('2026-10-25T08:00:00Z'), remindAt: at('2026-10-25T11:00:00Z'), expiresAt: at('2026-10-25T20:00:00Z') });
  });

  it("uses the patient's time zone over the flow's", () => {
    const [first] = planCheckins(nineDaily, '2026-01-10', 'Europe/Istanbul');
    expect(first?.dueAt.toISOString()).toBe('2026-01-10T06:00:00.000Z'); // 09:00 in Istanbul (UTC+3)
    const [ny] = planCheckins(nineDaily, '2026-01-10', 'America/New_York');
    expect(ny?.dueAt.toISOString()).toBe('2026-01-10T14:00:00.000Z');
  });

  it('moves a check-in due in quiet hours to 08:00, keeps reminder and expiry relative, and drops a reminder that cannot fit', () => {
    const late = { anchor: 'x', days: [1], time: '22:00', timezone: berlin, reminderAfterHours: 2, expireAfterHours: 6 };
    expect(planCheckins(late, '2026-01-10', berlin)).toEqual([
      { day: 1, dueAt: at('2026-01-12T07:00:00Z'), remindAt: at('2026-01-12T09:00:00Z'), expiresAt: at('2026-01-12T13:00:00Z') },
    ]);
    // Due 19:00, reminder at 23:00 would be quiet → 08:00 next day, after the expiry at 07:00 next day → no reminder.
    const evening = { anchor: 'x', days: [0], time: '19:00', timezone: berlin, reminderAfterHours: 4, expireAfterHours: 12 };
    expect(planCheckins(evening, '2026-01-10', berlin)[0]).toEqual({
      day: 0,
      dueAt: at('2026-01-10T18:00:00Z'),
      remindAt: null,
      expiresAt: at('2026-01-11T06:00:00Z'),
    });
    // Due 18:00, reminder at 22:00 → 08:00, before the expiry at 18:00 next day → kept at 08:00.
    const long = { ...evening, time: '18:00', expireAfterHours: 24 };
    expect(planCheckins(long, '2026-01-10', berlin)[0]?.remindAt?.toISOString()).toBe('2026-01-11T07:00:00.000Z');
  });

  it('plans the shipped post-op flow without reminder or expiry gaps', () => {
    const schedule = shippedFlow('post-op').schedule;
    if (!schedule) return expect.fail('post-op has a schedule');
    const plan = planCheckins(schedule, '2026-01-10', berlin);
    expect(plan.map((p) => p.day)).toEqual(schedule.days);
    for (const p of plan) {
      expect(p.remindAt).not.toBeNull();
      expect(p.expiresAt).not.toBeNull();
      expect(isQuiet(p.dueAt, berlin)).toBe(false);
    }
  });
});

describe('decideDue (overdue selection, patient state)', () => {
  const ctx = (now: string, extra: Partial<DueContext> = {}): DueContext => ({
    now: at(now),
    enrollmentActive: true,
    monitoring: 'active',
    consent: 'given',
    hasRoom: true,
    flowDeployed: true,
    timeZone: berlin,
    ...extra,
  });
  const row = (id: string, due: string, expires: string | null, remind: string | null = null): DueRow & SiblingRow => ({
    id,
    dueAt: at(due),
    remindAt: remind ? at(remind) : null,
    expiresAt: expires ? at(expires) : null,
    status: 'pending',
  });

  it('starts a due row', () => {
    const r = row('a', '2026-01-11T08:00:00Z', '2026-01-11T20:00:00Z');
    expect(decideDue(r, [r], ctx('2026-01-11T08:00:30Z'))).toEqual({ action: 'start' });
  });

  it('after downtime starts only the newest still valid occurrence: no flood', () => {
    // Down for three days: days 1 and 2 expired, day 3 valid, so only day 3 starts.
    const d1 = row('d1', '2026-01-11T08:00:00Z', '2026-01-11T20:00:00Z');
    const d2 = row('d2', '2026-01-12T08:00:00Z', '2026-01-12T20:00:00Z');
    const d3 = row('d3', '2026-01-13T08:00:00Z', '2026-01-13T20:00:00Z');
    const later = row('d5', '2026-01-15T08:00:00Z', '2026-01-15T20:00:00Z');
    const all = [d1, d2, d3, later];
    const now = ctx('2026-01-13T10:00:00Z');
    expect(decideDue(d1, all, now)).toEqual({ action: 'skip', reason: 'expired' });
    expect(decideDue(d2, all, now)).toEqual({ action: 'skip', reason: 'expired' });
    expect(decideDue(d3, all, now)).toEqual({ action: 'start' });
  });

  it('without expiry, older overdue occurrences are skipped for the newest due one', () => {
    const d1 = row('d1', '2026-01-11T08:00:00Z', null);
    const d2 = row('d2', '2026-01-12T08:00:00Z', null);
    const now = ctx('2026-01-12T09:00:00Z');
    expect(decideDue(d1, [d1, d2], now)).toEqual({ action: 'skip', reason: 'newer_due' });
    expect(decideDue(d2, [d1, d2], now)).toEqual({ action: 'start' });
    // A newer row already started by another instance also wins; a newer expired or cancelled one does not.
    expect(decideDue(d1, [d1, { ...d2, status: 'started' }], now)).toEqual({ action: 'skip', reason: 'newer_due' });
    expect(decideDue(d1, [d1, { ...d2, status: 'cancelled' }], now)).toEqual({ action: 'start' });
    const d2expired = { ...row('d2', '2026-01-12T08:00:00Z', '2026-01-12T08:30:00Z') };
    expect(decideDue(d1, [d1, d2expired], now)).toEqual({ action: 'start' });
  });

  it('cancels for stopped monitoring, refused or withdrawn consent and ended enrollments; skips without room or flow', () => {
    const r = row('a', '2026-01-11T08:00:00Z', '2026-01-11T20:00:00Z');
    const now = '2026-01-11T08:01:00Z';
    expect(decideDue(r, [r], ctx(now, { monitoring: 'stopped' }))).toEqual({ action: 'cancel', reason: 'monitoring_stopped' });
    expect(decideDue(r, [r], ctx(now, { consent: 'refused' }))).toEqual({ action: 'cancel', reason: 'consent_refused' });
    expect(decideDue(r, [r], ctx(now, { consent: 'withdrawn' }))).toEqual({ action: 'cancel', reason: 'consent_withdrawn' });
    expect(decideDue(r, [r], ctx(now, { enrollmentActive: false }))).toEqual({ action: 'cancel', reason: 'enrollment_ended' });
    expect(decideDue(r, [r], ctx(now, { hasRoom: false }))).toEqual({ action: 'skip', reason: 'no_room' });
    expect(decideDue(r, [r], ctx(now, { flowDeployed: false }))).toEqual({ action: 'skip', reason: 'unknown_flow' });
    // Not yet asked for consent: the check-in starts (it asks for consent first).
    expect(decideDue(r, [r], ctx(now, { consent: 'none' }))).toEqual({ action: 'start' });
  });

  it('during quiet hours (after downtime) postpones to their end, or skips when that is past the expiry', () => {
    const r = row('a', '2026-01-11T08:00:00Z', '2026-01-12T08:00:00Z', '2026-01-11T11:00:00Z');
    // 22:00 local on the 11th: postpone to 08:00 local on the 12th (07:00Z), reminder shifted by as much → after expiry → dropped.
    expect(decideDue(r, [r], ctx('2026-01-11T21:00:00Z'))).toEqual({ action: 'postpone', dueAt: at('2026-01-12T07:00:00Z'), remindAt: null });
    const noExpiry = row('b', '2026-01-11T08:00:00Z', null, '2026-01-11T11:00:00Z');
    expect(decideDue(noExpiry, [noExpiry], ctx('2026-01-11T21:00:00Z'))).toEqual({
      action: 'postpone',
      dueAt: at('2026-01-12T07:00:00Z'),
      remindAt: at('2026-01-12T10:00:00Z'),
    });
    const short = row('c', '2026-01-11T08:00:00Z', '2026-01-11T23:00:00Z');
    expect(decideDue(short, [short], ctx('2026-01-11T21:00:00Z'))).toEqual({ action: 'skip', reason: 'expired' });
  });
});
