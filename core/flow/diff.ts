import { flowToSource } from './decompile.ts';
import type { Flow } from './model.ts';
import type { EscalationSource, FlowSource, LocalizedTextSource, OptionSource, QuestionSource } from './schema.ts';
import { tunableRules, withThresholds } from './thresholds.ts';

/**
 * What a new version changes compared with the published one, as structured
 * data for the reviewer (four-eyes publishing): every text per language, the
 * questions' answer settings, answer options, alert rules, their numeric
 * thresholds, the schedule and the flow's settings. Flows are compared in
 * their source form (what the author writes), so defaults and resolved code
 * systems do not show up as changes. Pure.
 */
export interface FlowDiff {
  from: string | null;
  to: string;
  texts: TextChange[];
  questions: ItemChange[];
  /** The order of the questions both versions have, when it changed. */
  order: { before: string[]; after: string[] } | null;
  options: OptionChange[];
  rules: ItemChange[];
  thresholds: ThresholdChange[];
  computed: ItemChange[];
  schedule: { before: unknown; after: unknown } | null;
  settings: FieldChange[];
}

export interface TextChange {
  /** E.g. `questions.pain.text`, `questions.wound.options.redness.text`, `rules.fever.message`. */
  key: string;
  language: string;
  before: string | null;
  after: string | null;
}
export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}
/** A question or rule: added or removed (with its settings), or changed (field by field; texts are in `texts`). */
export interface ItemChange {
  id: string;
  change: 'added' | 'removed' | 'changed';
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  fields?: FieldChange[];
}
export interface OptionChange {
  questionId: string;
  code: string;
  change: 'added' | 'removed' | 'changed';
  fields?: FieldChange[];
}
export interface ThresholdChange {
  ruleId: string;
  questionId: string;
  before: number;
  after: number;
}

const TEXT_FIELDS = ['text', 'label', 'hint', 'minLabel', 'maxLabel', 'message', 'title', 'description', 'intro', 'outro'];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function diffFlows(before: Flow | undefined, after: Flow): FlowDiff {
  const a = before ? flowToSource(before) : undefined;
  const b = flowToSource(after);
  const thresholds = thresholdChanges(before, after);
  // Rules are compared with the old thresholds put back: a moved threshold is listed once, under `thresholds`.
  const rulesAfter = rules(flowToSource(withThresholds(after, Object.fromEntries(thresholds.map((t) => [t.ruleId, t.before])))));
  const common = (x: FlowSource, y: FlowSource) => x.questions.map((q) => q.id).filter((id) => y.questions.some((q) => q.id === id));
  const order = a && !same(common(a, b), common(b, a)) ? { before: common(a, b), after: common(b, a) } : null;
  return {
    from: before?.version ?? null,
    to: after.version,
    texts: textChanges(a ? texts(a) : new Map(), texts(b)),
    questions: itemChanges(a?.questions ?? [], b.questions, (q) => withoutTexts(q, ['options', 'escalations'])),
    order,
    options: optionChanges(a?.questions ?? [], b.questions),
    rules: itemChanges(a ? rules(a) : [], rulesAfter, (r) => withoutTexts(r)),
    thresholds,
    computed: itemChanges(a?.computed ?? [], b.computed ?? [], (c) => withoutTexts(c, ['escalations'])),
    schedule: same(a?.schedule, b.schedule) ? null : { before: a?.schedule ?? null, after: b.schedule ?? null },
    settings: fieldChanges(settings(a), settings(b)),
  };
}

function settings(s: FlowSource | undefined): Record<string, unknown> {
  return s ? withoutTexts(s, ['id', 'version', 'questions', 'computed', 'escalations', 'schedule']) : {};
}

/** Every text of the flow by key. */
function texts(s: FlowSource): Map<string, LocalizedTextSource> {
  const out = new Map<string, LocalizedTextSource>();
  const put = (key: string, t: LocalizedTextSource | undefined) => t && out.set(key, t);
  for (const f of ['title', 'description', 'intro', 'outro'] as const) put(f, s[f]);
  for (const q of s.questions) {
    const record = q as Record<string, unknown>;
    for (const f of TEXT_FIELDS) put(`questions.${q.id}.${f}`, record[f] as LocalizedTextSource | undefined);
    for (const o of (record['options'] as OptionSource[] | undefined) ?? []) put(`questions.${q.id}.options.${o.code}.text`, o.text);
  }
  for (const c of s.computed ?? []) put(`computed.${c.id}.text`, c.text);
  for (const r of rules(s)) put(`rules.${r.id}.message`, r.message);
  return out;
}

function textChanges(before: Map<string, LocalizedTextSource>, after: Map<string, LocalizedTextSource>): TextChange[] {
  const out: TextChange[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const a = (before.get(key) ?? {}) as Record<string, string | undefined>;
    const b = (after.get(key) ?? {}) as Record<string, string | undefined>;
    for (const language of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[language] !== b[language]) out.push({ key, language, before: a[language] ?? null, after: b[language] ?? null });
    }
  }
  return out;
}

/** An entry's settings without its texts (and without the given nested lists, diffed on their own). */
function withoutTexts(entry: object, nested: string[] = []): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entry).filter(([k]) => !TEXT_FIELDS.includes(k) && !nested.includes(k)));
}

function fieldChanges(a: Record<string, unknown>, b: Record<string, unknown>): FieldChange[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((f) => !same(a[f], b[f]))
    .map((field) => ({ field, before: a[field] ?? null, after: b[field] ?? null }));
}

function itemChanges<T extends { id: string }>(
  before: readonly T[],
  after: readonly T[],
  shape: (item: T, position: number) => Record<string, unknown>,
): ItemChange[] {
  const a = new Map(before.map((item, i) => [item.id, shape(item, i)]));
  const b = new Map(after.map((item, i) => [item.id, shape(item, i)]));
  const out: ItemChange[] = [];
  for (const [id, s] of a) if (!b.has(id)) out.push({ id, change: 'removed', before: s });
  for (const [id, s] of b) {
    const old = a.get(id);
    if (!old) out.push({ id, change: 'added', after: s });
    else {
      const fields = fieldChanges(old, s);
      if (fields.length > 0) out.push({ id, change: 'changed', fields });
    }
  }
  return out;
}

function optionChanges(before: readonly QuestionSource[], after: readonly QuestionSource[]): OptionChange[] {
  const options = (q: QuestionSource | undefined) =>
    new Map((((q as Record<string, unknown> | undefined)?.['options'] as OptionSource[] | undefined) ?? []).map((o) => [o.code, withoutTexts(o)]));
  const out: OptionChange[] = [];
  for (const q of after) {
    const old = before.find((x) => x.id === q.id);
    if (!old) continue; // a new question: its options are part of it
    const a = options(old);
    const b = options(q);
    for (const code of a.keys()) if (!b.has(code)) out.push({ questionId: q.id, code, change: 'removed' });
    for (const [code, s] of b) {
      const previous = a.get(code);
      if (!previous) out.push({ questionId: q.id, code, change: 'added' });
      else {
        const fields = fieldChanges(previous, s);
        if (fields.length > 0) out.push({ questionId: q.id, code, change: 'changed', fields });
      }
    }
  }
  return out;
}

/** Every rule: under questions (with the question), computed values and the flow. */
function rules(s: FlowSource): Array<EscalationSource & { on?: string }> {
  return [
    ...s.questions.flatMap((q) => (((q as Record<string, unknown>)['escalations'] as EscalationSource[] | undefined) ?? []).map((r) => ({ ...r, on: q.id }))),
    ...(s.computed ?? []).flatMap((c) => (c.escalations ?? []).map((r) => ({ ...r, on: c.id }))),
    ...(s.escalations ?? []),
  ];
}

function thresholdChanges(before: Flow | undefined, after: Flow): ThresholdChange[] {
  if (!before) return [];
  const old = new Map(tunableRules(before).map((t) => [t.ruleId, t]));
  return tunableRules(after).flatMap((t) => {
    const previous = old.get(t.ruleId);
    return previous && previous.current !== t.current && previous.questionId === t.questionId
      ? [{ ruleId: t.ruleId, questionId: t.questionId, before: previous.current, after: t.current }]
      : [];
  });
}
