import { describe, expect, it } from 'vitest';
import { lexicon } from '../../../core/engine/lexicon.ts';
import { detectRedFlag } from '../../../core/engine/redflags.ts';
import { step } from '../../../core/engine/step.ts';
import type { EscalationEvent } from '../../../core/engine/types.ts';
import type { Language } from '../../../core/language.ts';
import { converse, NOW, shippedFlow } from '../helpers.ts';

const emergency: Record<Language, string> = {
  de: 'Ich habe seit einer Stunde Atemnot!',
  en: "I can't breathe properly",
  tr: 'Nefes alamıyorum',
  ar: 'لا أستطيع التنفس',
  uk: 'Сильний біль у грудях',
  ru: 'У меня боль в груди',
  pl: 'Nie mogę oddychać',
};
const crisis: Record<Language, string> = {
  de: 'Ich will nicht mehr leben',
  en: 'I want to die',
  tr: 'Yaşamak istemiyorum',
  ar: 'لا أريد أن أعيش',
  uk: 'Я не хочу жити',
  ru: 'Я не хочу жить',
  pl: 'Nie chcę żyć',
};

describe('red flags in free text', () => {
  for (const lang of Object.keys(emergency) as Language[]) {
    it(`detects emergencies and crises in ${lang}`, () => {
      expect(detectRedFlag(emergency[lang], lexicon(lang))).toBe('emergency');
      expect(detectRedFlag(crisis[lang], lexicon(lang))).toBe('crisis');
    });
  }

  it('does not fire on ordinary answers', () => {
    for (const text of ['7', 'ja', 'nein', 'gerötet', 'Die Wunde tut beim Husten weh', '38,5 Grad', 'keine Luftnot, alles gut']) {
      expect(detectRedFlag(text, lexicon('de')), text).toBeUndefined();
    }
  });

  it('alerts urgently with the verbatim message, gives 112, and does not count an attempt', () => {
    const flow = shippedFlow('post-op');
    const { results, state } = converse(flow, 'de', ['Notfall! Ich habe Brustschmerzen']);
    const r = results[1]!;
    const alert = r.events.find((e): e is EscalationEvent => e.type === 'escalation');
    expect(alert).toMatchObject({ ruleId: 'patient-emergency', severity: 'urgent', itemId: 'pain', values: { patientMessage: { type: 'text', value: 'Notfall! Ich habe Brustschmerzen' } } });
    expect(r.messages.map((m) => m.kind)).toEqual(['notice']);
    expect(r.messages[0]?.text).toContain('112');
    expect(state.attempts).toBe(0);
    expect(state.current).toBe('pain');
  });

  it('records the answer when the red-flag message is also a valid answer', () => {
    const flow = shippedFlow('post-op');
    const { state } = converse(flow, 'de', ['1', '37', '1', '1', '1', 'ja', 'Ich habe seit heute Morgen Atemnot']);
    expect(state.status).toBe('completed');
    expect(state.answers.comments?.value).toEqual({ type: 'text', value: 'Ich habe seit heute Morgen Atemnot' });
  });

  it('can be turned off by a caller with its own red-flag policy', () => {
    const flow = shippedFlow('post-op');
    const s = step(flow, undefined, { type: 'start', lang: 'de' }, NOW).state;
    const r = step(flow, s, { type: 'text', text: 'Notfall' }, NOW, { redFlags: false });
    expect(r.events.map((e) => e.type)).toEqual(['reasked']);
  });

  it('works after the check-in is complete, and names the crisis line', () => {
    const flow = shippedFlow('medication-change');
    const done = converse(flow, 'en', ['1', '1', 'no', 'no', '1', 'no']).state;
    expect(done.status).toBe('completed');
    const r = step(flow, done, { type: 'text', text: 'I want to end my life' }, NOW);
    expect(r.events[0]).toMatchObject({ type: 'escalation', ruleId: 'patient-crisis', severity: 'urgent' });
    expect(r.messages[0]?.text).toContain('0800 111 0 111');
    expect(r.messages[0]?.text).toContain('112');
  });
});
