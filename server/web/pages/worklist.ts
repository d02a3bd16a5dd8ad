import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { questionLabel, formatAnswer } from '../../../core/engine/render.ts';
import type { AnswerValue } from '../../../core/engine/types.ts';
import type { Flow, LocalizedText } from '../../../core/flow/model.ts';
import { localize } from '../../../core/flow/text.ts';
import { translator } from '../../../core/i18n.ts';
import type { WorklistFilter, WorklistRow } from '../../../db/web.ts';
import type { T, TextKey, UiLanguage } from '../i18n.ts';
import { age, csrfField, formatTime, type PageUser } from '../layout.ts';

export const ALERT_KINDS = ['red_flag', 'rule', 'unanswered', 'no_response', 'monitoring_stopped', 'consent_refused', 'patient_message'] as const;
export const SEVERITIES = ['urgent', 'warning', 'info'] as const;

export interface WorklistView {
  rows: readonly WorklistRow[];
  teams: ReadonlyArray<{ id: string; name: string }>;
  filter: WorklistFilter;
  flows: ReadonlyMap<string, Flow>;
  language: UiLanguage;
  t: T;
  user: PageUser;
  now: Date;
  notice?: string | undefined;
}

/** What triggered the alert, in the reader's language. */
export function trigger(row: Pick<WorklistRow, 'details' | 'kind' | 'ruleId' | 'severity'>, flow: Flow | undefined, language: UiLanguage, t: T): string {
  const d = row.details;
  const tr = translator(language);
  const alerts = (key: string, vars: Record<string, string> = {}) => tr(key, { ns: 'alerts', ...vars });
  switch (row.kind) {
    case 'red_flag':
      return alerts(d['negated'] ? 'kind.red_flag_negated' : 'kind.red_flag', { category: alerts(`category.${String(d['category'])}`) });
    case 'rule':
      return localize((d['message'] ?? {}) as LocalizedText, language) || row.ruleId || t('kind.rule');
    case 'unanswered': {
      const q = flow?.questions.find((x) => x.id === d['questionId']);
      return alerts('kind.unanswered', { question: q ? questionLabel(q, language) : String(d['questionId'] ?? '') });
    }
    case 'patient_message':
      return alerts(row.severity === 'warning' ? 'kind.patient_message_symptom' : 'kind.patient_message');
    default:
      return alerts(`kind.${row.kind}`);
  }
}

/** The answers that triggered it, each with its question's short name. */
export function alertValues(details: Record<string, unknown>, flow: Flow | undefined, language: UiLanguage): string[] {
  const values = (details['values'] ?? {}) as Record<string, AnswerValue | number | boolean>;
  return Object.entries(values).flatMap(([id, v]) => {
    if (id === 'patientMessage') return [];
    const q = flow?.questions.find((x) => x.id === id);
    if (q && typeof v === 'object' && v !== null) return [`${questionLabel(q, language)}: ${formatAnswer(q, v, language)}`];
    if (typeof v !== 'object') return [`${id}: ${String(v)}`];
    return [];
  });
}

/** The patient's own words: the message of a red flag, the words that matched, forwarded messages. */
export function patientWords(details: Record<string, unknown>): string[] {
  const message = (details['values'] as { patientMessage?: { value?: unknown } } | undefined)?.patientMessage?.value;
  const messages = Array.isArray(details['messages'])
    ? (details['messages'] as Array<{ text?: unknown }>).map((m) => m.text).filter((x): x is string => typeof x === 'string')
    : [];
  const evidence = typeof details['evidence'] === 'string' && details['evidence'] ? [details['evidence']] : [];
  const words = [...(typeof message === 'string' ? [message] : []), ...messages];
  return [...new Set([...words, ...evidence.filter((e) => !words.some((w) => w.includes(e)))])];
}

export function worklistRows(view: WorklistView): HtmlEscapedString {
  const { t, language } = view;
  if (view.rows.length === 0) return html`<tr class="empty"><td colspan="6">${t('worklist.empty')}</td></tr>` as HtmlEscapedString;
  // Labels once per render, triggers once per distinct trigger: a worklist of 1,000 rows repeats them.
  const severity = Object.fromEntries(SEVERITIES.map((s) => [s, t(`severity.${s}` as TextKey)])) as Record<string, string>;
  const kind = Object.fromEntries(ALERT_KINDS.map((k) => [k, t(`kind.${k}` as TextKey)])) as Record<string, string>;
  const [select, ack, valuesLabel, wordsLabel] = [t('worklist.select'), t('worklist.ack'), t('worklist.values'), t('worklist.patientWords')];
  const triggers = new Map<string, string>();
  const triggerOf = (row: WorklistRow, flow: Flow | undefined) => {
    const d = row.details;
    const key = `${row.kind}|${row.severity}|${row.ruleId ?? ''}|${row.flowId ?? ''}|${String(d['category'] ?? '')}|${String(d['negated'] ?? '')}|${String(d['questionId'] ?? '')}|${JSON.stringify(d['message'] ?? null)}`;
    let text = triggers.get(key);
    if (text === undefined) triggers.set(key, (text = trigger(row, flow, language, t)));
    return text;
  };
  return html`${view.rows.map((row) => {
    const flow = row.flowId ? view.flows.get(row.flowId) : undefined;
    const name = row.patientName ?? '—';
    const values = alertValues(row.details, flow, language);
    const words = patientWords(row.details);
    const label = `${severity[row.severity]}: ${name}`;
    return html`<tr class="alert ${row.severity}" data-alert-id="${row.id}">
<td><input type="checkbox" name="ids" value="${row.id}" form="batch" aria-label="${select}: ${label}"></td>
<td><span class="badge ${row.severity}">${severity[row.severity]}</span> <span class="kind">${kind[row.kind] ?? row.kind}</span>${row.repeats > 0 ? html` <span class="repeats">${t('worklist.repeats', { count: row.repeats + 1 })}</span>` : ''}</td>
<td><a href="/app/patients/${row.patientId}">${name}</a> <span class="short">#${row.patientId.slice(0, 8)}</span></td>
<td><div class="trigger">${triggerOf(row, flow)}</div>
${values.length > 0 ? html`<div class="values"><span class="label">${valuesLabel}:</span> ${values.join(', ')}</div>` : ''}
${words.map((w) => html`<blockquote class="words"><span class="label">${wordsLabel}:</span> «${w}»</blockquote>`)}</td>
<td><time datetime="${row.createdAt.toISOString()}" title="${formatTime(row.createdAt, language)}">${age(row.createdAt, view.now)}</time></td>
<td><button type="submit" form="ack" formaction="/app/alerts/${row.id}/acknowledge" aria-label="${ack}: ${label}">${ack}</button></td>
</tr>`;
  })}` as HtmlEscapedString;
}

export function worklistBody(view: WorklistView): HtmlEscapedString {
  const { t, filter } = view;
  const selected = (a: string | undefined, b: string) => (a === b ? html` selected` : '');
  return html`<h1>${t('worklist.title')} <span class="count" id="alert-count">${t('worklist.count', { count: view.rows.length })}</span></h1>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
<p class="hint">${t('worklist.live')}</p>
<div id="live" class="visually-hidden" role="status" aria-live="polite" data-text="${t('worklist.newAlerts')}"></div>
<form method="get" action="/app/worklist" class="filters" aria-label="${t('worklist.filters')}">
  <label>${t('worklist.team')} <select name="team"><option value="">${t('worklist.allTeams')}</option>${view.teams.map((team) => html`<option value="${team.id}"${selected(filter.teamId, team.id)}>${team.name}</option>`)}</select></label>
  <label>${t('worklist.severity')} <select name="severity"><option value="">${t('worklist.allSeverities')}</option>${SEVERITIES.map((s) => html`<option value="${s}"${selected(filter.severity, s)}>${t(`severity.${s}` as TextKey)}</option>`)}</select></label>
  <label>${t('worklist.kind')} <select name="kind"><option value="">${t('worklist.allKinds')}</option>${ALERT_KINDS.map((k) => html`<option value="${k}"${selected(filter.kind, k)}>${t(`kind.${k}` as TextKey)}</option>`)}</select></label>
  <button type="submit" class="secondary">${t('worklist.apply')}</button>
</form>
<form method="post" action="/app/alerts/acknowledge" id="ack" hidden>${csrfField(view.user)}</form>
<form method="post" action="/app/alerts/acknowledge" id="batch" class="batch">${csrfField(view.user)}
  <label class="select-all"><input type="checkbox" id="select-all"> ${t('worklist.selectAll')}</label>
  <button type="submit">${t('worklist.ackSelected')}</button>
</form>
<table class="worklist">
<caption class="visually-hidden">${t('worklist.title')}</caption>
<thead><tr><th scope="col"><span class="visually-hidden">${t('worklist.select')}</span></th><th scope="col">${t('worklist.severity')}</th><th scope="col">${t('worklist.patient')}</th><th scope="col">${t('worklist.what')}</th><th scope="col">${t('worklist.age')}</th><th scope="col"><span class="visually-hidden">${t('worklist.ack')}</span></th></tr></thead>
<tbody id="worklist-rows" data-source="/app/worklist/rows">${worklistRows(view)}</tbody>
</table>` as HtmlEscapedString;
}
