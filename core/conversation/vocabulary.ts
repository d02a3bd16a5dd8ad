import type { Resource } from 'i18next';
import { normalizeWords } from '../engine/normalize.ts';
import { readLocaleResources } from '../i18n.ts';
import { type Language, LANGUAGES } from '../language.ts';

/** Red-flag categories that get the crisis-line message instead of the general emergency one. */
export { CRISIS_CATEGORIES } from '../redflags/index.ts';

/**
 * Command words of every shipped language, from `locales/<lng>/commands.json`,
 * normalised once. Patients mix languages, so every list is checked whatever
 * the patient's language is. (Red flags: core/redflags.)
 */
export interface Vocabulary {
  stop: ReadonlyMap<string, Language>;
  start: ReadonlyMap<string, Language>;
  languageNames: ReadonlyMap<string, Language>;
}

interface CommandsJson {
  stop?: string[];
  start?: string[];
  languageName?: string[];
}

export function buildVocabulary(resources: Resource = readLocaleResources()): Vocabulary {
  const stop = new Map<string, Language>();
  const start = new Map<string, Language>();
  const languageNames = new Map<string, Language>();
  for (const language of LANGUAGES) {
    const namespaces = resources[language] as Record<string, unknown> | undefined;
    const commands = (namespaces?.['commands'] ?? {}) as CommandsJson;
    for (const word of commands.stop ?? []) stop.set(normalizeWords(word), language);
    for (const word of commands.start ?? []) start.set(normalizeWords(word), language);
    for (const word of commands.languageName ?? []) languageNames.set(normalizeWords(word), language);
  }
  return { stop, start, languageNames };
}

let shared: Vocabulary | undefined;
export function vocabulary(): Vocabulary {
  shared ??= buildVocabulary();
  return shared;
}
