import type { QuantityQuestion, ScaleQuestion } from '../flow/model.ts';
import { FALLBACK_LANGUAGES, type Language } from '../language.ts';
import { lexicon } from './lexicon.ts';
import {
  findNone,
  fitsAnotherUnit,
  type NumberReading,
  type NumberScan,
  phrase,
  readNumbers,
  readSingleWord,
  restOf,
  tokenize,
  toQuestionUnit,
} from './numbers/index.ts';
import type { Phrase } from './numbers/vocabulary.ts';
import type { ParseFailure, ParseResult } from './types.ts';

/**
 * Answers to number questions. Never a wrong value: the number is read whole
 * (numbers/read.ts) or the patient is asked again; a unit is converted only
 * where the conversion is exact (°F → °C, lb → kg); a number that only fits
 * another unit ("101" to a °C question) or a unit that does not fit ("38 kg")
 * is asked again with `unit-mismatch` rather than stored.
 */
export function parseQuantity(q: QuantityQuestion, text: string, lang: Language): ParseResult {
  const plain = plainNumber(text) ?? readSingleWord(text, lang);
  if (plain === 'no-number') return { ok: false, reason: 'not-understood' };
  if (plain) return quantity(q, plain, lang, '');
  const tokens = tokenize(text);
  const scan = readNumbers(text, tokens, lang, { decimals: q.decimals > 0 });
  if (scan.kind !== 'one') return failure(scan);
  return quantity(q, scan.reading, lang, restOf(text, tokens, scan.used));
}

function quantity(q: QuantityQuestion, reading: NumberReading, lang: Language, rest: string): ParseResult {
  // Formatted only for a re-ask: Intl formatting is not free on the hot path.
  const written = () => `${lexicon(lang).number(reading.value, 6)}${reading.unitText ? ` ${reading.unitText}` : ''}`;
  const inRange = (v: number) => (q.min === undefined || v >= q.min) && (q.max === undefined || v <= q.max);
  const factor = 10 ** q.decimals;
  const round = (v: number) => Math.round(v * factor) / factor;
  let value = reading.value;
  if (reading.unit) {
    const converted = toQuestionUnit(reading.value, reading.unit, q.unit);
    if (!converted.ok) return unitMismatch(written(), q.unitDisplay ?? q.unit);
    value = converted.value;
  }
  value = round(value);
  if (!inRange(value)) {
    // Without a unit (or with a bare "Grad") the number may be a reading in another
    // unit ("101" → °F); with an explicit unit, the unit may be the mistake ("38 °F").
    const vague = !reading.unit || reading.unit === 'degree';
    const otherUnit = vague ? fitsAnotherUnit(reading.value, q.unit, inRange) : inRange(round(reading.value));
    if (otherUnit) return unitMismatch(written(), q.unitDisplay ?? q.unit);
    return { ok: false, reason: 'out-of-range', detail: { value: written() } };
  }
  return { ok: true, value: q.unit ? { type: 'number', value, unit: q.unit } : { type: 'number', value }, rest };
}

/** A whole number in the scale's range; "7 von 10" is 7; "keine Schmerzen" is the minimum where the scale says so (`none:`). */
export function parseScale(q: ScaleQuestion, text: string, lang: Language): ParseResult {
  // One number word is never a "none" phrase, except "null"/"zero" — which are the minimum anyway.
  const plain = plainNumber(text) ?? readSingleWord(text, lang);
  // A word that is no number may still be "none" ("keine", "nothing"): that is decided below.
  if (plain === 'no-number' && !q.none) return { ok: false, reason: 'not-understood' };
  if (plain && plain !== 'no-number') return scale(q, plain, lang, '');
  const tokens = tokenize(text);
  const scan = readNumbers(text, tokens, lang, { outOf: q.max, decimals: false });
  const none = q.none ? findNone(tokens, lang, { vocabulary: q.none, labels: minLabelPhrases(q, lang) }) : undefined;
  if (none?.kind === 'not-quite') return { ok: false, reason: 'not-exact' };
  if (none?.kind === 'none') {
    const value = { type: 'number' as const, value: q.min };
    if (scan.kind === 'none') return { ok: true, value, rest: restOf(text, tokens, none.used) };
    // "keine Schmerzen, 0" agrees; "keine Schmerzen, nur beim Husten 3" does not.
    if (scan.kind === 'one' && scan.reading.value === q.min && !scan.reading.unit)
      return { ok: true, value, rest: restOf(text, tokens, new Set([...none.used, ...scan.used])) };
    return { ok: false, reason: 'ambiguous' };
  }
  if (scan.kind !== 'one') return failure(scan);
  return scale(q, scan.reading, lang, restOf(text, tokens, scan.used));
}

function scale(q: ScaleQuestion, reading: NumberReading, lang: Language, rest: string): ParseResult {
  const lex = lexicon(lang);
  if (reading.unit) return unitMismatch(`${lex.number(reading.value, 6)} ${reading.unitText ?? ''}`.trim(), undefined);
  if (!Number.isInteger(reading.value)) return { ok: false, reason: 'not-whole' };
  if (reading.value < q.min || reading.value > q.max) return { ok: false, reason: 'out-of-range', detail: { value: lex.number(reading.value, 6) } };
  return { ok: true, value: { type: 'number', value: reading.value }, rest };
}

const PLAIN = /^-?\d{1,15}(?:[.,]\d{1,15})?$/;
/** The most common answer, "7" or "38,5", read without tokenising (the engine's hot path). */
function plainNumber(text: string): NumberReading | undefined {
  if (!PLAIN.test(text)) return undefined;
  const sep = Math.max(text.indexOf('.'), text.indexOf(','));
  return { value: Number(text.replace(',', '.')), decimals: sep < 0 ? 0 : text.length - sep - 1 };
}

function failure(scan: Exclude<NumberScan, { kind: 'one' }>): ParseFailure {
  if (scan.kind === 'many') return { ok: false, reason: 'ambiguous' };
  if (scan.kind === 'unclear' && scan.why === 'inexact') return { ok: false, reason: 'not-exact' };
  return { ok: false, reason: 'not-understood' };
}

/** `unit` absent: the question takes no unit at all (a scale), so the re-ask says "just the number". */
function unitMismatch(value: string, unit: string | undefined): ParseFailure {
  return { ok: false, reason: 'unit-mismatch', detail: unit ? { value, unit } : { value } };
}

const labelCache = new WeakMap<ScaleQuestion, Map<Language, Phrase[]>>();
/** The scale's minLabel ("keine Schmerzen") in the patient's language, German and English. */
function minLabelPhrases(q: ScaleQuestion, lang: Language): Phrase[] {
  let byLang = labelCache.get(q);
  if (!byLang) {
    byLang = new Map();
    labelCache.set(q, byLang);
  }
  let list = byLang.get(lang);
  if (!list) {
    const texts = [lang, ...FALLBACK_LANGUAGES].map((l) => q.minLabel?.[l]).filter((t): t is string => !!t);
    list = [...new Set(texts)].map(phrase).filter((p) => p.length > 0);
    byLang.set(lang, list);
  }
  return list;
}
