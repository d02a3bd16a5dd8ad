import type { Language } from '../language.ts';

/**
 * Greetings the bot answers outside patient rooms, by the language they reveal. Compared
 * after lower-casing and stripping punctuation, so "Hallo!" and "hallo" match.
 */
const GREETINGS: ReadonlyArray<readonly [Language, readonly string[]]> = [
  ['de', ['hallo', 'guten tag', 'guten morgen', 'guten abend', 'moin', 'servus', 'grüß gott', 'grüss gott', 'hallo zusammen']],
  ['en', ['hello', 'hi', 'hey', 'good morning', 'good afternoon', 'good evening']],
];

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The language of a greeting message, or null when the text is not a greeting. */
export function detectGreeting(text: string): Language | null {
  const normalised = normalise(text.slice(0, 200));
  for (const [language, phrases] of GREETINGS) {
    if (phrases.some((phrase) => normalised === phrase || normalised.startsWith(`${phrase} `))) return language;
  }
  return null;
}
