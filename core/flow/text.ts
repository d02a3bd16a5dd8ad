import { FALLBACK_LANGUAGES, type Language } from '../language.ts';
import type { LocalizedText } from './model.ts';

/** A flow text in the patient's language, falling back to German, then English. */
export function localize(text: LocalizedText, lang: Language): string {
  const own = text[lang];
  if (own) return own;
  for (const l of FALLBACK_LANGUAGES) {
    const v = text[l];
    if (v) return v;
  }
  return '';
}
