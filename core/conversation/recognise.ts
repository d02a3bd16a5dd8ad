import { normalizeWords } from '../engine/normalize.ts';
import { isLanguage, type Language } from '../language.ts';
import type { Vocabulary } from './vocabulary.ts';

/** Longest message we scan whole; longer texts are scanned in their first part only. */
const MAX_SCAN = 4_000;

export interface RedFlagHit {
  category: string;
  /** The language whose list matched (not necessarily the patient's). */
  language: Language;
}

/** The first red-flag phrase contained in the text, as whole words, in any shipped language. */
export function findRedFlag(text: string, vocabulary: Vocabulary): RedFlagHit | null {
  const padded = ` ${normalizeWords(text.slice(0, MAX_SCAN))} `;
  if (padded.length <= 2) return null;
  for (const phrase of vocabulary.redFlags) {
    if (padded.includes(phrase.padded)) return { category: phrase.category, language: phrase.language };
  }
  return null;
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
