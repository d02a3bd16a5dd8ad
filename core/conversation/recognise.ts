import { normalizeWords } from '../engine/normalize.ts';
import { isLanguage, type Language } from '../language.ts';
import { detectRedFlags, isDeniedRedFlag } from '../redflags/index.ts';
import type { Vocabulary } from './vocabulary.ts';

/** What the conversation needs to know about a red flag in a message. */
export interface FoundRedFlag {
  category: string;
  /** The language whose word list matched (not necessarily the patient's). */
  language: Language;
  /** Only denied ("keine Atemnot", "kanama yok"): recorded for the team, the conversation goes on. */
  negated: boolean;
}

/**
 * The most serious red flag in a message, from core/redflags (every language
 * is checked; the patient's language only breaks ties). An urgent finding
 * comes back as not negated; a denied red flag as negated; symptoms below a
 * red flag (warnings) are not reported here.
 */
export function findRedFlag(text: string, language?: Language): FoundRedFlag | null {
  const finding = detectRedFlags(text, language ? { language } : {});
  const top = finding.hits[0];
  if (finding.severity === 'urgent' && top) return { category: top.category, language: top.language, negated: false };
  const denied = finding.hits.find(isDeniedRedFlag);
  return denied ? { category: denied.category, language: denied.language, negated: true } : null;
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
