import type { UnitWord } from './language.ts';

/**
 * Units patients write next to a number, and how they relate to the UCUM unit
 * a question declares. Only conversions that do not depend on what is
 * measured are made (°F → °C, lb → kg); mmol/L ↔ mg/dL depends on the
 * substance, so it is never converted, only recognised.
 */

/** Unit words understood in every language (symbols, abbreviations, English). */
export const INTERNATIONAL_UNITS: Readonly<Partial<Record<UnitWord, readonly string[]>>> = {
  Cel: ['°c', '° c', 'ºc', 'c', 'celsius', '℃', 'grad c'],
  '[degF]': ['°f', '° f', 'ºf', 'f', 'fahrenheit', '℉', 'grad f', 'deg f', 'degf'],
  degree: ['°', 'º', 'degrees', 'degree'],
  kg: ['kg', 'kgs', 'kilo', 'kilos'],
  '[lb_av]': ['lb', 'lbs', 'pound', 'pounds'],
  '/min': ['/min', '/ min', 'bpm', 'min'],
  'mg/dL': ['mg/dl', 'mg / dl', 'mg dl', 'mgdl', 'mg'],
  'mmol/L': ['mmol/l', 'mmol / l', 'mmol', 'mmoll'],
  'mm[Hg]': ['mmhg', 'mm hg', 'mm[hg]', 'mm/hg'],
  '%': ['%'],
};

/** Units written before the number: "%95", Turkish "yüzde 95". */
export const PREFIX_UNITS: ReadonlySet<UnitWord> = new Set<UnitWord>(['%']);

type Dimension = 'temperature' | 'mass' | 'rate' | 'concentration' | 'pressure' | 'fraction';

/** UCUM codes of questions Visite knows the dimension of. */
const QUESTION_UNITS: Readonly<Record<string, { dimension: Dimension; as: UnitWord }>> = {
  Cel: { dimension: 'temperature', as: 'Cel' },
  '[degF]': { dimension: 'temperature', as: '[degF]' },
  kg: { dimension: 'mass', as: 'kg' },
  '[lb_av]': { dimension: 'mass', as: '[lb_av]' },
  '/min': { dimension: 'rate', as: '/min' },
  '{beats}/min': { dimension: 'rate', as: '/min' },
  '1/min': { dimension: 'rate', as: '/min' },
  'mg/dL': { dimension: 'concentration', as: 'mg/dL' },
  'mmol/L': { dimension: 'concentration', as: 'mmol/L' },
  'mm[Hg]': { dimension: 'pressure', as: 'mm[Hg]' },
  '%': { dimension: 'fraction', as: '%' },
};

const DIMENSION_OF: Readonly<Record<UnitWord, Dimension>> = {
  Cel: 'temperature',
  '[degF]': 'temperature',
  degree: 'temperature',
  kg: 'mass',
  '[lb_av]': 'mass',
  '[stone_av]': 'mass',
  'pound?': 'mass',
  '/min': 'rate',
  'mg/dL': 'concentration',
  'mmol/L': 'concentration',
  'mm[Hg]': 'pressure',
  '%': 'fraction',
};

const LB = 0.45359237;
/** Exact conversions between units of one dimension; absent pairs are not converted. */
const CONVERT: Readonly<Partial<Record<UnitWord, Partial<Record<UnitWord, (v: number) => number>>>>> = {
  '[degF]': { Cel: (f) => ((f - 32) * 5) / 9 },
  Cel: { '[degF]': (c) => (c * 9) / 5 + 32 },
  '[lb_av]': { kg: (lb) => lb * LB },
  '[stone_av]': { kg: (st) => st * 14 * LB, '[lb_av]': (st) => st * 14 },
  kg: { '[lb_av]': (kg) => kg / LB },
};
/**
 * Units a patient may have measured in without saying so; used only to tell
 * "101" to a °C question (a Fahrenheit reading) from a plain typo. Glucose in
 * mmol/L vs mg/dL is a factor of about 18.
 */
const PLAUSIBLE_INSTEAD: Readonly<Partial<Record<UnitWord, readonly { unit: UnitWord; toQuestion: (v: number) => number }[]>>> = {
  Cel: [{ unit: '[degF]', toQuestion: (f) => ((f - 32) * 5) / 9 }],
  '[degF]': [{ unit: 'Cel', toQuestion: (c) => (c * 9) / 5 + 32 }],
  kg: [{ unit: '[lb_av]', toQuestion: (lb) => lb * LB }],
  '[lb_av]': [{ unit: 'kg', toQuestion: (kg) => kg / LB }],
  'mg/dL': [{ unit: 'mmol/L', toQuestion: (mmol) => mmol * 18.016 }],
  'mmol/L': [{ unit: 'mg/dL', toQuestion: (mg) => mg / 18.016 }],
};

export type Converted = { ok: true; value: number } | { ok: false };

/**
 * The written value in the question's unit. `degree` ("Grad", "градусов")
 * is a degree of the question's own temperature scale; "Pfund" (500 g in
 * everyday German, 453.6 g as a translation of "pound") is never converted.
 */
export function toQuestionUnit(value: number, written: UnitWord, questionUnit: string | undefined): Converted {
  const q = questionUnit ? QUESTION_UNITS[questionUnit] : undefined;
  if (!q || DIMENSION_OF[written] !== q.dimension) return { ok: false };
  if (written === 'degree' || written === q.as) return { ok: true, value };
  const convert = CONVERT[written]?.[q.as];
  return convert ? { ok: true, value: convert(value) } : { ok: false };
}

/** Whether the number, read in another unit of the question's dimension, would be in range ("101" → °F). */
export function fitsAnotherUnit(value: number, questionUnit: string | undefined, inRange: (v: number) => boolean): boolean {
  const q = questionUnit ? QUESTION_UNITS[questionUnit] : undefined;
  return !!q && (PLAUSIBLE_INSTEAD[q.as] ?? []).some((alt) => inRange(alt.toQuestion(value)));
}
