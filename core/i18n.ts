import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type i18n, type Resource, type TFunction } from 'i18next';
import { FALLBACK_LANGUAGES, type Language, LANGUAGES } from './language.ts';

/**
 * Locale resources live in `locales/<language>/<namespace>.json`. They are read
 * once, synchronously, so the rest of the core can translate without I/O.
 */
export const LOCALES_DIR = fileURLToPath(new URL('../locales/', import.meta.url));

export function readLocaleResources(dir: string = LOCALES_DIR): Resource {
  const resources: Resource = {};
  for (const language of readdirSync(dir, { withFileTypes: true })) {
    if (!language.isDirectory()) continue;
    const namespaces: Record<string, unknown> = {};
    for (const file of readdirSync(join(dir, language.name))) {
      if (!file.endsWith('.json')) continue;
      namespaces[file.slice(0, -'.json'.length)] = JSON.parse(readFileSync(join(dir, language.name, file), 'utf8'));
    }
    resources[language.name] = namespaces as Resource[string];
  }
  return resources;
}

export function createI18n(resources: Resource = readLocaleResources()): i18n {
  const instance = i18next.createInstance();
  void instance.init({
    resources,
    supportedLngs: [...LANGUAGES],
    fallbackLng: [...FALLBACK_LANGUAGES],
    ns: Object.keys(resources['de'] ?? {}),
    defaultNS: 'bot',
    initAsync: false,
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return instance;
}

let shared: i18n | undefined;

/** A translator bound to one language, from the process-wide instance. */
export function translator(language: Language): TFunction {
  shared ??= createI18n();
  return shared.getFixedT(language);
}
