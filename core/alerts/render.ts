import { lexicon } from '../engine/lexicon.ts';
import { formatAnswer, questionLabel } from '../engine/render.ts';
import type { AnswerValue, HistoryPoint } from '../engine/types.ts';
import type { Flow, LocalizedText, Question } from '../flow/model.ts';
import { localize } from '../flow/text.ts';
import { translator } from '../i18n.ts';
import type { Language } from '../language.ts';

/**
 * The message a care team gets for an escalation: severity first (visibly
 * distinct), who and a short id, what triggered, the values with units, the
 * people asked to act as mentions (so their phones notify, BRIEF §5), and a
 * link to the record. Pure: the dispatcher supplies the data.
 */
export type EscalationKind = 'red_flag' | 'rule' | 'unanswered' | 'monitoring_stopped' | 'consent_refused' | 'no_response';

export interface AlertInput {
  kind: EscalationKind;
  severity: 'info' | 'warning' | 'urgent';
  details: Record<string, unknown>;
  patient: { id: string; displayName: string | null };
  flow?: Flow | undefined;
  mentions: ReadonlyArray<{ userId: string; displayName: string }>;
  /** How often this alert has fired within the dedupe window (1 = first time). */
  count: number;
  at: Date;
  recordUrl: string;
  language: Language;
  /** Earlier values of the triggering question (oldest first, today's not included), for the "recent values" line. */
  recent?: readonly HistoryPoint[];
}

export interface AlertContent {
  msgtype: 'm.text';
  body: string;
  format: 'org.matrix.custom.html';
  formatted_body: string;
  'm.mentions': { user_ids: string[] };
  [key: string]: unknown;
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A trend series as clinicians read it: "Temperatur 38,1 → 38,4 °C (14.01.–15.01.)". */
function series(q: Question, points: readonly HistoryPoint[], language: Language): string | null {
  const valid = points.filter((p) => typeof p?.value === 'number' && Number.isFinite(p.value) && Number.isFinite(Date.parse(p.at)));
  if (valid.length < 2) return null;
  const lex = lexicon(language);
  const decimals = q.type === 'quantity' ? q.decimals : 0;
  const unit = q.type === 'quantity' ? (q.unitDisplay ?? q.unit) : undefined;
  const numbers = valid.map((p) => lex.number(p.value, decimals)).join(' → ');
  const day = (iso: string) => new Date(iso).toLocaleDateString(language === 'de' ? 'de-DE' : 'en-GB', { day: '2-digit', month: '2-digit', timeZone: 'Europe/Berlin' });
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
    case 'unanswered': {
      const q = input.flow?.questions.find((x) => x.id === d['questionId']);
      return t('kind.unanswered', { question: q ? questionLabel(q, input.language) : String(d['questionId'] ?? '') });
    }
    default:
      return t(`kind.${input.kind}`);
  }
}

export function renderAlert(input: AlertInput): AlertContent {
  const t = (key: string, vars: Record<string, string> = {}) => translator(input.language)(key, { ns: 'alerts', ...vars });
  const who = `${input.patient.displayName ?? '—'} (#${input.patient.id.slice(0, 8)})`;
  const time = input.at.toLocaleTimeString(input.language === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
  const head = `${t(`severity.${input.severity}`)} · ${who}`;
  const lines = [what(input, t), values(input, t), threshold(input, t), recent(input, t), input.count > 1 ? t('repeated', { count: String(input.count), time }) : null].filter(
    (l): l is string => !!l,
  );
  const mentionsText = input.mentions.map((m) => m.displayName).join(', ');
  const mentionsHtml = input.mentions.map((m) => `<a href="https://matrix.to/#/${encodeURIComponent(m.userId)}">${esc(m.displayName)}</a>`).join(', ');
  const ask = input.mentions.length > 0 ? t('ask', { mentions: mentionsText }) : null;
  const record = t('record', { link: input.recordUrl });
  const body = [head, ...lines, ...(ask ? [ask] : []), record].join('\n');
  const html = [
    `<strong>${esc(head)}</strong>`,
    ...lines.map(esc),
    ...(ask ? [esc(t('ask', { mentions: '\u0000' })).replace('\u0000', mentionsHtml)] : []),
    `${esc(t('record', { link: '\u0000' })).replace('\u0000', `<a href="${esc(input.recordUrl)}">${esc(input.recordUrl)}</a>`)}`,
  ].join('<br>');
  return { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: html, 'm.mentions': { user_ids: input.mentions.map((m) => m.userId) } };
}

/**
 * The next step up the chain for an alert nobody took over: the alert's own
 * text, prefixed with how long it has waited, mentioning the step's people.
 */
export function renderReescalation(alert: AlertContent, minutes: number, mentions: ReadonlyArray<{ userId: string; displayName: string }>, language: Language): AlertContent {
  const t = (key: string, vars: Record<string, string> = {}) => translator(language)(key, { ns: 'alerts', ...vars });
  const what = alert.body.split('\n').slice(0, 2).join(' – ');
  const head = t('reescalated', { minutes: String(minutes), what });
  const ask = mentions.length > 0 ? t('ask', { mentions: mentions.map((m) => m.displayName).join(', ') }) : null;
  const pills = mentions.map((m) => `<a href="https://matrix.to/#/${encodeURIComponent(m.userId)}">${esc(m.displayName)}</a>`).join(', ');
  return {
    msgtype: 'm.text',
    body: [head, ...(ask ? [ask] : [])].join('\n'),
    format: 'org.matrix.custom.html',
    formatted_body: [`<strong>${esc(head)}</strong>`, ...(ask ? [esc(t('ask', { mentions: '\u0000' })).replace('\u0000', pills)] : [])].join('<br>'),
    'm.mentions': { user_ids: mentions.map((m) => m.userId) },
  };
}

/** A short m.notice in the care-team room. */
export function alertNotice(language: Language, key: 'acknowledged' | 'alreadyAcknowledged' | 'notMember', vars: Record<string, string> = {}) {
  return { msgtype: 'm.notice' as const, body: translator(language)(key, { ns: 'alerts', ...vars }) };
}
