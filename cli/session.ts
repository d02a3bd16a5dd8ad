import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Flow } from '../core/flow/model.ts';
import { step } from '../core/engine/step.ts';
import type { BotMessage, ConversationState, EscalationEvent, Input, StepResult } from '../core/engine/types.ts';
import { completeRun } from '../core/fhir/response.ts';
import { isLanguage, type Language } from '../core/language.ts';

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
    const result = step(this.flow, this.state, input, now);
    this.state = result.state;
    const out: SessionEvent[] = [{ type: 'step', result }];
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
