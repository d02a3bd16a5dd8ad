import type { Language } from '../language.ts';
import { type Concept, FUNCTION_CONCEPTS } from './concepts.ts';
import { type Entry, FUZZY_MIN, type Lexicon, type TrieNode, type WordPattern } from './lexicon.ts';
import { arabicVariants, latinSkeleton, scriptOf } from './normalise.ts';
import type { Token } from './tokens.ts';
import { withinOneEdit } from '../text/edit-distance.ts';

/**
 * Finding the word-list entries in a tokenised text. Each token is looked up
 * once per distinct spelling (a bounded cache on the word list keeps repeated words cheap),
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

export interface WordHit {
  entry: Entry;
  from: number;
  to: number;
  fuzzy: boolean;
  /** Found through the Latin skeleton of a Russian/Ukrainian entry. */
  translit?: boolean;
}

const NEGATIONS: ReadonlySet<Concept> = new Set<Concept>(['neg', 'neg_after', 'no_answer']);

/** Concepts that describe another (how much, how long, what it looks like). */
const QUALIFIERS: ReadonlySet<Concept> = new Set<Concept>([
  'heavy',
  'wont_stop',
  'hours',
  'duration',
  'opened',
  'spreading',
  'rigid',
  'bloated',
  'pressure',
  'stabbing',
  'radiates',
  'droop',
  'weak',
  'hot',
  'red',
  'black',
  'swelling',
  'smell',
  'pus',
  'sudden',
  'worst',
  'mild',
  'cant',
  'hard',
  'everything',
  'at_rest',
  'inhale',
  'very',
  'bigger',
  'cant_move',
  'blocked',
  'fast',
  'blue',
  'pale',
  'sweat',
  'tar',
  'coffee_grounds',
  'shiver',
  'rigors',
  'one_side',
  'whole_body',
]);
/** Body sites and core symptoms a qualifier phrase never hides. */
const KEPT: ReadonlySet<Concept> = new Set<Concept>([
  'blood',
  'bleed',
  'chest',
  'heart',
  'abdomen',
  'wound',
  'breathe',
  'arm',
  'leg',
  'calf',
  'face',
  'mouth',
  'lips',
  'tongue',
  'throat',
  'eye',
  'head',
  'urine',
  'stool',
  'gas',
  'toilet',
  'skin',
  'nose',
  'gums',
  'bladder',
  'vomit',
  'cough',
  'fever',
  'swelling',
  'pain',
  'red',
  'black',
]);
/** Distinct spellings remembered per word list (a bounded cache: cleared when full). */
const LOOKUP_CACHE = 50_000;
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
    for (const r of n.prefix)
      if (r.entry.words[0]!.fuzzy && !found.has(r.entry.id)) found.add(r.entry.id), out.push({ entry: r.entry, from: 0, to: s.length, fuzzy: true });
    if (i === s.length)
      for (const r of n.exact)
        if (r.entry.words[0]!.fuzzy && !found.has(r.entry.id)) found.add(r.entry.id), out.push({ entry: r.entry, from: 0, to: s.length, fuzzy: true });
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
  if (token.script === 'latin' && token.ascii && !out.some((h) => h.entry.words.length === 1 && !FUNCTION_CONCEPTS.has(h.entry.concept))) {
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

/**
 * Most phrases fail at their second word: a word that starts with another
 * letter cannot match (typos are looked for after the first letter only, as
 * in the trie), unless Arabic clitics or a transliteration may be in the way.
 */
function cannotMatch(p: WordPattern, t: Token): boolean {
  if (p.mode === 'suffix' || p.mode === 'infix' || t.script === 'arabic') return false;
  if (p.skeleton && t.script === 'latin') return false;
  if (t.norm.charCodeAt(0) === p.text.charCodeAt(0)) return false;
  // A typo in the first letter of a long word ("астанавливается"): the second letter decides.
  return !(p.fuzzy && t.norm.charCodeAt(1) === p.text.charCodeAt(1));
}

/** Whether one later word of a phrase matches a token (all ways a first word can). */
function wordMatches(p: WordPattern, t: Token, skeletons: Map<number, string>, index: number): boolean {
  if (t.kind === 'number') return p.text === t.norm;
  if (cannotMatch(p, t)) return false;
  for (const v of t.folded?.variants ?? [t.norm]) {
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
  if (p.skeleton && t.script === 'latin' && p.skeleton.length >= 2 && t.ascii) {
    let skel = skeletons.get(index);
    if (skel === undefined) skeletons.set(index, (skel = latinSkeleton(t.norm)));
    if (p.mode === 'exact' && skel === p.skeleton) return true;
    if (p.mode === 'prefix' && p.skeleton.length >= 3 && skel.startsWith(p.skeleton)) return true;
  }
  return false;
}

/**
 * The rest of a phrase from token `at` on; fills `stack` with the matched
 * token indices and returns its new length, or -1.
 */
function matchRest(words: WordPattern[], k: number, tokens: Token[], at: number, skeletons: Map<number, string>, stack: number[], depth: number): number {
  if (k === words.length) return depth;
  const p = words[k]!;
  const maxSkip = p.gap ? 2 : 0;
  for (let skip = 0; skip <= maxSkip; skip++) {
    const j = at + skip;
    const t = tokens[j];
    if (!t) return -1;
    // Phrases stay inside a clause: "hört, nicht auf" is no phrase.
    if (t.brk > 0) return -1;
    if (wordMatches(p, t, skeletons, j)) {
      stack[depth] = j;
      const done = matchRest(words, k + 1, tokens, j + 1, skeletons, stack, depth + 1);
      if (done >= 0) return done;
    }
  }
  return -1;
}

/**
 * What one spelling matches, prepared once: the single-word entries already
 * reduced to the longest ones (within one word the longest match wins,
 * "thrombosespritze" is not "thrombose"; grammar words such as "kein" inside
 * "keine" are left alone), and the phrases that start with it, still to be
 * checked against the words that follow.
 */
export interface Lookup {
  singles: { entry: Entry; fuzzy: boolean; negatedInside: boolean; translit: boolean }[];
  /** Small-talk words, only wanted by isSmallTalk. */
  chat: { entry: Entry; fuzzy: boolean; negatedInside: boolean; translit: boolean }[];
  /**
   * Phrases by the first letter of their second word (most phrases fail
   * there); those whose second word may carry a typo also by its second
   * letter (FUZZY_KEY + code), as the typo search spares the first letter only
   * if the second one matches.
   */
  byNext: Map<number, WordHit[]>;
  /** Russian/Ukrainian phrases by the first letter of their next word's Latin skeleton (transliteration). */
  latinNext: Map<number, WordHit[]>;
  /** Phrases checked in full (a gap, a part of a word, Arabic). */
  phrases: WordHit[];
}

const FUZZY_KEY = 0x10000;

function prepare(lexicon: Lexicon, token: Token): Lookup {
  const hits = lookup(lexicon, token);
  const singles = hits.filter((h) => h.entry.words.length === 1);
  const kept = singles.filter(
    (h) =>
      FUNCTION_CONCEPTS.has(h.entry.concept) ||
      !singles.some(
        (o) =>
          o !== h &&
          (o.entry.concept === 'idiom' || !FUNCTION_CONCEPTS.has(o.entry.concept)) &&
          o.from <= h.from &&
          o.to >= h.to &&
          o.to - o.from > h.to - h.from,
      ),
  );
  const byNext = new Map<number, WordHit[]>();
  const latinNext = new Map<number, WordHit[]>();
  const phrases: WordHit[] = [];
  const bucket = (key: number, h: WordHit) => {
    const list = byNext.get(key);
    if (list) list.push(h);
    else byNext.set(key, [h]);
  };
  for (const h of hits) {
    if (h.entry.words.length === 1) continue;
    const next = h.entry.words[1]!;
    if (next.gap || next.mode === 'suffix' || next.mode === 'infix' || scriptOf(next.text) === 'arabic') {
      phrases.push(h);
      continue;
    }
    if (next.skeleton) {
      const key = next.skeleton.charCodeAt(0);
      const list = latinNext.get(key);
      if (list) list.push(h);
      else latinNext.set(key, [h]);
    }
    if (h.translit) continue; // a transliterated phrase goes on in Latin letters only
    bucket(next.text.charCodeAt(0), h);
    if (next.fuzzy && next.text.length > 1) bucket(FUZZY_KEY + next.text.charCodeAt(1), h);
  }
  const all = kept.map((h) => {
    let negatedInside = false;
    if (h.entry.words[0]!.mode === 'prefix' && h.entry.language) {
      const suffix = lexicon.languages.get(h.entry.language)?.negationSuffix;
      if (suffix && suffix.test(token.norm.slice(h.to))) negatedInside = true;
    }
    return { entry: h.entry, fuzzy: h.fuzzy, negatedInside, translit: h.translit === true };
  });
  const chatty = (c: Concept) => c === 'smalltalk' || c === 'filler';
  // Grammar counts once per word, whichever language said it ("не": ru and uk).
  const grammar = new Set<Concept>();
  const once = all.filter((h) => !FUNCTION_CONCEPTS.has(h.entry.concept) || (!grammar.has(h.entry.concept) && grammar.add(h.entry.concept)));
  return { singles: once.filter((h) => !chatty(h.entry.concept)), chat: once.filter((h) => chatty(h.entry.concept)), byNext, latinNext, phrases };
}

function tryPhrases(list: WordHit[], tokens: Token[], i: number, skeletons: Map<number, string>, occurrences: Occurrence[], skipFirst = -1): void {
  const stack: number[] = [i];
  for (const h of list) {
    // Already tried through the bucket of its first letter.
    if (skipFirst >= 0 && h.entry.words[1]!.text.charCodeAt(0) === skipFirst) continue;
    const depth = matchRest(h.entry.words, 1, tokens, i + 1, skeletons, stack, 1);
    if (depth < 0) continue;
    const matched = stack.slice(0, depth);
    occurrences.push({
      concept: h.entry.concept,
      language: h.entry.language,
      entry: h.entry,
      first: i,
      last: matched[matched.length - 1]!,
      tokens: matched,
      fuzzy: h.fuzzy,
      negatedInside: false,
      negated: false,
      translit: h.translit === true,
    });
  }
}

function oneWord(h: Lookup['singles'][number], i: number): Occurrence {
  return {
    concept: h.entry.concept,
    language: h.entry.language,
    entry: h.entry,
    first: i,
    last: i,
    tokens: [i],
    fuzzy: h.fuzzy,
    negatedInside: h.negatedInside,
    negated: false,
    translit: h.translit,
  };
}

export function findOccurrences(tokens: Token[], lexicon: Lexicon, hint?: Language, smallTalk = false): Occurrence[] {
  const skeletons = new Map<number, string>();
  const occurrences: Occurrence[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'number' && token.norm.length > 4) continue;
    // Looked up once per spelling and word list: what a word matches depends on nothing else.
    let found: Lookup | undefined;
    const cached = token.folded?.lookup;
    if (cached && cached.lexicon === lexicon) found = cached.found as Lookup;
    else {
      const key = `${token.kind}:${token.ascii ? 'a' : 'u'}:${token.norm}`;
      found = lexicon.lookups.get(key);
      if (!found) {
        found = prepare(lexicon, token);
        if (lexicon.lookups.size >= LOOKUP_CACHE) lexicon.lookups.clear();
        lexicon.lookups.set(key, found);
      }
      if (token.folded) token.folded.lookup = { lexicon, found };
    }
    if (smallTalk) for (const h of found.chat) occurrences.push(oneWord(h, i));
    for (const h of found.singles) occurrences.push(oneWord(h, i));
    if (found.phrases.length > 0) tryPhrases(found.phrases, tokens, i, skeletons, occurrences);
    const next = tokens[i + 1];
    if (next && next.brk === 0 && (found.byNext.size > 0 || found.latinNext.size > 0)) {
      if (next.script === 'arabic') {
        const tried = new Set<WordHit>();
        for (const list of found.byNext.values())
          tryPhrases(
            list.filter((h) => !tried.has(h) && tried.add(h)),
            tokens,
            i,
            skeletons,
            occurrences,
          );
      } else {
        const c0 = next.norm.charCodeAt(0);
        const first = found.byNext.get(c0);
        if (first) tryPhrases(first, tokens, i, skeletons, occurrences);
        const typo = found.byNext.get(FUZZY_KEY + next.norm.charCodeAt(1));
        if (typo) tryPhrases(typo, tokens, i, skeletons, occurrences, c0);
        if (next.ascii && found.latinNext.size > 0) {
          let skel = skeletons.get(i + 1);
          if (skel === undefined) skeletons.set(i + 1, (skel = latinSkeleton(next.norm)));
          const list = found.latinNext.get(skel.charCodeAt(0));
          if (list) tryPhrases(list, tokens, i, skeletons, occurrences);
        }
      }
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
    // An idiom covers what overlaps it: "ich sterbe" in "(ich) sterbe vor langeweile".
    if (big.concept === 'idiom') return small.concept !== 'idiom' && small.first <= big.last && small.last >= big.first;
    // A negation that shares a word with a phrase belongs to the phrase ("läuft nicht" + "nicht mehr").
    if (NEGATIONS.has(small.concept) && !FUNCTION_CONCEPTS.has(big.concept)) return small.tokens.some((t) => big.tokens.includes(t));
    if (!(small.tokens.length < big.tokens.length && small.tokens.every((t) => big.tokens.includes(t)))) return false;
    // A qualifier phrase keeps the body site or symptom it names: "voller Blut"
    // is heavy *and* blood, "heart racing" fast *and* heart.
    return !(QUALIFIERS.has(big.concept) && KEPT.has(small.concept));
  };
  const idiomAt = (t: number, o: Occurrence) => (byToken.get(t) ?? []).some((m) => m.concept === 'idiom' && covers(m, o));
  return occurrences.filter((o) => !((byToken.get(o.first) ?? []).some((m) => covers(m, o)) || (o.last !== o.first && idiomAt(o.last, o))));
}
