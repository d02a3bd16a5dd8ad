import { describe, expect, it } from 'vitest';
import { initialState, step } from '../../../core/engine/step.ts';
import type { ConversationState, EngineEvent } from '../../../core/engine/types.ts';
import { converse, flowFrom, HEADER, lastResult, NOW, shippedFlow } from '../helpers.ts';

// One question of every type, with a branch, a per-question and a flow-level rule.
const flow = flowFrom(`${HEADER}maxAttempts: 2
intro: { de: Hallo!, en: Hello! }
questions:
  - id: welcome
    type: info
    text: { de: Los geht's., en: Let's start. }
  - id: pain
    type: scale
    min: 0
    max: 10
    minLabel: { de: keine, en: none }
    maxLabel: { de: maximal, en: worst }
    text: { de: Schmerzen?, en: Pain? }
    escalations:
      - { id: pain-high, when: { op: ">=", value: 7 }, severity: warning, message: { de: Schmerz, en: Pain } }
      - { id: pain-max, when: { op: ">=", value: 9 }, severity: urgent, message: { de: Max, en: Max } }
  - id: temp
    type: quantity
    unit: Cel
    unitDisplay: °C
    min: 34
    max: 43
    required: false
    hint: { de: "z. B. 37,2", en: e.g. 37.2 }
    text: { de: Temperatur?, en: Temperature? }
  - id: red
    type: boolean
    text: { de: Gerötet?, en: Red? }
  - id: photo
    type: photo
    required: false
    enableWhen: { answer: red, op: "=", value: true }
    text: { de: Foto bitte, en: Photo please }
  - id: color
    type: choice
    text: { de: Farbe?, en: Colour? }
    options:
      - { code: a, text: { de: hell, en: light } }
      - { code: b, text: { de: dunkel, en: dark } }
  - id: symptoms
    type: multi-choice
    text: { de: Beschwerden?, en: Complaints? }
    options:
      - { code: none, exclusive: true, text: { de: keine, en: none } }
      - { code: cough, text: { de: Husten, en: cough } }
  - id: since
    type: date
    required: false
    text: { de: Seit wann?, en: Since when? }
  - id: note
    type: text
    required: false
    text: { de: Noch etwas?, en: Anything else? }
computed:
  - id: score
    type: integer
    expression: "%resource.item.where(linkId='pain').answer.value + 1"
escalations:
  - id: pain-and-red
    when: { all: [{ answer: pain, op: ">=", value: 5 }, { answer: red, op: "=", value: true }] }
    severity: urgent
    message: { de: Beides, en: Both }
`);

const events = (rs: { events: EngineEvent[] }[]) => rs.flatMap((r) => r.events);
const alerts = (rs: { events: EngineEvent[] }[]) => events(rs).flatMap((e) => (e.type === 'escalation' ? [e.ruleId] : []));

describe('conversation engine', () => {
  it('starts with intro, info and the first question; numbered options and structured messages', () => {
    const r = step(flow, undefined, { type: 'start', lang: 'de' }, NOW);
    expect(r.messages.map((m) => m.kind)).toEqual(['intro', 'info', 'question']);
    expect(r.messages[2]).toMatchObject({ questionId: 'pain', expects: 'number', required: true, lang: 'de', rtl: false });
    expect(r.messages[2]?.text).toContain('0 = keine, 10 = maximal');
    expect(r.state).toMatchObject({ status: 'active', current: 'pain', outcomes: { welcome: 'shown' } });
  });

  it('runs every question type to completion with acknowledgements', () => {
    const { results, state } = converse(flow, 'de', ['3', '37,4', 'nein', '2', '2', '14.01.2026', 'Alles gut']);
    expect(state.status).toBe('completed');
    expect(state.answers).toMatchObject({
      pain: { value: { type: 'number', value: 3 } },
      temp: { value: { type: 'number', value: 37.4, unit: 'Cel' } },
      red: { value: { type: 'boolean', value: false } },
      color: { value: { type: 'choice', code: 'b' } },
      symptoms: { value: { type: 'choices', codes: ['cough'] } },
      since: { value: { type: 'date', value: '2026-01-14' } },
      note: { value: { type: 'text', value: 'Alles gut' } },
    });
    expect(state.outcomes.photo).toBeUndefined(); // branch not taken
    expect(state.computed).toEqual({ score: 4 });
    const acks = results.flatMap((r) => r.messages.filter((m) => m.kind === 'ack').map((m) => m.text));
    expect(acks).toEqual([
      'Danke, notiert: 3.',
      'Danke, notiert: 37,4 °C.',
      'Danke, notiert: nein.',
      'Danke, notiert: dunkel.',
      'Danke, notiert: Husten.',
      'Danke, notiert: 14.01.2026.',
      'Danke, notiert.',
    ]);
    expect(lastResult(results).events.at(-1)).toEqual({ type: 'completed', at: NOW.toISOString(), answered: 7, skipped: 0, unanswered: 0 });
    // The thank-you, then the summary (no labels in this flow: the question texts stand in).
    expect(lastResult(results).messages.map((m) => m.kind)).toEqual(['ack', 'completed', 'summary']);
    expect(lastResult(results).messages.at(-2)).toMatchObject({
      kind: 'completed',
      text: 'Vielen Dank! Ihre Antworten sind bei Ihrem Behandlungsteam angekommen.',
    });
    expect(lastResult(results).messages.at(-1)).toMatchObject({
      kind: 'summary',
      lang: 'de',
      rtl: false,
      text: [
        'Ihre Angaben heute:',
        '• Schmerzen?: 3',
        '• Temperatur?: 37,4 °C',
        '• Gerötet?: nein',
        '• Farbe?: dunkel',
        '• Beschwerden?: Husten',
        '• Seit wann?: 14.01.2026',
        '• Noch etwas?: Alles gut',
      ].join('\n'),
    });
    expect(lastResult(results).answers).toEqual([{ questionId: 'note', value: { type: 'text', value: 'Alles gut' }, at: NOW.toISOString(), channel: 'chat' }]);
  });

  it('asks the photo when the branch opens and accepts an attachment input', () => {
    const { state, results } = converse(flow, 'en', ['1', 'skip', 'yes', { type: 'attachment', url: 'mxc://x/y', contentType: 'image/png' }]);
    expect(state.answers.photo?.value).toEqual({ type: 'attachment', url: 'mxc://x/y', contentType: 'image/png' });
    expect(state.outcomes.temp).toBe('skipped');
    expect(lastResult(results).messages[0]?.text).toBe('Thank you, the photo has arrived.');
  });

  it('re-asks with a hint, then gives up after maxAttempts and flags for a human', () => {
    const { results, state } = converse(flow, 'de', ['viel', 'sehr viel']);
    expect(results[1]?.messages[0]).toMatchObject({ kind: 'reask', questionId: 'pain' });
    expect(results[1]?.messages[0]?.text).toContain('Bitte eine ganze Zahl von 0 bis 10 senden.');
    expect(results[1]?.events).toEqual([{ type: 'reasked', questionId: 'pain', attempt: 1, reason: 'not-understood' }]);
    expect(results[2]?.events[0]).toEqual({ type: 'unanswered', questionId: 'pain', at: NOW.toISOString(), flaggedForHuman: true, attempts: 2 });
    expect(state).toMatchObject({ current: 'temp', outcomes: { pain: 'unanswered' } });
  });

  it('includes the author hint in re-asks and answers help requests without counting an attempt', () => {
    const { results, state } = converse(flow, 'de', ['1', '?', 'warm']);
    expect(results[2]?.messages[0]?.text).toContain('Temperatur?');
    expect(results[3]?.messages[0]?.text).toContain('z. B. 37,2');
    expect(results[3]?.messages[0]?.text).toContain('Bitte eine Zahl von 34 bis 43 °C senden');
    expect(state.attempts).toBe(1);
  });

  it('lets optional questions be skipped but not required ones', () => {
    const { results, state } = converse(flow, 'de', ['überspringen', '5', 'überspringen']);
    expect(results[1]?.messages[0]?.text).toContain('kann nicht übersprungen werden');
    expect(state.outcomes).toMatchObject({ pain: 'answered', temp: 'skipped' });
    expect(events(results)).toContainEqual({ type: 'skipped', questionId: 'temp', at: NOW.toISOString() });
  });

  it('a skip phrase is a skip even when it contains an option label; an exact option is an answer', () => {
    const f = flowFrom(`${HEADER}questions:
  - id: se
    type: multi-choice
    required: false
    text: { de: Nebenwirkungen?, en: Side effects? }
    options:
      - { code: none, exclusive: true, text: { de: keine, en: none } }
      - { code: cough, text: { de: Husten, en: cough } }
`);
    expect(converse(f, 'de', ['keine Angabe']).state.outcomes.se).toBe('skipped');
    expect(converse(f, 'de', ['keine']).state.answers.se?.value).toEqual({ type: 'choices', codes: ['none'] });
  });

  it('"zurück" withdraws the previous answer and asks it again', () => {
    const { results, state } = converse(flow, 'de', ['3', 'zurück', '4', '37']);
    expect(results[2]?.events).toEqual([{ type: 'retracted', questionId: 'pain', at: NOW.toISOString() }]);
    expect(results[2]?.messages[0]).toMatchObject({ kind: 'question', questionId: 'pain' });
    expect(state.answers.pain?.value).toEqual({ type: 'number', value: 4 });
    expect(state.current).toBe('red');
  });

  it('"back" at the first question says there is nothing to correct', () => {
    const { results, state } = converse(flow, 'en', ['back', '3']);
    expect(results[1]?.messages.map((m) => m.kind)).toEqual(['notice', 'question']);
    // The info item before the first question is not shown a second time.
    expect(results[2]?.messages.map((m) => m.kind)).toEqual(['ack', 'question']);
    expect(state.outcomes.welcome).toBe('shown');
  });

  it('an edit of the last answer corrects it in place and re-evaluates rules and branches', () => {
    const { results, state } = converse(flow, 'de', ['3', '37', 'ja', { type: 'correction', text: 'nein' }]);
    const last = lastResult(results);
    expect(last.events[0]).toMatchObject({ type: 'answered', questionId: 'red', corrected: true, value: { type: 'boolean', value: false } });
    expect(last.messages[0]?.text).toBe('Korrigiert: nein.');
    // The photo branch closed again: on to the next question.
    expect(state.current).toBe('color');
    const bad = step(flow, state, { type: 'correction', text: 'vielleicht' }, NOW);
    expect(bad.messages[0]?.text).toContain('Ihre Antwort bleibt: nein');
  });

  it('raises only the most severe matching rule of a question, each rule once', () => {
    const { results } = converse(flow, 'de', ['9', '37', 'ja']);
    expect(alerts(results)).toEqual(['pain-max', 'pain-and-red']);
    const e = events(results).find((x) => x.type === 'escalation' && x.ruleId === 'pain-and-red');
    expect(e).toMatchObject({
      severity: 'urgent',
      message: { de: 'Beides', en: 'Both' },
      values: { pain: { type: 'number', value: 9 }, red: { type: 'boolean', value: true } },
    });
    expect(e && 'itemId' in e ? e.itemId : undefined).toBeUndefined();
  });

  it('accepts reactions and poll answers as shortcuts', () => {
    const s1 = converse(flow, 'de', ['3', '37']).state;
    const r = step(flow, s1, { type: 'reaction', emoji: '👍' }, NOW);
    expect(r.state.answers.red?.value).toEqual({ type: 'boolean', value: true });
    const s2 = converse(flow, 'de', ['3', '37', 'nein']).state;
    const p = step(flow, s2, { type: 'poll', codes: ['a'] }, NOW);
    expect(p.state.answers.color?.value).toEqual({ type: 'choice', code: 'a' });
    const bad = step(flow, p.state, { type: 'poll', codes: ['zzz'] }, NOW);
    expect(bad.events[0]).toMatchObject({ type: 'reasked' });
  });

  it('switches language and asks the current question again', () => {
    const s = converse(flow, 'de', ['3']).state;
    const r = step(flow, s, { type: 'language', lang: 'ar' }, NOW);
    expect(r.state.lang).toBe('ar');
    expect(r.messages[0]).toMatchObject({ kind: 'question', lang: 'ar', rtl: true, questionId: 'temp' });
    // The flow has no Arabic text: question falls back to German, engine texts are Arabic.
    expect(r.messages[0]?.text).toContain('Temperatur?');
    expect(r.messages[0]?.text).toContain('اختياري');
  });

  it('resumes an open conversation on start and refuses input after completion', () => {
    const s = converse(flow, 'de', ['3']).state;
    const resumed = step(flow, s, { type: 'start' }, NOW);
    expect(resumed.messages.map((m) => m.kind)).toEqual(['question']);
    const done = converse(flow, 'de', ['3', '37', 'nein', '1', '1', 'heute', 'nein']).state;
    expect(done.status).toBe('completed');
    expect(done.outcomes.note).toBe('skipped');
    const after = step(flow, done, { type: 'text', text: 'hallo' }, NOW);
    expect(after.messages[0]?.kind).toBe('notice');
    expect(after.state).toEqual(done);
  });

  it('treats a message before start as the start', () => {
    const r = step(flow, undefined, { type: 'text', text: 'hallo' }, NOW);
    expect(r.state.current).toBe('pain');
  });

  it('never mutates the input state, and state survives JSON', () => {
    const s = converse(flow, 'de', ['3', '37']).state;
    const frozen = JSON.parse(JSON.stringify(s)) as ConversationState;
    const snapshot = JSON.stringify(frozen);
    const r = step(flow, frozen, { type: 'text', text: 'ja' }, NOW);
    expect(JSON.stringify(frozen)).toBe(snapshot);
    expect(r.state.answers.red).toBeDefined();
    expect(JSON.parse(JSON.stringify(r.state))).toEqual(r.state);
  });

  it('continues when the stored current question no longer exists in the flow', () => {
    const s: ConversationState = { ...initialState(flow, 'de', NOW), current: 'removed-question' };
    const r = step(flow, s, { type: 'text', text: '3' }, NOW);
    expect(r.state.current).toBe('pain');
  });

  it('drops answers to questions that a later correction disabled', () => {
    const photo = { type: 'attachment', url: 'mxc://a/b', contentType: 'image/jpeg' } as const;
    const { state } = converse(flow, 'de', ['3', '37', 'ja', photo]);
    expect(state.answers.photo).toBeDefined();
    // An edit targets the most recently answered question; make that "red" and edit it to "nein".
    const edited = step(flow, { ...state, path: state.path.filter((p) => p !== 'photo') }, { type: 'correction', text: 'nein' }, NOW).state;
    expect(edited.answers.red?.value).toEqual({ type: 'boolean', value: false });
    const { state: done } = converse(flow, 'de', []);
    expect(done.status).toBe('active');
    let s = edited;
    for (const text of ['1', '1', 'heute', 'nein']) s = step(flow, s, { type: 'text', text }, NOW).state;
    expect(s.status).toBe('completed');
    expect(s.answers.photo).toBeUndefined();
    expect(s.outcomes.photo).toBeUndefined();
  });

  it('works on the shipped flows in every language without throwing', () => {
    for (const name of ['post-op', 'medication-change'] as const) {
      const f = shippedFlow(name);
      for (const lang of f.languages) {
        const { state } = converse(
          f,
          lang,
          Array.from({ length: 40 }, () => '1'),
        );
        expect(state.status, `${name} ${lang}`).toBe('completed');
      }
    }
  });
});
