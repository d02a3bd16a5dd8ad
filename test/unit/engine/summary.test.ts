import { describe, expect, it } from 'vitest';
import { step } from '../../../core/engine/step.ts';
import type { BotMessage, Input, StepResult } from '../../../core/engine/types.ts';
import { converse, flowFrom, lastResult, NOW, shippedFlow } from '../helpers.ts';

// Labels in three languages; one question (`since`) without a label falls back to its text.
const flow = flowFrom(`id: s
version: "1"
title: { de: Test, en: Test, ar: اختبار }
languages: [de, en, ar]
maxAttempts: 2
outro: { de: Danke!, en: Thanks!, ar: شكرًا! }
questions:
  - id: welcome
    type: info
    text: { de: Los geht's., en: Let's start., ar: لنبدأ. }
  - id: pain
    type: scale
    min: 0
    max: 10
    text: { de: Wie stark sind Ihre Schmerzen?, en: How strong is your pain?, ar: ما شدة ألمك؟ }
    label: { de: Schmerzen, en: Pain, ar: الألم }
  - id: temp
    type: quantity
    unit: Cel
    unitDisplay: °C
    min: 34
    max: 43
    required: false
    text: { de: Ihre Temperatur?, en: Your temperature?, ar: درجة حرارتك؟ }
    label: { de: Temperatur, en: Temperature, ar: درجة الحرارة }
  - id: red
    type: boolean
    text: { de: Ist die Wunde gerötet?, en: Is the wound red?, ar: هل الجرح محمر؟ }
    label: { de: Rötung, en: Redness, ar: الاحمرار }
  - id: photo
    type: photo
    required: false
    enableWhen: { answer: red, op: "=", value: true }
    text: { de: Foto bitte, en: Photo please, ar: صورة من فضلك }
    label: { de: Wundfoto, en: Wound photo, ar: صورة الجرح }
  - id: symptoms
    type: multi-choice
    text: { de: Beschwerden?, en: Complaints?, ar: شكاوى؟ }
    label: { de: Beschwerden, en: Complaints, ar: الشكاوى }
    options:
      - { code: none, exclusive: true, text: { de: keine, en: none, ar: لا شيء } }
      - { code: cough, text: { de: Husten, en: cough, ar: سعال } }
      - { code: itch, text: { de: Juckreiz, en: itching, ar: حكة } }
  - id: since
    type: date
    required: false
    text: { de: Seit wann?, en: Since when?, ar: منذ متى؟ }
  - id: note
    type: text
    required: false
    text: { de: Noch etwas?, en: Anything else?, ar: شيء آخر؟ }
    label: { de: Ihre Nachricht, en: Your message, ar: رسالتك }
`);

const photo: Input = { type: 'attachment', url: 'mxc://example.org/p', contentType: 'image/jpeg' };
const summaryOf = (results: StepResult[]): BotMessage | undefined => lastResult(results).messages.find((m) => m.kind === 'summary');

describe('summary at the end of a check-in', () => {
  it('follows the thank-you as its own message: one line per answer, labels, photo word, several options', () => {
    const { results, state } = converse(flow, 'de', ['7', '38,2', 'ja', photo, '2, 3', '14.01.2026', 'Die Wunde\nzieht etwas']);
    expect(state.status).toBe('completed');
    const last = lastResult(results);
    expect(last.messages.map((m) => m.kind)).toEqual(['ack', 'completed', 'summary']);
    expect(last.messages[1]?.text).toBe('Danke!');
    expect(summaryOf(results)).toEqual({
      kind: 'summary',
      lang: 'de',
      rtl: false,
      text: [
        'Ihre Angaben heute:',
        '• Schmerzen: 7',
        '• Temperatur: 38,2 °C',
        '• Rötung: ja',
        '• Wundfoto: Foto',
        '• Beschwerden: Husten, Juckreiz',
        '• Seit wann?: 14.01.2026', // no label: the question text
        '• Ihre Nachricht: Die Wunde zieht etwas', // free text on one line
      ].join('\n'),
    });
  });

  it('names skipped and unanswered questions in one line; info items and closed branches do not appear', () => {
    // pain: two failed attempts (maxAttempts 2) → unanswered; temp skipped; photo branch closed.
    const { results } = converse(flow, 'en', ['a lot', 'very much', 'skip', 'no', '1', 'skip', 'no']);
    expect(summaryOf(results)?.text).toBe(
      ['Your answers today:', '• Redness: no', '• Complaints: none', 'Left open: Pain, Temperature, Since when?'].join('\n'),
    );
    expect(summaryOf(results)?.text).not.toContain("Let's start");
    expect(summaryOf(results)?.text).not.toContain('Wound photo');
  });

  it('does not list an optional free-text question the patient had nothing to add to', () => {
    const { results } = converse(flow, 'de', ['2', '37', 'nein', 'keine', 'heute', 'nein']);
    const text = summaryOf(results)?.text ?? '';
    expect(text).not.toContain('Ihre Nachricht');
    expect(text).not.toContain('Offen geblieben');
    expect(text).toContain('• Seit wann?: 15.01.2026');
  });

  it('shortens long free text like the acknowledgement does', () => {
    const long = 'x'.repeat(100);
    const { results } = converse(flow, 'de', ['2', '37', 'nein', 'keine', 'heute', long]);
    expect(summaryOf(results)?.text.split('\n').at(-1)).toBe(`• Ihre Nachricht: ${'x'.repeat(57)}…`);
  });

  it('is in Arabic and right-to-left for Arabic patients', () => {
    const { results } = converse(flow, 'ar', ['5', 'تخطي', 'لا', '2', 'تخطي', 'تخطي']);
    const s = summaryOf(results);
    expect(s).toMatchObject({ kind: 'summary', lang: 'ar', rtl: true });
    expect(s?.text).toBe(['إجاباتك اليوم:', '• الألم: 5', '• الاحمرار: لا', '• الشكاوى: سعال', 'بقي دون إجابة: درجة الحرارة, منذ متى؟'].join('\n'));
  });

  it('uses the shipped labels in every language of the shipped flows', () => {
    const { results } = converse(shippedFlow('post-op'), 'en', ['8', 'skip', '2', photo, '1', '1', 'yes', 'no']);
    expect(summaryOf(results)?.text).toBe(
      [
        'Your answers today:',
        '• Pain: 8',
        '• Wound: red',
        '• Wound photo: photo',
        '• Nausea/vomiting: no',
        '• Mobility: as usual',
        '• Bowel movement: yes',
        'Left open: Temperature',
      ].join('\n'),
    );
    for (const name of ['post-op', 'medication-change'] as const) {
      const f = shippedFlow(name);
      for (const q of f.questions) if (q.type !== 'info') expect(q.label && f.languages.every((l) => q.label?.[l]), `${name} ${q.id}`).toBe(true);
      for (const lang of f.languages) {
        const { results: r } = converse(
          f,
          lang,
          Array.from({ length: 40 }, () => '1'),
        );
        // Extra inputs after completion only get "already complete": find the summary where it was sent.
        const text = r.flatMap((x) => x.messages).find((m) => m.kind === 'summary')?.text ?? '';
        expect(text.split('\n').length, `${name} ${lang}`).toBeGreaterThan(3);
        // Labels, not question texts: no line is longer than a short label plus a short answer.
        expect(
          text.split('\n').every((l) => l.length <= 100),
          `${name} ${lang}: ${text}`,
        ).toBe(true);
      }
    }
  });

  it('sends no summary when there is nothing to list, and none after completion', () => {
    const infoOnly = flowFrom(
      `id: i\nversion: "1"\ntitle: { de: T, en: T }\nlanguages: [de, en]\nquestions:\n  - id: note\n    type: info\n    text: { de: Hinweis, en: Note }\n`,
    );
    const r = step(infoOnly, undefined, { type: 'start', lang: 'de' }, NOW);
    expect(r.messages.map((m) => m.kind)).toEqual(['info', 'completed']);
    const { state } = converse(flow, 'de', ['2', '37', 'nein', 'keine', 'heute', 'nein']);
    expect(step(flow, state, { type: 'text', text: 'hallo' }, NOW).messages.map((m) => m.kind)).toEqual(['notice']);
  });
});
