import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lexicon, missingEngineKeys, WORD_LISTS } from '../../../core/engine/lexicon.ts';
import { LANGUAGES } from '../../../core/language.ts';
import { ROOT } from '../helpers.ts';

const load = (lang: string) => JSON.parse(readFileSync(`${ROOT}locales/${lang}/engine.json`, 'utf8')) as Record<string, unknown>;

function flatten(o: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = o;
  return out;
}

describe('engine locales', () => {
  it('no key is missing in any of the seven languages', () => {
    expect(missingEngineKeys()).toEqual({});
  });

  it('no language has keys German lacks, and placeholders match German', () => {
    const de = flatten(load('de'));
    for (const lang of LANGUAGES) {
      const other = flatten(load(lang));
      expect(
        Object.keys(other).filter((k) => !(k in de)),
        lang,
      ).toEqual([]);
      for (const [key, text] of Object.entries(de)) {
        if (typeof text !== 'string') continue;
        const vars = (s: unknown) => [...String(s).matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
        expect(vars(other[key]), `${lang} ${key}`).toEqual(vars(text));
      }
    }
  });

  // Number words moved to core/engine/numbers/<lang>.ts (test/unit/engine/numbers*.test.ts cover them).
  it('word lists are non-empty in every language', () => {
    for (const lang of LANGUAGES) {
      const lex = lexicon(lang);
      for (const list of WORD_LISTS) expect(lex.ownWords[list].size, `${lang} ${list}`).toBeGreaterThan(0);
    }
  });

  it('yes and no words never overlap within a language', () => {
    for (const lang of LANGUAGES) {
      const lex = lexicon(lang);
      expect(
        [...lex.ownWords.yes].filter((w) => lex.ownWords.no.has(w)),
        lang,
      ).toEqual([]);
      expect(
        [...lex.words.yes].filter((w) => lex.words.no.has(w)),
        lang,
      ).toEqual([]);
    }
  });

  it('formats decimals per language', () => {
    expect(lexicon('de').number(38.5)).toBe('38,5');
    expect(lexicon('en').number(38.5)).toBe('38.5');
    expect(lexicon('ar').number(38.5)).toMatch(/^38[.,٫]5$/);
  });
});
