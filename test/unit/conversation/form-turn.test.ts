import { describe, expect, it } from 'vitest';
import { beginCheckin, continueInChat, turn, type CheckinView, type PatientView } from '../../../core/conversation/turn.ts';
import { vocabulary } from '../../../core/conversation/vocabulary.ts';
import type { AnswerValue } from '../../../core/engine/types.ts';
import { shippedFlow } from '../helpers.ts';

/** The conversation policy around forms (TI-M): offering one, the chat as the fallback, safety on free text. */
const flow = shippedFlow('post-op');
const vocab = vocabulary();
const now = new Date('2026-03-02T08:00:00Z');
const patient = (over: Partial<PatientView> = {}): PatientView => ({ language: 'de', consent: 'given', monitoring: 'active', ...over });
const pending: CheckinView = { flow, status: 'pending', state: null, offerForm: true };

function offered(): CheckinView {
  const r = beginCheckin(patient(), pending, now);
  return { flow, status: 'active', state: r.checkin!.state };
}

const answers: Record<string, AnswerValue> = {
  pain: { type: 'number', value: 2 },
  wound: { type: 'choices', codes: ['unremarkable'] },
  nausea: { type: 'choice', code: 'none' },
  mobility: { type: 'choice', code: 'as-usual' },
  bowel: { type: 'boolean', value: true },
};

describe('offering a form', () => {
  it('a check-in that may go as a form starts without a chat question and says so', () => {
    const r = beginCheckin(patient(), pending, now);
    expect(r.formOffered).toBe(true);
    expect(r.checkin?.status).toBe('active');
    expect(r.checkin?.state?.awaitingForm).toBe(true);
    expect(r.replies.map((m) => m.kind)).toEqual(['intro']);
  });

  it('consent given starts the questions as a form too', () => {
    const r = turn(patient({ consent: 'asked' }), pending, { type: 'text', text: 'ja' }, vocab, now);
    expect(r.formOffered).toBe(true);
    expect(r.replies.map((m) => m.kind)).toEqual(['notice', 'intro']);
  });

  it('without the offer the chat asks at once', () => {
    const r = beginCheckin(patient(), { ...pending, offerForm: false }, now);
    expect(r.formOffered).toBeUndefined();
    expect(r.replies.at(-1)?.kind).toBe('question');
  });
});

describe('continueInChat', () => {
  it('a client that cannot show the form: the chat simply asks the first question', () => {
    const r = continueInChat(patient(), offered(), 'not-capable', now);
    expect(r.replies.map((m) => m.kind)).toEqual(['question']);
    expect(r.checkin?.state?.current).toBe('pain');
  });

  it('after an error status or the timeout the patient is told the chat takes over', () => {
    for (const reason of ['refused', 'timeout'] as const) {
      const r = continueInChat(patient(), offered(), reason, now);
      expect(r.replies.map((m) => m.kind)).toEqual(['notice', 'question']);
      expect(r.replies[0]?.text).toMatch(/hier im Chat/);
    }
  });

  it('a chat that already started goes on untouched; a stopped patient gets nothing', () => {
    const chatting = turn(patient(), offered(), { type: 'text', text: 'hallo' }, vocab, now);
    const view: CheckinView = { flow, status: 'active', state: chatting.checkin!.state };
    expect(continueInChat(patient(), view, 'timeout', now).replies).toEqual([]);
    expect(continueInChat(patient({ monitoring: 'stopped', consent: 'withdrawn' }), offered(), 'timeout', now).replies).toEqual([]);
  });
});

describe('a filled-in form', () => {
  it('is taken into the open check-in', () => {
    const r = turn(patient(), offered(), { type: 'form', answers }, vocab, now);
    expect(r.form).toEqual({ outcome: 'taken', rejected: [], missing: [] });
    expect(r.checkin?.status).toBe('completed');
    expect(r.answers.every((a) => a.channel === 'form')).toBe(true);
  });

  it('free-text answers are checked for red flags: the team is alerted, the patient told, the answers still taken', () => {
    const r = turn(
      patient(),
      offered(),
      { type: 'form', answers: { ...answers, comments: { type: 'text', value: 'Seit heute Morgen habe ich starke Brustschmerzen' } } },
      vocab,
      now,
    );
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'red_flag', category: 'chest_pain', negated: false, itemId: 'comments' }));
    expect(r.replies[0]?.text).toMatch(/112/);
    expect(r.form?.outcome).toBe('taken');
    expect(r.answers.find((a) => a.questionId === 'comments')).toBeDefined();
  });

  it('a negated mention is a warning for the team, no emergency message', () => {
    const r = turn(patient(), offered(), { type: 'form', answers: { ...answers, comments: { type: 'text', value: 'keine Atemnot' } } }, vocab, now);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'red_flag', negated: true }));
    expect(r.replies.map((m) => m.text).join('\n')).not.toMatch(/112/);
  });

  it('without an open check-in nothing is taken', () => {
    const r = turn(patient(), null, { type: 'form', answers }, vocab, now);
    expect(r.form).toEqual({ outcome: 'no-checkin', rejected: [], missing: [] });
    expect(r.answers).toEqual([]);
  });
});

describe('words written while the form is out', () => {
  it('start the chat with the first question; what is not small talk reaches the team', () => {
    const greeting = turn(patient(), offered(), { type: 'text', text: 'Hallo' }, vocab, now);
    expect(greeting.events.filter((e) => e.type === 'patient_message')).toEqual([]);
    expect(greeting.checkin?.state?.current).toBe('pain');
    const words = turn(patient(), offered(), { type: 'text', text: 'Ich habe das Formular nicht gefunden, die Naht zieht etwas' }, vocab, now);
    expect(words.events).toContainEqual(expect.objectContaining({ type: 'patient_message', reason: 'not-understood' }));
    expect(words.replies.at(-1)?.kind).toBe('question');
  });
});
