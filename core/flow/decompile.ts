import {
  CODE_SYSTEM_ALIASES,
  type Coding,
  type Condition,
  DEFAULT_DECIMALS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TEXT_MAX_LENGTH,
  type EscalationRule,
  type Flow,
  type Question,
  VISITE_BASE,
} from './model.ts';
import type { CodingSource, ConditionSource, EscalationSource, FlowSource, QuestionSource } from './schema.ts';

/**
 * Runtime Flow → source form (what an author would write), with defaults
 * left out. Used to print imported Questionnaires as YAML and to compare two
 * flows by meaning (round-trip tests).
 */
export function flowToSource(flow: Flow): FlowSource {
  const source: FlowSource = { id: flow.id, version: flow.version, title: flow.title, languages: flow.languages, questions: [] };
  if (flow.description) source.description = flow.description;
  if (flow.url !== `${VISITE_BASE}/Questionnaire/${flow.id}`) source.url = flow.url;
  if (flow.publisher) source.publisher = flow.publisher;
  if (flow.codeSystem !== `${VISITE_BASE}/CodeSystem/${flow.id}`) source.codeSystem = flow.codeSystem;
  if (flow.maxAttempts !== DEFAULT_MAX_ATTEMPTS) source.maxAttempts = flow.maxAttempts;
  if (flow.intro) source.intro = flow.intro;
  if (flow.outro) source.outro = flow.outro;
  if (flow.schedule) {
    const { anchor, days, time, timezone, reminderAfterHours, expireAfterHours } = flow.schedule;
    source.schedule = { anchor, days, time, timezone };
    if (reminderAfterHours !== undefined) source.schedule.reminderAfterHours = reminderAfterHours;
    if (expireAfterHours !== undefined) source.schedule.expireAfterHours = expireAfterHours;
  }
  source.questions = flow.questions.map((q) => question(flow, q));
  if (flow.computed.length > 0) {
    source.computed = flow.computed.map((c) => {
      const out: NonNullable<FlowSource['computed']>[number] = { id: c.id, type: c.type, expression: c.expression };
      if (c.text) out.text = c.text;
      if (c.unit) out.unit = c.unit;
      if (c.codes.length > 0) out.codes = c.codes.map((x) => coding(flow, x));
      if (c.extract !== c.codes.length > 0) out.extract = c.extract;
      if (c.escalations.length > 0) out.escalations = c.escalations.map((r) => rule(r));
      return out;
    });
  }
  if (flow.escalations.length > 0) source.escalations = flow.escalations.map((r) => rule(r));
  return source;
}

function question(flow: Flow, q: Question): QuestionSource {
  const base: Record<string, unknown> = { id: q.id, type: q.type, text: q.text };
  if (q.type !== 'info' && q.label) base['label'] = q.label;
  if (q.hint) base['hint'] = q.hint;
  if (q.enableWhen) base['enableWhen'] = conditionToSource(q.enableWhen);
  if (q.type !== 'info') {
    if (!q.required) base['required'] = false;
    if (q.codes.length > 0) base['codes'] = q.codes.map((c) => coding(flow, c));
    if (q.extract !== q.codes.length > 0) base['extract'] = q.extract;
  }
  switch (q.type) {
    case 'quantity':
      if (q.unit) base['unit'] = q.unit;
      if (q.unitDisplay) base['unitDisplay'] = q.unitDisplay;
      if (q.min !== undefined) base['min'] = q.min;
      if (q.max !== undefined) base['max'] = q.max;
      if (q.decimals !== DEFAULT_DECIMALS) base['decimals'] = q.decimals;
      break;
    case 'scale':
      base['min'] = q.min;
      base['max'] = q.max;
      if (q.minLabel) base['minLabel'] = q.minLabel;
      if (q.maxLabel) base['maxLabel'] = q.maxLabel;
      if (q.none) base['none'] = q.none;
      break;
    case 'choice':
    case 'multi-choice':
      base['options'] = q.options.map((o) => {
        const out: Record<string, unknown> = { code: o.code };
        if (o.system !== flow.codeSystem) out['system'] = alias(o.system);
        out['text'] = o.text;
        if (o.emoji) out['emoji'] = o.emoji;
        if (o.exclusive) out['exclusive'] = true;
        return out;
      });
      break;
    case 'text':
      if (q.maxLength !== DEFAULT_TEXT_MAX_LENGTH) base['maxLength'] = q.maxLength;
      break;
  }
  if (q.type !== 'info' && q.escalations.length > 0) base['escalations'] = q.escalations.map((r) => rule(r));
  return base as QuestionSource;
}

function rule(r: EscalationRule): EscalationSource {
  return { id: r.id, when: conditionToSource(r.when), severity: r.severity, message: r.message };
}

export function conditionToSource(c: Condition): ConditionSource {
  switch (c.kind) {
    case 'all':
      return { all: c.of.map(conditionToSource) };
    case 'any':
      return { any: c.of.map(conditionToSource) };
    case 'not':
      return { not: conditionToSource(c.of) };
    case 'expression':
      return { expression: c.expression };
    case 'compare': {
      const out: ConditionSource = { answer: c.answer, op: c.op };
      if (c.value !== undefined) out.value = c.value;
      return out;
    }
    case 'trend': {
      const out: ConditionSource = { trend: c.answer };
      if (c.checkins !== undefined) out.checkins = c.checkins;
      if (c.within) out.within = `${c.within.amount}${c.within.unit}`;
      switch (c.test.type) {
        case 'each':
          out.op = c.test.op;
          out.value = c.test.value;
          break;
        case 'rising':
        case 'falling':
          out[c.test.type] = true;
          break;
        case 'increase':
        case 'decrease':
          out[c.test.type] = c.test.by;
          break;
      }
      return out;
    }
  }
}

function alias(system: string): string {
  return Object.entries(CODE_SYSTEM_ALIASES).find(([, uri]) => uri === system)?.[0] ?? system;
}

function coding(flow: Flow, c: Coding): CodingSource {
  const out: CodingSource = { system: c.system === flow.codeSystem ? 'local' : alias(c.system), code: c.code };
  if (c.display) out.display = c.display;
  return out;
}
