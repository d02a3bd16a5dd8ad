import type { Schedule } from './flow/model.ts';
import { occurrences, zonedTimeToUtc } from './flow/schedule.ts';

/**
 * The pure decisions of scheduling (docs/scheduling.md): when the check-ins of
 * an enrollment are due (patient time zone, DST, quiet hours) and what the
 * scheduler does with a due row. The database shell (db/schedule.ts) and the
 * scheduler (server/scheduler.ts) only load and store.
 */

/** Local wall-clock times "HH:MM". A period with start > end runs over midnight (the default). */
export interface QuietHours {
  start: string;
  end: string;
}

/** Nothing is sent to a patient from 21:00 to 08:00 in their own time zone. */
export const DEFAULT_QUIET_HOURS: QuietHours = { start: '21:00', end: '08:00' };

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutesOf(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  if (!m) throw new RangeError(`"${hhmm}" is not a time HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date and minute of the day of an instant in a time zone. */
export function localTime(instant: Date, timeZone: string): { date: string; minutes: number } {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    formats.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(instant)) p[part.type] = part.value;
  return { date: `${p['year']}-${p['month']}-${p['day']}`, minutes: Number(p['hour']) * 60 + Number(p['minute']) };
}

function nextDate(isoDate: string): string {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export function isQuiet(instant: Date, timeZone: string, quiet: QuietHours = DEFAULT_QUIET_HOURS): boolean {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return false;
  const { minutes } = localTime(instant, timeZone);
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

/**
 * An instant inside the quiet hours moves to their end (local wall-clock, the
 * same night's morning); any other instant stays. E.g. 22:30 → 08:00 the next
 * day, 06:00 → 08:00 the same day.
 */
export function outOfQuietHours(instant: Date, timeZone: string, quiet: QuietHours = DEFAULT_QUIET_HOURS): Date {
  if (!isQuiet(instant, timeZone, quiet)) return instant;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const local = localTime(instant, timeZone);
  // Over midnight and before it: the quiet period ends tomorrow morning.
  const endDate = start > end && local.minutes >= start ? nextDate(local.date) : local.date;
  return zonedTimeToUtc(endDate, Math.floor(end / 60), end % 60, timeZone);
}

export interface PlannedCheckin {
  day: number;
  dueAt: Date;
  remindAt: Date | null;
  expiresAt: Date | null;
}

/**
 * The check-ins of an enrollment: the flow's schedule at local time in the
 * patient's time zone (which wins over the flow's), each due time moved out of
 * the quiet hours. Reminder and expiry keep their distance to the (moved) due
 * time; a reminder that falls into quiet hours moves to their end, and is
 * dropped when that is not before the expiry.
 */
export function planCheckins(schedule: Schedule, anchorDate: string, timeZone: string, quiet: QuietHours = DEFAULT_QUIET_HOURS): PlannedCheckin[] {
  const zone = timeZone || schedule.timezone;
  return occurrences({ ...schedule, timezone: zone }, anchorDate).map((o) => {
    const dueAt = outOfQuietHours(o.dueAt, zone, quiet);
    const expiresAt = schedule.expireAfterHours !== undefined ? new Date(dueAt.getTime() + schedule.expireAfterHours * 3_600_000) : null;
    let remindAt =
      schedule.reminderAfterHours !== undefined ? outOfQuietHours(new Date(dueAt.getTime() + schedule.reminderAfterHours * 3_600_000), zone, quiet) : null;
    if (remindAt && expiresAt && remindAt.getTime() >= expiresAt.getTime()) remindAt = null;
    return { day: o.day, dueAt, remindAt, expiresAt };
  });
}

/** A due scheduled row as the scheduler sees it. */
export interface DueRow {
  id: string;
  dueAt: Date;
  remindAt: Date | null;
  expiresAt: Date | null;
}

/** The other rows of the same enrollment that are due by now (any status). */
export interface SiblingRow {
  id: string;
  dueAt: Date;
  expiresAt: Date | null;
  status: 'pending' | 'started' | 'skipped' | 'cancelled';
}

export interface DueContext {
  now: Date;
  enrollmentActive: boolean;
  monitoring: 'active' | 'paused' | 'stopped';
  consent: 'none' | 'asked' | 'given' | 'refused' | 'withdrawn';
  hasRoom: boolean;
  flowDeployed: boolean;
  timeZone: string;
  quiet?: QuietHours;
}

export type DueDecision =
  | { action: 'start' }
  | { action: 'skip'; reason: 'expired' | 'newer_due' | 'no_room' | 'unknown_flow' | 'paused' }
  | { action: 'cancel'; reason: 'enrollment_ended' | 'monitoring_stopped' | 'consent_refused' | 'consent_withdrawn' }
  /** Quiet hours now (after downtime): due again at their end, reminder moved by as much. */
  | { action: 'postpone'; dueAt: Date; remindAt: Date | null };

const expired = (row: { expiresAt: Date | null }, now: Date) => row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime();

/**
 * What to do with a due pending row. After downtime several occurrences of one
 * enrollment can be due at once: only the newest still valid one starts, older
 * ones are skipped (`newer_due`), rows past their expiry are skipped
 * (`expired`) — never a flood of stale check-ins. A newer row counts when it
 * is pending and not expired, or already started (by another instance).
 */
export function decideDue(row: DueRow, siblings: readonly SiblingRow[], ctx: DueContext): DueDecision {
  if (!ctx.enrollmentActive) return { action: 'cancel', reason: 'enrollment_ended' };
  if (ctx.monitoring === 'stopped') return { action: 'cancel', reason: 'monitoring_stopped' };
  if (ctx.consent === 'refused') return { action: 'cancel', reason: 'consent_refused' };
  if (ctx.consent === 'withdrawn') return { action: 'cancel', reason: 'consent_withdrawn' };
  if (ctx.monitoring === 'paused') return { action: 'skip', reason: 'paused' };
  if (expired(row, ctx.now)) return { action: 'skip', reason: 'expired' };
  const newer = siblings.some(
    (s) =>
      s.id !== row.id &&
      s.dueAt.getTime() > row.dueAt.getTime() &&
      s.dueAt.getTime() <= ctx.now.getTime() &&
      (s.status === 'started' || (s.status === 'pending' && !expired(s, ctx.now))),
  );
  if (newer) return { action: 'skip', reason: 'newer_due' };
  if (!ctx.flowDeployed) return { action: 'skip', reason: 'unknown_flow' };
  if (!ctx.hasRoom) return { action: 'skip', reason: 'no_room' };
  const quiet = ctx.quiet ?? DEFAULT_QUIET_HOURS;
  if (isQuiet(ctx.now, ctx.timeZone, quiet)) {
    const dueAt = outOfQuietHours(ctx.now, ctx.timeZone, quiet);
    if (row.expiresAt && dueAt.getTime() >= row.expiresAt.getTime()) return { action: 'skip', reason: 'expired' };
    const shift = dueAt.getTime() - row.dueAt.getTime();
    let remindAt = row.remindAt ? new Date(row.remindAt.getTime() + shift) : null;
    if (remindAt && row.expiresAt && remindAt.getTime() >= row.expiresAt.getTime()) remindAt = null;
    return { action: 'postpone', dueAt, remindAt };
  }
  return { action: 'start' };
}
