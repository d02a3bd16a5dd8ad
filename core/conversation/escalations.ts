import type { LocalizedText } from '../flow/model.ts';
import { translator } from '../i18n.ts';
import type { TurnResult } from './turn.ts';

/**
 * What a turn asks the care team to look at, as records: the database stores
 * them as escalations (delivered as alerts), `visite flows try` prints them as
 * `alert` events. One mapping for both, so trying a flow shows what the team
 * will get.
 */
export type EscalationKind = 'red_flag' | 'rule' | 'unanswered' | 'monitoring_stopped' | 'consent_refused' | 'no_response' | 'patient_message';

export interface EscalationDraft {
  kind: EscalationKind;
  severity: 'info' | 'warning' | 'urgent';
  /** `red-flag:<category>` for red flags, the flow's rule id for rules, null otherwise. */
  ruleId: string | null;
  details: Record<string, unknown>;
}

/** The longest patient text kept with an escalation (the care team reads it in the alert). */
export const MAX_PATIENT_MESSAGE = 2_000;

export function turnEscalations(result: TurnResult): EscalationDraft[] {
  return result.events.flatMap((e): EscalationDraft[] => {
    switch (e.type) {
      case 'red_flag':
        // A negated mention ("keine Atemnot") still reaches the team, one tier lower.
        return [
          {
            kind: 'red_flag',
            severity: e.negated ? 'warning' : 'urgent',
            ruleId: `red-flag:${e.category}`,
            details: {
              category: e.category,
              language: e.language,
              negated: e.negated,
              ...(e.evidence ? { evidence: e.evidence } : {}),
              ...(e.itemId ? { itemId: e.itemId } : {}),
              values: { patientMessage: { type: 'text', value: e.text.slice(0, MAX_PATIENT_MESSAGE) } },
            },
          },
        ];
      case 'patient_message':
        return [
          {
            kind: 'patient_message',
            severity: e.severity,
            ruleId: 'patient-message',
            details: {
              reason: e.reason,
              ...(e.itemId ? { itemId: e.itemId } : {}),
              values: { patientMessage: { type: 'text', value: e.text.slice(0, MAX_PATIENT_MESSAGE) } },
            },
          },
        ];
      case 'monitoring_stopped':
        return [{ kind: 'monitoring_stopped', severity: 'info', ruleId: null, details: {} }];
      case 'consent_refused':
        return [{ kind: 'consent_refused', severity: 'info', ruleId: null, details: {} }];
      case 'engine':
        if (e.event.type === 'escalation') {
          const { ruleId, severity, itemId, values, message, trend } = e.event;
          return [{ kind: 'rule', severity, ruleId, details: { itemId: itemId ?? null, values, message, ...(trend ? { trend } : {}) } }];
        }
        if (e.event.type === 'unanswered') {
          return [{ kind: 'unanswered', severity: 'info', ruleId: null, details: { questionId: e.event.questionId, attempts: e.event.attempts } }];
        }
        return [];
      default:
        return [];
    }
  });
}

/** The escalation in a sentence for clinicians, in German and English (rules carry their own texts). */
export function escalationMessage(draft: EscalationDraft): LocalizedText {
  if (draft.kind === 'rule') return (draft.details['message'] ?? {}) as LocalizedText;
  const text = (lang: 'de' | 'en') => {
    const t = translator(lang);
    if (draft.kind === 'red_flag') {
      const category = t(`category.${String(draft.details['category'])}`, { ns: 'alerts' });
      return t(draft.details['negated'] ? 'kind.red_flag_negated' : 'kind.red_flag', { ns: 'alerts', category });
    }
    return t(`kind.${draft.kind}`, { ns: 'alerts', question: String(draft.details['questionId'] ?? '') });
  };
  return { de: text('de'), en: text('en') };
}
