import { normalizeWords } from '../engine/normalize.ts';
import { isLanguage, type Language } from '../language.ts';
import { CRISIS_CATEGORIES, type Vocabulary } from './vocabulary.ts';

/** Longest message we scan whole; longer texts are scanned in their first part only. */
const MAX_SCAN = 4_000;

export interface RedFlagHit {
  category: string;
  /** The language whose list matched (not necessarily the patient's). */
  language: Language;
  /** Every occurrence was directly negated ("keine Atemnot", "kanama yok"). */
  negated: boolean;
}

/**
 * The most serious red-flag phrase contained in the text, as whole words, in
 * any shipped language. A phrase counts as negated only when a negator of its
 * language stands directly before or after it; one plain occurrence of any
 * phrase wins over negated ones. Crisis phrases are never treated as negated:
 * "nicht mehr leben" carries its negation inside.
 */
export function findRedFlag(text: string, vocabulary: Vocabulary): RedFlagHit | null {
  const padded = ` ${normalizeWords(text.slice(0, MAX_SCAN))} `;
  if (padded.length <= 2) return null;
  let negatedHit: RedFlagHit | null = null;
  for (const phrase of vocabulary.redFlags) {
    let at = padded.indexOf(phrase.padded);
    while (at >= 0) {
      const crisis = CRISIS_CATEGORIES.has(phrase.category);
      if (crisis || !isNegated(padded, at, phrase.padded.length, vocabulary.negations.get(phrase.language))) {
        return { category: phrase.category, language: phrase.language, negated: false };
      }
      negatedHit ??= { category: phrase.category, language: phrase.language, negated: true };
      at = padded.indexOf(phrase.padded, at + 1);
    }
  }
  return negatedHit;
}

function isNegated(padded: string, at: number, length: number, negation: { before: readonly string[]; after: readonly string[] } | undefined): boolean {
  if (!negation) return false;
  // `at` points at the space before the phrase; `before` ends right there.
  const before = padded.slice(0, at + 1);
  const after = padded.slice(at + length - 1);
  return negation.before.some((word) => before.endsWith(` ${word} `)) || negation.after.some((word) => after.startsWith(` ${word} `));
}

export type Command = { type: 'stop' } | { type: 'start' } | { type: 'language'; language: Language };

/**
 * A whole message that is a command: a stop or start word, a language name
 * ("Türkçe"), or the explicit forms `!stop`, `!start`, `!lang tr`. Commands are
 * whole messages only, so an answer that merely contains such a word is an answer.
 */
export function findCommand(text: string, vocabulary: Vocabulary): Command | null {
  if (text.length > 60) return null;
  const explicit = /^\s*[!/](lang|sprache|language)\s+([a-z]{2})\s*$/i.exec(text);
  if (explicit) {
    const code = explicit[2]!.toLowerCase();
    return isLanguage(code) ? { type: 'language', language: code } : null;
  }
  const words = normalizeWords(text);
  if (!words) return null;
  if (vocabulary.stop.has(words)) return { type: 'stop' };
  if (vocabulary.start.has(words)) return { type: 'start' };
  const language = vocabulary.languageNames.get(words);
  return language ? { type: 'language', language } : null;
}
