import type { Condition, EscalationRule, Flow, Question } from './model.ts';

/**
 * Care teams tune a flow's alert thresholds for their patients (alert
 * fatigue, BRIEF §8) without editing the flow: per rule, one number replaces
 * the rule's single numeric threshold. Only rules with exactly one numeric
 * threshold can be tuned, so "the threshold of rule X" always means one thing.
 */
export interface TunableRule {
  ruleId: string;
  /** The question the threshold is compared with. */
  questionId: string;
  current: number;
  min?: number;
  max?: number;
}

/** The numeric threshold slots of a condition tree. */
function slots(c: Condition): Array<{ answer: string; value: number; replace: (v: number) => Condition }> {
  switch (c.kind) {
    case 'compare':
      return typeof c.value === 'number' ? [{ answer: c.answer, value: c.value, replace: (v) => ({ ...c, value: v }) }] : [];
    case 'trend': {
      const t = c.test;
      if (t.type === 'each') return [{ answer: c.answer, value: t.value, replace: (v) => ({ ...c, test: { ...t, value: v } }) }];
      if (t.type === 'increase' || t.type === 'decrease') return [{ answer: c.answer, value: t.by, replace: (v) => ({ ...c, test: { ...t, by: v } }) }];
      return [];
    }
    case 'all':
    case 'any':
      return c.of.flatMap((child, i) =>
        slots(child).map((s) => ({ ...s, replace: (v: number) => ({ ...c, of: c.of.map((x, j) => (j === i ? s.replace(v) : x)) }) })),
      );
    case 'not':
      return slots(c.of).map((s) => ({ ...s, replace: (v: number) => ({ ...c, of: s.replace(v) }) }));
    default:
      return [];
  }
}

function rules(flow: Flow): EscalationRule[] {
  return [...flow.questions.flatMap((q) => q.escalations), ...flow.computed.flatMap((c) => c.escalations), ...flow.escalations];
}

function range(q: Question | undefined): { min?: number; max?: number } {
  if (!q || (q.type !== 'quantity' && q.type !== 'scale')) return {};
  return { ...(q.min !== undefined ? { min: q.min } : {}), ...(q.max !== undefined ? { max: q.max } : {}) };
}

export function tunableRules(flow: Flow): TunableRule[] {
  return rules(flow).flatMap((rule) => {
    const found = slots(rule.when);
    if (found.length !== 1) return [];
    const slot = found[0]!;
    return [{ ruleId: rule.id, questionId: slot.answer, current: slot.value, ...range(flow.questions.find((q) => q.id === slot.answer)) }];
  });
}

/** Problems with a team's overrides for one flow, as `ruleId: message` (empty when valid). */
export function checkThresholds(flow: Flow, overrides: Record<string, number>): Array<{ ruleId: string; message: string }> {
  const tunable = new Map(tunableRules(flow).map((t) => [t.ruleId, t]));
  return Object.entries(overrides).flatMap(([ruleId, value]) => {
    const target = tunable.get(ruleId);
    if (!target) return [{ ruleId, message: `no rule "${ruleId}" with a single numeric threshold in flow ${flow.id}` }];
    if ((target.min !== undefined && value < target.min) || (target.max !== undefined && value > target.max)) {
      return [{ ruleId, message: `outside the question's range ${target.min ?? '…'}–${target.max ?? '…'}` }];
    }
    return [];
  });
}

/** The flow with the team's thresholds in place of the author's (unknown rules are ignored). */
export function withThresholds(flow: Flow, overrides: Record<string, number>): Flow {
  if (Object.keys(overrides).length === 0) return flow;
  const tune = (rule: EscalationRule): EscalationRule => {
    const value = overrides[rule.id];
    const found = slots(rule.when);
    return value === undefined || found.length !== 1 ? rule : { ...rule, when: found[0]!.replace(value) };
  };
  return {
    ...flow,
    questions: flow.questions.map((q) => ({ ...q, escalations: q.escalations.map(tune) })) as Question[],
    computed: flow.computed.map((c) => ({ ...c, escalations: c.escalations.map(tune) })),
    escalations: flow.escalations.map(tune),
  };
}
