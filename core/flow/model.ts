import type { Language } from '../language.ts';
import type { NoneVocabulary, Operator, QuestionType, Severity } from './schema.ts';

/**
 * The compiled, runtime form of a flow: codes resolved to full URIs, defaults
 * applied, conditions normalised to a tagged union. Produced only by
 * `compileFlow`, so the engine can trust it without re-checking.
 */
export type LocalizedText = Partial<Record<Language, string>>;

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export type Scalar = number | boolean | string;

export type Condition =
  | { kind: 'compare'; answer: string; op: Operator; value?: Scalar | Scalar[] }
  | { kind: 'all'; of: Condition[] }
  | { kind: 'any'; of: Condition[] }
  | { kind: 'not'; of: Condition }
  | { kind: 'expression'; expression: string }
  | TrendCondition;

/**
 * A condition over the patient's earlier check-ins plus today's answer
 * (escalation rules only). The series is today's value and the earlier values
 * of `answer`, newest first, limited to `checkins` values and to `within`.
 */
export interface TrendCondition {
  kind: 'trend';
  /** A quantity or scale question. */
  answer: string;
  /** How many values (today's included) the trend needs; absent: all in `within`. */
  checkins?: number;
  /** Only values from this far back count: calendar days in the flow's time zone, or hours. */
  within?: { amount: number; unit: 'd' | 'h' };
  test: TrendTest;
}

export type TrendTest =
  /** Every value of the series satisfies the comparison. */
  | { type: 'each'; op: '>' | '>=' | '<' | '<='; value: number }
  /** Strictly increasing / decreasing from the earliest to today's. */
  | { type: 'rising' }
  | { type: 'falling' }
  /** Today's value minus the earliest of the series ≥ by (increase) or ≤ −by (decrease). */
  | { type: 'increase'; by: number }
  | { type: 'decrease'; by: number };

export interface EscalationRule {
  id: string;
  when: Condition;
  severity: Severity;
  message: LocalizedText;
  /** The question (or computed value) the rule belongs to; absent for flow-level rules. */
  itemId?: string;
}

export interface ChoiceOption {
  code: string;
  system: string;
  text: LocalizedText;
  emoji?: string;
  exclusive: boolean;
}

interface QuestionBase {
  id: string;
  type: QuestionType;
  text: LocalizedText;
  /** Short name for summaries and alerts (never on info items); fall back to `text`. */
  label?: LocalizedText;
  hint?: LocalizedText;
  enableWhen?: Condition;
  required: boolean;
  codes: Coding[];
  extract: boolean;
  escalations: EscalationRule[];
}

export interface QuantityQuestion extends QuestionBase {
  type: 'quantity';
  unit?: string;
  unitDisplay?: string;
  min?: number;
  max?: number;
  decimals: number;
}
export interface ScaleQuestion extends QuestionBase {
  type: 'scale';
  min: number;
  max: number;
  minLabel?: LocalizedText;
  maxLabel?: LocalizedText;
  /** The minimum means none: "keine Schmerzen" (pain) or "keine"/its minLabel (general) is an answer of `min`. */
  none?: NoneVocabulary;
}
export interface ChoiceQuestion extends QuestionBase {
  type: 'choice' | 'multi-choice';
  options: ChoiceOption[];
}
export interface TextQuestion extends QuestionBase {
  type: 'text';
  maxLength: number;
}
export interface SimpleQuestion extends QuestionBase {
  type: 'boolean' | 'date' | 'photo' | 'info';
}
export type Question = QuantityQuestion | ScaleQuestion | ChoiceQuestion | TextQuestion | SimpleQuestion;

export interface ComputedValue {
  id: string;
  type: 'integer' | 'decimal' | 'boolean';
  expression: string;
  text?: LocalizedText;
  unit?: string;
  codes: Coding[];
  extract: boolean;
  escalations: EscalationRule[];
}

export interface Schedule {
  anchor: string;
  days: number[];
  time: string;
  timezone: string;
  reminderAfterHours?: number;
  expireAfterHours?: number;
}

export interface Flow {
  id: string;
  version: string;
  title: LocalizedText;
  description?: LocalizedText;
  languages: Language[];
  url: string;
  publisher?: string;
  codeSystem: string;
  maxAttempts: number;
  intro?: LocalizedText;
  outro?: LocalizedText;
  schedule?: Schedule;
  questions: Question[];
  computed: ComputedValue[];
  /** Flow-level rules (may combine several answers). */
  escalations: EscalationRule[];
  /** Lookups built once at compile time; the engine relies on them for speed. */
  questionIndex: ReadonlyMap<string, number>;
  computedIndex: ReadonlyMap<string, number>;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_DECIMALS = 1;
export const DEFAULT_TEXT_MAX_LENGTH = 2000;
export const DEFAULT_TIMEZONE = 'Europe/Berlin';
/** A question label is a short name: at most this many characters in every language. */
export const MAX_LABEL_LENGTH = 40;

/** Placeholder base for Visite-owned canonical URLs (`.example` is reserved, RFC 2606); flows may set `url`/`codeSystem`. */
export const VISITE_BASE = 'https://visite.example/fhir';
export const VISITE_EXTENSION = `${VISITE_BASE}/StructureDefinition`;

export const CODE_SYSTEM_ALIASES: Readonly<Record<string, string>> = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
};
