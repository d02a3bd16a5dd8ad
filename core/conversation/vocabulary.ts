import type { Resource } from 'i18next';
import { normalizeWords } from '../engine/normalize.ts';
import { readLocaleResources } from '../i18n.ts';
import { type Language, LANGUAGES } from '../language.ts';

/** Red-flag categories that get the crisis-line message instead of the general emergency one. */
export const CRISIS_CATEGORIES: ReadonlySet<string> = new Set(['suicidal']);

export interface RedFlagPhrase {
  /** Normalised, padded with spaces: matched as a whole-word substring. */
  padded: string;
  category: string;
  language: Language;
}

/**
 * Command words and red-flag phrases of every shipped language, from
 * `locales/<lng>/commands.json` and `redflags.json`, normalised once. Patients
 * mix languages, so every list is checked whatever the patient's language is.
 */
export interface Vocabulary {
  stop: ReadonlyMap<string, Language>;
  start: ReadonlyMap<string, Language>;
  languageNames: ReadonlyMap<string, Language>;
  redFlags: readonly RedFlagPhrase[];
  /** Per language: negators right before a phrase ("keine Atemnot") or right after it ("kanama yok"). */
  negations: ReadonlyMap<Language, { before: readonly string[]; after: readonly string[] }>;
}

interface CommandsJson {
  stop?: string[];
  start?: string[];
  languageName?: string[];
}
interface RedFlagsJson {
  categories?: Record<string, string[]>;
  negation?: { before?: string[]; after?: string[] };
}

export function buildVocabulary(resources: Resource = readLocaleResources()): Vocabulary {
  const stop = new Map<string, Language>();
  const start = new Map<string, Language>();
  const languageNames = new Map<string, Language>();
  const redFlags: RedFlagPhrase[] = [];
  const negations = new Map<Language, { before: string[]; after: string[] }>();
  for (const language of LANGUAGES) {
    const namespaces = resources[language] as Record<string, unknown> | undefined;
    const commands = (namespaces?.['commands'] ?? {}) as CommandsJson;
    for (const word of commands.stop ?? []) stop.set(normalizeWords(word), language);
    for (const word of commands.start ?? []) start.set(normalizeWords(word), language);
    for (const word of commands.languageName ?? []) languageNames.set(normalizeWords(word), language);
    const flags = (namespaces?.['redflags'] ?? {}) as RedFlagsJson;
    const normalised = (list: string[] | undefined) => (list ?? []).map(normalizeWords).filter(Boolean);
    negations.set(language, { before: normalised(flags.negation?.before), after: normalised(flags.negation?.after) });
    for (const [category, phrases] of Object.entries(flags.categories ?? {})) {
      for (const phrase of phrases) {
        const normalised = normalizeWords(phrase);
        if (normalised) redFlags.push({ padded: ` ${normalised} `, category, language });
      }
    }
  }
  // Crisis phrases first: "ich will nicht mehr leben, notfall" must get the crisis line.
  redFlags.sort((a, b) => Number(CRISIS_CATEGORIES.has(b.category)) - Number(CRISIS_CATEGORIES.has(a.category)));
  return { stop, start, languageNames, redFlags, negations };
}

let shared: Vocabulary | undefined;
export function vocabulary(): Vocabulary {
  shared ??= buildVocabulary();
  return shared;
}

