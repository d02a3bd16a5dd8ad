/**
 * FHIR search `date` values: `[prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]](Z|±hh:mm)]]]`.
 * A value stands for the range its precision covers (a year, a month, a day,
 * a minute, a second); the prefixes compare against that range. Impossible
 * calendar values (month 13, February 30, hour 25, offset +99:99, year 0) are
 * errors, never dates JavaScript would quietly roll over or Postgres refuse.
 */
export const DATE_PREFIXES = ['eq', 'ge', 'gt', 'le', 'lt'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];

export interface DateRange {
  prefix: DatePrefix;
  /** Inclusive start. */
  from: Date;
  /** Exclusive end. */
  to: Date;
}

const SYNTAX = /^([a-z]{2})?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

export const FHIR_DATE_HELP = 'expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss](Z|+hh:mm)]]] with prefix eq, ge, gt, le or lt, e.g. ge2026-12-01';

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (year: number, month: number) => [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;

/** Milliseconds since the epoch of a UTC calendar time; years below 100 stay what they are. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** The end of 9999: later instants have no four-digit ISO form (JavaScript writes +010000-…, Postgres refuses it). */
const LAST = utc(9999, 12, 31, 23, 59, 59, 999);
const range = (prefix: DatePrefix, from: number, to: number): DateRange => ({ prefix, from: new Date(from), to: new Date(Math.min(to, LAST)) });

/** The range of a FHIR date search value, or the reason it is not one. */
export function parseFhirDate(value: string): DateRange | { error: string } {
  const m = SYNTAX.exec(value);
  if (!m) return { error: FHIR_DATE_HELP };
  const [, rawPrefix, y, mo, d, h, mi, s, frac, zone] = m;
  if (rawPrefix !== undefined && !(DATE_PREFIXES as readonly string[]).includes(rawPrefix))
    return { error: `prefix "${rawPrefix}" is not supported; use eq, ge, gt, le or lt` };
  const prefix = (rawPrefix ?? 'eq') as DatePrefix;
  const year = Number(y);
  if (year < 1) return { error: 'year must be 0001 or later' };
  const month = mo === undefined ? undefined : Number(mo);
  if (month !== undefined && (month < 1 || month > 12)) return { error: `month ${mo} does not exist` };
  const day = d === undefined ? undefined : Number(d);
  if (day !== undefined && (day < 1 || day > daysIn(year, month!))) return { error: `day ${d} does not exist in ${y}-${mo}` };
  if (month === undefined) return range(prefix, utc(year, 1, 1), utc(year + 1, 1, 1));
  if (day === undefined) return range(prefix, utc(year, month, 1), utc(year, month + 1, 1));
  if (h === undefined) return range(prefix, utc(year, month, day), utc(year, month, day + 1));
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23) return { error: `hour ${h} does not exist` };
  if (minute > 59) return { error: `minute ${mi} does not exist` };
  if (second > 59) return { error: `second ${s} does not exist` };
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const [oh, om] = zone!.slice(1).split(':').map(Number) as [number, number];
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return { error: `time zone offset ${zone} does not exist (at most ±14:00)` };
    offsetMinutes = (zone!.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  const start = utc(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  // The precision given is the range: a minute, a second, or a millisecond.
  const width = frac !== undefined ? 1 : s !== undefined ? 1000 : 60_000;
  const startYear = new Date(start).getUTCFullYear();
  if (startYear < 1 || startYear > 9999) return { error: 'the time is outside the years 0001–9999' };
  return range(prefix, start, start + width);
}
