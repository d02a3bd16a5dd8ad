import type { Extension } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { describeAlert } from '../../../core/alerts/describe.ts';
import { turn } from '../../../core/conversation/turn.ts';
import { vocabulary } from '../../../core/conversation/vocabulary.ts';
import { historyFromRows, trendQuestionIds } from '../../../core/engine/history.ts';
import { step } from '../../../core/engine/step.ts';
import type { EngineEvent, EscalationEvent, History } from '../../../core/engine/types.ts';
import { exportQuestionnaire } from '../../../core/fhir/export.ts';
import { importQuestionnaire } from '../../../core/fhir/import.ts';
import { EXT } from '../../../core/fhir/urls.ts';
import { validateR4 } from '../../../core/fhir/validate.ts';
import { flowToSource } from '../../../core/flow/decompile.ts';
import { parseFlow } from '../../../core/flow/load.ts';
import { converse, flowFrom, HEADER, lastResult, NOW, shippedFlow } from '../helpers.ts';

/** Trend rules: conditions over the patient's earlier check-ins plus today's answer (issue 6). */
const flow = flowFrom(`${HEADER}questions:
  - id: temperature
    type: quantity
    unit: Cel
    unitDisplay: °C
    min: 34
    max: 43
    text: { de: Temperatur?, en: Temperature? }
    label: { de: Temperatur, en: Temperature }
    escalations:
      - id: fever-twice
        when: { trend: temperature, checkins: 2, op: ">=", value: 38.0 }
        severity: warning
        message: { de: Zweimal Fieber, en: Fever twice }
  - id: pain
    type: scale
    min: 0
    max: 10
    text: { de: Schmerzen?, en: Pain? }
    escalations:
      - id: pain-rising
        when: { trend: pain, checkins: 3, rising: true }
        severity: warning
        message: { de: Schmerz steigt, en: Pain rising }
  - id: weight
    type: quantity
    unit: kg
    min: 20
    max: 300
    text: { de: Gewicht?, en: Weight? }
escalations:
  - id: weight-gain
    when: { trend: weight, within: 3d, increase: 2 }
    severity: warning
    message: { de: Gewichtszunahme, en: Weight gain }
  - id: weight-loss-fast
    when: { trend: weight, within: 48h, decrease: 3 }
    severity: info
    message: { de: Gewichtsabnahme, en: Weight loss }
`);

const daysAgo = (n: number, from = NOW) => new Date(from.getTime() - n * 86_400_000).toISOString();
const point = (value: number, at: string) => ({ value, at });

function alertsOf(history: History | undefined, answers: string[]): EscalationEvent[] {
  let state = step(flow, undefined, { type: 'start', lang: 'de' }, NOW).state;
  const events: EngineEvent[] = [];
  for (const text of answers) {
    const r = step(flow, state, { type: 'text', text }, NOW, history ? { history } : {});
    state = r.state;
    events.push(...r.events);
  }
  return events.filter((e): e is EscalationEvent => e.type === 'escalation');
}

describe('trend rules: flow format and validation', () => {
  function issuesOf(yaml: string) {
    const r = parseFlow(yaml, 'f.yaml');
    if (r.ok) throw new Error('expected the flow to be invalid');
    return r.issues;
  }
  const withRule = (when: string, extra = '') => `${HEADER}questions:
  - id: temperature
    type: quantity
    min: 34
    max: 43
    text: { de: T?, en: T? }
    escalations:
      - id: r
        when: ${when}
        severity: warning
        message: { de: a, en: a }
  - id: fever
    type: boolean
    text: { de: F?, en: F? }
${extra}`;

  it('compiles the three forms into the Condition union and lists the questions trends need', () => {
    const temp = flow.questions[0]!.escalations[0]!;
    expect(temp.when).toEqual({ kind: 'trend', answer: 'temperature', checkins: 2, test: { type: 'each', op: '>=', value: 38 } });
    expect(flow.questions[1]!.escalations[0]!.when).toEqual({ kind: 'trend', answer: 'pain', checkins: 3, test: { type: 'rising' } });
    expect(flow.escalations[0]!.when).toEqual({ kind: 'trend', answer: 'weight', within: { amount: 3, unit: 'd' }, test: { type: 'increase', by: 2 } });
    expect(flow.escalations[1]!.when).toEqual({ kind: 'trend', answer: 'weight', within: { amount: 48, unit: 'h' }, test: { type: 'decrease', by: 3 } });
    expect(trendQuestionIds(flow)).toEqual(['weight', 'temperature', 'pain']);
    expect(trendQuestionIds(shippedFlow('post-op'))).toEqual(['pain', 'temperature']);
    expect(trendQuestionIds(flowFrom(withRule('{ op: ">=", value: 38 }')))).toEqual([]);
  });

  it('reports an unknown or non-numeric question with its line:col', () => {
    const unknown = withRule('{ trend: temprature, checkins: 2, op: ">=", value: 38 }');
    expect(issuesOf(unknown)).toMatchObject([
      { code: 'unknown-reference', line: 13, col: 24, message: 'unknown question "temprature"', hint: 'did you mean "temperature"?' },
    ]);
    const boolean = withRule('{ trend: fever, checkins: 2, rising: true }');
    expect(issuesOf(boolean)).toMatchObject([{ code: 'invalid-value', line: 13, message: expect.stringContaining('"fever" is a boolean question') }]);
  });

  it('requires at least 2 check-ins, a known comparison and the right keys for each form', () => {
    expect(issuesOf(withRule('{ trend: temperature, checkins: 1, op: ">=", value: 38 }'))).toMatchObject([
      { code: 'invalid-value', line: 13, message: expect.stringContaining('at least 2 check-ins') },
    ]);
    expect(issuesOf(withRule('{ trend: temperature, op: ">=", value: 38 }'))).toMatchObject([
      { code: 'missing-key', message: expect.stringContaining('needs "checkins:"') },
    ]);
    expect(issuesOf(withRule('{ trend: temperature, increase: 1 }'))).toMatchObject([
      { code: 'missing-key', message: expect.stringContaining('needs "within:"') },
    ]);
    expect(issuesOf(withRule('{ trend: temperature, checkins: 2, rising: true, increase: 1 }'))).toMatchObject([
      { code: 'invalid-value', message: expect.stringContaining('rising + increase') },
    ]);
    expect(issuesOf(withRule('{ trend: temperature, checkins: 2, op: in, value: [38] }'))[0]?.message).toMatch(/>, >=, < or <=/);
    expect(issuesOf(withRule('{ trend: temperature, within: 3 days, increase: 1 }'))).toMatchObject([
      { code: 'invalid-value', message: expect.stringContaining('"3d" or "48h"') },
    ]);
    expect(issuesOf(withRule('{ answer: temperature, checkins: 2, op: ">=", value: 38 }'))).toMatchObject([
      { code: 'missing-key', message: expect.stringContaining('needs "trend:"') },
    ]);
    expect(issuesOf(withRule('{ trend: temperature, checkins: 2, raising: true }'))[0]).toMatchObject({ code: 'unknown-key', hint: 'did you mean "rising"?' });
  });

  it('reports thresholds and changes outside the question range, and trends in enableWhen', () => {
    expect(issuesOf(withRule('{ trend: temperature, checkins: 2, op: ">=", value: 380 }'))).toMatchObject([
      { code: 'threshold-out-of-range', line: 13, message: expect.stringContaining('threshold 380') },
    ]);
    expect(issuesOf(withRule('{ trend: temperature, within: 3d, increase: 20 }'))).toMatchObject([
      { code: 'threshold-out-of-range', message: expect.stringContaining('change of 20') },
    ]);
    const branching = withRule(
      '{ trend: temperature, checkins: 2, op: ">=", value: 38 }',
      '    enableWhen: { trend: temperature, checkins: 2, op: ">=", value: 38 }\n',
    );
    expect(issuesOf(branching)).toMatchObject([{ code: 'invalid-value', line: 19, message: 'a trend condition can only be used in escalation rules' }]);
  });
});

describe('trend rules: engine evaluation with history as data', () => {
  it('fires on two consecutive values ≥ 38.0 and reports the series, oldest first', () => {
    const alerts = alertsOf({ temperature: [point(38.4, daysAgo(1))] }, ['38,1']);
    expect(alerts.map((a) => a.ruleId)).toEqual(['fever-twice']);
    expect(alerts[0]).toMatchObject({
      itemId: 'temperature',
      values: { temperature: { type: 'number', value: 38.1, unit: 'Cel' } },
      trend: { temperature: [point(38.4, daysAgo(1)), point(38.1, NOW.toISOString())] },
    });
  });

  it('does not fire when an earlier value is below the threshold, or without history', () => {
    expect(alertsOf({ temperature: [point(37.6, daysAgo(1)), point(38.9, daysAgo(2))] }, ['38,1'])).toEqual([]);
    expect(alertsOf(undefined, ['38,1'])).toEqual([]);
    expect(alertsOf({}, ['38,1'])).toEqual([]);
    expect(alertsOf({ temperature: [point(38.4, daysAgo(1))] }, ['37,9'])).toEqual([]);
  });

  it('ignores retracted answers and non-numbers when history is built from stored rows', () => {
    const history = historyFromRows([
      { questionId: 'temperature', value: { type: 'number', value: 38.6 }, at: daysAgo(1), status: 'retracted' },
      { questionId: 'temperature', value: { type: 'number', value: 37.2 }, at: new Date(daysAgo(2)), status: 'current' },
      { questionId: 'temperature', value: { type: 'text', value: '39' }, at: daysAgo(3), status: 'current' },
    ]);
    expect(history).toEqual({ temperature: [point(37.2, daysAgo(2))] });
    expect(alertsOf(history, ['38,1'])).toEqual([]);
  });

  it('keeps the newest values per question, at most the limit', () => {
    const rows = Array.from({ length: 14 }, (_, i) => ({ questionId: 'pain', value: { type: 'number', value: i % 11 }, at: daysAgo(i + 1) }));
    const history = historyFromRows(rows);
    expect(history['pain']).toHaveLength(10);
    expect(history['pain']?.[0]).toEqual(point(0, daysAgo(1)));
  });

  it('rising: strictly increasing over the last 3 check-ins, today included', () => {
    const rising = { pain: [point(3, daysAgo(1)), point(2, daysAgo(2)), point(9, daysAgo(3))] };
    expect(alertsOf(rising, ['38', '4']).map((a) => a.ruleId)).toEqual(['pain-rising']);
    expect(alertsOf(rising, ['38', '4'])[0]?.trend).toEqual({ pain: [point(2, daysAgo(2)), point(3, daysAgo(1)), point(4, NOW.toISOString())] });
    expect(alertsOf({ pain: [point(3, daysAgo(1)), point(3, daysAgo(2))] }, ['38', '4'])).toEqual([]);
    expect(alertsOf({ pain: [point(3, daysAgo(1))] }, ['38', '4'])).toEqual([]);
  });

  it('increase within 3 calendar days: today minus the earliest value in the window', () => {
    const answers = ['37', '1', '82,1'];
    expect(alertsOf({ weight: [point(81, daysAgo(1)), point(80, daysAgo(3))] }, answers).map((a) => a.ruleId)).toEqual(['weight-gain']);
    // 80 kg was 4 days ago: outside the window; 82.1 − 81 < 2.
    expect(alertsOf({ weight: [point(81, daysAgo(1)), point(80, daysAgo(4))] }, answers)).toEqual([]);
    // Calendar days in the flow's time zone (Berlin): 23:30 on the 12th is "3 days ago" on the 15th at 09:00.
    expect(alertsOf({ weight: [point(80, '2026-01-12T22:30:00Z')] }, answers).map((a) => a.ruleId)).toEqual(['weight-gain']);
    expect(alertsOf({ weight: [point(80, '2026-01-11T22:30:00Z')] }, answers)).toEqual([]);
    // Decimal arithmetic does not miss the threshold: 82.1 − 80.1 is 1.9999999999999...
    expect(alertsOf({ weight: [point(80.1, daysAgo(2))] }, answers).map((a) => a.ruleId)).toEqual(['weight-gain']);
  });

  it('decrease within 48 hours is exact in hours', () => {
    expect(alertsOf({ weight: [point(80, daysAgo(2))] }, ['37', '1', '76']).map((a) => a.ruleId)).toEqual(['weight-loss-fast']);
    expect(alertsOf({ weight: [point(80, new Date(NOW.getTime() - 49 * 3_600_000).toISOString())] }, ['37', '1', '76'])).toEqual([]);
  });

  it("ignores history that is not earlier than today's answer", () => {
    expect(alertsOf({ temperature: [point(38.4, NOW.toISOString()), point(38.9, daysAgo(-1))] }, ['38,1'])).toEqual([]);
  });

  it('fires at most once per run, also when the answer is corrected', () => {
    const history = { temperature: [point(38.4, daysAgo(1))] };
    const { results } = converse(flow, 'de', ['38,1', { type: 'correction', text: '38,3' }]);
    expect(results.flatMap((r) => r.events).filter((e) => e.type === 'escalation')).toEqual([]); // no history: nothing
    let state = step(flow, undefined, { type: 'start', lang: 'de' }, NOW).state;
    const fired: string[] = [];
    for (const input of [
      { type: 'text' as const, text: '38,1' },
      { type: 'correction' as const, text: '38,3' },
    ]) {
      const r = step(flow, state, input, NOW, { history });
      state = r.state;
      fired.push(...r.events.flatMap((e) => (e.type === 'escalation' ? [e.ruleId] : [])));
    }
    expect(fired).toEqual(['fever-twice']);
    expect(lastResult(results).state.fired).toEqual([]);
  });

  it("the conversation policy passes the check-in's history to the engine", () => {
    let state = step(flow, undefined, { type: 'start', lang: 'de' }, NOW).state;
    const patient = { language: 'de' as const, consent: 'given' as const, monitoring: 'active' as const };
    const r = turn(
      patient,
      { flow, status: 'active', state, history: { temperature: [point(38.4, daysAgo(1))] } },
      { type: 'text', text: '38,1' },
      vocabulary(),
      NOW,
    );
    expect(r.events.flatMap((e) => (e.type === 'engine' && e.event.type === 'escalation' ? [e.event.ruleId] : []))).toEqual(['fever-twice']);
    state = r.checkin!.state!;
    expect(
      turn(
        patient,
        { flow, status: 'active', state: step(flow, undefined, { type: 'start', lang: 'de' }, NOW).state },
        { type: 'text', text: '38,1' },
        vocabulary(),
        NOW,
      ).events.some((e) => e.type === 'engine' && e.event.type === 'escalation'),
    ).toBe(false);
  });

  it('shipped post-op flow: fever on two check-ins within a week, pain rising to ≥ 4 over three', () => {
    const postOp = shippedFlow('post-op');
    const run = (history: History, answers: string[]) => {
      let state = step(postOp, undefined, { type: 'start', lang: 'de' }, NOW).state;
      const fired: string[] = [];
      for (const text of answers) {
        const r = step(postOp, state, { type: 'text', text }, NOW, { history });
        state = r.state;
        fired.push(...r.events.flatMap((e) => (e.type === 'escalation' ? [e.ruleId] : [])));
      }
      return fired;
    };
    expect(run({ temperature: [point(38.2, daysAgo(2))] }, ['2', '38,0'])).toEqual(['fever-persisting']);
    expect(run({ temperature: [point(38.2, daysAgo(8))] }, ['2', '38,0'])).toEqual([]);
    expect(run({ pain: [point(3, daysAgo(1)), point(2, daysAgo(2))] }, ['4'])).toEqual(['pain-rising']);
    expect(run({ pain: [point(2, daysAgo(1)), point(1, daysAgo(2))] }, ['3'])).toEqual([]);
  });
});

describe('trend rules: FHIR and alerts', () => {
  it('round-trips trend conditions through a valid FHIR Questionnaire', () => {
    const q = JSON.parse(JSON.stringify(exportQuestionnaire(flow))) as Record<string, unknown>;
    expect(validateR4(q as never)).toEqual([]);
    const imported = importQuestionnaire(q);
    if (!imported.ok) return expect.fail(imported.issues.map((i) => i.message).join('\n'));
    expect(flowToSource(imported.flow)).toEqual(flowToSource(flow));
  });

  it('reads a single trend from its structured extension when the exact condition is missing', () => {
    const q = JSON.parse(JSON.stringify(exportQuestionnaire(flow))) as { extension: Extension[] };
    for (const rule of q.extension.filter((e) => e.url === EXT.escalation)) rule.extension = rule.extension?.filter((x) => x.url !== 'condition');
    const imported = importQuestionnaire(q);
    if (!imported.ok) return expect.fail(imported.issues.map((i) => i.message).join('\n'));
    expect(imported.source.escalations?.map((r) => r.when)).toEqual([
      { trend: 'weight', within: '3d', increase: 2 },
      { trend: 'weight', within: '48h', decrease: 3 },
    ]);
  });

  it('renders the series in the alert: "Temperatur 38,4 → 38,1 °C"', () => {
    const [alert] = alertsOf({ temperature: [point(38.4, daysAgo(1))] }, ['38,1']);
    const details = JSON.parse(JSON.stringify({ itemId: alert!.itemId, values: alert!.values, message: alert!.message, trend: alert!.trend })) as Record<
      string,
      unknown
    >;
    const input = {
      kind: 'rule' as const,
      severity: 'warning' as const,
      details,
      patient: { id: '0123456789abcdef', displayName: 'Erika Muster' },
      flow,
      mentions: [],
      count: 1,
      at: NOW,
      recordUrl: 'https://visite.example/r',
    };
    const text = (a: ReturnType<typeof describeAlert>) => [a.head, ...a.lines].join('\n');
    const de = text(describeAlert({ ...input, language: 'de' }));
    expect(de).toContain('Temperatur 38,4 → 38,1 °C (14.01.–15.01.)');
    expect(de).not.toContain('Temperatur 38,1 °C');
    expect(text(describeAlert({ ...input, language: 'en' }))).toContain('Temperature 38.4 → 38.1 °C (14/01–15/01)');
    // Without a trend the value alone, as before.
    expect(text(describeAlert({ ...input, details: { ...details, trend: undefined }, language: 'de' }))).toContain('Temperatur 38,1 °C');
  });
});
