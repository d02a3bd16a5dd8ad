import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Flow, LocalizedText } from '../flow/model.ts';
import type { Language } from '../language.ts';
import { lineToInput, Session, type SessionEvent, type SessionOptions } from './session.ts';

/**
 * What trying a flow with a list of answers yields, as data: the documented
 * NDJSON contract of `visite flows try --answers` (docs/flows.md §11), one
 * object per line. The API's `POST /v1/flows/{id}/draft/try` answers the same
 * objects, so an author sees in the browser exactly what the terminal shows.
 */
export type TryEvent =
  | { type: 'bot'; text: string; kind: string; lang: Language; questionId?: string }
  | {
      type: 'alert';
      ruleId: string;
      severity: 'info' | 'warning' | 'urgent';
      /** The German text for clinicians (English when there is none). */
      message: string | undefined;
      messages: LocalizedText;
      questionId?: string;
      values: Record<string, unknown>;
      trend?: unknown;
      at: string;
    }
  | { type: 'observation'; resource: Observation }
  | { type: 'questionnaireResponse'; resource: QuestionnaireResponse };

/** Session events → contract objects, in the order things happened. */
export function tryEvents(events: readonly SessionEvent[]): TryEvent[] {
  const out: TryEvent[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'bot': {
        const m = e.message;
        out.push({ type: 'bot', text: m.text, kind: m.kind, lang: m.lang, ...(m.questionId ? { questionId: m.questionId } : {}) });
        break;
      }
      case 'alert': {
        const a = e.event;
        out.push({
          type: 'alert',
          ruleId: a.ruleId,
          severity: a.severity,
          message: a.message.de ?? a.message.en,
          messages: a.message,
          ...(a.itemId ? { questionId: a.itemId } : {}),
          values: a.values,
          ...(a.trend ? { trend: a.trend } : {}),
          at: a.at,
        });
        break;
      }
      case 'done':
        for (const o of e.observations) out.push({ type: 'observation', resource: o });
        if (e.questionnaireResponse) out.push({ type: 'questionnaireResponse', resource: e.questionnaireResponse });
        break;
      case 'state':
        break;
    }
  }
  return out;
}

/**
 * Runs a flow with one patient message per entry (the special lines `/photo`,
 * `/react`, `/edit` included; blank ones skipped) until the check-in is
 * complete, and returns what happened.
 */
export function tryAnswers(flow: Flow, answers: readonly string[], options: SessionOptions): TryEvent[] {
  const session = new Session(flow, options);
  const events: SessionEvent[] = [...session.start()];
  for (const line of answers) {
    if (line.trim() === '') continue; // blank lines are not messages
    if (session.current?.status === 'completed') break;
    const input = lineToInput(line);
    if (input) events.push(...session.send(input));
  }
  return tryEvents(events);
}
