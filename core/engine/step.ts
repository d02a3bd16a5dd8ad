import type { EscalationRule, Flow, Question } from '../flow/model.ts';
import { SEVERITIES } from '../flow/schema.ts';
import { localize } from '../flow/text.ts';
import { isLanguage, type Language } from '../language.ts';
import { Evaluator } from './conditions.ts';
import { lexicon } from './lexicon.ts';
import { normalizeWords } from './normalize.ts';
import { attachmentAnswer, isExactOption, parseAnswer, parseChoice } from './parse.ts';
import { ackMessage, formatAnswer, message, questionLabel, questionMessage, reaskMessage, summaryMessage } from './render.ts';
import { trendConditions } from './history.ts';
import { checkFormValue, isFormQuestion } from './form.ts';
import type {
  AnswerChannel,
  AnsweredItem,
  AnswerValue,
  BotMessage,
  ConversationState,
  EngineEvent,
  EscalationEvent,
  FormRejection,
  History,
  Input,
  ParseResult,
  StepOptions,
  StepResult,
} from './types.ts';

/**
 * The conversation engine: one pure function from (flow, state, input, now) to
 * the next state plus what to say and what happened. No I/O, no clock, no
 * randomness; the input state is never mutated. Any patient text is handled —
 * the worst case is a friendly re-ask.
 */
export function step(flow: Flow, state: ConversationState | undefined, input: Input, now: Date, options: StepOptions = {}): StepResult {
  const run = new Step(flow, state, input, now, options.history);
  return run.result();
}

/** A fresh state for a patient; `start` input does the same implicitly. */
export function initialState(flow: Flow, lang: Language, now: Date): ConversationState {
  return {
    v: 1,
    flowId: flow.id,
    flowVersion: flow.version,
    lang,
    status: 'active',
    current: null,
    attempts: 0,
    answers: {},
    outcomes: {},
    path: [],
    fired: [],
    computed: {},
    startedAt: now.toISOString(),
  };
}

class Step {
  private readonly flow: Flow;
  private readonly now: Date;
  private readonly at: string;
  private s: ConversationState;
  private readonly messages: BotMessage[] = [];
  private readonly events: EngineEvent[] = [];
  private readonly answers: AnsweredItem[] = [];
  private rejected: FormRejection[] | undefined;
  private missing: string[] | undefined;
  /** The text beside an answer recorded in this step (see StepResult.rest). */
  private rest: string | undefined;
  /** The patient's earlier values, for trend rules only. */
  private readonly history: History | undefined;

  constructor(flow: Flow, state: ConversationState | undefined, input: Input, now: Date, history: History | undefined) {
    this.flow = flow;
    this.history = history;
    this.now = now;
    this.at = now.toISOString();
    const asked = input.type === 'start' && isLanguage(input.lang) ? input.lang : undefined;
    const lang = asked ?? (state && isLanguage(state.lang) ? state.lang : (flow.languages[0] ?? 'de'));
    // Copy-on-write: the containers we change are copied, the caller's state stays intact.
    this.s = state
      ? {
          ...state,
          answers: { ...state.answers },
          outcomes: { ...state.outcomes },
          path: [...state.path],
          fired: [...state.fired],
          computed: { ...state.computed },
        }
      : initialState(flow, lang, now);
    this.handle(input, state === undefined);
  }

  result(): StepResult {
    const result: StepResult = { state: this.s, messages: this.messages, answers: this.answers, events: this.events };
    if (this.rejected) result.rejected = this.rejected;
    if (this.missing) result.missing = this.missing;
    if (this.rest !== undefined) result.rest = this.rest;
    return result;
  }

  private get lang(): Language {
    return this.s.lang;
  }

  private handle(input: Input, fresh: boolean): void {
    if (this.s.status === 'completed') {
      this.say('notice', lexicon(this.lang).text('alreadyCompleted'));
      return;
    }
    if (input.type === 'start') {
      if (input.lang && isLanguage(input.lang)) this.s.lang = input.lang;
      if (input.form && this.s.current === null && this.s.path.length === 0) {
        // The questions go out as a form: greet, and wait for the form (or the patient) before asking here.
        if (this.flow.intro && fresh) this.say('intro', localize(this.flow.intro, this.lang));
        this.s.awaitingForm = true;
        return;
      }
      const formWasOffered = this.s.awaitingForm === true;
      delete this.s.awaitingForm;
      if (this.s.current === null) {
        if (this.flow.intro && !formWasOffered && (fresh || this.s.path.length === 0)) this.say('intro', localize(this.flow.intro, this.lang));
        this.advance();
      } else this.askCurrent(); // resuming: ask the open question again
      return;
    }
    if (input.type === 'form') {
      this.onForm(input.answers ?? {}, input.unreadable ?? []);
      return;
    }
    // Anything the patient does in the chat while a form is out starts the chat: they are not asked twice.
    delete this.s.awaitingForm;
    if (input.type === 'language') {
      if (isLanguage(input.lang)) this.s.lang = input.lang;
      if (this.s.current === null) this.advance();
      else this.askCurrent();
      return;
    }
    if (this.s.current === null) {
      // A message before the start (or a lost start): begin the conversation.
      this.advance();
      return;
    }
    const q = this.question(this.s.current);
    if (!q) {
      // The flow changed under a stored state: continue with what exists.
      this.s.current = null;
      this.advance();
      return;
    }
    switch (input.type) {
      case 'text':
        return this.onText(q, typeof input.text === 'string' ? input.text : '');
      case 'reaction':
        return this.onText(q, typeof input.emoji === 'string' ? input.emoji : '');
      case 'attachment':
        return this.onParsed(q, attachmentAnswer(q, input));
      case 'poll':
        return this.onPoll(q, Array.isArray(input.codes) ? input.codes : []);
      case 'correction':
        return this.onCorrection(typeof input.text === 'string' ? input.text : '');
    }
  }

  private onText(q: Question, text: string): void {
    const lex = lexicon(this.lang);
    const command = text.length <= 40 ? normalizeWords(text) : '';
    if (command && lex.words.back.has(command)) return this.goBack();
    if ((command && lex.words.help.has(command)) || /^\s*[?؟]+\s*$/.test(text)) {
      this.messages.push(reaskMessage(this.flow, q, this.lang, { reason: 'help' }, this.now));
      return;
    }
    if (command && lex.words.skip.has(command) && !this.wouldBeAnswer(q, text)) {
      if (q.required) {
        this.messages.push(reaskMessage(this.flow, q, this.lang, { reason: 'cannot-skip' }, this.now));
        return;
      }
      return this.skip(q, 'ack.skipped');
    }
    // "Anything else to tell us?" – "nein": nothing to tell is a skip, not the text "nein".
    if (q.type === 'text' && !q.required && command && lex.words.no.has(command)) {
      return this.skip(q, 'ack.nothingToAdd');
    }
    this.onParsed(q, parseAnswer(q, text, this.lang, this.now, this.timeZone));
  }

  private skip(q: Question, ackKey: string): void {
    this.finish(q.id, 'skipped');
    this.events.push({ type: 'skipped', questionId: q.id, at: this.at });
    this.say('ack', lexicon(this.lang).text(ackKey), { questionId: q.id });
    this.advance();
  }

  /**
   * A skip word that is exactly an option ("keine" as the option "none") is an
   * answer; one that merely contains an option ("keine Angabe") is a skip.
   */
  private wouldBeAnswer(q: Question, text: string): boolean {
    if (q.type === 'choice' || q.type === 'multi-choice') return isExactOption(q, text, this.lang);
    return q.type !== 'text' && parseAnswer(q, text, this.lang, this.now, this.timeZone).ok;
  }

  private onPoll(q: Question, codes: string[]): void {
    if (q.type !== 'choice' && q.type !== 'multi-choice') return this.onParsed(q, { ok: false, reason: 'not-understood' });
    const known = codes.filter((c) => q.options.some((o) => o.code === c));
    if (known.length === 0) return this.onParsed(q, { ok: false, reason: 'not-understood' });
    const numbers = known.map((c) => String(q.options.findIndex((o) => o.code === c) + 1)).join(', ');
    this.onParsed(q, parseChoice(q, q.type === 'choice' ? (numbers.split(',')[0] ?? '') : numbers, lexicon(this.lang)));
  }

  private onParsed(q: Question, parsed: ParseResult): void {
    if (parsed.ok) {
      this.rest = parsed.rest;
      this.record(q, parsed.value, false);
      this.advance();
      return;
    }
    this.s.attempts += 1;
    if (this.s.attempts >= this.flow.maxAttempts) {
      const attempts = this.s.attempts;
      this.finish(q.id, 'unanswered');
      this.events.push({ type: 'unanswered', questionId: q.id, at: this.at, flaggedForHuman: true, attempts });
      this.say('unanswered', lexicon(this.lang).text('unanswered'), { questionId: q.id });
      this.advance();
      return;
    }
    this.events.push({ type: 'reasked', questionId: q.id, attempt: this.s.attempts, reason: parsed.reason });
    this.messages.push(reaskMessage(this.flow, q, this.lang, parsed, this.now));
  }

  /** An edit of the last answer: re-parse it for the most recently answered question. */
  private onCorrection(text: string): void {
    const lastId = [...this.s.path].reverse().find((id) => this.s.outcomes[id] === 'answered');
    const q = lastId ? this.question(lastId) : undefined;
    const previous = lastId ? this.s.answers[lastId] : undefined;
    if (!q || !previous) {
      // Nothing answered yet: the edited text is simply the answer to the current question.
      const current = this.s.current ? this.question(this.s.current) : undefined;
      if (current) this.onText(current, text);
      return;
    }
    const parsed = parseAnswer(q, text, this.lang, this.now, this.timeZone);
    if (!parsed.ok) {
      this.say('notice', lexicon(this.lang).text('correctionFailed', { value: formatAnswer(q, previous.value, this.lang) }), { questionId: q.id });
      return;
    }
    this.rest = parsed.rest;
    this.record(q, parsed.value, true);
    // A corrected answer may open or close branches: continue from the first open question.
    const current = this.s.current;
    const stillEnabled = current !== null && this.enabled(this.question(current));
    if (!stillEnabled) this.advance();
  }

  private goBack(): void {
    const lex = lexicon(this.lang);
    // Walk back over info items to the last question the patient dealt with.
    let target: string | undefined;
    const infos: string[] = [];
    while (this.s.path.length > 0) {
      const id = this.s.path.pop() as string;
      const outcome = this.s.outcomes[id];
      delete this.s.outcomes[id];
      if (outcome !== 'shown') {
        target = id;
        break;
      }
      infos.unshift(id); // shown again on the way forward
    }
    if (!target) {
      // Nothing to go back to: leave the info items as they were.
      for (const id of infos) this.finish(id, 'shown');
      this.say('notice', lex.text('nothingToCorrect'));
      this.askCurrent();
      return;
    }
    if (this.s.answers[target]) {
      delete this.s.answers[target];
      this.events.push({ type: 'retracted', questionId: target, at: this.at });
    }
    this.s.current = target;
    this.s.attempts = 0;
    this.askCurrent();
  }

  private record(q: Question, value: AnswerValue, corrected: boolean, channel: AnswerChannel = 'chat'): void {
    this.s.answers[q.id] = { value, at: this.at, channel };
    if (!corrected) this.finish(q.id, 'answered');
    this.events.push({ type: 'answered', questionId: q.id, value, at: this.at, corrected });
    this.answers.push({ questionId: q.id, value, at: this.at, channel });
    // A form is acknowledged once as a whole, not answer by answer.
    if (channel === 'chat') this.messages.push(ackMessage(q, value, this.lang, corrected));
    this.escalate(q.escalations, q.id);
    this.escalateFlowRules();
  }

  /**
   * A filled-in form, in flow order: questions already dealt with in the chat
   * keep their outcome (the patient is not asked twice, and the chat answer,
   * acknowledged already, stands); disabled questions are passed over; a valid
   * answer is recorded like a chat answer (rules, trends); an optional question
   * left empty is skipped; a missing required, an invalid answer or a photo
   * question stays open and the chat asks it next.
   */
  private onForm(answers: Readonly<Record<string, AnswerValue>>, unreadable: readonly string[]): void {
    delete this.s.awaitingForm;
    const lex = lexicon(this.lang);
    const rejected: FormRejection[] = [];
    const missing: string[] = [];
    let recorded = 0;
    for (const q of this.flow.questions) {
      if (this.s.outcomes[q.id] !== undefined) continue;
      if (q.enableWhen && !new Evaluator(this.flow, this.s).test(q.enableWhen)) continue;
      if (q.type === 'info') {
        this.finish(q.id, 'shown'); // the form showed it
        continue;
      }
      if (unreadable.includes(q.id)) {
        rejected.push({ questionId: q.id, reason: 'not-understood' });
        continue;
      }
      const given = Object.hasOwn(answers, q.id) ? answers[q.id] : undefined;
      if (given === undefined) {
        if (isFormQuestion(q) && !q.required) {
          this.finish(q.id, 'skipped');
          this.events.push({ type: 'skipped', questionId: q.id, at: this.at });
        } else if (isFormQuestion(q)) missing.push(q.id);
        continue;
      }
      const checked = checkFormValue(q, given);
      if (!checked.ok) {
        rejected.push({ questionId: q.id, reason: checked.reason });
        continue;
      }
      this.record(q, checked.value, false, 'form');
      recorded += 1;
    }
    this.rejected = rejected;
    this.missing = missing;
    if (recorded > 0) this.say('ack', lex.text('form.received'));
    if (rejected.length > 0) {
      const labels = rejected
        .map((r) => this.question(r.questionId))
        .filter((q): q is Question => q !== undefined)
        .map((q) => questionLabel(q, this.lang));
      this.say('notice', lex.text('form.rejected', { items: labels.join(', ') }));
    }
    // The chat goes on with the first open question (a missing one, a rejected one, a photo), or completes.
    this.s.current = null;
    this.s.attempts = 0;
    this.advance();
  }

  private finish(id: string, outcome: 'answered' | 'skipped' | 'unanswered' | 'shown'): void {
    this.s.outcomes[id] = outcome;
    if (!this.s.path.includes(id)) this.s.path.push(id);
    if (this.s.current === id) {
      this.s.current = null;
      this.s.attempts = 0;
    }
  }

  /**
   * Rules of one item: of those that match, only the most severe fires
   * (temperature 39.6 raises "urgent", not also "warning": fewer, clearer alerts).
   * Each rule fires at most once per run.
   */
  private escalate(rules: readonly EscalationRule[], itemId: string | undefined): void {
    if (rules.length === 0) return;
    const ev = new Evaluator(this.flow, this.s, this.history);
    const matching = rules.filter((r) => ev.test(r.when));
    if (matching.length === 0) return;
    const top = Math.max(...matching.map((r) => SEVERITIES.indexOf(r.severity)));
    for (const rule of matching) {
      if (SEVERITIES.indexOf(rule.severity) !== top || this.s.fired.includes(rule.id)) continue;
      this.fire(rule, ev, itemId);
    }
  }

  private escalateFlowRules(): void {
    const pending = this.flow.escalations.filter((r) => !this.s.fired.includes(r.id));
    if (pending.length === 0) return;
    const ev = new Evaluator(this.flow, this.s, this.history);
    for (const rule of pending) if (ev.test(rule.when)) this.fire(rule, ev, undefined);
  }

  private fire(rule: EscalationRule, ev: Evaluator, itemId: string | undefined): void {
    this.s.fired.push(rule.id);
    const values: EscalationEvent['values'] = {};
    const ids = new Set<string>(itemId ? [itemId] : []);
    collectAnswerIds(rule.when, ids);
    for (const id of ids) {
      const stored = this.s.answers[id];
      if (stored && this.s.outcomes[id] === 'answered') values[id] = stored.value;
      else {
        const c = ev.computed(id);
        if (c !== undefined) values[id] = c;
      }
    }
    const event: EscalationEvent = { type: 'escalation', ruleId: rule.id, severity: rule.severity, message: rule.message, values, at: this.at };
    if (itemId) event.itemId = itemId;
    for (const t of trendConditions(rule.when)) {
      const series = ev.series(t);
      if (series && series.length > 1) (event.trend ??= {})[t.answer] = series;
    }
    this.events.push(event);
  }

  /** Moves to the next open, enabled question; shows info items on the way; completes at the end. */
  private advance(): void {
    const ev = () => new Evaluator(this.flow, this.s);
    for (const q of this.flow.questions) {
      const outcome = this.s.outcomes[q.id];
      if (outcome !== undefined) continue;
      if (q.enableWhen && !ev().test(q.enableWhen)) continue;
      if (q.type === 'info') {
        this.messages.push(questionMessage(q, this.lang));
        this.finish(q.id, 'shown');
        continue;
      }
      this.s.current = q.id;
      this.s.attempts = 0;
      this.messages.push(questionMessage(q, this.lang));
      return;
    }
    this.complete();
  }

  private complete(): void {
    const ev = new Evaluator(this.flow, this.s);
    // Answers to questions that a later correction disabled no longer count.
    for (const q of this.flow.questions) {
      if (this.s.outcomes[q.id] === 'answered' && q.enableWhen && !ev.test(q.enableWhen)) {
        delete this.s.answers[q.id];
        delete this.s.outcomes[q.id];
      }
    }
    const final = new Evaluator(this.flow, this.s, this.history);
    for (const c of this.flow.computed) {
      const v = final.computed(c.id);
      if (v !== undefined) this.s.computed[c.id] = v;
      this.escalate(c.escalations, c.id);
    }
    this.escalateFlowRules();
    this.s.status = 'completed';
    this.s.current = null;
    this.s.completedAt = this.at;
    const count = (o: string) => Object.values(this.s.outcomes).filter((x) => x === o).length;
    this.events.push({ type: 'completed', at: this.at, answered: count('answered'), skipped: count('skipped'), unanswered: count('unanswered') });
    this.say('completed', this.flow.outro ? localize(this.flow.outro, this.lang) : lexicon(this.lang).text('completed'));
    const summary = summaryMessage(this.flow, this.s, this.lang);
    if (summary) this.messages.push(summary);
  }

  private askCurrent(): void {
    const q = this.s.current ? this.question(this.s.current) : undefined;
    if (q) this.messages.push(questionMessage(q, this.lang));
    else this.advance();
  }

  private enabled(q: Question | undefined): boolean {
    return !!q && (!q.enableWhen || new Evaluator(this.flow, this.s).test(q.enableWhen));
  }

  private question(id: string): Question | undefined {
    const i = this.flow.questionIndex.get(id);
    return i === undefined ? undefined : this.flow.questions[i];
  }

  private get timeZone(): string {
    return this.flow.schedule?.timezone ?? 'Europe/Berlin';
  }

  private say(kind: BotMessage['kind'], text: string, extra?: Partial<BotMessage>): void {
    this.messages.push(message(kind, text, this.lang, extra));
  }
}

function collectAnswerIds(c: EscalationRule['when'], into: Set<string>): void {
  if (c.kind === 'compare' || c.kind === 'trend') into.add(c.answer);
  else if (c.kind === 'all' || c.kind === 'any') c.of.forEach((x) => collectAnswerIds(x, into));
  else if (c.kind === 'not') collectAnswerIds(c.of, into);
  else for (const m of c.expression.matchAll(/linkId\s*=\s*'([^']*)'/g)) into.add(m[1] ?? '');
}
