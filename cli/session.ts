import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Flow } from '../core/flow/model.ts';
import { step } from '../core/engine/step.ts';
import type { BotMessage, ConversationState, EscalationEvent, History, Input, StepResult } from '../core/engine/types.ts';
import { completeRun } from '../core/fhir/response.ts';
import { findRedFlag } from '../core/conversation/recognise.ts';
import { CRISIS_CATEGORIES } from '../core/conversation/vocabulary.ts';
import { translator } from '../core/i18n.ts';
import { isLanguage, isRightToLeft, type Language } from '../core/language.ts';

/**
 * Drives the engine over a list of patient inputs, as the bot will: one step
 * per message, state carried along, FHIR built once at completion. Shared by
 * `flows try` and `flows test`.
 */
export interface SessionOptions {
  lang: Language;
  now: Date;
  /** Seconds between simulated messages (answers get distinct timestamps). */
  secondsPerMessage?: number;
  subject?: string;
  responseId?: string;
  /** The patient's earlier values for trend rules (golden transcripts: `history:`). */
  history?: History;
}

export type SessionEvent =
  | { type: 'bot'; message: BotMessage }
  | { type: 'alert'; event: EscalationEvent }
  | { type: 'step'; result: StepResult }
  | { type: 'done'; state: ConversationState; questionnaireResponse?: QuestionnaireResponse; observations: Observation[] };

export class Session {
  readonly flow: Flow;
  private readonly options: SessionOptions;
  private state: ConversationState | undefined;
  private clock: number;
  private finished = false;

  constructor(flow: Flow, options: SessionOptions) {
    this.flow = flow;
    this.options = options;
    this.clock = options.now.getTime();
  }

  get current(): ConversationState | undefined {
    return this.state;
  }

  start(): SessionEvent[] {
    return this.send({ type: 'start', lang: this.options.lang });
  }

  send(input: Input): SessionEvent[] {
    const now = new Date(this.clock);
    this.clock += (this.options.secondsPerMessage ?? 30) * 1000;
    const text = input.type === 'text' || input.type === 'correction' ? input.text : undefined;
    const safety = text !== undefined ? this.redFlag(text, now) : undefined;
    if (safety?.stop) return safety.events;
    const result = step(this.flow, this.state, input, now, this.options.history ? { history: this.options.history } : {});
    this.state = result.state;
    const out: SessionEvent[] = [...(safety?.events ?? []), { type: 'step', result }];
    for (const m of result.messages) out.push({ type: 'bot', message: m });
    for (const e of result.events) if (e.type === 'escalation') out.push({ type: 'alert', event: e });
    if (result.state.status === 'completed' && !this.finished) {
      this.finished = true;
      const { questionnaireResponse, observations } = completeRun(this.flow, result.state, {
        subject: this.options.subject ?? 'Patient/example',
        responseId: this.options.responseId ?? `${this.flow.id}-response`,
      });
      out.push({ type: 'done', state: result.state, questionnaireResponse, observations });
    }
    return out;
  }

  /**
   * The red-flag check the chat bot runs before the engine (core/conversation),
   * so trying a flow behaves like the real conversation: a red flag answers
   * with the emergency advice and stops there; a directly negated one ("keine
   * Atemnot") is recorded for the team and the message goes on to the engine.
   */
  private redFlag(text: string, now: Date): { stop: boolean; events: SessionEvent[] } | undefined {
    const hit = findRedFlag(text, this.state?.lang ?? this.options.lang);
    if (!hit) return undefined;
    const lang = this.state?.lang ?? this.options.lang;
    const crisis = CRISIS_CATEGORIES.has(hit.category);
    const alert: EscalationEvent = {
      type: 'escalation',
      ruleId: `red-flag:${hit.category}`,
      severity: hit.negated ? 'warning' : 'urgent',
      message: hit.negated
        ? { de: `Verneinte Erwähnung eines Warnzeichens (${hit.category}) – bitte lesen.`, en: `Negated mention of a red flag (${hit.category}) – please read.` }
        : { de: `Warnzeichen in einer Patientennachricht (${hit.category}).`, en: `Red flag in a patient message (${hit.category}).` },
      values: { patientMessage: { type: 'text', value: text.slice(0, 2000) } },
      at: now.toISOString(),
    };
    if (this.state?.current) alert.itemId = this.state.current;
    const events: SessionEvent[] = [{ type: 'alert', event: alert }];
    if (hit.negated) return { stop: false, events };
    const message: BotMessage = { kind: 'notice', text: translator(lang)(crisis ? 'redflag.suicidal' : 'redflag.emergency'), lang, rtl: isRightToLeft(lang) };
    return { stop: true, events: [{ type: 'bot', message }, ...events] };
  }
}

/**
 * One line of an answers file → engine input. Plain lines are text messages;
 * a few slash commands simulate what a chat client can send besides text.
 */
export function lineToInput(line: string): Input | undefined {
  const photo = /^\/photo(?:\s+(\S+))?(?:\s+(\S+\/\S+))?\s*$/.exec(line);
  if (photo) return { type: 'attachment', url: photo[1] ?? 'mxc://example.org/photo', contentType: photo[2] ?? 'image/jpeg' };
  const lang = /^\/lang\s+(\S+)\s*$/.exec(line);
  if (lang && isLanguage(lang[1])) return { type: 'language', lang: lang[1] };
  const react = /^\/react\s+(\S+)\s*$/u.exec(line);
  if (react) return { type: 'reaction', emoji: react[1] ?? '' };
  const edit = /^\/edit\s+(.*)$/.exec(line);
  if (edit) return { type: 'correction', text: edit[1] ?? '' };
  return { type: 'text', text: line };
}
