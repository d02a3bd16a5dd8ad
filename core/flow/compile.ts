import { type Language, LANGUAGES } from '../language.ts';
import { closest, type FlowIssue, issue, type IssuePath } from './errors.ts';
import { compileFhirPath, referencedLinkIds } from './fhirpath.ts';
import {
  type ChoiceOption,
  CODE_SYSTEM_ALIASES,
  type Coding,
  type ComputedValue,
  type Condition,
  DEFAULT_DECIMALS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TEXT_MAX_LENGTH,
  DEFAULT_TIMEZONE,
  type EscalationRule,
  type Flow,
  type LocalizedText,
  MAX_LABEL_LENGTH,
  type Question,
  type TrendCondition,
  type TrendTest,
  VISITE_BASE,
} from './model.ts';
import type {
  CodingSource,
  ComputedSource,
  ConditionSource,
  EscalationSource,
  FlowSource,
  LocalizedTextSource,
  OptionSource,
  QuestionSource,
} from './schema.ts';
import { WITHIN_PATTERN } from './schema.ts';

/** `warnings`: problems a draft may still have (see `CompileOptions.incompleteTexts`); empty otherwise. */
export type CompileResult = { ok: true; flow: Flow; warnings: FlowIssue[] } | { ok: false; issues: FlowIssue[] };

export interface CompileOptions {
  /**
   * The canonical URL and local code system when the source names none. The
   * flow catalog passes its own, built from the server's public URL; files
   * compiled on their own get the placeholder base.
   */
  defaults?: { url?: string; codeSystem?: string };
  /**
   * A draft in the catalog may lack translations while it is being written:
   * missing texts become warnings. Publishing compiles without this and
   * refuses them.
   */
  incompleteTexts?: boolean;
}

/**
 * Semantic checks on a schema-valid flow source and construction of the
 * runtime `Flow`. All problems are collected (not just the first) with the
 * path of the offending node so the loader can point at line:col.
 */
export function compileFlow(source: FlowSource, options: CompileOptions = {}): CompileResult {
  const c = new Compiler(source, options.defaults ?? {});
  const flow = c.run();
  const deferred = (i: FlowIssue) => options.incompleteTexts === true && i.code === 'missing-translation';
  const errors = c.issues.filter((i) => !deferred(i));
  return errors.length > 0 ? { ok: false, issues: errors } : { ok: true, flow, warnings: c.issues.filter(deferred) };
}

type Item = { id: string; kind: 'question' | 'computed'; position: number; path: IssuePath; source: QuestionSource | ComputedSource };

class Compiler {
  readonly issues: FlowIssue[] = [];
  private readonly source: FlowSource;
  private readonly items = new Map<string, Item>();
  private readonly ruleIds = new Map<string, IssuePath>();
  private readonly languages: Language[];
  private readonly codeSystem: string;
  /** Trend conditions are allowed in escalation rules only (branching has no history). */
  private inRule = false;

  private readonly url: string;

  constructor(source: FlowSource, defaults: { url?: string; codeSystem?: string }) {
    this.source = source;
    this.languages = [...new Set(source.languages)];
    this.codeSystem = source.codeSystem ?? defaults.codeSystem ?? `${VISITE_BASE}/CodeSystem/${source.id}`;
    this.url = source.url ?? defaults.url ?? `${VISITE_BASE}/Questionnaire/${source.id}`;
  }

  private add(i: FlowIssue): void {
    this.issues.push(i);
  }

  run(): Flow {
    const s = this.source;
    this.checkLanguages();
    this.indexItems();
    this.patientText(s.title, ['title']);
    if (s.description) this.patientText(s.description, ['description']);
    if (s.intro) this.patientText(s.intro, ['intro']);
    if (s.outro) this.patientText(s.outro, ['outro']);
    if (s.maxAttempts !== undefined && s.maxAttempts < 1) this.add(issue('invalid-value', ['maxAttempts'], 'maxAttempts must be at least 1'));

    const questions = s.questions.map((q, i) => this.question(q, i));
    const computed = (s.computed ?? []).map((v, i) => this.computed(v, i));
    const escalations = (s.escalations ?? []).map((r, i) => this.rule(r, ['escalations', i], undefined));
    this.checkBranchingGraph();

    const flow: Flow = {
      id: s.id,
      version: s.version,
      title: text(s.title),
      languages: this.languages,
      url: this.url,
      codeSystem: this.codeSystem,
      maxAttempts: s.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      questions,
      computed,
      escalations,
      questionIndex: new Map(questions.map((q, i) => [q.id, i])),
      computedIndex: new Map(computed.map((v, i) => [v.id, i])),
    };
    if (s.description) flow.description = text(s.description);
    if (s.publisher) flow.publisher = s.publisher;
    if (s.intro) flow.intro = text(s.intro);
    if (s.outro) flow.outro = text(s.outro);
    if (s.schedule) flow.schedule = this.schedule(s.schedule);
    return flow;
  }

  private checkLanguages(): void {
    const seen = new Set<string>();
    this.source.languages.forEach((l, i) => {
      if (seen.has(l)) this.add(issue('duplicate-id', ['languages', i], `language "${l}" is listed twice`, 'remove the duplicate'));
      seen.add(l);
    });
    for (const required of ['de', 'en'] as const) {
      if (!seen.has(required)) {
        this.add({
          ...issue(
            'missing-translation',
            ['languages'],
            `languages must include "${required}"`,
            'German and English are required for every flow; add them to `languages:`',
          ),
          languages: [required],
        });
      }
    }
  }

  private indexItems(): void {
    const register = (id: string, kind: Item['kind'], position: number, path: IssuePath, source: Item['source']) => {
      const earlier = this.items.get(id);
      if (earlier) {
        this.add(
          issue(
            'duplicate-id',
            [...path, 'id'],
            `id "${id}" is already used by ${earlier.kind} #${earlier.position + 1}`,
            'every question and computed value needs its own id',
          ),
        );
        return;
      }
      this.items.set(id, { id, kind, position, path, source });
    };
    this.source.questions.forEach((q, i) => register(q.id, 'question', i, ['questions', i], q));
    (this.source.computed ?? []).forEach((v, i) => register(v.id, 'computed', this.source.questions.length + i, ['computed', i], v));
  }

  /** Patient-facing text: every language the flow declares (which always includes de and en). */
  private patientText(t: LocalizedTextSource, path: IssuePath): void {
    const missing = this.languages.filter((l) => !t[l]);
    if (missing.length > 0) {
      this.add({
        ...issue(
          'missing-translation',
          path,
          `text is missing ${missing.length === 1 ? 'language' : 'languages'} ${missing.join(', ')}`,
          `add ${missing.map((l) => `\`${l}: ...\``).join(', ')}; every patient text needs each language listed in \`languages:\``,
        ),
        languages: missing,
      });
    }
    for (const l of LANGUAGES) {
      if (t[l] && !this.languages.includes(l)) {
        this.add(issue('invalid-value', [...path, l], `language "${l}" is not listed in \`languages:\``, `add "${l}" to \`languages:\` or remove this text`));
      }
    }
  }

  /** Labels are short names for summaries and alerts: one line, at most MAX_LABEL_LENGTH characters. */
  private labelLength(t: LocalizedTextSource, path: IssuePath): void {
    for (const l of LANGUAGES) {
      const v = t[l];
      if (v === undefined) continue;
      if (/[\r\n]/.test(v))
        this.add(issue('invalid-value', [...path, l], 'a label is one line', 'write a short name such as "Schmerzen"; the question itself goes in `text:`'));
      else if ([...v].length > MAX_LABEL_LENGTH) {
        this.add(
          issue(
            'invalid-value',
            [...path, l],
            `label is ${[...v].length} characters long; at most ${MAX_LABEL_LENGTH}`,
            'a label is a short name such as "Schmerzen" or "Temperatur"; the question itself goes in `text:`',
          ),
        );
      }
    }
  }

  /** Clinician-facing text (escalation messages): German and English suffice. */
  private clinicianText(t: LocalizedTextSource, path: IssuePath): void {
    const missing = (['de', 'en'] as const).filter((l) => !t[l]);
    if (missing.length > 0) {
      this.add({
        ...issue('missing-translation', path, `message is missing ${missing.join(' and ')}`, 'messages to clinicians need German (de) and English (en)'),
        languages: missing,
      });
    }
  }

  private codings(list: CodingSource[] | undefined, path: IssuePath): Coding[] {
    return (list ?? []).map((c, i) => this.coding(c, [...path, i]));
  }

  private coding(c: CodingSource, path: IssuePath): Coding {
    const system = c.system === 'local' ? this.codeSystem : (CODE_SYSTEM_ALIASES[c.system] ?? c.system);
    if (system === c.system && !/^[a-z][a-z0-9+.-]*:/i.test(system)) {
      this.add(
        issue(
          'invalid-code',
          [...path, 'system'],
          `unknown code system "${c.system}"`,
          "use loinc, snomed, local (the flow's own code system) or an absolute URI",
        ),
      );
    }
    if (system === CODE_SYSTEM_ALIASES['loinc'] && !isValidLoinc(c.code)) {
      this.add(
        issue(
          'invalid-code',
          [...path, 'code'],
          `"${c.code}" is not a valid LOINC code (format or check digit)`,
          'copy the code from loinc.org; if no LOINC code exists use `system: local` — never invent LOINC codes',
        ),
      );
    }
    const coding: Coding = { system, code: c.code };
    if (c.display) coding.display = c.display;
    return coding;
  }

  private question(q: QuestionSource, index: number): Question {
    const path: IssuePath = ['questions', index];
    this.patientText(q.text, [...path, 'text']);
    if (q.hint) this.patientText(q.hint, [...path, 'hint']);
    const enableWhen = q.enableWhen ? this.condition(q.enableWhen, [...path, 'enableWhen'], undefined) : undefined;
    const base = {
      id: q.id,
      text: text(q.text),
      ...(q.hint ? { hint: text(q.hint) } : {}),
      ...(enableWhen ? { enableWhen } : {}),
    };
    if (q.type === 'info') return { ...base, type: 'info', required: false, codes: [], extract: false, escalations: [] };
    if (q.label) {
      this.patientText(q.label, [...path, 'label']);
      this.labelLength(q.label, [...path, 'label']);
    }

    const codes = this.codings(q.codes, [...path, 'codes']);
    if (q.type === 'photo' && q.extract === true) {
      this.add(
        issue(
          'invalid-value',
          [...path, 'extract'],
          'photos cannot become Observations (R4 Observation has no attachment value)',
          'remove `extract: true`; the photo stays in the QuestionnaireResponse',
        ),
      );
    }
    if (q.extract === true && codes.length === 0) {
      this.add(
        issue('missing-key', [...path, 'extract'], 'extract: true needs `codes:` (an Observation must have a code)', 'add codes (LOINC, or `system: local`)'),
      );
    }
    const answerable = {
      ...base,
      ...(q.label ? { label: text(q.label) } : {}),
      required: q.required ?? true,
      codes,
      extract: q.type === 'photo' ? false : (q.extract ?? codes.length > 0),
      escalations: [] as EscalationRule[],
    };
    let question: Question;
    switch (q.type) {
      case 'quantity': {
        if (q.min !== undefined && q.max !== undefined && q.min >= q.max) {
          this.add(issue('invalid-value', [...path, 'max'], `max (${q.max}) must be greater than min (${q.min})`));
        }
        if (q.unitDisplay && !q.unit) this.add(issue('missing-key', [...path, 'unitDisplay'], 'unitDisplay needs `unit:` (the UCUM code)'));
        question = { ...answerable, type: 'quantity', decimals: q.decimals ?? DEFAULT_DECIMALS };
        if (q.unit) question.unit = q.unit;
        if (q.unitDisplay) question.unitDisplay = q.unitDisplay;
        if (q.min !== undefined) question.min = q.min;
        if (q.max !== undefined) question.max = q.max;
        break;
      }
      case 'scale': {
        if (q.min >= q.max) this.add(issue('invalid-value', [...path, 'max'], `max (${q.max}) must be greater than min (${q.min})`));
        if (q.max - q.min > 100) this.add(issue('invalid-value', [...path, 'max'], 'a scale spans at most 100 steps', 'use type: quantity for wide ranges'));
        if (q.minLabel) this.patientText(q.minLabel, [...path, 'minLabel']);
        if (q.maxLabel) this.patientText(q.maxLabel, [...path, 'maxLabel']);
        question = { ...answerable, type: 'scale', min: q.min, max: q.max };
        if (q.minLabel) question.minLabel = text(q.minLabel);
        if (q.maxLabel) question.maxLabel = text(q.maxLabel);
        if (q.none) question.none = q.none;
        break;
      }
      case 'choice':
      case 'multi-choice':
        question = { ...answerable, type: q.type, options: this.options(q.type, q.options, [...path, 'options']) };
        break;
      case 'text':
        question = { ...answerable, type: 'text', maxLength: q.maxLength ?? DEFAULT_TEXT_MAX_LENGTH };
        break;
      default:
        question = { ...answerable, type: q.type };
    }
    question.escalations = (q.escalations ?? []).map((r, i) => this.rule(r, [...path, 'escalations', i], q.id));
    return question;
  }

  private options(type: 'choice' | 'multi-choice', list: OptionSource[], path: IssuePath): ChoiceOption[] {
    const codes = new Set<string>();
    const emojis = new Set<string>();
    return list.map((o, i) => {
      const at: IssuePath = [...path, i];
      if (codes.has(o.code))
        this.add(issue('duplicate-id', [...at, 'code'], `option code "${o.code}" is used twice`, 'option codes must be unique within a question'));
      codes.add(o.code);
      if (o.emoji) {
        if (emojis.has(o.emoji)) this.add(issue('duplicate-id', [...at, 'emoji'], `emoji ${o.emoji} is used twice`));
        if ([...o.emoji].length > 2 || /[\p{L}\p{N}]/u.test(o.emoji))
          this.add(issue('invalid-value', [...at, 'emoji'], 'emoji must be a single emoji', 'TI-Messenger reactions are single emoji'));
        emojis.add(o.emoji);
      }
      if (o.exclusive && type !== 'multi-choice')
        this.add(issue('invalid-value', [...at, 'exclusive'], 'exclusive only makes sense in a multi-choice question'));
      this.patientText(o.text, [...at, 'text']);
      const system = o.system === undefined || o.system === 'local' ? this.codeSystem : (CODE_SYSTEM_ALIASES[o.system] ?? o.system);
      const option: ChoiceOption = { code: o.code, system, text: text(o.text), exclusive: o.exclusive ?? false };
      if (o.emoji) option.emoji = o.emoji;
      return option;
    });
  }

  private computed(v: ComputedSource, index: number): ComputedValue {
    const path: IssuePath = ['computed', index];
    this.expression(v.expression, [...path, 'expression']);
    for (const ref of referencedLinkIds(v.expression)) {
      if (this.items.get(ref)?.kind === 'computed') {
        this.add(
          issue(
            'invalid-expression',
            [...path, 'expression'],
            `computed value "${v.id}" uses computed value "${ref}"`,
            'computed values are calculated from answers only; repeat the other expression here',
          ),
        );
      }
    }
    if (v.text) this.patientText(v.text, [...path, 'text']);
    const codes = this.codings(v.codes, [...path, 'codes']);
    const value: ComputedValue = { id: v.id, type: v.type, expression: v.expression, codes, extract: v.extract ?? codes.length > 0, escalations: [] };
    if (v.text) value.text = text(v.text);
    if (v.unit) value.unit = v.unit;
    value.escalations = (v.escalations ?? []).map((r, i) => this.rule(r, [...path, 'escalations', i], v.id));
    return value;
  }

  private rule(r: EscalationSource, path: IssuePath, itemId: string | undefined): EscalationRule {
    const earlier = this.ruleIds.get(r.id);
    if (earlier)
      this.add(
        issue(
          'duplicate-id',
          [...path, 'id'],
          `escalation id "${r.id}" is used twice`,
          'escalation ids must be unique in the flow so teams can tune each rule',
        ),
      );
    this.ruleIds.set(r.id, path);
    this.clinicianText(r.message, [...path, 'message']);
    this.inRule = true;
    const when = this.condition(r.when, [...path, 'when'], itemId);
    this.inRule = false;
    const rule: EscalationRule = { id: r.id, when, severity: r.severity, message: text(r.message) };
    if (itemId) rule.itemId = itemId;
    return rule;
  }

  /** `self` is the id a comparison without `answer:` refers to (the rule's own question). */
  private condition(c: ConditionSource, path: IssuePath, self: string | undefined): Condition {
    if (c.all) return { kind: 'all', of: c.all.map((x, i) => this.condition(x, [...path, 'all', i], self)) };
    if (c.any) return { kind: 'any', of: c.any.map((x, i) => this.condition(x, [...path, 'any', i], self)) };
    if (c.not) return { kind: 'not', of: this.condition(c.not, [...path, 'not'], self) };
    if (c.expression !== undefined) {
      this.expression(c.expression, [...path, 'expression']);
      return { kind: 'expression', expression: c.expression };
    }
    if (c.trend !== undefined) return this.trend(c, c.trend, path);
    const answer = c.answer ?? self;
    const op = c.op ?? 'exists';
    if (answer === undefined) {
      this.add(issue('missing-key', path, 'this condition needs `answer:` (which question it looks at)', 'e.g. { answer: wound_red, op: "=", value: true }'));
      return { kind: 'compare', answer: '', op, value: c.value };
    }
    this.checkComparison(answer, op, c.value, path);
    const out: Condition = { kind: 'compare', answer, op };
    if (c.value !== undefined) out.value = c.value;
    return out;
  }

  private trend(c: ConditionSource, answer: string, path: IssuePath): Condition {
    const test: TrendTest = c.rising
      ? { type: 'rising' }
      : c.falling
        ? { type: 'falling' }
        : c.increase !== undefined
          ? { type: 'increase', by: c.increase }
          : c.decrease !== undefined
            ? { type: 'decrease', by: c.decrease }
            : { type: 'each', op: (c.op ?? '>=') as Extract<TrendTest, { type: 'each' }>['op'], value: typeof c.value === 'number' ? c.value : 0 };
    const out: TrendCondition = { kind: 'trend', answer, test };
    if (c.checkins !== undefined) out.checkins = c.checkins;
    const within = c.within !== undefined ? WITHIN_PATTERN.exec(c.within) : null;
    if (within) out.within = { amount: Number(within[1]), unit: within[2] === 'h' ? 'h' : 'd' };
    if (!this.inRule) {
      this.add(
        issue(
          'invalid-value',
          [...path, 'trend'],
          'a trend condition can only be used in escalation rules',
          "branching (enableWhen) looks at today's answers only",
        ),
      );
      return out;
    }
    const item = this.items.get(answer);
    if (!item) {
      const guess = closest(answer, this.items.keys());
      this.add(
        issue(
          'unknown-reference',
          [...path, 'trend'],
          `unknown question "${answer}"`,
          guess ? `did you mean "${guess}"?` : 'use the id of a number question (quantity or scale) of this flow',
        ),
      );
      return out;
    }
    const q = item.source;
    if (item.kind !== 'question' || (q.type !== 'quantity' && q.type !== 'scale')) {
      this.add(
        issue(
          'invalid-value',
          [...path, 'trend'],
          `a trend needs a number question (quantity or scale); "${answer}" is ${item.kind === 'computed' ? 'a computed value' : `a ${q.type} question`}`,
          item.kind === 'computed'
            ? 'computed values are not kept per check-in; use the question they are calculated from'
            : 'use a quantity or scale question, e.g. temperature or pain',
        ),
      );
      return out;
    }
    const min = 'min' in q ? q.min : undefined;
    const max = 'max' in q ? q.max : undefined;
    const range = `${min ?? '−∞'}–${max ?? '∞'}`;
    if (test.type === 'each' && ((min !== undefined && test.value < min) || (max !== undefined && test.value > max))) {
      this.add(
        issue(
          'threshold-out-of-range',
          [...path, 'value'],
          `threshold ${test.value} is outside the range of "${answer}" (${range}), so this rule can never behave as intended`,
          `use a value between ${min ?? '−∞'} and ${max ?? '∞'}, or widen min/max of "${answer}"`,
        ),
      );
    }
    if ((test.type === 'increase' || test.type === 'decrease') && min !== undefined && max !== undefined && test.by > max - min) {
      const key = test.type;
      this.add(
        issue(
          'threshold-out-of-range',
          [...path, key],
          `a change of ${test.by} is more than the whole range of "${answer}" (${range}), so this rule can never fire`,
          `use an amount of at most ${max - min}`,
        ),
      );
    }
    if ((test.type === 'rising' || test.type === 'falling') && q.type === 'scale' && c.checkins !== undefined && c.checkins - 1 > q.max - q.min) {
      this.add(
        issue(
          'invalid-value',
          [...path, 'checkins'],
          `"${answer}" (${range}) cannot ${test.type === 'rising' ? 'rise' : 'fall'} strictly over ${c.checkins} check-ins`,
          'use fewer check-ins',
        ),
      );
    }
    return out;
  }

  private checkComparison(answer: string, op: string, value: ConditionSource['value'], path: IssuePath): void {
    const item = this.items.get(answer);
    if (!item) {
      const guess = closest(answer, this.items.keys());
      this.add(
        issue(
          'unknown-reference',
          [...path, 'answer'],
          `unknown question "${answer}"`,
          guess ? `did you mean "${guess}"?` : 'use the id of a question or computed value of this flow',
        ),
      );
      return;
    }
    const q = item.source;
    const type = q.type;
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    const valuePath: IssuePath = [...path, 'value'];
    if (op === 'exists') {
      if (value !== undefined && typeof value !== 'boolean') this.add(issue('wrong-type', valuePath, 'with op "exists" the value is true or false'));
      return;
    }
    if (type === 'info' || type === 'photo') {
      this.add(issue('invalid-value', [...path, 'op'], `"${answer}" is a ${type} question; only op "exists" applies`));
      return;
    }
    if ((op === 'in') !== Array.isArray(value) && op !== 'includes') {
      this.add(
        issue('wrong-type', valuePath, op === 'in' ? 'op "in" needs a list, e.g. value: [red, swollen]' : `op "${op}" needs a single value, not a list`),
      );
      return;
    }
    const numeric = type === 'quantity' || type === 'scale' || type === 'integer' || type === 'decimal';
    if (['>', '>=', '<', '<='].includes(op) && !numeric && type !== 'date') {
      this.add(
        issue('invalid-value', [...path, 'op'], `op "${op}" compares numbers but "${answer}" is a ${type} question`, 'use "=", "!=", "in" or "includes"'),
      );
      return;
    }
    if (op === 'includes' && type !== 'multi-choice') {
      this.add(issue('invalid-value', [...path, 'op'], `op "includes" is for multi-choice questions; "${answer}" is ${type}`, 'use "=" or "in"'));
      return;
    }
    for (const v of values) {
      if (numeric && typeof v !== 'number')
        this.add(issue('wrong-type', valuePath, `"${answer}" is a number; compare with a number, not ${JSON.stringify(v)}`));
      if (type === 'boolean' && typeof v !== 'boolean') this.add(issue('wrong-type', valuePath, `"${answer}" is yes/no; compare with true or false`));
      if ((type === 'choice' || type === 'multi-choice') && 'options' in q) {
        const codes = q.options.map((o) => o.code);
        if (!codes.includes(String(v))) {
          const guess = closest(String(v), codes);
          this.add(
            issue(
              'unknown-reference',
              valuePath,
              `"${String(v)}" is not an option code of "${answer}" (options: ${codes.join(', ')})`,
              guess ? `did you mean "${guess}"?` : undefined,
            ),
          );
        }
      }
      if (numeric && typeof v === 'number' && 'min' in q) {
        const min = q.min;
        const max = 'max' in q ? q.max : undefined;
        if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
          this.add(
            issue(
              'threshold-out-of-range',
              valuePath,
              `threshold ${v} is outside the range of "${answer}" (${min ?? '−∞'}–${max ?? '∞'}), so this rule can never behave as intended`,
              `use a value between ${min ?? '−∞'} and ${max ?? '∞'}, or widen min/max of "${answer}"`,
            ),
          );
        }
      }
    }
  }

  private expression(expression: string, path: IssuePath): void {
    try {
      compileFhirPath(expression);
    } catch (err) {
      this.add(
        issue(
          'invalid-expression',
          path,
          `FHIRPath does not parse: ${err instanceof Error ? err.message : String(err)}`,
          "check brackets and quotes, e.g. %resource.item.where(linkId='pain').answer.value >= 7",
        ),
      );
      return;
    }
    for (const id of referencedLinkIds(expression)) {
      if (!this.items.has(id)) {
        const guess = closest(id, this.items.keys());
        this.add(
          issue(
            'unknown-reference',
            path,
            `expression refers to unknown linkId '${id}'`,
            guess ? `did you mean '${guess}'?` : 'use the id of a question or computed value',
          ),
        );
      }
    }
  }

  /**
   * enableWhen may only look at earlier answers: the conversation asks in order.
   * A reference to itself or a loop is reported as a cycle (with the loop
   * spelled out), any other later reference as a forward reference.
   */
  private checkBranchingGraph(): void {
    const edges = new Map<string, string[]>();
    const refs = (c: ConditionSource | undefined, into: string[]): string[] => {
      if (!c) return into;
      if (c.answer) into.push(c.answer);
      if (c.expression) into.push(...referencedLinkIds(c.expression));
      for (const x of [...(c.all ?? []), ...(c.any ?? []), ...(c.not ? [c.not] : [])]) refs(x, into);
      return into;
    };
    for (const item of this.items.values()) {
      const deps =
        item.kind === 'question' ? refs((item.source as QuestionSource).enableWhen, []) : referencedLinkIds((item.source as ComputedSource).expression);
      edges.set(
        item.id,
        deps.filter((d) => this.items.has(d)),
      );
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const cyclic = new Set<string>();
    const visit = (id: string): void => {
      state.set(id, 'visiting');
      stack.push(id);
      for (const dep of edges.get(id) ?? []) {
        if (state.get(dep) === 'visiting') {
          const loop = [...stack.slice(stack.indexOf(dep)), dep];
          const first = this.items.get(dep);
          if (first && !cyclic.has(dep)) {
            loop.forEach((x) => cyclic.add(x));
            const where = first.kind === 'question' ? [...first.path, 'enableWhen'] : [...first.path, 'expression'];
            this.add(
              issue(
                'branching-cycle',
                where,
                `branching cycle: ${loop.join(' → ')}`,
                'a condition can only depend on answers given before it; remove one of these references',
              ),
            );
          }
        } else if (!state.has(dep)) visit(dep);
      }
      stack.pop();
      state.set(id, 'done');
    };
    for (const id of this.items.keys()) if (!state.has(id)) visit(id);

    for (const item of this.items.values()) {
      if (item.kind !== 'question' || cyclic.has(item.id)) continue;
      for (const dep of edges.get(item.id) ?? []) {
        const target = this.items.get(dep);
        if (target && target.kind === 'question' && target.position > item.position && !cyclic.has(dep)) {
          this.add(
            issue(
              'forward-reference',
              [...item.path, 'enableWhen'],
              `"${item.id}" depends on "${dep}", which is asked later`,
              `move "${dep}" before "${item.id}" — conditions can only use earlier answers`,
            ),
          );
        }
      }
    }
  }

  private schedule(s: NonNullable<FlowSource['schedule']>): NonNullable<Flow['schedule']> {
    const days = [...s.days];
    for (let i = 1; i < days.length; i++) {
      if ((days[i] ?? 0) <= (days[i - 1] ?? 0)) {
        this.add(issue('invalid-value', ['schedule', 'days', i], 'days must be strictly increasing (no duplicates)', 'e.g. days: [1, 2, 3, 5, 7, 14]'));
        break;
      }
    }
    const timezone = s.timezone ?? DEFAULT_TIMEZONE;
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      this.add(issue('invalid-value', ['schedule', 'timezone'], `unknown time zone "${timezone}"`, 'use an IANA name such as Europe/Berlin'));
    }
    if (s.reminderAfterHours !== undefined && s.expireAfterHours !== undefined && s.reminderAfterHours >= s.expireAfterHours) {
      this.add(
        issue(
          'invalid-value',
          ['schedule', 'reminderAfterHours'],
          'the reminder must come before the check-in expires',
          'make reminderAfterHours smaller than expireAfterHours',
        ),
      );
    }
    const out: NonNullable<Flow['schedule']> = { anchor: s.anchor, days, time: s.time, timezone };
    if (s.reminderAfterHours !== undefined) out.reminderAfterHours = s.reminderAfterHours;
    if (s.expireAfterHours !== undefined) out.expireAfterHours = s.expireAfterHours;
    return out;
  }
}

function text(t: LocalizedTextSource): LocalizedText {
  const out: LocalizedText = {};
  for (const l of LANGUAGES) {
    const v = t[l];
    if (v) out[l] = v;
  }
  return out;
}

/** LOINC codes are digits, a dash and a mod-10 check digit (LOINC Users' Guide, appendix). */
export function isValidLoinc(code: string): boolean {
  const m = /^(\d{1,7})-(\d)$/.exec(code);
  if (!m) return false;
  const digits = m[1] ?? '';
  const check = Number(m[2]);
  // Mod 10: double every other digit starting from the rightmost, sum the digits of all.
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === check;
}
