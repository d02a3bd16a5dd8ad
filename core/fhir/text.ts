import type { Element, Extension } from '@medplum/fhirtypes';
import type { LocalizedText } from '../flow/model.ts';
import { isLanguage, type Language, LANGUAGES } from '../language.ts';
import { EXT } from './urls.ts';

/**
 * Localized strings in FHIR: the primary language (German) is the string
 * value, the others ride in the core `translation` extension on the
 * primitive's `_element` (BRIEF §4).
 */
export const PRIMARY: Language = 'de';

export function primary(t: LocalizedText): string {
  return t[PRIMARY] ?? t.en ?? Object.values(t)[0] ?? '';
}

export function translations(t: LocalizedText, base: Language = PRIMARY): Element | undefined {
  const extension: Extension[] = [];
  for (const lang of LANGUAGES) {
    const content = t[lang];
    if (lang === base || !content) continue;
    extension.push({
      url: EXT.translation,
      extension: [
        { url: 'lang', valueCode: lang },
        { url: 'content', valueString: content },
      ],
    });
  }
  return extension.length > 0 ? { extension } : undefined;
}

/** Reads a string plus its translation extensions back into a LocalizedText. */
export function readTranslations(value: string | undefined, element: Element | undefined, base: Language): { text: LocalizedText; foreign: string[] } {
  const text: LocalizedText = {};
  const foreign: string[] = [];
  if (value) text[base] = value;
  for (const ext of element?.extension ?? []) {
    if (ext.url !== EXT.translation) continue;
    const rawLang = ext.extension?.find((e) => e.url === 'lang')?.valueCode ?? '';
    const lang = rawLang.split('-')[0]?.toLowerCase();
    const content = ext.extension?.find((e) => e.url === 'content')?.valueString;
    if (!content) continue;
    if (isLanguage(lang)) text[lang] = content;
    else foreign.push(rawLang);
  }
  return { text, foreign };
}

/** Sets a primitive's `_element` (medplum's types omit them; R4 JSON allows them). */
export function withElement(target: object, key: `_${string}`, element: Element): void {
  (target as Record<string, unknown>)[key] = element;
}

export function elementOf(target: object, key: `_${string}`): Element | undefined {
  const v = (target as Record<string, unknown>)[key];
  return v !== null && typeof v === 'object' ? (v as Element) : undefined;
}
