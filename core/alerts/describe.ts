import type { EscalationKind } from '../conversation/escalations.ts';
import { lexicon } from '../engine/lexicon.ts';
import { formatAnswer, questionLabel } from '../engine/render.ts';
import type { AnswerValue, HistoryPoint } from '../engine/types.ts';
import type { Flow, LocalizedText, Question } from '../flow/model.ts';
import { localize } from '../flow/text.ts';
import { translator } from '../i18n.ts';
import type { Language } from '../language.ts';

export type { EscalationKind };

/**
 * What a care team reads for an escalation: severity first (visibly distinct),
 * who and a short id, what triggered, the values with units, the people asked
 * to act, and a link to the record. Pure: the alert service supplies the data.
 */

export interface AlertInput {
  kind: EscalationKind;
  severity: 'info' | 'warning' | 'urgent';
  details: Record<string, unknown>;
  patient: { id: string; displayName: string | null };
  flow?: Flow | undefined;
  mentions: readonly Person[];
  /** How often this alert has fired within the dedupe window (1 = first time). */
  count: number;
  at: Date;
  recordUrl: string;
  language: Language;
  /** Earlier values of the triggering question (oldest first, today's not included), for the "recent values" line. */
  recent?: readonly HistoryPoint[];
}

/** Someone an alert asks to act: mentioned so their phone notifies (BRIEF §5). */
export interface Person {
  userId: string;
  displayName: string;
}

/**
 * An alert as the care team reads it, in the team's language, before any
 * messenger formatting: the head line (severity, patient, short id), what
 * triggered it and the values, who is asked to act, and the record link.
 * The outbox keeps it as data; bots/render.ts turns it into a Matrix event.
 */
export interface AlertText {
  language: Language;
  severity: 'info' | 'warning' | 'urgent';
  head: string;
  lines: string[];
  mentions: Person[];
  recordUrl?: string;
}

/** A trend series as clinicians read it: "Temperatur 38,1 → 38,4 °C (14.01.–15.01.)". */
function series(q: Question, points: readonly HistoryPoint[], language: Language): string | null {
  const valid = points.filter((p) => typeof p?.value === 'number' && Number.isFinite(p.value) && Number.isFinite(Date.parse(p.at)));
  if (valid.length < 2) return null;
  const lex = lexicon(language);
  const decimals = q.type === 'quantity' ? q.decimals : 0;
  const unit = q.type === 'quantity' ? (q.unitDisplay ?? q.unit) : undefined;
  const numbers = valid.map((p) => lex.number(p.value, decimals)).join(' → ');
  const day = (iso: string) =>
    new Date(iso).toLocaleDateString(language === 'de' ? 'de-DE' : 'en-GB', { day: '2-digit', month: '2-digit', timeZone: 'Europe/Berlin' });
  const first = day(valid[0]!.at);
  const last = day(valid[valid.length - 1]!.at);
  const dates = first === last ? first : `${first}–${last}`;
  return `${questionLabel(q, language)} ${numbers}${unit ? ` ${unit}` : ''} (${dates})`;
}

function values(input: AlertInput, t: (key: string, vars?: Record<string, string>) => string): string | null {
  const raw = input.details['values'] as Record<string, AnswerValue | number | boolean> | undefined;
  if (!raw || !input.flow) return null;
  const flow = input.flow;
  const trend = (input.details['trend'] ?? {}) as Record<string, HistoryPoint[] | undefined>;
  const parts = Object.entries(raw).flatMap(([id, v]) => {
    const q = flow.questions.find((x) => x.id === id);
    // A trend shows the series (today's value last) instead of today's value alone.
    const points = trend[id];
    const line = q && Array.isArray(points) ? series(q, points, input.language) : null;
    if (line) return [line];
    if (q && typeof v === 'object') return [`${questionLabel(q, input.language)} ${formatAnswer(q, v, input.language)}`];
    const c = flow.computed.find((x) => x.id === id);
    if (c && typeof v !== 'object') return [`${c.text ? localize(c.text, input.language) : id} ${String(v)}`];
    return [];
  });
  return parts.length > 0 ? t('values', { values: parts.join(', ') }) : null;
}

/** "Schwelle: ≥ 39,5 °C" for a rule whose condition is one numeric comparison on its question. */
function threshold(input: AlertInput, t: (key: string, vars?: Record<string, string>) => string): string | null {
  const ruleId = input.details['ruleId'] ?? input.details['rule'];
  const itemId = input.details['itemId'];
  const flow = input.flow;
  if (!flow || typeof itemId !== 'string') return null;
  const q = flow.questions.find((x) => x.id === itemId);
  const rule = q?.escalations.find((r) => r.id === ruleId);
  if (!q || !rule || rule.when.kind !== 'compare' || typeof rule.when.value !== 'number') return null;
  const lex = lexicon(input.language);
  const unit = q.type === 'quantity' ? (q.unitDisplay ?? q.unit) : undefined;
  const op = { '>=': '≥', '<=': '≤', '>': '>', '<': '<', '=': '=', '==': '=', '!=': '≠' }[rule.when.op as string] ?? rule.when.op;
  return t('threshold', { threshold: `${op} ${lex.number(rule.when.value, q.type === 'quantity' ? q.decimals : 0)}${unit ? ` ${unit}` : ''}` });
}

/** "Verlauf: 37,9 → 38,4 → 39,8 °C (26.11.–28.11.)": the triggering question's earlier values and today's. */
function recent(input: AlertInput, t: (key: string, vars?: Record<string, string>) => string): string | null {
  const itemId = input.details['itemId'];
  const values = input.details['values'] as Record<string, AnswerValue> | undefined;
  const q = typeof itemId === 'string' ? input.flow?.questions.find((x) => x.id === itemId) : undefined;
  const today = q ? values?.[q.id] : undefined;
  if (!q || !input.recent?.length || today?.type !== 'number' || input.details['trend']) return null;
  const line = series(q, [...input.recent, { value: today.value, at: input.at.toISOString() }], input.language);
  return line ? t('history', { series: line.slice(questionLabel(q, input.language).length + 1) }) : null;
}

function what(input: AlertInput, t: (key: string, vars?: Record<string, string>) => string): string {
  const d = input.details;
  switch (input.kind) {
    case 'red_flag': {
      const category = t(`category.${String(d['category'])}`);
      return t(d['negated'] ? 'kind.red_flag_negated' : 'kind.red_flag', { category });
    }
    case 'rule':
      return localize((d['message'] ?? {}) as LocalizedText, input.language) || String(d['ruleId'] ?? '');
    case 'patient_message':
      return t(input.severity === 'warning' ? 'kind.patient_message_symptom' : 'kind.patient_message');
    case 'unanswered': {
      const q = input.flow?.questions.find((x) => x.id === d['questionId']);
      return t('kind.unanswered', { question: q ? questionLabel(q, input.language) : String(d['questionId'] ?? '') });
    }
    default:
      return t(`kind.${input.kind}`);
  }
}

/** The longest quote of a patient's words in an alert (the whole text is in the record). */
const MAX_QUOTE = 500;
const quote = (text: string) => `«${text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}…` : text}»`;

/**
 * The patient's own words, so a clinician sees at a glance what triggered the
 * alert: for a red flag the words that matched and the message; for forwarded
 * messages each message of the batch with its time.
 */
function patientWords(input: AlertInput, t: (key: string, vars?: Record<string, string>) => string): string[] {
  const d = input.details;
  const message = (d['values'] as { patientMessage?: { value?: unknown } } | undefined)?.patientMessage?.value;
  if (input.kind === 'red_flag') {
    return [
      ...(typeof d['evidence'] === 'string' && d['evidence'] ? [t('evidence', { evidence: quote(d['evidence']) })] : []),
      ...(typeof message === 'string' ? [t('patientWrote', { text: quote(message) })] : []),
    ];
  }
  if (input.kind === 'patient_message') {
    const messages =
      (d['messages'] as Array<{ text: string; at: string }> | undefined) ??
      (typeof message === 'string' ? [{ text: message, at: input.at.toISOString() }] : []);
    const time = (iso: string) =>
      new Date(iso).toLocaleTimeString(input.language === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
    return messages.map((m) => `${time(m.at)} ${quote(m.text)}`);
  }
  return [];
}

export function describeAlert(input: AlertInput): AlertText {
  const t = (key: string, vars: Record<string, string> = {}) => translator(input.language)(key, { ns: 'alerts', ...vars });
  const who = `${input.patient.displayName ?? '—'} (#${input.patient.id.slice(0, 8)})`;
  const time = input.at.toLocaleTimeString(input.language === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
  const repeated = input.count > 1 && input.kind !== 'patient_message' ? t('repeated', { count: String(input.count), time }) : null;
  const lines = [what(input, t), ...patientWords(input, t), values(input, t), threshold(input, t), recent(input, t), repeated].filter((l): l is string => !!l);
  return {
    language: input.language,
    severity: input.severity,
    head: `${t(`severity.${input.severity}`)} · ${who}`,
    lines,
    mentions: [...input.mentions],
    recordUrl: input.recordUrl,
  };
}

/** The alert in one line (severity, patient, what triggered): the FHIR Flag's text and the re-escalation's subject. */
export function alertSummary(alert: AlertText): string {
  return [alert.head, alert.lines[0]].filter(Boolean).join(' – ');
}

/**
 * The next step up the chain for an alert nobody took over: the alert in one
 * line, prefixed with how long it has waited, asking the step's people.
 */
export function describeReescalation(alert: AlertText, minutes: number, mentions: readonly Person[]): AlertText {
  const head = translator(alert.language)('reescalated', { ns: 'alerts', minutes: String(minutes), what: alertSummary(alert) });
  return { language: alert.language, severity: alert.severity, head, lines: [], mentions: [...mentions] };
}

/** A short status line for a care-team room, in the team's language. */
export function alertNoticeText(language: Language, key: 'acknowledged' | 'alreadyAcknowledged' | 'notMember', vars: Record<string, string> = {}): string {
  return translator(language)(key, { ns: 'alerts', ...vars });
}
