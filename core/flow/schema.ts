import { z } from 'zod';
import { LANGUAGES } from '../language.ts';

/**
 * The flow file format as authors write it (YAML). Every object is strict:
 * a misspelt key is an error, never silently ignored. Types of the source
 * form are derived from these schemas; `compile.ts` turns a source into the
 * runtime `Flow`.
 */

const nonEmpty = z.string().trim().min(1, 'must not be empty');

/** A text in several languages. Which languages are required is checked in compile.ts. */
export const LocalizedTextSchema = z.strictObject({
  de: nonEmpty.optional(),
  en: nonEmpty.optional(),
  tr: nonEmpty.optional(),
  ar: nonEmpty.optional(),
  uk: nonEmpty.optional(),
  ru: nonEmpty.optional(),
  pl: nonEmpty.optional(),
});
export type LocalizedTextSource = z.infer<typeof LocalizedTextSchema>;

export const ID_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
export const IdSchema = z.string().regex(ID_PATTERN, 'ids are lower-case letters, digits, "_" or "-", starting with a letter (max 64)');

export const CodingSchema = z.strictObject({
  /** `loinc`, `snomed`, `local` (the flow's own code system) or an absolute URI. */
  system: nonEmpty,
  code: nonEmpty,
  display: nonEmpty.optional(),
});
export type CodingSource = z.infer<typeof CodingSchema>;

export const OPERATORS = ['=', '!=', '>', '>=', '<', '<=', 'in', 'includes', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

const Scalar = z.union([z.number(), z.boolean(), z.string()]);

/**
 * A condition. Exactly one form per object:
 *   { answer: temperature, op: ">=", value: 38.5 }   compare an answer
 *   { all: [...] } / { any: [...] } / { not: {...} }  combine
 *   { expression: "FHIRPath" }                        escape hatch, %resource is the response
 * One flat object (instead of a union) keeps error messages precise.
 */
export interface ConditionSource {
  answer?: string | undefined;
  op?: Operator | undefined;
  value?: number | boolean | string | (number | boolean | string)[] | undefined;
  all?: ConditionSource[] | undefined;
  any?: ConditionSource[] | undefined;
  not?: ConditionSource | undefined;
  expression?: string | undefined;
  /** Trend form: the question whose values over the patient's check-ins are looked at. */
  trend?: string | undefined;
  /** Trend: how many check-ins (today's included) the trend spans. */
  checkins?: number | undefined;
  /** Trend: how far back values count, e.g. "3d" (calendar days) or "48h". */
  within?: string | undefined;
  /** Trend: every value strictly higher than the one before. */
  rising?: boolean | undefined;
  /** Trend: every value strictly lower than the one before. */
  falling?: boolean | undefined;
  /** Trend: today's value is at least this much higher than the earliest one. */
  increase?: number | undefined;
  /** Trend: today's value is at least this much lower than the earliest one. */
  decrease?: number | undefined;
}

/** `within:` of a trend: a whole number of calendar days (`3d`) or hours (`48h`). */
export const WITHIN_PATTERN = /^([1-9]\d{0,2})\s*(d|h)$/;
const TREND_KEYS = ['checkins', 'within', 'rising', 'falling', 'increase', 'decrease'] as const;
export const ConditionSchema: z.ZodType<ConditionSource> = z.lazy(() =>
  z
    .strictObject({
      answer: IdSchema.optional(),
      op: z.enum(OPERATORS).optional(),
      value: z.union([Scalar, z.array(Scalar)]).optional(),
      all: z.array(ConditionSchema).min(1).optional(),
      any: z.array(ConditionSchema).min(1).optional(),
      not: ConditionSchema.optional(),
      expression: nonEmpty.optional(),
      trend: IdSchema.optional(),
      checkins: z.number().int().optional(),
      within: z.string().regex(WITHIN_PATTERN, 'within is a number of days or hours, e.g. "3d" or "48h"').optional(),
      rising: z.literal(true).optional(),
      falling: z.literal(true).optional(),
      increase: z.number().positive('increase is a positive amount, e.g. 2').optional(),
      decrease: z.number().positive('decrease is a positive amount, e.g. 2').optional(),
    })
    .superRefine((c, ctx) => {
      if (c.trend !== undefined) {
        trendForm(c, ctx);
        return;
      }
      const stray = TREND_KEYS.filter((k) => c[k] !== undefined);
      if (stray.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `"${stray.join('", "')}" belong${stray.length === 1 ? 's' : ''} to a trend condition, which needs "trend:" (the question)`,
          params: { visite: 'missing-key', hint: 'e.g. { trend: temperature, checkins: 2, op: ">=", value: 38.0 }' },
        });
        return;
      }
      const forms = (['all', 'any', 'not', 'expression'] as const).filter((k) => c[k] !== undefined);
      const isCompare = c.op !== undefined || c.value !== undefined || c.answer !== undefined;
      if (forms.length + (isCompare ? 1 : 0) > 1) {
        ctx.addIssue({
          code: 'custom',
          message: `a condition uses exactly one form, found ${[...forms, ...(isCompare ? ['answer/op/value'] : [])].join(' + ')}`,
          params: { visite: 'invalid-value', hint: 'split it into { all: [ ... ] } with one condition per entry' },
        });
      } else if (forms.length === 0 && c.op === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'a condition needs "op" (and usually "value"), or one of all/any/not/expression',
          params: { visite: 'missing-key', hint: 'e.g. { answer: temperature, op: ">=", value: 38.5 }' },
        });
      } else if (c.op !== undefined && c.op !== 'exists' && c.value === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `operator "${c.op}" needs a "value"`,
          params: { visite: 'missing-key', hint: 'add e.g. value: 7' },
        });
      }
    }),
);

/**
 * A trend looks at one question over the patient's check-ins, in one of three ways:
 *   { trend: temperature, checkins: 2, op: ">=", value: 38.0 }  every one of the last 2 values (today's included)
 *   { trend: pain, checkins: 3, rising: true }                   strictly rising (or falling: true) over the last 3
 *   { trend: weight, within: 3d, increase: 2 }                   today's value minus the earliest in the window (or decrease:)
 */
function trendForm(c: ConditionSource, ctx: z.core.$RefinementCtx<ConditionSource>): void {
  const fail = (message: string, visite: string, hint: string, path?: string) =>
    ctx.addIssue({ code: 'custom', message, params: { visite, hint }, ...(path ? { path: [path] } : {}) });
  const others = (['answer', 'all', 'any', 'not', 'expression'] as const).filter((k) => c[k] !== undefined);
  if (others.length > 0) {
    fail(
      `a trend condition cannot also use "${others.join('", "')}"`,
      'invalid-value',
      'combine conditions with { all: [ { trend: ... }, { answer: ..., op: ..., value: ... } ] }',
    );
    return;
  }
  const tests = [
    c.op !== undefined || c.value !== undefined ? 'op/value' : undefined,
    c.rising ? 'rising' : undefined,
    c.falling ? 'falling' : undefined,
    c.increase !== undefined ? 'increase' : undefined,
    c.decrease !== undefined ? 'decrease' : undefined,
  ].filter((x): x is string => x !== undefined);
  if (tests.length !== 1) {
    fail(
      tests.length === 0
        ? 'a trend condition needs what to look for: op + value, rising, falling, increase or decrease'
        : `a trend condition looks for one thing, found ${tests.join(' + ')}`,
      tests.length === 0 ? 'missing-key' : 'invalid-value',
      'e.g. { trend: temperature, checkins: 2, op: ">=", value: 38.0 }, { trend: pain, checkins: 3, rising: true } or { trend: weight, within: 3d, increase: 2 }',
    );
    return;
  }
  if (c.checkins !== undefined && c.checkins < 2) {
    fail(`a trend spans at least 2 check-ins (today's and an earlier one), not ${c.checkins}`, 'invalid-value', 'use checkins: 2 or more', 'checkins');
  } else if (c.checkins !== undefined && c.checkins > 10) {
    fail(`a trend spans at most 10 check-ins, not ${c.checkins}`, 'invalid-value', 'Visite keeps the last 10 earlier values per question', 'checkins');
  }
  const t = tests[0];
  if (t === 'op/value') {
    if (c.op === undefined || c.value === undefined)
      fail('a trend with a threshold needs both "op" and "value"', 'missing-key', 'e.g. { trend: temperature, checkins: 2, op: ">=", value: 38.0 }');
    else if (!['>', '>=', '<', '<='].includes(c.op))
      fail(`a trend compares numbers with >, >=, < or <=, not "${c.op}"`, 'invalid-value', 'e.g. op: ">="', 'op');
    else if (typeof c.value !== 'number') fail('a trend threshold is a number', 'wrong-type', 'write the number without quotes or units, e.g. 38.0', 'value');
  }
  if ((t === 'op/value' || t === 'rising' || t === 'falling') && c.checkins === undefined) {
    fail(
      `this trend needs "checkins:" (how many check-ins, today's included)`,
      'missing-key',
      t === 'op/value' ? 'e.g. checkins: 2 for "on two check-ins in a row"' : 'e.g. checkins: 3 for "over three check-ins"',
    );
  }
  if ((t === 'increase' || t === 'decrease') && c.checkins === undefined && c.within === undefined) {
    fail(
      `"${t}" needs "within:" (e.g. within: 3d) or "checkins:" — since when the change counts`,
      'missing-key',
      'e.g. { trend: weight, within: 3d, increase: 2 }',
    );
  }
}

export const SEVERITIES = ['info', 'warning', 'urgent'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const EscalationSchema = z.strictObject({
  /** Stable id so care teams can tune or silence a rule; unique in the flow. */
  id: IdSchema,
  when: ConditionSchema,
  severity: z.enum(SEVERITIES),
  /** Shown to clinicians in the care-team room (de + en required). */
  message: LocalizedTextSchema,
});
export type EscalationSource = z.infer<typeof EscalationSchema>;

// `id` and `type` come first in every question schema (parsed objects keep this key order).
const common = {
  text: LocalizedTextSchema,
  hint: LocalizedTextSchema.optional(),
  enableWhen: ConditionSchema.optional(),
};
const answerable = {
  text: common.text,
  /**
   * Short name of the question in every flow language ("Schmerzen", "Pain"),
   * used in the patient's summary and in clinician alerts. Default: the question text.
   */
  label: LocalizedTextSchema.optional(),
  hint: common.hint,
  enableWhen: common.enableWhen,
  required: z.boolean().optional(),
  codes: z.array(CodingSchema).min(1).optional(),
  /** Produce an Observation for this answer (default: when codes are given). */
  extract: z.boolean().optional(),
  escalations: z.array(EscalationSchema).optional(),
};

export const OptionSchema = z.strictObject({
  code: nonEmpty,
  system: nonEmpty.optional(),
  text: LocalizedTextSchema,
  /** A single emoji the patient may send instead of the number or text. */
  emoji: nonEmpty.optional(),
  /** multi-choice only: this option cannot be combined with others (e.g. "none of these"). */
  exclusive: z.boolean().optional(),
});
export type OptionSource = z.infer<typeof OptionSchema>;

/** Which "none" answers a scale understands (see ScaleQuestionSchema.none). */
export const NONE_VOCABULARIES = ['pain', 'general'] as const;
export type NoneVocabulary = (typeof NONE_VOCABULARIES)[number];

export const QuantityQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('quantity'),
  ...answerable,
  /** UCUM code, e.g. Cel, mm[Hg], kg, /min. */
  unit: nonEmpty.optional(),
  /** How the unit is shown to patients, e.g. °C. Defaults to the UCUM code. */
  unitDisplay: nonEmpty.optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  /** Decimal places kept (0 = whole numbers). Default 1. */
  decimals: z.number().int().min(0).max(6).optional(),
});
export const ScaleQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('scale'),
  ...answerable,
  min: z.number().int(),
  max: z.number().int(),
  minLabel: LocalizedTextSchema.optional(),
  maxLabel: LocalizedTextSchema.optional(),
  /**
   * The minimum means "none" of the symptom, so answers like "keine Schmerzen"
   * count as `min`: `pain` (pain phrases, general words like "keine", and the
   * minLabel) or `general` (general words and the minLabel only).
   */
  none: z.enum(NONE_VOCABULARIES).optional(),
});
export const BooleanQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('boolean'),
  ...answerable,
});
export const ChoiceQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('choice'),
  ...answerable,
  options: z.array(OptionSchema).min(2, 'a choice needs at least 2 options'),
});
export const MultiChoiceQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('multi-choice'),
  ...answerable,
  options: z.array(OptionSchema).min(2, 'a choice needs at least 2 options'),
});
export const TextQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('text'),
  ...answerable,
  maxLength: z.number().int().min(1).max(10_000).optional(),
});
export const DateQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('date'),
  ...answerable,
});
export const PhotoQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('photo'),
  ...answerable,
});
/** A statement; nothing to answer. */
export const InfoQuestionSchema = z.strictObject({
  id: IdSchema,
  type: z.literal('info'),
  ...common,
});

export const QUESTION_TYPES = ['quantity', 'scale', 'boolean', 'choice', 'multi-choice', 'text', 'date', 'photo', 'info'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const QuestionSchema = z.discriminatedUnion('type', [
  QuantityQuestionSchema,
  ScaleQuestionSchema,
  BooleanQuestionSchema,
  ChoiceQuestionSchema,
  MultiChoiceQuestionSchema,
  TextQuestionSchema,
  DateQuestionSchema,
  PhotoQuestionSchema,
  InfoQuestionSchema,
]);
export type QuestionSource = z.infer<typeof QuestionSchema>;

export const ComputedSchema = z.strictObject({
  id: IdSchema,
  type: z.enum(['integer', 'decimal', 'boolean']),
  /** FHIRPath over %resource (the QuestionnaireResponse so far). */
  expression: nonEmpty,
  text: LocalizedTextSchema.optional(),
  unit: nonEmpty.optional(),
  codes: z.array(CodingSchema).min(1).optional(),
  extract: z.boolean().optional(),
  escalations: z.array(EscalationSchema).optional(),
});
export type ComputedSource = z.infer<typeof ComputedSchema>;

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
export const ScheduleSchema = z.strictObject({
  /** The event the days count from, e.g. surgery, discharge, medication-start. */
  anchor: IdSchema,
  /** Days after the anchor (0 = the anchor day). */
  days: z.array(z.number().int().min(0).max(3650)).min(1),
  /** Local wall-clock time, HH:MM. */
  time: z.string().regex(TIME, 'time is HH:MM in 24-hour format, e.g. "09:00"'),
  timezone: nonEmpty.optional(),
  /** Send one reminder after this many hours without a reply. */
  reminderAfterHours: z.number().positive().max(72).optional(),
  /** Close the check-in as missed after this many hours; never send stale check-ins. */
  expireAfterHours: z.number().positive().max(168).optional(),
});
export type ScheduleSource = z.infer<typeof ScheduleSchema>;

export const FlowSchema = z.strictObject({
  id: IdSchema,
  version: z.union([nonEmpty, z.number().transform(String)]),
  title: LocalizedTextSchema,
  description: LocalizedTextSchema.optional(),
  /** Languages this flow has patient texts for; de and en are mandatory. */
  languages: z.array(z.enum(LANGUAGES)).min(2),
  /** Canonical URL of the exported Questionnaire (optional). */
  url: nonEmpty.optional(),
  publisher: nonEmpty.optional(),
  /** URI of the flow's own code system for codes that have no LOINC/SNOMED code. */
  codeSystem: nonEmpty.optional(),
  /** Failed attempts before a question is left unanswered and flagged for a human. Default 3. */
  maxAttempts: z.number().int().min(1).max(10).optional(),
  intro: LocalizedTextSchema.optional(),
  outro: LocalizedTextSchema.optional(),
  schedule: ScheduleSchema.optional(),
  questions: z.array(QuestionSchema).min(1, 'a flow needs at least one question'),
  computed: z.array(ComputedSchema).optional(),
  escalations: z.array(EscalationSchema).optional(),
});
export type FlowSource = z.infer<typeof FlowSchema>;
