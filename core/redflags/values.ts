import type { Concept } from './concepts.ts';
import type { Entry } from './lexicon.ts';
import type { Occurrence } from './match.ts';
import type { Token } from './tokens.ts';

/**
 * Measured values written in a message ("fieber 39,8", "puls 140", "sats
 * 85%", "RR 205/118", "INR 5,8"): a keyword, then a number within a few
 * words of the same sentence (or a number with a degree sign), checked
 * against thresholds. Thresholds follow the UK Sepsis Trust red flags and
 * NEWS2 (pulse > 130, breathing ≥ 25/min, SpO2 < 92 %, systolic ≤ 90,
 * temperature), the shipped post-op flow (≥ 39.5 °C urgent, 38.0 °C fever)
 * and ADA level-2 hypoglycaemia (< 54 mg/dl).
 */
interface Kind {
  keyword: Concept;
  /** Plausible range: other numbers near the keyword are something else. */
  min: number;
  max: number;
  classify(value: number, second?: number): Concept[];
}

const KINDS: Kind[] = [
  {
    keyword: 'temp_kw',
    min: 30,
    max: 45,
    classify: (v) => [
      ...(v >= 39.5 ? (['temp_high'] as const) : []),
      ...(v >= 38 ? (['fever'] as const) : []),
      ...(v <= 35 ? (['temp_very_low'] as const) : []),
      ...(v < 36 ? (['low_temp'] as const) : []),
    ],
  },
  {
    keyword: 'pulse_kw',
    min: 20,
    max: 250,
    classify: (v) => (v > 130 ? ['pulse_high', 'fast'] : v > 100 ? ['pulse_raised', 'fast'] : v < 40 ? ['pulse_low'] : []),
  },
  { keyword: 'spo2_kw', min: 50, max: 100, classify: (v) => (v < 92 ? ['spo2_low'] : v <= 94 ? ['spo2_lowish'] : []) },
  { keyword: 'rr_kw', min: 4, max: 80, classify: (v) => (v >= 25 ? ['rr_high', 'fast'] : []) },
  {
    keyword: 'bp_kw',
    min: 40,
    max: 300,
    classify: (sys, dia) => (sys <= 90 ? ['bp_low'] : sys >= 200 || (dia ?? 0) >= 120 ? ['bp_very_high'] : sys >= 180 || (dia ?? 0) >= 110 ? ['bp_high'] : []),
  },
  {
    keyword: 'sugar_kw',
    min: 1,
    max: 1000,
    // mmol/l below 35, mg/dl above
    classify: (v) => (v < 35 ? (v < 3 ? ['sugar_low'] : v > 22 ? ['sugar_high'] : []) : v < 54 ? ['sugar_low'] : v > 400 ? ['sugar_high'] : []),
  },
  { keyword: 'inr_kw', min: 0.5, max: 20, classify: (v) => (v >= 4.5 ? ['inr_high'] : []) },
];

const VALUE_KEYWORDS: ReadonlySet<Concept> = new Set<Concept>([...KINDS.map((k) => k.keyword), 'heart']);
const AHEAD = 4;
const BEHIND = 2;

function valueEntry(concept: Concept, from: Entry): Entry {
  return { id: -1, concept, language: from.language, words: from.words, raw: from.raw };
}

export function findValues(tokens: Token[], occurrences: Occurrence[]): Occurrence[] {
  const out: Occurrence[] = [];
  const used = new Set<number>();
  for (const o of occurrences) {
    if (!VALUE_KEYWORDS.has(o.concept)) continue;
    const kind = KINDS.find((k) => k.keyword === o.concept);
    // "heart going 130": the heart, followed by a number, is a pulse.
    const heartAsPulse = !kind && o.concept === 'heart';
    if (!kind && !heartAsPulse) continue;
    const k = kind ?? KINDS[1]!;
    const inRange = (i: number) => {
      const t = tokens[i];
      return t?.kind === 'number' && t.value !== undefined && t.value >= k.min && t.value <= k.max && !used.has(i);
    };
    let at = -1;
    for (let i = o.last + 1, n = 0; i < tokens.length && n < AHEAD; i++, n++) {
      if (tokens[i]!.brk === 2) break;
      if (inRange(i)) {
        at = i;
        break;
      }
      if (tokens[i]!.kind === 'number') break;
    }
    if (at < 0 && !heartAsPulse) {
      for (let i = o.first - 1, n = 0; i >= 0 && n < BEHIND; i--, n++) {
        if (tokens[i + 1]!.brk === 2) break;
        if (inRange(i)) {
          at = i;
          break;
        }
      }
    }
    if (at < 0) continue;
    used.add(at);
    const value = tokens[at]!.value!;
    const next = tokens[at + 1];
    const second = next?.slash && next.kind === 'number' ? next.value : undefined;
    const last = Math.max(o.last, second !== undefined ? at + 1 : at);
    const first = Math.min(o.first, at);
    for (const concept of k.classify(value, second)) {
      out.push({
        concept,
        language: o.language,
        entry: valueEntry(concept, o.entry),
        first,
        last,
        tokens: [o.first, at],
        fuzzy: false,
        negatedInside: false,
        negated: false,
        translit: false,
      });
    }
  }
  // A temperature without keyword: "39,8°", "39,8 grad"; or "i've got 39,2 and the shakes": a
  // number with one decimal between 38 and 43, beside words and without a unit, is a temperature
  // nobody measures anything else in. A bare number stays an answer.
  const degreeAt = new Map<number, Occurrence>();
  for (const o of occurrences) if (o.concept === 'degree') degreeAt.set(o.first, o);
  const besideWords = tokens.some((t) => t.kind === 'word');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'number' || used.has(i) || t.value === undefined || t.value < 30 || t.value > 45) continue;
    const from = t.degree ? undefined : degreeAt.get(i + 1);
    if (!t.degree && !from && !(besideWords && isBareTemperature(tokens, i))) continue;
    for (const concept of KINDS[0]!.classify(t.value)) {
      out.push({
        concept,
        language: from?.language ?? null,
        entry: from ? valueEntry(concept, from.entry) : { id: -1, concept, language: null, words: [], raw: t.degree ? '°' : 'temperature' },
        first: i,
        last: from ? from.last : i,
        tokens: from ? [i, from.first] : [i],
        fuzzy: false,
        negatedInside: false,
        negated: false,
        translit: false,
      });
    }
  }
  return out;
}

/** "39,2" with nothing that makes it a weight or a dose after it. */
function isBareTemperature(tokens: Token[], i: number): boolean {
  const t = tokens[i]!;
  if (t.value! < 38 || t.value! >= 43 || !/^\d\d\.\d$/.test(t.norm)) return false;
  const next = tokens[i + 1];
  return !(next && next.brk === 0 && next.kind === 'word' && UNITS.test(next.norm));
}

/** Units after a number that make it something other than a temperature. */
const UNITS = /^(kg|g|mg|ml|l|mmol|mm|cm|km|m|h|min|std|stunden|hours|jahre|years|yil|лет|rok|lat|kilo|kilogramm|кг|мг|мл|سم|كغ|كيلو)$/;
