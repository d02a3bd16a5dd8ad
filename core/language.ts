/** The languages Visite ships texts for. German and English are mandatory everywhere. */
export const LANGUAGES = ['de', 'en', 'tr', 'ar', 'uk', 'ru', 'pl'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Fallback order when a text is missing in the patient's language. */
export const FALLBACK_LANGUAGES: readonly Language[] = ['de', 'en'];

const RTL: ReadonlySet<Language> = new Set<Language>(['ar']);

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

export function isRightToLeft(language: Language): boolean {
  return RTL.has(language);
}
