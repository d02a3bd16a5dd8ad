import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../../core/language.ts';
import type { Concept } from '../../../core/redflags/concepts.ts';
import { buildLexicon, CATEGORIES, lexicon, LexiconError } from '../../../core/redflags/index.ts';
import { RULES, type Slot } from '../../../core/redflags/rules.ts';

const concepts = (slot: Slot): readonly Concept[] =>
  typeof slot === 'string' ? [slot as Concept] : Array.isArray(slot) ? (slot as readonly Concept[]) : (slot as { any: readonly Concept[] }).any;

/** Concepts that measured values produce (core/redflags/values.ts) once the keyword is in the list. */
const VALUE_CONCEPTS: Partial<Record<Concept, Concept>> = {
  temp_high: 'temp_kw',
  temp_very_low: 'temp_kw',
  pulse_high: 'pulse_kw',
  pulse_raised: 'pulse_kw',
  pulse_low: 'pulse_kw',
  spo2_low: 'spo2_kw',
  spo2_lowish: 'spo2_kw',
  rr_high: 'rr_kw',
  bp_low: 'bp_kw',
  bp_very_high: 'bp_kw',
  bp_high: 'bp_kw',
  sugar_low: 'sugar_kw',
  sugar_high: 'sugar_kw',
  inr_high: 'inr_kw',
};

describe('word lists', () => {
  it('load for every language; an unknown concept or a broken pattern fails with the file named', () => {
    expect(lexicon().entries.length).toBeGreaterThan(5_000);
    expect(() => buildLexicon({ de: { redflags: { concepts: { chest_pian: ['brust*'] } } } })).toThrow(
      new LexiconError('locales/de/redflags.json: unknown concept "chest_pian"'),
    );
    expect(() => buildLexicon({ en: { redflags: { concepts: { pain: ['hurts +'] } } } })).toThrow(
      /locales\/en\/redflags.json: pattern "hurts \+" ends with "\+"/,
    );
  });

  it('name their sources in every language', () => {
    for (const language of LANGUAGES) expect(lexicon().sources.get(language)?.length, language).toBeGreaterThan(0);
  });

  it.each(LANGUAGES)('%s: every category is reachable through some rule whose concepts all have words in this language', (language) => {
    const have = new Set<Concept>(
      lexicon()
        .entries.filter((e) => e.language === language || e.language === null)
        .map((e) => e.concept),
    );
    const covered = (c: Concept) => have.has(c) || (VALUE_CONCEPTS[c] !== undefined && have.has(VALUE_CONCEPTS[c]!));
    const reachable = new Set(RULES.filter((r) => r.severity === 'urgent' && r.all.every((slot) => concepts(slot).some(covered))).map((r) => r.category));
    expect([...CATEGORIES].filter((c) => !reachable.has(c))).toEqual([]);
  });
});
