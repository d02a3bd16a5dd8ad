import { readLocaleResources } from '../i18n.ts';
import { FALLBACK_LANGUAGES, type Language, LANGUAGES } from '../language.ts';
import { normalizeWords } from './normalize.ts';

/**
 * Per-language words and texts of the engine, from `locales/<lng>/engine.json`.
 * Loaded once and pre-normalised; lookups on the hot path are Set/Map hits.
 * Templates fall back patient language → de → en, like i18next would, but
 * without its per-call overhead (the bench needs ~50k steps/s).
 */
export const WORD_LISTS = ['yes', 'no', 'skip', 'back', 'help', 'today', 'yesterday', 'dayBeforeYesterday', 'and'] as const;
export type WordList = (typeof WORD_LISTS)[number];

export interface Lexicon {
  lang: Language;
  /** The patient's language plus German and English words that do not clash with it. */
  words: Record<WordList, ReadonlySet<string>>;
  /** Only the patient's language (yes/no decides on these first). */
  ownWords: Record<WordList, ReadonlySet<string>>;
  text(key: string, vars?: Record<string, string | number>): string;
  number(value: number, decimals?: number): string;
}

type Json = { [key: string]: Json } | Json[] | string | number | boolean | null;

let resources: Record<string, Json> | undefined;
function engineResources(): Record<string, Json> {
  if (!resources) {
    resources = {};
    for (const [lang, namespaces] of Object.entries(readLocaleResources())) {
      const ns = (namespaces as Record<string, Json>)['engine'];
      if (ns !== undefined) resources[lang] = ns;
    }
  }
  return resources;
}

function lookup(root: Json | undefined, key: string): Json | undefined {
  let cur: Json | undefined = root;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

const lexicons = new Map<Language, Lexicon>();

export function lexicon(lang: Language): Lexicon {
  let lex = lexicons.get(lang);
  if (!lex) {
    lex = buildLexicon(lang);
    lexicons.set(lang, lex);
  }
  return lex;
}

function buildLexicon(lang: Language): Lexicon {
  const all = engineResources();
  const chain = [lang, ...FALLBACK_LANGUAGES.filter((l) => l !== lang)];
  const wordsOf = (l: Language, list: string): string[] => {
    const v = lookup(all[l], `words.${list}`);
    return Array.isArray(v) ? v.filter((w): w is string => typeof w === 'string') : [];
  };
  const words = {} as Record<WordList, Set<string>>;
  const ownWords = {} as Record<WordList, Set<string>>;
  for (const list of WORD_LISTS) {
    // The patient's own words first; German and English words are understood in
    // every language (patients in Germany mix), except where they would clash
    // with a word of another meaning in the patient's language.
    ownWords[list] = new Set(wordsOf(lang, list).map(normalizeWords));
    words[list] = new Set(ownWords[list]);
  }
  for (const l of FALLBACK_LANGUAGES) {
    if (l === lang) continue;
    for (const list of WORD_LISTS) {
      for (const w of wordsOf(l, list).map(normalizeWords)) {
        const clash = WORD_LISTS.some((other) => other !== list && words[other].has(w));
        if (!clash) words[list].add(w);
      }
    }
  }
  const templates = new Map<string, string>();
  const text = (key: string, vars?: Record<string, string | number>): string => {
    let template = templates.get(key);
    if (template === undefined) {
      template = key;
      for (const l of chain) {
        const v = lookup(all[l], key);
        if (typeof v === 'string') {
          template = v;
          break;
        }
      }
      templates.set(key, template);
    }
    if (!vars) return template;
    return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => String(vars[name] ?? ''));
  };
  const formats = new Map<number, Intl.NumberFormat>();
  // Arabic with Latin digits: what patients type back is what we show.
  const locale = lang === 'ar' ? 'ar-u-nu-latn' : lang;
  const number = (value: number, decimals = 2): string => {
    let f = formats.get(decimals);
    if (!f) {
      f = new Intl.NumberFormat(locale, { maximumFractionDigits: decimals, useGrouping: false });
      formats.set(decimals, f);
    }
    return f.format(value);
  };
  return { lang, words, ownWords, text, number };
}

/** Keys present in `de` (the reference) but missing or of another type in a language. */
export function missingEngineKeys(): Record<string, string[]> {
  const all = engineResources();
  const reference = all['de'];
  const out: Record<string, string[]> = {};
  const walk = (ref: Json | undefined, other: Json | undefined, prefix: string, missing: string[]) => {
    if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) {
      const ok = Array.isArray(ref) ? Array.isArray(other) && other.length > 0 : typeof other === typeof ref && other !== '';
      if (!ok) missing.push(prefix);
      return;
    }
    for (const [k, v] of Object.entries(ref)) {
      const o = other !== null && typeof other === 'object' && !Array.isArray(other) ? other[k] : undefined;
      walk(v, o, prefix ? `${prefix}.${k}` : k, missing);
    }
  };
  for (const lang of LANGUAGES) {
    const missing: string[] = [];
    walk(reference, all[lang], '', missing);
    if (missing.length > 0) out[lang] = missing;
  }
  return out;
}
