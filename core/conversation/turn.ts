import { step } from '../engine/step.ts';
import type { AnsweredItem, AnswerValue, BotMessage, ConversationState, EngineEvent, FormRejection, History, Input, StepResult } from '../engine/types.ts';
import type { Flow } from '../flow/model.ts';
import { translator } from '../i18n.ts';
import { isRightToLeft, type Language } from '../language.ts';
import { parseBoolean } from '../engine/parse.ts';
import { lexicon } from '../engine/lexicon.ts';
import { detectRedFlags, isDeniedRedFlag, isSmallTalk, type RedFlagFinding } from '../redflags/index.ts';
import { findCommand } from './recognise.ts';
import type { Vocabulary } from './vocabulary.ts';

/**
 * The conversation policy around the questionnaire engine: safety first, then
 * commands (stop, start, language), then consent, then the flow itself. Pure:
 * the service loads the views, calls `turn`, and writes the result in one
 * transaction.
 *
 * No patient words are dropped: what is not taken as an answer, a command or
 * small talk is forwarded to the care team (a `patient_message` event), and the
 * patient is told so. See docs/safety.md and docs/conversations.md.
 */

export type Consent = 'none' | 'asked' | 'given' | 'refused' | 'withdrawn';

export interface PatientView {
  language: Language;
  consent: Consent;
  /** paused: no scheduled check-ins, but the conversation goes on. */
  monitoring: 'active' | 'paused' | 'stopped';
}

export interface CheckinView {
  flow: Flow;
  status: 'pending' | 'active';
  /** Null while pending (the engine has not started). */
  state: ConversationState | null;
  /**
   * The patient's earlier values for the flow's trend rules (see
   * core/engine/history.ts); the shell loads it only for flows that have trend rules.
   */
  history?: History;
  /**
   * Offer the questions as a form (TI-M structured data) when the check-in
   * starts: the shell sets it when forms are on and the flow has questions a
   * form can carry; whether the patient's client can show it is decided when
   * the form is sent.
   */
  offerForm?: boolean;
}

export type CheckinStatus = 'pending' | 'active' | 'completed' | 'cancelled';

export type PatientInput =
  | { type: 'text'; text: string }
  | { type: 'correction'; text: string }
  | { type: 'reaction'; emoji: string }
  | { type: 'poll'; codes: string[] }
  /** A file the adapter received and can store; `url` points at Visite's copy. */
  | { type: 'attachment'; url: string; contentType: string; size: number }
  /** A file the adapter refused before storing it. */
  | { type: 'attachment-rejected'; reason: 'too-large' | 'wrong-type' | 'failed'; max?: string }
  /** The answers of a form the patient's client filled in (already read from the QuestionnaireResponse), by question id. */
  | { type: 'form'; answers: Readonly<Record<string, AnswerValue>>; unreadable?: readonly string[] }
  | { type: 'unsupported' };

export type ConversationEvent =
  /**
   * `negated`: only negated mentions ("keine Atemnot"); recorded for the team, the conversation goes on.
   * `text` is the patient's message (shown to the team), `evidence` the words that matched,
   * `itemId` the question that was open.
   */
  | { type: 'red_flag'; category: string; language: Language; negated: boolean; text: string; evidence?: string; itemId?: string }
  /**
   * Words for the care team that the conversation did not take: beside an answer ("7, und die Naht
   * nässt"), a message not understood, or one written while no check-in runs. `warning` when it
   * mentions a symptom without reaching a red flag.
   */
  | { type: 'patient_message'; text: string; severity: 'info' | 'warning'; reason: ForwardReason; itemId?: string }
  | { type: 'monitoring_stopped' }
  | { type: 'consent_given' }
  | { type: 'consent_refused' }
  | { type: 'engine'; event: EngineEvent };

export type ForwardReason = 'beside-answer' | 'not-understood' | 'no-checkin' | 'consent' | 'stopped';

export interface TurnResult {
  patient: PatientView;
  /** The check-in after this turn; null when there was none. */
  checkin: { status: CheckinStatus; state: ConversationState | null } | null;
  replies: BotMessage[];
  answers: AnsweredItem[];
  events: ConversationEvent[];
  /** Where an incoming attachment belongs: as the answer, with the check-in, or not kept at all. */
  attachment: 'answer' | 'checkin' | 'patient' | 'discard';
  /** The check-in started as a form: the shell sends the form (TI-M) after the replies. */
  formOffered?: boolean;
  /**
   * For a form input: whether the check-in took it (`taken`; `rejected` lists
   * answers asked again in the chat), or not (`no-checkin`: nothing open to
   * answer, `completed`: already finished).
   */
  form?: { outcome: 'taken' | 'no-checkin' | 'completed'; rejected: FormRejection[]; missing: string[] };
}

const PHOTO_TYPES = /^image\/(jpeg|png|webp|heic|heif|gif)$/;

export function isAcceptedPhotoType(contentType: string): boolean {
  return PHOTO_TYPES.test(contentType);
}

function say(lang: Language, key: string, kind: BotMessage['kind'] = 'notice', vars: Record<string, string> = {}): BotMessage {
  return { kind, text: translator(lang)(key, vars), lang, rtl: isRightToLeft(lang) };
}

class Turn {
  patient: PatientView;
  checkin: TurnResult['checkin'];
  readonly replies: BotMessage[] = [];
  readonly answers: AnsweredItem[] = [];
  readonly events: ConversationEvent[] = [];
  attachment: TurnResult['attachment'] = 'discard';
  formOffered = false;
  form: TurnResult['form'];
  readonly view: CheckinView | null;
  readonly now: Date;

  constructor(patient: PatientView, checkin: CheckinView | null, now: Date) {
    this.patient = { ...patient };
    this.view = checkin;
    this.checkin = checkin ? { status: checkin.status, state: checkin.state } : null;
    this.now = now;
  }

  get lang(): Language {
    return this.patient.language;
  }

  result(): TurnResult {
    const result: TurnResult = {
      patient: this.patient,
      checkin: this.checkin,
      replies: this.replies,
      answers: this.answers,
      events: this.events,
      attachment: this.attachment,
    };
    if (this.formOffered) result.formOffered = true;
    if (this.form) result.form = this.form;
    return result;
  }

  say(key: string, kind: BotMessage['kind'] = 'notice', vars: Record<string, string> = {}): void {
    this.replies.push(say(this.lang, key, kind, vars));
  }

  /** The engine's result for an input on the open check-in, without taking it over yet (pure). */
  private tried: { key: string; result: StepResult } | undefined;

  tryEngine(input: Input): StepResult | undefined {
    if (!this.view || !this.checkin) return undefined;
    // The same input tried twice in one turn (safety first, then the flow) is stepped once.
    const key = JSON.stringify(input);
    if (this.tried?.key === key) return this.tried.result;
    const result = step(this.view.flow, this.checkin.state ?? undefined, input, this.now, this.view.history ? { history: this.view.history } : {});
    this.tried = { key, result };
    return result;
  }

  /** Runs the engine on the open check-in and takes over what it said and recorded. */
  engine(input: Input): StepResult | undefined {
    const result = this.tryEngine(input);
    if (!result) return undefined;
    this.checkin = { status: result.state.status === 'completed' ? 'completed' : 'active', state: result.state };
    this.replies.push(...result.messages);
    this.answers.push(...result.answers);
    this.events.push(...result.events.map((event) => ({ type: 'engine' as const, event })));
    return result;
  }

  /** Starts the questions: as a form when the shell offers one (nothing asked in the chat yet), else the first question. */
  startQuestions(): void {
    if (this.view?.offerForm) {
      this.engine({ type: 'start', lang: this.lang, form: true });
      this.formOffered = this.checkin?.state?.awaitingForm === true;
    } else {
      this.engine({ type: 'start', lang: this.lang });
    }
  }

  /** The question waiting for an answer, if the patient is in a running check-in. */
  get openQuestion() {
    const state = this.checkin?.status === 'active' ? this.checkin.state : null;
    return state?.current ? this.view?.flow.questions.find((q) => q.id === state.current) : undefined;
  }

  /** Hands the patient's words to the care team (an event the service stores as a batched alert). */
  forward(text: string, reason: ForwardReason, finding: RedFlagFinding | undefined): void {
    const itemId = this.openQuestion?.id ?? this.checkin?.state?.current ?? undefined;
    const severity = finding?.severity === 'warning' && !finding.negated ? 'warning' : 'info';
    this.events.push({ type: 'patient_message', text, severity, reason, ...(itemId ? { itemId } : {}) });
  }

  introduce(): void {
    this.say('intro.text', 'intro');
    this.say('consent.question', 'question');
    this.patient.consent = 'asked';
  }

  cancelCheckin(): void {
    if (this.checkin) this.checkin = { ...this.checkin, status: 'cancelled' };
  }
}

/** A check-in becomes due (scheduler or API): ask for consent first, or start asking. */
export function beginCheckin(patient: PatientView, checkin: CheckinView, now: Date): TurnResult {
  const t = new Turn(patient, checkin, now);
  if (t.patient.monitoring === 'stopped' || t.patient.consent === 'refused' || t.patient.consent === 'withdrawn') {
    t.cancelCheckin();
  } else if (t.patient.consent === 'none') {
    t.introduce();
  } else if (t.patient.consent === 'asked') {
    // The consent question is already open: the check-in waits for the answer without asking again.
  } else {
    t.startQuestions();
  }
  return t.result();
}

/**
 * The form is not coming: the patient's client cannot show it
 * (`not-capable`), it reported an error (`refused`) or nobody answered it in
 * time (`timeout`). The chat starts with the first unanswered question; a chat
 * that already started goes on untouched. A form that came but could not be
 * taken (`invalid`) is answered with a notice and the open question.
 */
export function continueInChat(
  patient: PatientView,
  checkin: CheckinView | null,
  reason: 'not-capable' | 'refused' | 'timeout' | 'invalid',
  now: Date,
): TurnResult {
  const t = new Turn(patient, checkin, now);
  if (t.patient.monitoring === 'stopped' || t.patient.consent !== 'given' || t.checkin?.status !== 'active') return t.result();
  const waiting = t.checkin.state?.awaitingForm === true;
  if (reason === 'invalid') {
    // A form that could not be taken: say so, and ask (again) what is open.
    t.say('form.notTaken');
    t.engine({ type: 'start', lang: t.lang });
    return t.result();
  }
  if (!waiting) return t.result();
  if (reason !== 'not-capable') t.say('form.chatInstead');
  t.engine({ type: 'start', lang: t.lang });
  return t.result();
}

/** The bot's first words to a newly enrolled patient: introduction and consent question, once. */
export function welcome(patient: PatientView, now: Date): TurnResult {
  const t = new Turn(patient, null, now);
  if (t.patient.consent === 'none' && t.patient.monitoring === 'active') t.introduce();
  return t.result();
}

/** One patient message (or reaction, file, edit) in the patient's direct room. */
export function turn(patient: PatientView, checkin: CheckinView | null, input: PatientInput, vocabulary: Vocabulary, now: Date): TurnResult {
  const t = new Turn(patient, checkin, now);
  const text = input.type === 'text' || input.type === 'correction' ? input.text : undefined;

  // 1. Safety before anything else, in every state, before consent too.
  let finding: RedFlagFinding | undefined;
  if (input.type === 'form') {
    // Every free-text answer of a form is read like a chat message; the answers are still taken.
    let said = false;
    for (const [itemId, value] of Object.entries(input.answers)) {
      if (value.type !== 'text') continue;
      const found = detectRedFlags(value.value, { language: t.lang });
      const top = found.hits[0];
      if (found.severity === 'urgent' && top) {
        t.events.push({
          type: 'red_flag',
          category: top.category,
          language: top.language,
          negated: false,
          text: value.value,
          evidence: found.evidence,
          itemId,
        });
        if (!said) t.say(found.crisis ? 'redflag.suicidal' : 'redflag.emergency', 'notice');
        said = true;
        continue;
      }
      const denied = found.hits.find(isDeniedRedFlag);
      if (denied)
        t.events.push({
          type: 'red_flag',
          category: denied.category,
          language: denied.language,
          negated: true,
          text: value.value,
          evidence: denied.evidence,
          itemId,
        });
    }
  }
  if (text !== undefined) {
    // A number the open question asked for is the flow's to judge (its own thresholds): then only
    // the words beside it are scanned. Anything else, free-text answers included, is scanned whole.
    const asked =
      t.patient.consent === 'given' && t.patient.monitoring === 'active' && (input.type === 'text' || input.type === 'correction') ? t.openQuestion : undefined;
    const asText = input.type === 'correction' ? ({ type: 'correction', text } as const) : ({ type: 'text', text } as const);
    const tentative = asked ? t.tryEngine(asText) : undefined;
    const numeric = tentative && tentative.answers.length > 0 && (asked?.type === 'quantity' || asked?.type === 'scale');
    finding = detectRedFlags(numeric ? (tentative.rest ?? '') : text, { language: t.lang });
    const top = finding.hits[0];
    const event = { type: 'red_flag' as const, text, ...(t.checkin?.state?.current ? { itemId: t.checkin.state.current } : {}) };
    if (finding.severity === 'urgent' && top) {
      t.say(finding.crisis ? 'redflag.suicidal' : 'redflag.emergency', 'notice');
      t.events.push({ ...event, category: top.category, language: top.language, negated: false, evidence: finding.evidence });
      // The answer in the same message is still taken ("7, und ich blute stark aus der Wunde").
      if (tentative && tentative.answers.length > 0) t.engine(asText);
      return t.result();
    }
    const denied = finding.hits.find(isDeniedRedFlag);
    if (denied) t.events.push({ ...event, category: denied.category, language: denied.language, negated: true, evidence: denied.evidence });
  }

  // 2. Commands work in every state.
  const command = text !== undefined && input.type === 'text' ? findCommand(text, vocabulary) : null;
  if (command?.type === 'stop') {
    if (t.patient.monitoring === 'stopped') {
      t.say('stop.already');
    } else {
      t.patient = { ...t.patient, monitoring: 'stopped', consent: 'withdrawn' };
      t.cancelCheckin();
      t.say('stop.confirmed');
      t.events.push({ type: 'monitoring_stopped' });
    }
    return t.result();
  }
  if (command?.type === 'language') {
    t.patient.language = command.language;
    t.say('language.switched');
    if (t.patient.consent === 'asked') t.say('consent.question', 'question');
    else if (t.patient.consent === 'given' && t.checkin?.status === 'active') t.engine({ type: 'language', lang: command.language });
    return t.result();
  }
  if (command?.type === 'start') {
    if (t.patient.consent === 'given' && t.patient.monitoring === 'active') {
      if (t.checkin?.status === 'active') t.engine({ type: 'start', lang: t.lang });
      else t.say('consent.givenNoCheckin');
    } else {
      t.patient.monitoring = 'active';
      t.introduce();
    }
    return t.result();
  }

  // 3. Stopped or refused: no answers are stored; words for the team still reach it; remind how to come back.
  if (t.patient.monitoring === 'stopped' || t.patient.consent === 'refused' || t.patient.consent === 'withdrawn') {
    if (text !== undefined && !isSmallTalk(text)) {
      t.forward(text, 'stopped', finding);
      t.say('forward.toTeam');
    }
    t.say(t.patient.monitoring === 'stopped' ? 'stop.already' : 'consent.refused');
    return t.result();
  }

  // 4. Consent: first contact introduces; an open consent question takes yes/no.
  if (t.patient.consent === 'none') {
    t.introduce();
    return t.result();
  }
  if (t.patient.consent === 'asked') {
    const parsed = text !== undefined ? parseBoolean(text, lexicon(t.lang)) : { ok: false as const };
    if (parsed.ok && parsed.value.type === 'boolean' && parsed.value.value) {
      t.patient = { ...t.patient, consent: 'given' };
      t.events.push({ type: 'consent_given' });
      if (t.checkin && t.checkin.status === 'pending') {
        t.say('consent.given');
        t.startQuestions();
      } else {
        t.say('consent.givenNoCheckin');
      }
    } else if (parsed.ok && parsed.value.type === 'boolean') {
      t.patient = { ...t.patient, consent: 'refused' };
      t.cancelCheckin();
      t.say('consent.refused');
      t.events.push({ type: 'consent_refused' });
    } else {
      if (text !== undefined && !isSmallTalk(text)) {
        t.forward(text, 'consent', finding);
        t.say('forward.toTeam');
      }
      t.say('consent.reask', 'reask');
    }
    return t.result();
  }

  // 5. Consent given: the flow, if one is running.
  const active = t.checkin?.status === 'active' ? t.checkin : null;
  const currentQuestion = active?.state?.current ? t.view?.flow.questions.find((q) => q.id === active.state?.current) : undefined;
  switch (input.type) {
    case 'attachment-rejected':
      t.say(
        input.reason === 'too-large' ? 'photo.tooLarge' : input.reason === 'wrong-type' ? 'photo.wrongType' : 'photo.failed',
        'reask',
        input.max ? { max: input.max } : {},
      );
      return t.result();
    case 'attachment':
      if (currentQuestion?.type === 'photo') {
        t.attachment = 'answer';
        t.engine({ type: 'attachment', url: input.url, contentType: input.contentType, size: input.size });
      } else {
        // Not asked for, but possibly important (a wound photo): keep it for the team.
        t.attachment = active ? 'checkin' : 'patient';
        t.say('photo.saved');
      }
      return t.result();
    case 'unsupported':
      t.say('idle.unsupported');
      return t.result();
  }
  if (input.type === 'form') {
    if (!active) {
      t.form = { outcome: t.view?.state?.status === 'completed' ? 'completed' : 'no-checkin', rejected: [], missing: [] };
      return t.result();
    }
    const taken = t.engine({ type: 'form', answers: input.answers, ...(input.unreadable ? { unreadable: input.unreadable } : {}) });
    t.form = { outcome: 'taken', rejected: taken?.rejected ?? [], missing: taken?.missing ?? [] };
    return t.result();
  }
  if (!active) {
    if (text !== undefined && !isSmallTalk(text)) {
      t.forward(text, 'no-checkin', finding);
      t.say('idle.forwarded');
    } else {
      t.say('idle.noCheckin');
    }
    return t.result();
  }
  switch (input.type) {
    case 'text': {
      const question = t.openQuestion;
      const tentative = t.tryEngine({ type: 'text', text: input.text });
      const notUnderstood = tentative?.events.some((e) => e.type === 'reasked' && e.reason === 'not-understood');
      // Written while a form was out (nothing asked in the chat yet): the chat starts, and the words are not an answer.
      const besideForm = t.checkin?.state?.awaitingForm === true && !question;
      // What the team should read goes first, so the patient knows before the question comes again.
      if ((notUnderstood || besideForm) && !isSmallTalk(input.text)) {
        t.forward(input.text, 'not-understood', finding);
        t.say('forward.toTeam');
      } else if (tentative && tentative.answers.length > 0 && question?.type !== 'text' && tentative.rest && !isSmallTalk(tentative.rest)) {
        t.forward(input.text, 'beside-answer', finding);
        t.say('forward.besideAnswer');
      }
      t.engine({ type: 'text', text: input.text });
      break;
    }
    case 'correction':
      t.engine({ type: 'correction', text: input.text });
      break;
    case 'reaction':
      t.engine({ type: 'reaction', emoji: input.emoji });
      break;
    case 'poll':
      t.engine({ type: 'poll', codes: input.codes });
      break;
  }
  return t.result();
}
