import { describe, expect, it } from 'vitest';
import { detectRedFlags, isSmallTalk } from '../../../core/redflags/index.ts';

/**
 * Any input is answered quickly and without throwing: 4,000-character
 * messages made to hurt (one word repeated, many negations, long words,
 * emoji, Arabic clitic chains, mixed scripts, controls). The benchmark
 * (bench/redflags.ts) measures the p99; here a generous bound catches a
 * regression to super-linear behaviour.
 */
const pick = (chars: string, n: number, seed = 7) => {
  let x = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += chars[x % chars.length];
  }
  return out;
};

const HOSTILE: [string, string][] = [
  ['one letter', 'a'.repeat(4_000)],
  ['one long word', 'Brustschmerzen'.repeat(285)],
  ['a red-flag word repeated', 'blut '.repeat(800)],
  ['a phrase with negation repeated', 'keine luft '.repeat(360)],
  ['negations only', 'nicht kein no не nie yok '.repeat(160)],
  ['gap phrases', 'kann den arm nicht '.repeat(210)],
  ['numbers', '39,8 puls 140 '.repeat(285)],
  ['emoji', '😂🆘🩸'.repeat(660)],
  ['Arabic clitics', 'وبالدم '.repeat(570)],
  ['mixed scripts', pick("abcдеж αβγ中文ağşıüöß0123456789 ,.!?-'", 4_000)],
  ['controls and bidi', pick('\u0000\u200b\u202e\u2066 x\n', 4_000)],
  ['punctuation', '!?.,;:-()'.repeat(444)],
  ['typo bait', 'bluutung brustschmerzn atemnoot '.repeat(125)],
];

describe('adversarial input', () => {
  it.each(HOSTILE)('%s (4,000 characters): answered in time', (_name, text) => {
    expect(text.length).toBeGreaterThanOrEqual(3_900);
    detectRedFlags(text); // warm-up
    // The fastest of five runs: a busy machine may pause any single one.
    let best = Number.POSITIVE_INFINITY;
    let severity = '';
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      severity = detectRedFlags(text).severity;
      isSmallTalk(text);
      best = Math.min(best, performance.now() - t0);
    }
    expect(['urgent', 'warning', 'none']).toContain(severity);
    expect(best).toBeLessThan(25);
  });

  it('still finds what matters inside the noise', () => {
    expect(detectRedFlags(`${'bla '.repeat(900)} ich krieg keine Luft ${'bla '.repeat(100)}`).category).toBe('breathing');
    expect(detectRedFlags('blut '.repeat(800)).severity).not.toBe('none');
  });

  it('accepts anything as text', () => {
    for (const value of [undefined, null, 42, {}] as unknown as string[]) {
      expect(detectRedFlags(value).severity).toBe('none');
      expect(isSmallTalk(value)).toBe(false);
    }
  });
});
