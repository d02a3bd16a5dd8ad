import { describe, expect, it } from 'vitest';
import { detectGreeting } from '../../../core/conversation/greeting.ts';
import { translator } from '../../../core/i18n.ts';

describe('detectGreeting', () => {
  it.each([
    ['Hallo', 'de'],
    ['hallo!', 'de'],
    ['  Guten Morgen, Herr Doktor ', 'de'],
    ['Grüß Gott', 'de'],
    ['Hello', 'en'],
    ['hi :)', 'en'],
    ['Good evening.', 'en'],
  ])('%j is a greeting in %s', (text, language) => {
    expect(detectGreeting(text)).toBe(language);
  });

  it.each(['', 'Halloween', 'this is not hello', 'Ich habe Schmerzen', '🙂', 'x'.repeat(10_000)])('%j is not a greeting', (text) => {
    expect(detectGreeting(text)).toBeNull();
  });
});

describe('greeting reply texts', () => {
  it.each(['de', 'en'] as const)('exist in %s and state the helper role and the emergency number', (language) => {
    const text = translator(language)('greeting.reply');
    expect(text).not.toBe('greeting.reply');
    expect(text).toContain('Visite');
    expect(text).toContain('112');
  });
});
