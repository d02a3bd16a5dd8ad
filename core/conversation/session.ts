import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import { escalationMessage, turnEscalations, type EscalationDraft } from './escalations.ts';
import { beginCheckin, turn, type CheckinView, type PatientInput, type PatientView, type TurnResult } from './turn.ts';
import { vocabulary } from './vocabulary.ts';
import type { BotMessage, ConversationState, History } from '../engine/types.ts';
import { checkinRecords } from '../fhir/records.ts';
import type { Flow, LocalizedText } from '../flow/model.ts';
import type { Language } from '../language.ts';

/**
 * Tries a flow the way the bot runs it: the same conversation policy `turn()`
 * (red flags, commands, the engine) for each message, the same escalation
 * records the care team gets, and the same FHIR records the service stores —
 * only without Matrix and a database. The patient has consented already.
 * Shared by `flows try`, `flows test` and the API's draft try and publish checks.
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

/** An alert as `flows try` prints it: what the care team would get. */
export interface SessionAlert {
  /** The flow's rule id, `red-flag:<category>`, or the kind (e.g. `unanswered`). */
  ruleId: string;
  severity: EscalationDraft['severity'];
  message: LocalizedText;
  itemId?: string;
  values: Record<string, unknown>;
  trend?: unknown;
  at: string;
}

export type SessionEvent =
  | { type: 'bot'; message: BotMessage }
  | { type: 'alert'; event: SessionAlert }
  /** The check-in's state after a turn (null before it started). */
  | { type: 'state'; state: ConversationState | null }
  | { type: 'done'; state: ConversationState; questionnaireResponse?: QuestionnaireResponse; observations: Observation[] };

export class Session {
  readonly flow: Flow;
  private readonly options: SessionOptions;
  private patient: PatientView;
  private checkin: { status: CheckinView['status'] | 'completed' | 'cancelled'; state: ConversationState | null };
  private clock: number;
  private finished = false;

  constructor(flow: Flow, options: SessionOptions) {
    this.flow = flow;
    this.options = options;
    this.clock = options.now.getTime();
    this.patient = { language: options.lang, consent: 'given', monitoring: 'active' };
    this.checkin = { status: 'pending', state: null };
  }

  get current(): ConversationState | undefined {
    return this.checkin.state ?? undefined;
  }

  start(): SessionEvent[] {
    const now = this.tick();
    return this.take(beginCheckin(this.patient, this.view()!, now), now);
  }

  send(input: PatientInput): SessionEvent[] {
    const now = this.tick();
    return this.take(turn(this.patient, this.view(), input, vocabulary(), now), now);
  }

  private tick(): Date {
    const now = new Date(this.clock);
    this.clock += (this.options.secondsPerMessage ?? 30) * 1000;
    return now;
  }

  /** The open check-in as the policy sees it (null once it ended, as in the bot). */
  private view(): CheckinView | null {
    const { status, state } = this.checkin;
    if (status !== 'pending' && status !== 'active') return null;
    return { flow: this.flow, status, state, ...(this.options.history ? { history: this.options.history } : {}) };
  }

  private take(result: TurnResult, now: Date): SessionEvent[] {
    this.patient = result.patient;
    if (result.checkin) this.checkin = result.checkin;
    const out: SessionEvent[] = [];
    for (const draft of turnEscalations(result)) out.push({ type: 'alert', event: alertOf(draft, now) });
    for (const message of result.replies) out.push({ type: 'bot', message });
    const state = this.checkin.state;
    out.push({ type: 'state', state });
    if (state?.status === 'completed' && !this.finished) {
      this.finished = true;
      out.push({ type: 'done', state, ...this.records(state) });
    }
    return out;
  }

  /** The completed check-in's FHIR records, built by the same function the service stores them with. */
  private records(state: ConversationState): { questionnaireResponse?: QuestionnaireResponse; observations: Observation[] } {
    const patientId = (this.options.subject ?? 'Patient/example').replace(/^Patient\//, '');
    const records = checkinRecords(this.flow, state, { patientId, checkinId: this.options.responseId ?? `${this.flow.id}-response` });
    const qr = records.find((r) => r.resourceType === 'QuestionnaireResponse')?.resource as QuestionnaireResponse | undefined;
    const observations = records.flatMap((r) => (r.resourceType === 'Observation' ? [r.resource as Observation] : []));
    return { ...(qr ? { questionnaireResponse: qr } : {}), observations };
  }
}

function alertOf(draft: EscalationDraft, now: Date): SessionAlert {
  const d = draft.details;
  const itemId = typeof d['itemId'] === 'string' ? d['itemId'] : typeof d['questionId'] === 'string' ? d['questionId'] : undefined;
  return {
    ruleId: draft.ruleId ?? draft.kind,
    severity: draft.severity,
    message: escalationMessage(draft),
    ...(itemId ? { itemId } : {}),
    values: (d['values'] ?? {}) as Record<string, unknown>,
    ...(d['trend'] ? { trend: d['trend'] } : {}),
    at: now.toISOString(),
  };
}

/**
 * One line of an answers file → patient input. Plain lines are text messages
 * (commands such as `/lang tr` or "stopp" included, as in the chat); a few
 * slash commands simulate what a chat client can send besides text.
 */
export function lineToInput(line: string): PatientInput | undefined {
  const photo = /^\/photo(?:\s+(\S+))?(?:\s+(\S+\/\S+))?\s*$/.exec(line);
  if (photo) return { type: 'attachment', url: photo[1] ?? 'mxc://example.org/photo', contentType: photo[2] ?? 'image/jpeg', size: 0 };
  const react = /^\/react\s+(\S+)\s*$/u.exec(line);
  if (react) return { type: 'reaction', emoji: react[1] ?? '' };
  const edit = /^\/edit\s+(.*)$/.exec(line);
  if (edit) return { type: 'correction', text: edit[1] ?? '' };
  return { type: 'text', text: line };
}
