import type { Language } from '../../language.ts';
import { ar } from './ar.ts';
import { de } from './de.ts';
import { en } from './en.ts';
import { fold } from './fold.ts';
import { readRun } from './grammar.ts';
import type { Atom, Grammar, NumberLanguage, UnitWord } from './language.ts';
import { type Phrase, PhraseList } from './phrases.ts';
import { pl } from './pl.ts';
import { ru } from './ru.ts';
import { tokenize } from './tokens.ts';
import { tr } from './tr.ts';
import { uk } from './uk.ts';
import { INTERNATIONAL_UNITS } from './units.ts';
import { oneEdit } from '../../text/edit-distance.ts';

export const NUMBER_LANGUAGES: Readonly<Record<Language, NumberLanguage>> = { de, en, tr, ar, ru, uk, pl };

export type { Phrase } from './phrases.ts';

/** What one word of a message is, for reading numbers. */
export type Analysis =
  /** Number pieces; `fuzzy`: read through one typo ("sevn"); `weak`: an everyday word that is also a number ("one"). */
  | { kind: 'number'; atoms: readonly Atom[]; fuzzy: boolean; weak: boolean }
  /** Looks like a number word that could not be read ("dwadziesc", a typo two letters off): never let a number next to it stand alone. */
  | { kind: 'suspicious' }
  | { kind: 'other' };

export interface Vocabulary {
  lang: Language;
  grammar: Grammar;
  hasSuffixes: boolean;
  about: PhraseList;
  inexactBefore: PhraseList;
  inexactAfter: PhraseList;
  decades: ReadonlySet<string>;
  ordinals: ReadonlySet<string>;
  outOf: PhraseList;
  outOfMaxFirst: PhraseList;
  rangeWords: PhraseList;
  units: PhraseList<UnitWord>;
  none: { general: PhraseList; pain: PhraseList; almost: PhraseList; degree: PhraseList };
  /** A folded word; `typed`: its length as typed (folding may drop letters: "смь" → "см"). */
  analyse(word: string, typed?: number): Analysis;
}

const built = new Map<Language, Vocabulary>();

/** The compiled vocabulary of a language, built once. */
export function vocabulary(lang: Language): Vocabulary {
  let v = built.get(lang);
  if (!v) {
    v = build(lang);
    built.set(lang, v);
  }
  return v;
}

export function phrase(text: string): Phrase {
  return tokenize(text)
    .map((t) => t.key)
    .filter((k) => k !== '.');
}

function phrases(list: readonly string[] | undefined): PhraseList {
  return PhraseList.of((list ?? []).map(phrase));
}

const MAX_WORD = 60;
const VALUE_KINDS = new Set<Atom['kind']>(['unit', 'teen', 'tens', 'hundreds', 'hundred', 'thousand', 'whole']);

function build(lang: Language): Vocabulary {
  const spec = NUMBER_LANGUAGES[lang];
  const atoms = new Map<string, Atom>();
  for (const [key, atom] of Object.entries(spec.words)) {
    for (const w of key.split('|')) {
      const f = fold(w);
      if (f && !atoms.has(f)) atoms.set(f, atom);
    }
  }
  const weak = new Set(spec.weak.map(fold));
  const notTypos = new Set(spec.notTypos.map(fold));
  const unreadable = new Set((spec.unreadable ?? []).map(fold));
  // Pieces a longer word may be made of: "acht|und|dreißig", "و|ثلاثون", "yüz|on|beş".
  // One-letter pieces would split ordinary words, except an "and" that is always glued (Arabic "و").
  const glue = new Map<string, string[]>();
  const typoTargets: string[] = [];
  for (const [w, atom] of atoms) {
    if (w.length >= 2 || w === spec.gluedAnd) pushTo(glue, w[0] ?? '', w);
    // Typos are corrected only into long number words (short ones sit one letter
    // away from everyday words: "viel"/"vier", "nein"/"neun", "fine"/"five"); the
    // short ones are still looked at, so that a typo that could be either is not corrected.
    if (w.length >= 3 && VALUE_KINDS.has(atom.kind)) typoTargets.push(w);
  }
  for (const list of glue.values()) list.sort((a, b) => b.length - a.length);
  // Prefixes of long number words: an unread word starting like one is suspicious.
  const stems = new Set<string>();
  for (const [w, atom] of atoms) if (w.length >= 6 && VALUE_KINDS.has(atom.kind)) stems.add(w.slice(0, 5));
  const longWords = [...atoms].filter(([w, atom]) => w.length >= 5 && VALUE_KINDS.has(atom.kind)).map(([w]) => w);
  const lookAlikes = [...atoms].filter(([w, atom]) => w.length >= 3 && VALUE_KINDS.has(atom.kind)).map(([w]) => w);
  const everyday = new Set((spec.everyday ?? []).map(fold));
  const conjunction = spec.gluedAnd ? fold(spec.gluedAnd) : undefined;
  /** How many letters at the start of `word` are whole number words ("zweihun…" → 4). */
  const numberPrefix = (word: string): number => {
    let best = 0;
    for (const m of glue.get(word[0] ?? '') ?? []) {
      if (m.length < 3 || !word.startsWith(m) || m.length >= word.length) continue;
      const atom = atoms.get(m);
      if (!atom || !VALUE_KINDS.has(atom.kind)) continue;
      best = Math.max(best, m.length + numberPrefix(word.slice(m.length)));
    }
    return best;
  };
  // Number words of German and English, understood in every language on their own.
  const foreign = new Set<string>();
  for (const other of [de, en]) {
    if (other === spec) continue;
    for (const [key, atom] of Object.entries(other.words))
      if (VALUE_KINDS.has(atom.kind)) for (const w of key.split('|')) if (!atoms.has(fold(w))) foreign.add(fold(w));
  }
  const suffixes = [...new Set((spec.suffixes ?? []).map(fold))].sort((a, b) => b.length - a.length);

  const segment = (word: string, edits: number): Segmentation[] => segmentations(word, atoms, glue, typoTargets, edits);
  /**
   * A word made of several number words must be one number by the grammar
   * ("acht|und|dreißig"), after an optional leading "و", or "و" + half ("ونص"):
   * "пять|со" or "три|та" are a number and a stray word, not a number.
   */
  const wellFormed = (parts: readonly Atom[]): boolean => {
    const body = parts[0]?.kind === 'and' ? parts.slice(1) : parts;
    if (body.length === 1 && (body[0]?.kind === 'half' || VALUE_KINDS.has(body[0]?.kind ?? 'and'))) return true;
    const run = readRun(body, spec.grammar, { decimals: true });
    return !run.malformed && run.numbers.length === 1 && run.numbers[0]?.from === 0 && run.numbers[0]?.to === body.length;
  };
  const cache = new Map<string, Analysis>();
  const analyse = (word: string, typed = word.length): Analysis => {
    const key = word.length < 3 && typed >= 3 ? `${word}\u0000` : word;
    let a = cache.get(key);
    if (!a) {
      a = analyseWord(word, typed);
      // Bounded: a long-running process sees endless distinct words.
      if (cache.size > 20_000) cache.clear();
      cache.set(key, a);
    }
    return a;
  };
  const analyseWord = (word: string, typed: number): Analysis => {
    const exact = atoms.get(word);
    if (exact) return { kind: 'number', atoms: [exact], fuzzy: false, weak: weak.has(word) };
    if (unreadable.has(word)) return { kind: 'suspicious' };
    // The longest number word is far shorter; this also bounds the work per word.
    if (word.length > MAX_WORD || !/^\p{L}+$/u.test(word)) return { kind: 'other' };
    const glued = best(segment(word, 0));
    // Glued pieces: "achtunddreißig", "yüzonbeş", and Arabic "و" + word ("وثلاثون", "ونص").
    if (glued && glued !== 'ambiguous' && glued.atoms.length > 1 && wellFormed(glued.atoms))
      return { kind: 'number', atoms: glued.atoms, fuzzy: false, weak: false };
    for (const s of suffixes) {
      if (word.length <= s.length + 1 || !word.endsWith(s)) continue;
      const stem = word.slice(0, -s.length);
      const one = atoms.get(stem);
      // A weak word with an ending is a pronoun ("onu", "ona"), not a number.
      if (one && VALUE_KINDS.has(one.kind) && !weak.has(stem)) return { kind: 'number', atoms: [one], fuzzy: false, weak: false };
      const parts = best(segment(stem, 0));
      if (parts && parts !== 'ambiguous' && parts.atoms.length > 1 && parts.atoms.some((x) => VALUE_KINDS.has(x.kind)) && wellFormed(parts.atoms))
        return { kind: 'number', atoms: parts.atoms, fuzzy: false, weak: false };
    }
    if (word.length >= 4 && !notTypos.has(word)) {
      const typo = best(segment(word, 1));
      if (typo === 'ambiguous') return { kind: 'suspicious' };
      if (typo && typo.atoms.some((x) => VALUE_KINDS.has(x.kind)) && wellFormed(typo.atoms))
        return { kind: 'number', atoms: typo.atoms, fuzzy: true, weak: false };
      if (typo) return { kind: 'suspicious' };
    }
    if (everyday.has(word)) return { kind: 'other' };
    if (foreign.has(word) || (word.length >= 5 && stems.has(word.slice(0, 5)))) return { kind: 'suspicious' };
    // Look-alikes of number words are not read, but a number right next to one is
    // not trusted either — it may be the rest of a number with a typo in it:
    // one typo from any number word ("tree" in "twenty tree", "zei hundert"),
    // two from a long one with the same first letter ("dwadziesc", "zwanzich"),
    // or a word that starts with number words ("zweihunert fünfzehn").
    if (typed >= 3 && word.length >= 2 && lookAlikes.some((m) => oneEdit(word, m))) return { kind: 'suspicious' };
    if (word.length >= 5 && longWords.some((m) => m[0] === word[0] && Math.abs(m.length - word.length) <= 2 && withinTwoEdits(word, m)))
      return { kind: 'suspicious' };
    if (numberPrefix(word) >= 4) return { kind: 'suspicious' };
    // Arabic "و" glued to a broken number word ("واعشرون").
    if (
      conjunction &&
      word.startsWith(conjunction) &&
      word.length > conjunction.length + 1 &&
      analyseWord(word.slice(conjunction.length), typed).kind !== 'other'
    )
      return { kind: 'suspicious' };
    return { kind: 'other' };
  };

  const units: [Phrase, UnitWord][] = [];
  for (const source of [spec.units, lang === 'de' ? {} : de.units, lang === 'en' ? {} : en.units, INTERNATIONAL_UNITS]) {
    for (const [unit, words] of Object.entries(source) as [UnitWord, readonly string[]][]) {
      for (const w of words) {
        const p = phrase(w);
        if (p.length > 0 && !units.some(([q]) => same(q, p))) units.push([p, unit]);
      }
    }
  }

  return {
    lang,
    grammar: spec.grammar,
    hasSuffixes: suffixes.length > 0,
    about: phrases(spec.about),
    inexactBefore: phrases(spec.inexactBefore),
    inexactAfter: phrases(spec.inexactAfter),
    decades: new Set((spec.decades ?? []).map(fold)),
    ordinals: new Set((spec.ordinals ?? []).map(fold)),
    // "7/10" in every language.
    outOf: phrases([...spec.outOf, '/']),
    outOfMaxFirst: phrases(spec.outOfMaxFirst),
    rangeWords: phrases(spec.rangeWords),
    units: new PhraseList(units),
    none: { general: phrases(spec.none.general), pain: phrases(spec.none.pain), almost: phrases(spec.none.almost), degree: phrases(spec.none.degree) },
    analyse,
  };
}

function pushTo(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function same(a: Phrase, b: Phrase): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Segmentation {
  atoms: Atom[];
  edits: number;
  pieces: number;
  /** A typo in the first letter of a piece: never a correction, only a reason to doubt one. */
  risky: boolean;
}

/**
 * All ways to write `word` as a sequence of number words, with at most
 * `edits` typos (one letter missing, extra, wrong, or two swapped; never the
 * first letter of a piece, and only in pieces of five letters or more).
 * Memoised per position; capped, so no input makes it explode.
 */
function segmentations(
  word: string,
  atoms: ReadonlyMap<string, Atom>,
  glue: ReadonlyMap<string, string[]>,
  typoTargets: readonly string[],
  edits: number,
): Segmentation[] {
  const memo = new Map<number, Segmentation[]>();
  const CAP = 12;
  const rec = (pos: number, left: number): Segmentation[] => {
    if (pos === word.length) return [{ atoms: [], edits: 0, pieces: 0, risky: false }];
    const key = pos * 4 + left;
    const known = memo.get(key);
    if (known) return known;
    const out: Segmentation[] = [];
    const first = word[pos] ?? '';
    const extend = (piece: string, next: number, cost: number, risky: boolean) => {
      const atom = atoms.get(piece);
      if (!atom) return;
      for (const r of rec(next, left - cost)) {
        if (out.length >= CAP) return;
        out.push({ atoms: [atom, ...r.atoms], edits: r.edits + cost, pieces: r.pieces + 1, risky: risky || r.risky });
      }
    };
    // A one-letter piece (the glued Arabic "و") only starts a word: "وخمسو" is no "و|خمس|و".
    for (const m of glue.get(first) ?? []) if ((m.length > 1 || pos === 0) && word.startsWith(m, pos)) extend(m, pos + m.length, 0, false);
    if (left > 0) {
      // All number words one typo away, also short ones and ones with another first
      // letter: those are never the correction, but they make it ambiguous
      // ("ستعون": سبعون or تسعون; "تسون": تسعون or ستون).
      for (const m of typoTargets) {
        for (const len of [m.length, m.length - 1, m.length + 1]) {
          if (pos + len > word.length) continue;
          const sub = word.slice(pos, pos + len);
          if (sub !== m && oneEdit(sub, m)) extend(m, pos + len, 1, m[0] !== first || m.length < 5);
        }
      }
    }
    memo.set(key, out);
    return out;
  };
  return rec(0, edits);
}

/**
 * The reading with fewest typos, then fewest pieces. With a typo, all such
 * readings must agree and one must keep the first letters: otherwise 'ambiguous'.
 */
function best(all: Segmentation[]): Segmentation | 'ambiguous' | undefined {
  if (all.length === 0) return undefined;
  const minEdits = Math.min(...all.map((s) => s.edits));
  const fewest = all.filter((s) => s.edits === minEdits);
  const minPieces = Math.min(...fewest.map((s) => s.pieces));
  const top = fewest.filter((s) => s.pieces === minPieces);
  const first = top[0] as Segmentation;
  // Exact splits may differ harmlessly ("achtzehn" is never split); typo readings must agree.
  if (minEdits === 0) return first;
  const signature = (s: Segmentation) => JSON.stringify(s.atoms);
  if (top.some((s) => signature(s) !== signature(first))) return 'ambiguous';
  return top.find((s) => !s.risky) ?? 'ambiguous';
}

/** Optimal-string-alignment distance of at most 2, with a banded table and early exit. */
export function withinTwoEdits(a: string, b: string): boolean {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 2) return false;
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: lb + 1 }, (_, j) => j);
  for (let i = 1; i <= la; i++) {
    const cur: number[] = [i];
    let best = i;
    for (let j = 1; j <= lb; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 9) + 1, (cur[j - 1] ?? 9) + 1, (prev[j - 1] ?? 9) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 9) + 1);
      cur.push(d);
      if (d < best) best = d;
    }
    if (best > 2) return false;
    prev2 = prev;
    prev = cur;
  }
  return (prev[lb] ?? 9) <= 2;
}
