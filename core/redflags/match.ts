import type { Language } from '../language.ts';
import { type Concept, FUNCTION_CONCEPTS } from './concepts.ts';
import { type Entry, FUZZY_MIN, type Lexicon, type TrieNode, type WordPattern } from './lexicon.ts';
import { arabicVariants, latinSkeleton } from './normalise.ts';
import type { Token } from './tokens.ts';

/**
 * Finding the word-list entries in a tokenised text. Each token is looked up
 * once per distinct spelling (a per-call memo keeps repeated words cheap),
 * in three tries: whole words and prefixes, parts of words (compounds), and
 * Latin skeletons of Russian/Ukrainian entries. A token with no match of its
 * own of some length gets one bounded typo search.
 */
export interface Occurrence {
  concept: Concept;
  language: Language | null;
  entry: Entry;
  /** First and last token index. */
  first: number;
  last: number;
  /** Tokens the entry's words matched (a `+` gap is not among them). */
  tokens: number[];
  /** Matched with a typo. */
  fuzzy: boolean;
  /** Turkish negative verb suffix after the stem ("kanamıyor"). */
  negatedInside: boolean;
  /** Read as transliterated Russian/Ukrainian. */
  translit?: boolean;
  negated: boolean;
}

interface WordHit {
  entry: Entry;
  from: number;
  to: number;
  fuzzy: boolean;
  /** Found through the Latin skeleton of a Russian/Ukrainian entry. */
  translit?: boolean;
}

const ASCII_WORD = /^[A-Za-z']+$/;

/** Concepts that describe another (how much, how long, what it looks like). */
const QUALIFIERS: ReadonlySet<Concept> = new Set<Concept>([
  'heavy', 'wont_stop', 'hours', 'duration', 'opened', 'spreading', 'rigid', 'bloated', 'pressure', 'stabbing', 'radiates', 'droop', 'weak', 'hot', 'red', 'black',
  'swelling', 'smell', 'pus', 'sudden', 'worst', 'mild', 'cant', 'hard', 'everything', 'at_rest', 'inhale', 'very', 'bigger', 'cant_move', 'blocked', 'fast', 'blue',
  'pale', 'sweat', 'tar', 'coffee_grounds', 'shiver', 'rigors',
]);
/** Body sites and core symptoms a qualifier phrase never hides. */
const KEPT: ReadonlySet<Concept> = new Set<Concept>([
  'blood', 'bleed', 'chest', 'heart', 'abdomen', 'wound', 'breathe', 'arm', 'leg', 'calf', 'face', 'mouth', 'lips', 'tongue', 'throat', 'eye', 'head', 'urine',
  'stool', 'gas', 'toilet', 'skin', 'nose', 'gums', 'bladder', 'vomit', 'cough', 'fever',
]);
const MAX_INNER = 40; // longest word searched for parts (compounds)
const MAX_FUZZY = 24; // longest word given a typo search

function walk(root: TrieNode, s: string, shift: number, out: WordHit[], whole: boolean): void {
  let n: TrieNode | undefined = root;
  let k = 0;
  for (const ch of s) {
    n = n.next.get(ch);
    if (!n) return;
    k += ch.length;
    for (const r of n.prefix) out.push({ entry: r.entry, from: shift, to: shift + k, fuzzy: false });
  }
  if (whole) for (const r of n.exact) out.push({ entry: r.entry, from: shift, to: shift + k, fuzzy: false });
}

function walkInner(root: TrieNode, s: string, out: WordHit[]): void {
  const limit = Math.min(s.length, MAX_INNER);
  for (let i = 0; i < limit; i++) {
    let n: TrieNode | undefined = root;
    for (let j = i; j < limit && n; j++) {
      n = n.next.get(s[j]!);
      if (!n) break;
      for (const r of n.prefix) out.push({ entry: r.entry, from: i, to: j + 1, fuzzy: false });
      if (j + 1 === s.length) for (const r of n.exact) out.push({ entry: r.entry, from: i, to: j + 1, fuzzy: false });
    }
  }
}

/**
 * Entries within one edit (substitution, insertion, deletion, transposition)
 * of the word; the first letter must match (typos there are rare and the
 * search stays small). Only entries of six letters or more take part.
 */
function walkFuzzy(root: TrieNode, s: string, out: WordHit[]): void {
  const first = root.next.get(s[0]!);
  if (!first) return;
  const found = new Set<number>();
  const report = (n: TrieNode, i: number, edits: number) => {
    if (edits !== 1) return;
    for (const r of n.prefix) if (r.entry.words[0]!.fuzzy && !found.has(r.entry.id)) found.add(r.entry.id), out.push({ entry: r.entry, from: 0, to: s.length, fuzzy: true });
    if (i === s.length) for (const r of n.exact) if (r.entry.words[0]!.fuzzy && !found.has(r.entry.id)) found.add(r.entry.id), out.push({ entry: r.entry, from: 0, to: s.length, fuzzy: true });
  };
  const visit = (n: TrieNode, i: number, edits: number): void => {
    if (!n.fuzzyBelow) return;
    report(n, i, edits);
    if (i < s.length) {
      const child = n.next.get(s[i]!);
      if (child) visit(child, i + 1, edits);
    }
    if (edits > 0) return;
    if (i < s.length) {
      visit(n, i + 1, 1); // an extra letter in the text
      const swapped = i + 1 < s.length ? n.next.get(s[i + 1]!)?.next.get(s[i]!) : undefined;
      if (swapped && s[i] !== s[i + 1]) visit(swapped, i + 2, 1);
    }
    for (const [ch, child] of n.next) {
      if (i < s.length && ch !== s[i]) visit(child, i + 1, 1); // a wrong letter
      visit(child, i, 1); // a missing letter
    }
  };
  visit(first, 1, 0);
}

function lookup(lexicon: Lexicon, token: Token): WordHit[] {
  const out: WordHit[] = [];
  const s = token.norm;
  walk(lexicon.main, s, 0, out, true);
  if (token.kind !== 'word') return out;
  walkInner(lexicon.inner, s, out);
  if (token.script === 'arabic') {
    for (const v of arabicVariants(s)) {
      const shift = s.length - v.length;
      walk(lexicon.main, v, shift, out, true);
    }
  }
  // Only plain ASCII words can be transliterated Russian/Ukrainian: "skóra" is Polish, not "скорая".
  // A word that means something in a Latin-script list is not read as
  // transliterated Russian/Ukrainian ("brustschmerzen" is not "брюш…").
  if (token.script === 'latin' && ASCII_WORD.test(token.text) && !out.some((h) => !FUNCTION_CONCEPTS.has(h.entry.concept))) {
    const skel = latinSkeleton(s);
    if (skel) {
      const before = out.length;
      walk(lexicon.translit, skel, 0, out, true);
      // A skeleton match covers the whole token (offsets do not map back).
      for (let i = before; i < out.length; i++) out[i] = { ...out[i]!, from: 0, to: s.length, translit: true };
    }
  }
  const longest = out.reduce((m, h) => Math.max(m, h.to - h.from), 0);
  const length = [...s].length;
  if (longest < 4 && length >= FUZZY_MIN && length <= MAX_FUZZY) {
    walkFuzzy(lexicon.main, s, out);
    if (token.script === 'arabic') for (const v of arabicVariants(s)) if (v.length >= FUZZY_MIN) walkFuzzy(lexicon.main, v, out);
  }
  return out;
}

/** Damerau-Levenshtein distance ≤ 1 (optimal string alignment), without allocating a matrix. */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // transposition
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** Whether one later word of a phrase matches a token (all ways a first word can). */
function wordMatches(p: WordPattern, t: Token, skeletons: Map<number, string>, index: number): boolean {
  if (t.kind === 'number') return p.text === t.norm;
  const candidates = t.script === 'arabic' ? [t.norm, ...arabicVariants(t.norm)] : [t.norm];
  for (const v of candidates) {
    switch (p.mode) {
      case 'exact':
        if (v === p.text) return true;
        break;
      case 'prefix':
        if (v.startsWith(p.text)) return true;
        break;
      case 'suffix':
        if (v.endsWith(p.text)) return true;
        break;
      case 'infix':
        if (v.includes(p.text)) return true;
        break;
    }
  }
  if (p.fuzzy && t.norm.length >= FUZZY_MIN - 1) {
    if (p.mode === 'exact' && withinOneEdit(p.text, t.norm)) return true;
    if (p.mode === 'prefix') {
      const n = p.text.length;
      for (const len of [n - 1, n, n + 1]) if (len <= t.norm.length && withinOneEdit(p.text, t.norm.slice(0, len))) return true;
    }
  }
  if (p.skeleton && t.script === 'latin' && p.skeleton.length >= 2 && ASCII_WORD.test(t.text)) {
    let skel = skeletons.get(index);
    if (skel === undefined) skeletons.set(index, (skel = latinSkeleton(t.norm)));
    if (p.mode === 'exact' && skel === p.skeleton) return true;
    if (p.mode === 'prefix' && p.skeleton.length >= 3 && skel.startsWith(p.skeleton)) return true;
  }
  return false;
}

/** The rest of a phrase from token `at` on; returns the matched token indices or undefined. */
function matchRest(words: WordPattern[], k: number, tokens: Token[], at: number, skeletons: Map<number, string>, matched: number[]): number[] | undefined {
  if (k === words.length) return matched;
  const p = words[k]!;
  const maxSkip = p.gap ? 2 : 0;
  for (let skip = 0; skip <= maxSkip; skip++) {
    const j = at + skip;
    const t = tokens[j];
    if (!t) return undefined;
    // Phrases stay inside a clause: "hört, nicht auf" is no phrase.
    if (t.brk > 0) return undefined;
    if (wordMatches(p, t, skeletons, j)) {
      const done = matchRest(words, k + 1, tokens, j + 1, skeletons, [...matched, j]);
      if (done) return done;
    }
  }
  return undefined;
}

export function findOccurrences(tokens: Token[], lexicon: Lexicon, hint?: Language): Occurrence[] {
  const memo = new Map<string, WordHit[]>();
  const skeletons = new Map<number, string>();
  const occurrences: Occurrence[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'number' && token.norm.length > 4) continue;
    const key = `${token.kind}:${token.norm}`;
    let hits = memo.get(key);
    if (!hits) memo.set(key, (hits = lookup(lexicon, token)));
    const here: { occurrence: Occurrence; hit: WordHit }[] = [];
    for (const h of hits) {
      const words = h.entry.words;
      const matched = words.length === 1 ? [i] : matchRest(words, 1, tokens, i + 1, skeletons, [i]);
      if (!matched) continue;
      let negatedInside = false;
      if (words.length === 1 && words[0]!.mode === 'prefix' && h.entry.language) {
        const suffix = lexicon.languages.get(h.entry.language)?.negationSuffix;
        if (suffix && suffix.test(token.norm.slice(h.to))) negatedInside = true;
      }
      here.push({
        hit: h,
        occurrence: { concept: h.entry.concept, language: h.entry.language, entry: h.entry, first: i, last: matched[matched.length - 1]!, tokens: matched, fuzzy: h.fuzzy, negatedInside, negated: false, ...(h.translit ? { translit: true } : {}) },
      });
    }
    // Within one word the longest match wins ("thrombosespritze" is not "thrombose");
    // grammar words ("kein" inside "keine") are left alone: both may count.
    const single = here.filter((x) => x.occurrence.tokens.length === 1);
    for (const x of here) {
      const h = x.hit;
      const swallowed =
        x.occurrence.tokens.length === 1 &&
        !FUNCTION_CONCEPTS.has(h.entry.concept) &&
        single.some((o) => o !== x && (o.hit.entry.concept === 'idiom' || !FUNCTION_CONCEPTS.has(o.hit.entry.concept)) && o.hit.from <= h.from && o.hit.to >= h.to && o.hit.to - o.hit.from > h.to - h.from);
      if (!swallowed) occurrences.push(x.occurrence);
    }
  }
  return dropCovered(keepTranslit(occurrences, hint));
}

/**
 * One Latin word that happens to sound like a Russian one ("grip" ~ "хрип")
 * is chance; transliterated Russian/Ukrainian counts when the patient writes
 * Russian or Ukrainian, or when two or more words of the message read so.
 */
function keepTranslit(occurrences: Occurrence[], hint: Language | undefined): Occurrence[] {
  if (hint === 'ru' || hint === 'uk') return occurrences;
  const words = new Set(occurrences.filter((o) => o.translit).map((o) => o.first));
  if (words.size === 0 || words.size >= 2) return occurrences;
  return occurrences.filter((o) => !o.translit);
}

/**
 * Across words the longest phrase wins: "blood" inside "blood thinner", "keine"
 * inside "keine Luft", "nicht" inside "hört nicht auf" are no findings (and
 * no negations) of their own. An idiom covers everything between its words.
 */
function dropCovered(occurrences: Occurrence[]): Occurrence[] {
  // Index the phrases by the tokens they span, so the check stays linear.
  const byToken = new Map<number, Occurrence[]>();
  for (const o of occurrences) {
    if (o.tokens.length < 2) continue;
    for (let t = o.first; t <= o.last; t++) {
      const list = byToken.get(t);
      if (list) list.push(o);
      else byToken.set(t, [o]);
    }
  }
  if (byToken.size === 0) return occurrences;
  const covers = (big: Occurrence, small: Occurrence): boolean => {
    if (big === small) return false;
    if (big.concept === 'idiom') return small.concept !== 'idiom' && small.first >= big.first && small.last <= big.last;
    if (!(small.tokens.length < big.tokens.length && small.tokens.every((t) => big.tokens.includes(t)))) return false;
    // A qualifier phrase keeps the body site or symptom it names: "voller Blut"
    // is heavy *and* blood, "heart racing" fast *and* heart.
    return !(QUALIFIERS.has(big.concept) && KEPT.has(small.concept));
  };
  return occurrences.filter((o) => !(byToken.get(o.first) ?? []).some((m) => covers(m, o)));
}
