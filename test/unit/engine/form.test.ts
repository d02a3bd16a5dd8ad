import { describe, expect, it } from 'vitest';
import { checkFormValue } from '../../../core/engine/form.ts';
import { step } from '../../../core/engine/step.ts';
import type { AnswerValue, ConversationState } from '../../../core/engine/types.ts';
import { converse, NOW, shippedFlow } from '../helpers.ts';

/**
 * A form the patient's TI-M client filled in goes through the same engine as
 * chat answers (core/engine/step.ts): the same checks, rules and outcomes —
 * without asking twice what the chat already has, and with the chat asking
 * whatever the form left open.
 */
const flow = shippedFlow('post-op');
const q = (id: string) => flow.questions.find((x) => x.id === id)!;

function formStart(): ConversationState {
  return step(flow, undefined, { type: 'start', lang: 'de', form: true }, NOW).state;
}

const allAnswers: Record<string, AnswerValue> = {
  pain: { type: 'number', value: 8 },
  temperature: { type: 'number', value: 38.7, unit: 'Cel' },
  wound: { type: 'choices', codes: ['unremarkable'] },
  nausea: { type: 'choice', code: 'none' },
  mobility: { type: 'choice', code: 'as-usual' },
  bowel: { type: 'boolean', value: true },
  comments: { type: 'text', value: 'Alles gut so weit' },
};

describe('checkFormValue: a typed answer gets the checks a parsed chat answer gets', () => {
  it("numbers: range, whole numbers, decimals, the question's unit only", () => {
    expect(checkFormValue(q('pain'), { type: 'number', value: 7 })).toEqual({ ok: true, value: { type: 'number', value: 7 }, rest: '' });
    expect(checkFormValue(q('pain'), { type: 'number', value: 11 })).toMatchObject({ ok: false, reason: 'out-of-range' });
    expect(checkFormValue(q('pain'), { type: 'number', value: 7.5 })).toMatchObject({ ok: false, reason: 'not-whole' });
    expect(checkFormValue(q('temperature'), { type: 'number', value: 38.66 })).toEqual({
      ok: true,
      value: { type: 'number', value: 38.7, unit: 'Cel' },
      rest: '',
    });
    expect(checkFormValue(q('temperature'), { type: 'number', value: 101, unit: '[degF]' })).toMatchObject({ ok: false });
    expect(checkFormValue(q('temperature'), { type: 'number', value: 20 })).toMatchObject({ ok: false, reason: 'out-of-range' });
  });

  it('choices: known codes, one for a single choice, exclusive options alone', () => {
    expect(checkFormValue(q('nausea'), { type: 'choice', code: 'vomiting' })).toEqual({ ok: true, value: { type: 'choice', code: 'vomiting' }, rest: '' });
    expect(checkFormValue(q('nausea'), { type: 'choice', code: 'purple' })).toMatchObject({ ok: false, reason: 'not-understood' });
    expect(checkFormValue(q('wound'), { type: 'choices', codes: ['discharge', 'redness'] })).toEqual({
      ok: true,
      value: { type: 'choices', codes: ['redness', 'discharge'] },
      rest: '',
    });
    expect(checkFormValue(q('wound'), { type: 'choices', codes: ['unremarkable', 'redness'] })).toMatchObject({ ok: false, reason: 'exclusive' });
  });

  it('texts, dates, yes/no and types that do not fit', () => {
    expect(checkFormValue(q('comments'), { type: 'text', value: '  ' })).toMatchObject({ ok: false, reason: 'need-text' });
    expect(checkFormValue(q('comments'), { type: 'text', value: 'x'.repeat(5000) })).toMatchObject({ ok: false, reason: 'too-long' });
    expect(checkFormValue(q('bowel'), { type: 'text', value: 'ja' })).toMatchObject({ ok: false, reason: 'not-understood' });
    const med = shippedFlow('medication-change');
    const date = med.questions.find((x) => x.type === 'date')!;
    expect(checkFormValue(date, { type: 'date', value: '2026-02-30' })).toMatchObject({ ok: false, reason: 'invalid-date' });
    expect(checkFormValue(date, { type: 'date', value: '2026-01-14' })).toMatchObject({ ok: true });
  });
});

describe('step with a form', () => {
  it('a start as a form greets and asks nothing in the chat', () => {
    const r = step(flow, undefined, { type: 'start', lang: 'de', form: true }, NOW);
    expect(r.state.awaitingForm).toBe(true);
    expect(r.state.current).toBeNull();
    expect(r.messages.map((m) => m.kind)).toEqual(['intro']);
  });

  it('a complete form is recorded like chat answers, with the channel, rules fire, one acknowledgement, the check-in completes', () => {
    const r = step(flow, formStart(), { type: 'form', answers: allAnswers }, NOW);
    expect(r.state.status).toBe('completed');
    expect(r.state.awaitingForm).toBeUndefined();
    expect(r.answers.map((a) => [a.questionId, a.channel])).toEqual(Object.keys(allAnswers).map((id) => [id, 'form']));
    expect(r.state.answers['pain']).toMatchObject({ value: { type: 'number', value: 8 }, channel: 'form' });
    expect(r.events.filter((e) => e.type === 'escalation').map((e) => (e as { ruleId: string }).ruleId)).toEqual(['pain-severe', 'fever']);
    expect(r.messages.map((m) => m.kind)).toEqual(['ack', 'completed', 'summary']);
    expect(r.messages[0]?.text).toMatch(/Formular/);
    expect(r.rejected).toEqual([]);
  });

  it('the same answers in the chat give the same state but the channel', () => {
    const chat = converse(flow, 'de', ['8', '38,7', '1', '1', '1', 'ja', 'Alles gut so weit']).state;
    const form = step(flow, formStart(), { type: 'form', answers: allAnswers }, NOW).state;
    const strip = (s: ConversationState) => Object.fromEntries(Object.entries(s.answers).map(([k, v]) => [k, v.value]));
    expect(strip(form)).toEqual(strip(chat));
    expect(form.outcomes).toEqual(chat.outcomes);
    expect(form.fired).toEqual(chat.fired);
    expect(form.computed).toEqual(chat.computed);
  });

  it('answers given in the chat first stay; the form fills the rest and is not asked twice', () => {
    let state = formStart();
    state = step(flow, state, { type: 'text', text: 'hallo' }, NOW).state; // the chat starts with the first question
    expect(state.current).toBe('pain');
    state = step(flow, state, { type: 'text', text: '3' }, NOW).state;
    expect(state.current).toBe('temperature');
    const r = step(flow, state, { type: 'form', answers: allAnswers }, NOW);
    expect(r.state.answers['pain']).toMatchObject({ value: { value: 3 }, channel: 'chat' });
    expect(r.state.answers['temperature']).toMatchObject({ channel: 'form' });
    expect(r.state.status).toBe('completed');
    expect(r.answers.map((a) => a.questionId)).not.toContain('pain');
  });

  it('invalid and missing required answers stay open and the chat asks the first of them; optional empty ones are skipped', () => {
    const answers = { ...allAnswers, pain: { type: 'number' as const, value: 14 } };
    delete (answers as Record<string, unknown>)['nausea'];
    delete (answers as Record<string, unknown>)['temperature'];
    const r = step(flow, formStart(), { type: 'form', answers }, NOW);
    expect(r.rejected).toEqual([{ questionId: 'pain', reason: 'out-of-range' }]);
    expect(r.missing).toEqual(['nausea']);
    expect(r.state.outcomes['temperature']).toBe('skipped'); // optional, left empty
    expect(r.state.outcomes['pain']).toBeUndefined();
    expect(r.state.outcomes['nausea']).toBeUndefined();
    expect(r.state.current).toBe('pain');
    expect(r.messages.map((m) => m.kind)).toEqual(['ack', 'notice', 'question']);
    expect(r.messages[1]?.text).toMatch(/Schmerzen/);
    const next = step(flow, r.state, { type: 'text', text: '4' }, NOW);
    expect(next.state.current).toBe('nausea');
  });

  it('unreadable items are rejected like invalid ones; a photo the form enabled is asked in the chat', () => {
    const answers = { ...allAnswers, wound: { type: 'choices' as const, codes: ['redness'] } };
    const r = step(flow, formStart(), { type: 'form', answers, unreadable: ['bowel'] }, NOW);
    expect(r.rejected).toEqual([{ questionId: 'bowel', reason: 'not-understood' }]);
    expect(r.state.current).toBe('wound_photo');
  });

  it('a form after completion changes nothing', () => {
    const done = step(flow, formStart(), { type: 'form', answers: allAnswers }, NOW).state;
    const again = step(flow, done, { type: 'form', answers: { ...allAnswers, pain: { type: 'number', value: 1 } } }, NOW);
    expect(again.state.answers['pain']?.value).toEqual({ type: 'number', value: 8 });
    expect(again.answers).toEqual([]);
  });

  it('a fallback start after a form offer asks the first question without repeating the intro', () => {
    const r = step(flow, formStart(), { type: 'start', lang: 'de' }, NOW);
    expect(r.state.awaitingForm).toBeUndefined();
    expect(r.messages.map((m) => m.kind)).toEqual(['question']);
    expect(r.state.current).toBe('pain');
  });
});
