import { FALLBACK_LANGUAGES, type Language } from '../../language.ts';
import { type Piece, readRun } from './grammar.ts';
import { tokenAt } from './phrases.ts';
import type { UnitWord } from './language.ts';
import type { Token } from './tokens.ts';
import { fold } from './fold.ts';
import { PREFIX_UNITS } from './units.ts';
import { type Analysis, type Vocabulary, vocabulary } from './vocabulary.ts';

/**
 * The shared driver: finds the one number a patient's message gives, in the
 * patient's language, with the unit written next to it.
 *
 * The rule that matters most: a piece of a longer number is never the answer.
 * "двадцать пять" is 25 or nothing — never 5. So numbers are read whole
 * (grammar.ts), a number next to a word that looks like an unread number word
 * is not trusted, typo corrections only count in a message that is nothing
 * but the number, and words that make a number a bound ("mehr als 7", "под
 * сотню") or a range make it unclear. Several different numbers are "many".
 * Everything unclear is re-asked by the caller; nothing is guessed.
 */
export interface NumberReading {
  /** As written, before any unit conversion. */
  value: number;
  /** Decimals as written ("38,50" → 2; "38 с половиной" → 1). */
  decimals: number;
  /** The unit written next to it, if any, and how it was written ("°F"). */
  unit?: UnitWord;
  unitText?: string;
}

export type NumberScan =
  | { kind: 'none' }
  | { kind: 'one'; reading: NumberReading; used: ReadonlySet<number> }
  | { kind: 'many' }
  /** fragment: a number word next to it could not be read; inexact: "mehr als", "под", "z hakiem"; malformed: "komma" without digits, a date. */
  | { kind: 'unclear'; why: 'fragment' | 'inexact' | 'malformed' };

export interface ReadOptions {
  /** The question's maximum: "7 von 10", "7/10", "10 üzerinden 7" are 7. */
  outOf?: number;
  /** The question takes decimals (see grammar.ts RunOptions). */
  decimals: boolean;
}

const ONE_WORD = /^\p{L}+$/u;
const SINGLE_KINDS = new Set(['unit', 'teen', 'tens', 'hundreds', 'hundred', 'thousand', 'whole']);

/**
 * A message that is one word ("acht", "семь", "skip"): the common case, read
 * without the machinery below (same result, fewer allocations on the hot
 * path). 'no-number' when no language sees a number in it (nor a broken one);
 * undefined when the message is anything else or needs the full reader.
 */
export function readSingleWord(text: string, lang: Language): NumberReading | 'no-number' | undefined {
  if (text.length > 40 || !ONE_WORD.test(text)) return undefined;
  const key = fold(text);
  for (const l of [lang, ...FALLBACK_LANGUAGES]) {
    const a = vocabulary(l).analyse(key, text.length);
    if (a.kind === 'suspicious') return undefined;
    if (a.kind !== 'number') continue;
    const atom = a.atoms[0];
    if (a.fuzzy || a.atoms.length !== 1 || !atom || !SINGLE_KINDS.has(atom.kind)) return undefined;
    const value = atom.kind === 'hundred' ? 100 : atom.kind === 'thousand' ? 1000 : (atom as { value: number }).value;
    return { value, decimals: Number.isInteger(value) ? 0 : 1 };
  }
  return 'no-number';
}

/** Reads in the patient's language; German and English number words count too when the message is only a number. */
export function readNumbers(text: string, tokens: readonly Token[], lang: Language, options: ReadOptions): NumberScan {
  const quick = digitsAndUnit(text, tokens, vocabulary(lang));
  if (quick) return quick;
  const own = readIn(text, tokens, vocabulary(lang), options, false);
  if (own.kind !== 'none') return own;
  for (const other of FALLBACK_LANGUAGES) {
    if (other === lang) continue;
    const r = readIn(text, tokens, vocabulary(other), options, true);
    if (r.kind !== 'none') return r;
  }
  return own;
}

/** "39,8 Grad", "130 mmHg", "85/min": digits and nothing but a unit — the common case, read directly. */
function digitsAndUnit(text: string, tokens: readonly Token[], v: Vocabulary): NumberScan | undefined {
  const t = tokens[0];
  if (!t || t.kind !== 'digits' || t.malformed || tokens.length > 6) return undefined;
  const used = new Set<number>();
  for (let k = 0; k < tokens.length; k++) used.add(k);
  const reading: NumberReading = { value: t.value, decimals: t.decimals };
  if (tokens.length === 1) return { kind: 'one', reading, used };
  const unit = v.units.at(tokens, 1);
  if (!unit || unit.end !== tokens.length) return undefined;
  reading.unit = unit.value;
  reading.unitText = text.slice(tokens[1]?.start ?? 0, tokens[tokens.length - 1]?.end ?? 0);
  return { kind: 'one', reading, used };
}

interface Found {
  value: number;
  decimals: number;
  /** Token indices of the number itself. */
  first: number;
  last: number;
  /** Tokens used with its surroundings (unit, "about", "of 10"): always one stretch [lo, hi]. */
  lo: number;
  hi: number;
  fuzzy: boolean;
  exact: boolean;
  weak: boolean;
  unit: UnitWord | undefined;
  unitText: string | undefined;
  dropped: boolean;
}

function readIn(text: string, tokens: readonly Token[], v: Vocabulary, options: ReadOptions, foreign: boolean): NumberScan {
  const analyses: (Analysis | undefined)[] = tokens.map((t) => (t.kind === 'word' ? v.analyse(t.key, t.end - t.start) : t.key === '½' ? HALF_SIGN : undefined));
  const isNumberToken = (i: number): boolean => {
    const t = tokens[i];
    return !!t && (t.kind === 'digits' || analyses[i]?.kind === 'number');
  };
  const found: Found[] = [];
  let malformed = false;
  let fragment = false;

  // Runs: number tokens separated by spaces or hyphens only.
  for (let i = 0; i < tokens.length; ) {
    if (!isNumberToken(i)) {
      i++;
      continue;
    }
    const runTokens: number[] = [i];
    let j = i + 1;
    for (;;) {
      if (isNumberToken(j)) {
        runTokens.push(j);
        j++;
      } else if (isHyphen(tokens[j]) && isNumberToken(j + 1)) {
        j++;
      } else break;
    }
    const pieces: Piece[] = [];
    const tokenOf: number[] = [];
    let hyphenBefore: Set<number> | undefined;
    for (const k of runTokens) {
      const t = tokens[k] as Token;
      if (isHyphen(tokenAt(tokens, k - 1))) (hyphenBefore ??= new Set()).add(pieces.length);
      if (t.kind === 'digits') {
        if (t.malformed) malformed = true;
        pieces.push({ kind: 'digits', value: t.value, decimals: t.decimals, text: t.key });
        tokenOf.push(k);
      } else {
        const a = analyses[k];
        if (a?.kind === 'number')
          for (const atom of a.atoms) {
            pieces.push(atom);
            tokenOf.push(k);
          }
      }
    }
    const run = readRun(pieces, v.grammar, hyphenBefore ? { decimals: options.decimals, hyphenBefore } : { decimals: options.decimals });
    if (run.malformed) malformed = true;
    let previousLast = -1;
    for (const n of run.numbers) {
      let first = Number.POSITIVE_INFINITY;
      let last = -1;
      let fuzzy = false;
      let exact = false;
      let weak = false;
      let words = 0;
      let prev = -1;
      for (let p = n.from; p < n.to; p++) {
        const k = tokenOf[p] ?? -1;
        if (k === prev) continue;
        prev = k;
        // A word split between two numbers ("achtacht") is not two numbers.
        if (k === previousLast) fragment = true;
        if (k < first) first = k;
        if (k > last) last = k;
        const a = analyses[k];
        if (a?.kind === 'number') {
          words++;
          fuzzy ||= a.fuzzy;
          exact ||= !a.fuzzy;
          weak = a.weak;
        } else exact = true;
      }
      previousLast = last;
      found.push({
        value: n.value,
        decimals: n.decimals,
        first,
        last,
        lo: first,
        hi: last,
        fuzzy,
        exact,
        weak: first === last && n.to - n.from === 1 && words === 1 && weak,
        unit: undefined,
        unitText: undefined,
        dropped: false,
      });
    }
    // A suspicious word right next to a run of number words could be the rest of
    // its number ("dwadziesc pięć" is not 5). Digits are complete on their own,
    // and a unit or "about" word after the number is what it seems.
    if (pieces.some((p) => p.kind !== 'digits')) {
      // A word joined to the run by a hyphen ("fifty-ne") is part of the number whatever it looks like.
      const before = isHyphen(tokenAt(tokens, i - 1)) ? i - 2 : i - 1;
      const after = isHyphen(tokens[j]) ? j + 1 : j;
      const doubt = (k: number, hyphen: boolean) =>
        k >= 0 && (analyses[k]?.kind === 'suspicious' || (hyphen && tokens[k]?.kind === 'word' && !tokens[k]?.space));
      if (doubt(before, before === i - 2) && !v.about.before(tokens, i)) fragment = true;
      if (doubt(after, after === j + 1) && !v.units.at(tokens, j) && !v.about.at(tokens, j) && !v.about.at(tokens, after)) fragment = true;
    }
    i = j;
  }
  if (found.length === 0) return malformed ? { kind: 'unclear', why: 'malformed' } : { kind: 'none' };

  // "eine 7", "bir 7": a weak word right before digits is an article.
  for (let n = 0; n + 1 < found.length; n++) {
    const a = found[n] as Found;
    const b = found[n + 1] as Found;
    if (a.weak && b.first === a.last + 1 && tokens[b.first]?.kind === 'digits') {
      a.dropped = true;
      b.lo = Math.min(b.lo, a.lo);
    }
  }

  // "7 von 10", "7/10", "10 üzerinden 7": the scale's maximum is not a second answer.
  if (options.outOf !== undefined) {
    const live = found.filter((f) => !f.dropped);
    for (let n = 0; n + 1 < live.length; n++) {
      const a = live[n] as Found;
      const b = live[n + 1] as Found;
      const max =
        b.value === options.outOf && v.outOf.exactly(tokens, a.last + 1, b.first)
          ? b
          : a.value === options.outOf && v.outOfMaxFirst.exactly(tokens, a.last + 1, b.first)
            ? a
            : undefined;
      if (!max) continue;
      const keep = max === b ? a : b;
      max.dropped = true;
      keep.lo = Math.min(a.lo, b.lo);
      keep.hi = Math.max(a.hi, b.hi);
    }
  }

  // What stands around each number: unit, "about", "more than".
  let inexact = false;
  for (const f of found) {
    if (f.dropped) continue;
    let k = f.last + 1;
    // "90s", "80er", "80-х", "7th", "7-й": a decade or an ordinal, not a value.
    if (tokens[f.last]?.kind === 'digits') {
      const ending = gluedEnding(tokens, k);
      if (ending !== undefined && (v.ordinals.has(ending) || v.decades.has(ending))) inexact = true;
    }
    // Turkish endings after an apostrophe: "38'di", "37,5'ten".
    if (v.hasSuffixes && isApostrophe(tokens[k]) && !tokens[k]?.space && tokens[k + 1]?.kind === 'word' && !tokens[k + 1]?.space) {
      f.hi = Math.max(f.hi, k + 1);
      k += 2;
    }
    const unitMatch = v.units.at(tokens, k);
    if (unitMatch) {
      f.unit = unitMatch.value;
      f.unitText = text.slice(tokens[k]?.start ?? 0, tokens[unitMatch.end - 1]?.end ?? 0);
      f.hi = Math.max(f.hi, unitMatch.end - 1);
      k = unitMatch.end;
    }
    if (v.inexactAfter.at(tokens, k)) inexact = true;
    const aboutEnd = v.about.at(tokens, k)?.end ?? -1;
    if (aboutEnd >= 0) f.hi = Math.max(f.hi, aboutEnd - 1);

    let s = f.first;
    if (!f.unit) {
      const prefix = v.units.before(tokens, s);
      if (prefix && PREFIX_UNITS.has(prefix.value)) {
        f.unit = prefix.value;
        f.unitText = text.slice(tokens[prefix.start]?.start ?? 0, tokens[s - 1]?.end ?? 0);
        f.lo = Math.min(f.lo, prefix.start);
        s = prefix.start;
      }
    }
    if (v.inexactBefore.before(tokens, s)) inexact = true;
    for (let guard = 0; guard < 4; guard++) {
      const start = v.about.before(tokens, s)?.start ?? -1;
      if (start < 0 || start >= s) break;
      f.lo = Math.min(f.lo, start);
      s = start;
      if (v.inexactBefore.before(tokens, s)) inexact = true;
    }
  }

  // Everything in the message is the number and its surroundings?
  const covered = new Uint8Array(tokens.length);
  for (const f of found) if (!f.dropped) covered.fill(1, f.lo, f.hi + 1);
  let numberOnly = true;
  for (let k = 0; k < tokens.length && numberOnly; k++) numberOnly = covered[k] === 1 || tokens[k]?.kind === 'symbol' || analyses[k]?.kind === 'number';

  for (let n = 0; n < found.length; n++) {
    const f = found[n] as Found;
    if (f.dropped) continue;
    // Typo readings only in a message that is just the number ("sevn"), never inside a sentence.
    if (f.fuzzy && !numberOnly) {
      if (f.exact) fragment = true;
      f.dropped = true;
    }
    // German and English words in another language: only as the whole answer.
    if (foreign && !numberOnly) f.dropped = true;
    if (f.weak && !f.dropped && !numberOnly && !f.unit) {
      // "ein oder zwei": a weak word joined to another number by "oder" still makes two numbers.
      const prev = n > 0 ? found[n - 1] : undefined;
      const next = found[n + 1];
      const joined = (prev && v.rangeWords.exactly(tokens, prev.last + 1, f.first)) || (next && v.rangeWords.exactly(tokens, f.last + 1, next.first));
      if (!joined) f.dropped = true;
    }
  }

  if (inexact) return { kind: 'unclear', why: 'inexact' };
  if (fragment) return { kind: 'unclear', why: 'fragment' };
  if (malformed) return { kind: 'unclear', why: 'malformed' };
  const live = found.filter((f) => !f.dropped);
  const head = live[0];
  if (!head) return { kind: 'none' };
  if (live.some((f) => f.value !== head.value || (f.unit ?? '') !== (head.unit ?? ''))) return { kind: 'many' };
  const all = new Set<number>();
  for (const f of live) for (let k = f.lo; k <= f.hi; k++) all.add(k);
  const reading: NumberReading = { value: head.value, decimals: head.decimals };
  const withUnit = live.find((f) => f.unit);
  if (withUnit?.unit) {
    reading.unit = withUnit.unit;
    if (withUnit.unitText) reading.unitText = withUnit.unitText;
  }
  return { kind: 'one', reading, used: all };
}

const HALF_SIGN: Analysis = { kind: 'number', atoms: [{ kind: 'plusHalf' }], fuzzy: false, weak: false };

/** A word glued to the token before `k` directly, or by a hyphen or apostrophe ("90s", "80-х", "80'ler"). */
function gluedEnding(tokens: readonly Token[], k: number): string | undefined {
  const t = tokens[k];
  if (!t || t.space) return undefined;
  if (t.kind === 'word') return t.key;
  const next = tokens[k + 1];
  if ((isHyphen(t) || isApostrophe(t)) && next?.kind === 'word' && !next.space) return next.key;
  return undefined;
}

function isHyphen(t: Token | undefined): boolean {
  return t?.kind === 'symbol' && (t.key === '-' || t.key === '–') && !t.space;
}
function isApostrophe(t: Token | undefined): boolean {
  return t?.kind === 'symbol' && (t.key === "'" || t.key === '’' || t.key === 'ʼ');
}
