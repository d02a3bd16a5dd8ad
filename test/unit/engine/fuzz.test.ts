import { describe, expect, it } from 'vitest';
import { step } from '../../../core/engine/step.ts';
import type { ConversationState, Input } from '../../../core/engine/types.ts';
import { LANGUAGES } from '../../../core/language.ts';
import { NOW, shippedFlow } from '../helpers.ts';

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomUnicode(next: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = next();
    let cp: number;
    if (r < 0.3) cp = 0x20 + Math.floor(next() * 0x5f);
    else if (r < 0.4) cp = Math.floor(next() * 0x20);
    else if (r < 0.6) cp = 0x0600 + Math.floor(next() * 0x100);
    else if (r < 0.7) cp = 0x1f300 + Math.floor(next() * 0x300);
    else if (r < 0.8) cp = 0x0400 + Math.floor(next() * 0x100);
    else cp = Math.floor(next() * 0x10ffff);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    out += String.fromCodePoint(cp);
  }
  return out;
}

const HOSTILE = [
  '',
  ' ',
  '\n\n\t',
  'x'.repeat(10_000),
  '9'.repeat(10_000),
  '1,'.repeat(5_000),
  '🙂🙂🙂🙂',
  '👍🏽‍♀️',
  '\u202e\u200f‮ערבית',
  'مرحبا ٣٨٫٥',
  '\u0000\u0001\u0007\u001b[31m',
  '\ud800',
  '<script>alert(1)</script>',
  "'; DROP TABLE answers; --",
  '{{value}} %s %d ${x}',
  'NaN',
  'Infinity',
  '1e309',
  '-0',
  '0x1F',
  '١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢٣',
  '.'.repeat(1000),
  'zurück',
  'überspringen',
  '?',
  '؟',
];

describe('engine never throws on patient input', () => {
  for (const name of ['post-op', 'medication-change'] as const) {
    it(`${name}: hostile and random strings in every state and language`, () => {
      const flow = shippedFlow(name);
      const next = rng(name.length * 7919);
      for (const lang of LANGUAGES) {
        let state: ConversationState | undefined;
        const inputs: Input[] = [{ type: 'start', lang }];
        for (const h of HOSTILE) inputs.push({ type: 'text', text: h }, { type: 'correction', text: h }, { type: 'reaction', emoji: h });
        for (let i = 0; i < 150; i++) {
          const kind = next();
          const text = randomUnicode(next, Math.floor(next() * 40));
          if (kind < 0.7) inputs.push({ type: 'text', text });
          else if (kind < 0.8) inputs.push({ type: 'text', text: String(Math.floor(next() * 12)) });
          else if (kind < 0.85) inputs.push({ type: 'attachment', url: text, contentType: next() < 0.5 ? 'image/jpeg' : text });
          else if (kind < 0.9) inputs.push({ type: 'poll', codes: [text] });
          else if (kind < 0.95) inputs.push({ type: 'correction', text });
          else inputs.push({ type: 'start' });
        }
        for (const input of inputs) {
          const r = step(flow, state, input, NOW);
          expect(r.state).toBeDefined();
          for (const m of r.messages) expect(typeof m.text).toBe('string');
          state = r.state;
        }
      }
    });
  }

  it('tolerates malformed inputs from a buggy caller', () => {
    const flow = shippedFlow('post-op');
    const s = step(flow, undefined, { type: 'start', lang: 'de' }, NOW).state;
    const weird = [
      { type: 'text', text: undefined },
      { type: 'poll', codes: null },
      { type: 'reaction' },
      { type: 'language', lang: 'xx' },
    ] as unknown as Input[];
    for (const input of weird) expect(() => step(flow, s, input, NOW)).not.toThrow();
  });
});
