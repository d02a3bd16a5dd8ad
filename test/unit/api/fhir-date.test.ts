import { describe, expect, it } from 'vitest';
import { parseFhirDate } from '../../../server/api/fhir-date.ts';

const range = (value: string) => {
  const r = parseFhirDate(value);
  if ('error' in r) throw new Error(r.error);
  return [r.prefix, r.from.toISOString(), r.to.toISOString()];
};

/** FHIR search dates: the range a value's precision covers, and impossible values refused. */
describe('parseFhirDate', () => {
  it.each([
    ['2026', ['eq', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']],
    ['ge2026-02', ['ge', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']],
    ['lt2028-02-29', ['lt', '2028-02-29T00:00:00.000Z', '2028-03-01T00:00:00.000Z']],
    ['gt2026-12-01T10:15Z', ['gt', '2026-12-01T10:15:00.000Z', '2026-12-01T10:16:00.000Z']],
    ['le2026-12-01T10:15:30+01:00', ['le', '2026-12-01T09:15:30.000Z', '2026-12-01T09:15:31.000Z']],
    ['2026-12-01T10:15:30.25-02:30', ['eq', '2026-12-01T12:45:30.250Z', '2026-12-01T12:45:30.251Z']],
    ['0001-01-01', ['eq', '0001-01-01T00:00:00.000Z', '0001-01-02T00:00:00.000Z']],
    ['9999-12-31', ['eq', '9999-12-31T00:00:00.000Z', '9999-12-31T23:59:59.999Z']],
  ])('%s covers %j', (value, expected) => {
    expect(range(value)).toEqual(expected);
  });

  it.each([
    ['ge2026-13-01', /month 13/],
    ['2026-02-29', /day 29/],
    ['2026-04-31', /day 31/],
    ['2026-01-01T25:00Z', /hour 25/],
    ['2026-01-01T10:60Z', /minute 60/],
    ['2026-01-01T10:00:60Z', /second 60/],
    ['2026-01-01T10:00+99:99', /offset/],
    ['2026-01-01T10:00+14:30', /offset/],
    ['0000-01-01', /year/],
    ['0001-01-01T00:30+01:00', /outside the years/],
    ['sa2026-01-01', /prefix "sa"/],
    ['2026-1-1', /expected/],
    ['2026-01-01T10Z', /expected/],
    ['2026-01-01T10:00', /expected/],
    ['', /expected/],
  ])('%s is refused (%s)', (value, message) => {
    const r = parseFhirDate(value);
    expect('error' in r && r.error).toMatch(message);
  });
});
