import type { Schedule } from './model.ts';

/**
 * When the check-ins of a schedule are due, as UTC instants, for the
 * scheduler. Pure: the anchor is a calendar date (YYYY-MM-DD, e.g. the day of
 * surgery) and each check-in is `time` local wall-clock in `timezone` on
 * anchor + day, so 09:00 stays 09:00 across daylight-saving changes.
 */
export interface Occurrence {
  /** Days after the anchor. */
  day: number;
  /** Local calendar date of the check-in. */
  date: string;
  dueAt: Date;
  /** When to send the single reminder (absent when the schedule has none). */
  remindAt?: Date;
  /** After this the check-in is missed and must not be sent any more. */
  expiresAt?: Date;
}

export function occurrences(schedule: Schedule, anchorDate: string): Occurrence[] {
  const [hh = 0, mm = 0] = schedule.time.split(':').map(Number);
  return schedule.days.map((day) => {
    const date = addDays(anchorDate, day);
    const dueAt = zonedTimeToUtc(date, hh, mm, schedule.timezone);
    const o: Occurrence = { day, date, dueAt };
    if (schedule.reminderAfterHours !== undefined) o.remindAt = new Date(dueAt.getTime() + schedule.reminderAfterHours * 3_600_000);
    if (schedule.expireAfterHours !== undefined) o.expiresAt = new Date(dueAt.getTime() + schedule.expireAfterHours * 3_600_000);
    return o;
  });
}

function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T12:00:00Z`);
  if (Number.isNaN(d.getTime())) throw new RangeError(`anchor date "${isoDate}" is not YYYY-MM-DD`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const formats = new Map<string, Intl.DateTimeFormat>();
function offsetMinutes(instant: Date, timeZone: string): number {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']), Number(p['second']));
  return Math.round((asUtc - instant.getTime()) / 60_000);
}

/**
 * Local wall-clock time → UTC. Two passes settle DST edges; a time that does
 * not exist (spring forward gap) comes out one hour later, as clocks show it.
 */
export function zonedTimeToUtc(date: string, hour: number, minute: number, timeZone: string): Date {
  const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d, hour, minute);
  let guess = wall - offsetMinutes(new Date(wall), timeZone) * 60_000;
  guess = wall - offsetMinutes(new Date(guess), timeZone) * 60_000;
  return new Date(guess);
}
