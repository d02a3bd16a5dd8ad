import type { Resource } from 'i18next';
import { readLocaleResources } from '../i18n.ts';
import { type Language, LANGUAGES } from '../language.ts';
import { type Concept, FUNCTION_CONCEPTS, isConcept } from './concepts.ts';
import { SHARED } from './lexicon/shared.ts';
import type { Lookup } from './match.ts';
import { cyrillicSkeleton, foldWord, scriptOf, umlautVariant } from './normalise.ts';

/**
 * The word lists of all languages, compiled once into tries. Every language is
 * searched on every message (patients mix languages); a hit remembers which
 * language's list it came from.
 *
 * Pattern syntax (one string per entry, words separated by spaces):
 *   `blut`       the word exactly
 *   `blut*`      a word starting with "blut" (stems as prefixes: blutet, blutung)
 *   `*schmerz*`  a word containing it (German compounds: Bauchschmerzen)
 *   `*not`       a word ending in it (Atemnot, Luftnot)
 *   `+`          up to two other words may stand here ("wacht + nicht auf")
 *   `word!`      no typo tolerance for this word
 * Words of six letters or more (exact or prefix) also match with one typo
 * (Damerau-Levenshtein 1): "bewustlos", "warfrin", "tounge".
 */

export type Mode = 'exact' | 'prefix' | 'suffix' | 'infix';

export interface WordPattern {
  text: string;
  mode: Mode;
  fuzzy: boolean;
  /** Up to two other tokens may stand before this word. */
  gap: boolean;
  /** Russian/Ukrainian words: their Latin skeleton, for transliterated text. */
  skeleton?: string;
}

export interface Entry {
  id: number;
  concept: Concept;
  /** null: language-neutral (drug names, emoji). */
  language: Language | null;
  words: WordPattern[];
  raw: string;
}

interface Ref {
  entry: Entry;
}
export interface TrieNode {
  next: Map<string, TrieNode>;
  exact: Ref[];
  prefix: Ref[];
  /** Deepest fuzzy-capable entry below (pruning the typo search). */
  fuzzyBelow: boolean;
}

export interface LanguageRules {
  /** Turkish negates verbs with a suffix ("kanamıyor" = does not bleed): matched on the rest of a stem match. */
  negationSuffix?: RegExp;
}

export interface Lexicon {
  entries: Entry[];
  /** First words, exact and prefix. */
  main: TrieNode;
  /** First words that may stand inside a word (infix, suffix). */
  inner: TrieNode;
  /** Russian/Ukrainian first words as Latin skeletons. */
  translit: TrieNode;
  languages: Map<Language, LanguageRules>;
  sources: Map<Language | 'shared', string[]>;
  /** What each spelling matched (core/redflags/match.ts): words repeat across messages. */
  lookups: Map<string, Lookup>;
}

export interface LexiconJson {
  sources?: string[];
  negationSuffix?: string;
  concepts?: Record<string, string[]>;
}

export class LexiconError extends Error {}

const node = (): TrieNode => ({ next: new Map(), exact: [], prefix: [], fuzzyBelow: false });

function insert(root: TrieNode, key: string, mode: 'exact' | 'prefix', ref: Ref, fuzzy: boolean): void {
  let n = root;
  if (fuzzy) n.fuzzyBelow = true;
  for (const ch of key) {
    let child = n.next.get(ch);
    if (!child) {
      child = node();
      n.next.set(ch, child);
    }
    n = child;
    if (fuzzy) n.fuzzyBelow = true;
  }
  (mode === 'exact' ? n.exact : n.prefix).push(ref);
}

/** Minimum folded length for typo tolerance. */
export const FUZZY_MIN = 6;
/** Transliteration skeletons shorter than this are too ambiguous to use. */
const TRANSLIT_MIN_EXACT = 3;
const TRANSLIT_MIN_PREFIX = 4;

export function parsePattern(raw: string): WordPattern[] {
  const words: WordPattern[] = [];
  let gap = false;
  for (const part of raw.trim().split(/\s+/)) {
    if (part === '+') {
      gap = true;
      continue;
    }
    let w = part;
    let fuzzy = true;
    if (w.endsWith('!')) {
      fuzzy = false;
      w = w.slice(0, -1);
    }
    const lead = w.startsWith('*');
    const trail = w.endsWith('*') && w.length > 1;
    const core = w.slice(lead ? 1 : 0, trail ? -1 : undefined);
    // Emoji and symbols are kept as they are; words are folded like the text.
    const text = /\p{L}|\p{N}/u.test(core) ? foldWord(core) : core.replace(/\uFE0F/g, '');
    if (text === '') throw new LexiconError(`pattern "${raw}": empty word`);
    const mode: Mode = lead && trail ? 'infix' : lead ? 'suffix' : trail ? 'prefix' : 'exact';
    const pattern: WordPattern = { text, mode, fuzzy: fuzzy && (mode === 'exact' || mode === 'prefix') && [...text].length >= FUZZY_MIN, gap };
    if (scriptOf(text) === 'cyrillic') pattern.skeleton = cyrillicSkeleton(text);
    words.push(pattern);
    gap = false;
  }
  if (words.length === 0) throw new LexiconError(`pattern "${raw}" has no word`);
  if (gap) throw new LexiconError(`pattern "${raw}" ends with "+"`);
  return words;
}

function readJson(resources: Resource, language: Language): LexiconJson {
  const namespaces = resources[language] as Record<string, unknown> | undefined;
  return (namespaces?.['redflags'] ?? {}) as LexiconJson;
}

export function buildLexicon(resources: Resource = readLocaleResources()): Lexicon {
  const lexicon: Lexicon = { entries: [], main: node(), inner: node(), translit: node(), languages: new Map(), sources: new Map(), lookups: new Map() };
  const seen = new Set<string>();
  const add = (concept: string, raw: string, language: Language | null, where: string) => {
    if (!isConcept(concept)) throw new LexiconError(`${where}: unknown concept "${concept}"`);
    // Grammar words never match with a typo: "gelmiyor" (not coming) is one
    // letter from "geliyor" (coming), "nichts" from "nicht".
    if (FUNCTION_CONCEPTS.has(concept))
      raw = raw
        .split(/\s+/)
        .map((w) => (w === '+' || w.endsWith('!') ? w : `${w}!`))
        .join(' ');
    const variants = [raw];
    // Germans type ä/ö/ü as ae/oe/ue; Turks do not ("teşekkürler" is no "tesekkuerler").
    const umlaut = language === 'de' ? umlautVariant(raw) : undefined;
    if (umlaut) variants.push(umlaut);
    for (const variant of variants) {
      let words: WordPattern[];
      try {
        words = parsePattern(variant);
      } catch (err) {
        throw new LexiconError(`${where}: ${(err as Error).message}`);
      }
      const key = `${concept}|${language}|${words.map((w) => `${w.mode}:${w.text}:${w.gap}:${w.fuzzy}`).join(' ')}`;
      if (seen.has(key)) continue; // "kıpkırmızı" and "kipkirmizi" fold alike
      seen.add(key);
      const entry: Entry = { id: lexicon.entries.length, concept, language, words, raw };
      lexicon.entries.push(entry);
      const first = words[0]!;
      const ref = { entry };
      if (first.mode === 'exact' || first.mode === 'prefix') insert(lexicon.main, first.text, first.mode, ref, first.fuzzy);
      else insert(lexicon.inner, first.text, first.mode === 'suffix' ? 'exact' : 'prefix', ref, false);
      if (first.skeleton && (language === 'ru' || language === 'uk')) {
        const skel = first.skeleton;
        // A phrase is checked word by word, so a short first word is safe there ("не могу дышать").
        const phrase = words.length > 1 && skel.length >= 2;
        if (first.mode === 'exact' && (phrase || skel.length >= TRANSLIT_MIN_EXACT)) insert(lexicon.translit, skel, 'exact', ref, false);
        if (first.mode === 'prefix' && (phrase || skel.length >= TRANSLIT_MIN_PREFIX)) insert(lexicon.translit, skel, 'prefix', ref, false);
      }
    }
  };
  for (const [concept, patterns] of Object.entries(SHARED.concepts)) for (const p of patterns) add(concept, p, null, 'core/redflags/lexicon/shared.ts');
  lexicon.sources.set('shared', [...SHARED.sources]);
  for (const language of LANGUAGES) {
    const json = readJson(resources, language);
    const where = `locales/${language}/redflags.json`;
    lexicon.sources.set(language, json.sources ?? []);
    const rules: LanguageRules = {};
    if (json.negationSuffix) rules.negationSuffix = new RegExp(json.negationSuffix);
    lexicon.languages.set(language, rules);
    for (const [concept, patterns] of Object.entries(json.concepts ?? {})) {
      if (!Array.isArray(patterns)) throw new LexiconError(`${where}: "${concept}" is not a list`);
      for (const p of patterns) add(concept, String(p), language, where);
    }
  }
  return lexicon;
}

let shared: Lexicon | undefined;
export function lexicon(): Lexicon {
  shared ??= buildLexicon();
  return shared;
}
