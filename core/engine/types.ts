import type { EscalationRule, LocalizedText } from '../flow/model.ts';
import type { Severity } from '../flow/schema.ts';
import type { Language } from '../language.ts';

/**
 * Everything the engine exchanges with its callers. All of it is plain JSON so
 * the bot can store state in Postgres and replay inputs after a crash.
 */

/** A parsed answer. Numbers carry the UCUM unit of their question, if any. */
export type AnswerValue =
  | { type: 'number'; value: number; unit?: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'choice'; code: string }
  | { type: 'choices'; codes: string[] }
  | { type: 'text'; value: string }
  | { type: 'date'; value: string }
  | { type: 'attachment'; url: string; contentType: string; title?: string; size?: number };

export interface StoredAnswer {
  value: AnswerValue;
  /** ISO timestamp of when the answer was given (Observation.effective). */
  at: string;
}

/** How an item ended up: answered, skipped by the patient, given up after failed attempts, or (info) shown. */
export type ItemOutcome = 'answered' | 'skipped' | 'unanswered' | 'shown';

export interface ConversationState {
  /** Schema version of this object, for migrations of stored state. */
  v: 1;
  flowId: string;
  flowVersion: string;
  lang: Language;
  status: 'active' | 'completed';
  /** The question waiting for an answer; null before start and after completion. */
  current: string | null;
  /** Failed attempts at the current question. */
  attempts: number;
  answers: Record<string, StoredAnswer>;
  outcomes: Record<string, ItemOutcome>;
  /** Items in the order they were finished, for "back". */
  path: string[];
  /** Escalation rule ids already raised in this run (each fires at most once). */
  fired: string[];
  /** Computed values, filled at completion. */
  computed: Record<string, number | boolean>;
  startedAt: string;
  completedAt?: string;
}

export type Input =
  | { type: 'start'; lang?: Language }
  | { type: 'text'; text: string }
  /** An uploaded file (Matrix mxc:// URI). */
  | { type: 'attachment'; url: string; contentType: string; title?: string; size?: number }
  /** A single-emoji reaction to the current question. */
  | { type: 'reaction'; emoji: string }
  /** A poll response: the chosen option codes. */
  | { type: 'poll'; codes: string[] }
  /** The patient edited their last answer (m.replace): re-parse it for the last answered question. */
  | { type: 'correction'; text: string }
  /** The patient switched language: the current question is asked again in the new language. */
  | { type: 'language'; lang: Language };

/** `summary` follows `completed`: what the patient told us today, one line per question. */
export type MessageKind = 'intro' | 'question' | 'info' | 'ack' | 'reask' | 'notice' | 'unanswered' | 'completed' | 'summary';

export interface MessageOption {
  /** 1-based number the patient can send. */
  number: number;
  code: string;
  label: string;
  emoji?: string;
}

/** What a question expects, so a client can offer buttons, a camera, a date picker... */
export type Expects = 'number' | 'boolean' | 'choice' | 'choices' | 'text' | 'date' | 'photo';

export interface BotMessage {
  kind: MessageKind;
  /** Fully rendered plain text in the patient's language. */
  text: string;
  lang: Language;
  rtl: boolean;
  questionId?: string;
  expects?: Expects;
  options?: MessageOption[];
  required?: boolean;
}

export type EngineEvent =
  | { type: 'answered'; questionId: string; value: AnswerValue; at: string; corrected: boolean }
  | { type: 'reasked'; questionId: string; attempt: number; reason: ParseFailure['reason'] }
  | { type: 'skipped'; questionId: string; at: string }
  /** Given up after maxAttempts failures: a human should follow up. */
  | { type: 'unanswered'; questionId: string; at: string; flaggedForHuman: true; attempts: number }
  /** The patient went back to correct an earlier answer, which is withdrawn until answered again. */
  | { type: 'retracted'; questionId: string; at: string }
  | EscalationEvent
  | { type: 'completed'; at: string; answered: number; skipped: number; unanswered: number };

export interface EscalationEvent {
  type: 'escalation';
  ruleId: string;
  severity: Severity;
  /** Text for clinicians (de/en at least); the bot picks the care team's language. */
  message: LocalizedText;
  /** The question or computed value the rule belongs to (absent for flow-level rules). */
  itemId?: string;
  /** The answers the rule looked at, by item id. */
  values: Record<string, AnswerValue | number | boolean>;
  /**
   * For rules with trend conditions: the series each trend looked at, by
   * question id, oldest first, today's value last (e.g. temperature 38.1 → 38.4).
   */
  trend?: Record<string, HistoryPoint[]>;
  at: string;
}

/** One value of a number question from a check-in: the value and when it was answered. */
export interface HistoryPoint {
  value: number;
  /** ISO timestamp. */
  at: string;
}

/**
 * The patient's earlier values (earlier check-ins of the same flow, current
 * answers only) by question id, newest first. Only trend conditions read it.
 */
export type History = Readonly<Record<string, readonly HistoryPoint[]>>;

/** Data the engine gets besides the state; all optional, so old call sites keep working. */
export interface StepOptions {
  /** Earlier values for trend rules; absent: trends see today's value only and do not fire. */
  history?: History;
}

export interface AnsweredItem {
  questionId: string;
  value: AnswerValue;
  at: string;
}

export interface StepResult {
  state: ConversationState;
  messages: BotMessage[];
  /** Answers recorded (or corrected) in this step. */
  answers: AnsweredItem[];
  events: EngineEvent[];
  /**
   * When this step recorded an answer from the patient's message: the part of
   * the message the answer did not use ("7, und ich blute stark" → "und ich
   * blute stark"), "" when the whole message was the answer. Absent otherwise.
   */
  rest?: string;
}

/**
 * A parsed answer, with `rest`: the text beside it that the answer did not use
 * (lightly normalised and trimmed; "" when the whole message was the answer).
 */
export type ParseResult = { ok: true; value: AnswerValue; rest: string } | ParseFailure;
export interface ParseFailure {
  ok: false;
  /**
   * `unit-mismatch`: a unit that does not fit the question ("38 kg" to a
   * temperature), or a number that fits only another unit ("101" to °C, a
   * Fahrenheit reading; "38 °F"). `not-exact`: a bound, range or approximation
   * instead of a value ("mehr als 7", "под сотню", "fast keine Schmerzen").
   */
  reason:
    | 'not-understood'
    | 'out-of-range'
    | 'not-whole'
    | 'ambiguous'
    | 'too-long'
    | 'exclusive'
    | 'need-photo'
    | 'need-text'
    | 'invalid-date'
    | 'unit-mismatch'
    | 'not-exact';
  /** Extra values for the re-ask text, e.g. the out-of-range number. */
  detail?: Record<string, string>;
}

export type { EscalationRule };
