import { describe, expect, it } from 'vitest';
import { findCommand, findRedFlag } from '../../../core/conversation/recognise.ts';
import { vocabulary } from '../../../core/conversation/vocabulary.ts';

const vocab = vocabulary();

describe('findRedFlag', () => {
  it.each([
    ['Ich habe seit heute früh starke Brustschmerzen!', 'chest_pain', 'de'],
    ["I can't breathe", 'breathing', 'en'],
    ['Nefes alamıyorum', 'breathing', 'tr'],
    ['Сильное кровотечение из раны', 'bleeding', 'ru'],
    ['ich will nicht mehr leben', 'suicidal', 'de'],
    ['NOTFALL', 'emergency', 'de'],
  ] as const)('%j → %s (%s)', (text, category, language) => {
    expect(findRedFlag(text, language)).toEqual({ category, language, negated: false });
  });

  it.each(['2', '37,5 Grad', 'leichte Schmerzen an der Naht', 'Puls 112', 'ja', '', '🙂🙂🙂'])('%j is no red flag', (text) => {
    expect(findRedFlag(text)).toBeNull();
  });

  it('marks a directly negated mention as negated, before or after the phrase', () => {
    expect(findRedFlag('keine Atemnot, alles gut')).toMatchObject({ category: 'breathing', negated: true });
    expect(findRedFlag('no chest pain today')).toMatchObject({ category: 'chest_pain', negated: true });
    expect(findRedFlag('göğüs ağrısı yok')).toMatchObject({ category: 'chest_pain', negated: true });
  });

  it('does not let a negation further away hide a red flag', () => {
    expect(findRedFlag('mir geht es nicht gut, Brustschmerzen')).toMatchObject({ category: 'chest_pain', negated: false });
  });

  it('prefers a plain mention over a negated one', () => {
    expect(findRedFlag('keine Atemnot, aber starke Brustschmerzen')).toMatchObject({ category: 'chest_pain', negated: false });
  });

  it('never treats suicidal thoughts as negated', () => {
    expect(findRedFlag('kein Suizid, aber ich will nicht mehr leben')).toMatchObject({ category: 'suicidal', negated: false });
  });

  it('scans long messages whole: a red flag after 20,000 characters is still found', () => {
    expect(findRedFlag(`${'bla '.repeat(5_000)}Atemnot`)).toMatchObject({ category: 'breathing' });
    expect(findRedFlag(`Atemnot ${'bla '.repeat(5_000)}`)).toMatchObject({ category: 'breathing' });
  });
});

describe('findCommand', () => {
  it.each([
    ['stopp', { type: 'stop' }],
    ['STOP!', { type: 'stop' }],
    ['dur', { type: 'stop' }],
    ['стоп', { type: 'stop' }],
    ['start', { type: 'start' }],
    ['English', { type: 'language', language: 'en' }],
    ['Türkçe', { type: 'language', language: 'tr' }],
    ['العربية', { type: 'language', language: 'ar' }],
    ['!lang uk', { type: 'language', language: 'uk' }],
    ['/sprache pl', { type: 'language', language: 'pl' }],
  ])('%j → %j', (text, command) => {
    expect(findCommand(text, vocab)).toEqual(command);
  });

  it.each(['ich will nicht stoppen', '!lang xx', 'weiter', 'überspringen', '3', 'Deutsch ist schwer für mich', 'x'.repeat(100)])('%j is no command', (text) => {
    expect(findCommand(text, vocab)).toBeNull();
  });
});
