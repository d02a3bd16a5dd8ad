import { describe, expect, it } from 'vitest';
import { step } from '../../../core/engine/step.ts';
import type { ConversationState } from '../../../core/engine/types.ts';
import { loadFlowOrThrow } from '../../../core/flow/load.ts';
import { checkThresholds, tunableRules, withThresholds } from '../../../core/flow/thresholds.ts';
import { DEFAULT_FLOWS_DIR } from '../../../server/config.ts';

const flow = loadFlowOrThrow(`${DEFAULT_FLOWS_DIR}/post-op.yaml`);
const now = new Date('2026-03-02T08:00:00Z');

function ruleIdsFor(f: typeof flow, answers: string[]): string[] {
  let state: ConversationState | undefined;
  const fired: string[] = [];
  for (const input of [{ type: 'start' as const, lang: 'de' as const }, ...answers.map((text) => ({ type: 'text' as const, text }))]) {
    const r = step(f, state, input, now);
    state = r.state;
    for (const e of r.events) if (e.type === 'escalation') fired.push(e.ruleId);
  }
  return fired;
}

describe('care-team thresholds', () => {
  it('lists the rules with exactly one numeric threshold, with the question and its range', () => {
    const tunable = tunableRules(flow);
    expect(tunable).toContainEqual({ ruleId: 'fever', questionId: 'temperature', current: 38.5, min: 34, max: 43 });
    expect(tunable).toContainEqual(expect.objectContaining({ ruleId: 'fever-persisting', questionId: 'temperature', current: 38 }));
    expect(tunable.map((t) => t.ruleId)).not.toContain('wound-discharge');
  });

  it('replaces the threshold of one rule for the team and leaves the flow itself alone', () => {
    expect(ruleIdsFor(flow, ['2', '38,2'])).not.toContain('fever');
    const tuned = withThresholds(flow, { fever: 38.0 });
    expect(ruleIdsFor(tuned, ['2', '38,2'])).toContain('fever');
    expect(ruleIdsFor(flow, ['2', '38,2'])).not.toContain('fever');
    expect(withThresholds(flow, {})).toBe(flow);
  });

  it('names unknown rules, rules without a single number and values outside the range', () => {
    expect(checkThresholds(flow, { fever: 38.0 })).toEqual([]);
    expect(checkThresholds(flow, { nosuch: 1, 'wound-discharge': 1, fever: 60 }).map((p) => p.ruleId)).toEqual(['nosuch', 'wound-discharge', 'fever']);
  });
});
