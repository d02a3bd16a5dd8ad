import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { formatAnswer, questionLabel, questionMessage } from '../../../core/engine/render.ts';
import type { AnswerValue } from '../../../core/engine/types.ts';
import type { Flow, Question } from '../../../core/flow/model.ts';
import { localize } from '../../../core/flow/text.ts';
import { tunableRules } from '../../../core/flow/thresholds.ts';
import { isLanguage, isRightToLeft, type Language } from '../../../core/language.ts';
import type { ChartData } from '../../../db/web.ts';
import { trendSvg, type ThresholdLine, type TrendPoint } from '../chart-svg.ts';
import type { T, TextKey, UiLanguage } from '../i18n.ts';
import { formatTime } from '../layout.ts';
import { alertValues, patientWords, trigger } from './worklist.ts';

const OPS: Record<string, string> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<', '=': '=', '==': '=', '!=': '≠' };
const numberFormat = new Map<string, Intl.NumberFormat>();
const fmt = (language: UiLanguage, value: number, decimals = 1) => {
  const key = `${language}:${decimals}`;
  let f = numberFormat.get(key);
  if (!f) numberFormat.set(key, (f = new Intl.NumberFormat(language === 'de' ? 'de-DE' : 'en-GB', { maximumFractionDigits: decimals })));
  return f.format(value);
};

/** The thresholds drawn for a numeric question: the flow's and, where it set one, the care team's. */
export function thresholdsOf(flow: Flow, q: Question, teamOverrides: Record<string, number> | undefined, language: UiLanguage, t: T): ThresholdLine[] {
  const rules = [...flow.questions.flatMap((x) => x.escalations), ...flow.escalations];
  return tunableRules(flow)
    .filter((rule) => rule.questionId === q.id)
    .flatMap((rule) => {
      const when = rules.find((r) => r.id === rule.ruleId)?.when;
      const op = when?.kind === 'compare' ? (OPS[when.op as string] ?? String(when.op)) : '≥';
      const unit = q.type === 'quantity' ? ` ${q.unitDisplay ?? q.unit ?? ''}`.trimEnd() : '';
      const lines: ThresholdLine[] = [
        { value: rule.current, kind: 'flow', label: t('chart.thresholdFlow', { op, value: `${fmt(language, rule.current)}${unit}` }) },
      ];
      const own = teamOverrides?.[rule.ruleId];
      if (typeof own === 'number' && own !== rule.current)
        lines.push({ value: own, kind: 'team', label: t('chart.thresholdTeam', { op, value: `${fmt(language, own)}${unit}` }) });
      return lines;
    });
}

/** How many check-ins' transcripts a chart shows unless all are asked for. */
export const TRANSCRIPTS_SHOWN = 30;

export interface ChartView {
  data: ChartData;
  /** Show every check-in's transcript, not only the newest ones. */
  allTranscripts?: boolean;
  flows: ReadonlyMap<string, Flow>;
  t: T;
  language: UiLanguage;
}

export function chartBody(view: ChartView): HtmlEscapedString {
  const { data, t, language, flows } = view;
  const p = data.patient;
  const patientLanguage: Language = isLanguage(p.language) ? p.language : 'de';
  const name = p.displayName ?? p.matrixUserId;
  const day = (at: Date) => at.toLocaleDateString(language === 'de' ? 'de-DE' : 'en-GB', { day: '2-digit', month: '2-digit', timeZone: 'Europe/Berlin' });
  const checkinFlow = new Map(data.checkins.map((c) => [c.id, c.flowId]));
  // Indexes, so a year of daily check-ins is not a quadratic scan.
  const byCheckin = new Map<string, typeof data.answers>();
  for (const a of data.answers) {
    const list = byCheckin.get(a.checkinId);
    if (list) list.push(a);
    else byCheckin.set(a.checkinId, [a]);
  }
  const alertsByCheckin = new Map<string, typeof data.alerts>();
  for (const e of data.alerts) {
    if (!e.checkinId) continue;
    const list = alertsByCheckin.get(e.checkinId);
    if (list) list.push(e);
    else alertsByCheckin.set(e.checkinId, [e]);
  }
  const answerOf = (checkinId: string, questionId: string) => byCheckin.get(checkinId)?.find((a) => a.questionId === questionId);
  const flowIds = [...new Set([...data.enrollments.map((e) => e.enrollment.flowId), ...data.checkins.map((c) => c.flowId)])];
  const answersOf = (flowId: string, questionId: string) => data.answers.filter((a) => a.questionId === questionId && checkinFlow.get(a.checkinId) === flowId);

  const sections = flowIds.flatMap((flowId) => {
    const flow = flows.get(flowId);
    if (!flow) return [];
    const enrollment =
      data.enrollments.find((e) => e.enrollment.flowId === flowId && e.enrollment.status === 'active') ??
      data.enrollments.find((e) => e.enrollment.flowId === flowId);
    const overrides = (enrollment?.thresholds as Record<string, Record<string, number>> | undefined)?.[flowId];
    const numeric = flow.questions.filter((q) => q.type === 'quantity' || q.type === 'scale');
    const plots = numeric.flatMap((q) => {
      const points: TrendPoint[] = answersOf(flowId, q.id).flatMap((a) => {
        const v = a.value as AnswerValue;
        return v.type === 'number'
          ? [{ at: a.answeredAt, value: v.value, label: `${formatTime(a.answeredAt, language)}: ${formatAnswer(q, v, language)}` }]
          : [];
      });
      if (points.length === 0) return [];
      const alerts: TrendPoint[] = data.alerts.flatMap((e) => {
        const d = e.details as { itemId?: unknown; values?: Record<string, AnswerValue> };
        const v = d.values?.[q.id];
        if (d.itemId !== q.id || v?.type !== 'number' || (e.checkinId && checkinFlow.get(e.checkinId) !== flowId)) return [];
        return [
          {
            at: e.createdAt,
            value: v.value,
            label: `${t('chart.alertMarker')} ${t(`severity.${e.severity}` as TextKey)}: ${formatAnswer(q, v, language)} (${formatTime(e.createdAt, language)})`,
          },
        ];
      });
      const label = questionLabel(q, language);
      const thresholds = thresholdsOf(flow, q, overrides, language, t);
      const unit = q.type === 'quantity' ? (q.unitDisplay ?? q.unit ?? '') : '';
      const svg = trendSvg({
        id: `trend-${flowId}-${q.id}`,
        title: `${label}${unit ? ` (${unit})` : ''}`,
        description: `${points.length} · ${thresholds.map((x) => x.label).join(' · ')}`,
        points,
        thresholds,
        alerts,
        min: q.type === 'scale' ? q.min : undefined,
        max: q.type === 'scale' ? q.max : undefined,
        tick: day,
        number: (v) => fmt(language, v),
      });
      return [
        html`<figure class="plot" data-question="${q.id}"><figcaption>${label}${unit ? ` (${unit})` : ''}</figcaption>${svg}
<details><summary>${t('chart.table')}</summary><table><thead><tr><th scope="col">${t('chart.date')}</th><th scope="col">${t('chart.value')}</th></tr></thead><tbody>${points.map((pt) => html`<tr><td>${formatTime(pt.at, language)}</td><td>${fmt(language, pt.value, 2)}</td></tr>`)}</tbody></table></details></figure>`,
      ];
    });
    const choices = flow.questions.filter((q) => q.type === 'choice' || q.type === 'multi-choice' || q.type === 'boolean');
    const runs = data.checkins.filter((c) => c.flowId === flowId && (byCheckin.get(c.id) ?? []).some((a) => choices.some((q) => q.id === a.questionId)));
    const timeline =
      runs.length === 0
        ? ''
        : html`<h3>${t('chart.choices')}</h3><div class="scroll" tabindex="0" role="region" aria-label="${t('chart.choices')}"><table class="timeline"><thead><tr><th scope="col">${t('chart.date')}</th>${choices.map((q) => html`<th scope="col">${questionLabel(q, language)}</th>`)}</tr></thead><tbody>${runs.map(
            (c) =>
              html`<tr><th scope="row">${formatTime(c.startedAt ?? c.createdAt, language)}</th>${choices.map((q) => {
                const a = answerOf(c.id, q.id);
                return html`<td>${a ? formatAnswer(q, a.value as AnswerValue, language) : '–'}</td>`;
              })}</tr>`,
          )}</tbody></table></div>`;
    return [
      html`<section class="flow" aria-labelledby="flow-${flowId}"><h2 id="flow-${flowId}">${localize(flow.title, language)}</h2>${plots.length > 0 ? html`<h3>${t('chart.trends')}</h3><div class="plots">${plots}</div>` : html`<p>${t('chart.noValues')}</p>`}${timeline}</section>`,
    ];
  });

  const asked = new Map<string, string>();
  const questionText = (q: Question) => {
    const key = `${q.id}:${patientLanguage}`;
    let text = asked.get(key);
    if (text === undefined) asked.set(key, (text = questionMessage(q, patientLanguage).text));
    return text;
  };
  const rtl = isRightToLeft(patientLanguage);
  const newestFirst = [...data.checkins].reverse();
  const shown = view.allTranscripts ? newestFirst : newestFirst.slice(0, TRANSCRIPTS_SHOWN);
  const transcripts = shown.map((c) => {
    const flow = flows.get(c.flowId);
    const given = byCheckin.get(c.id) ?? [];
    const alerts = alertsByCheckin.get(c.id) ?? [];
    return html`<details class="transcript"><summary>${formatTime(c.startedAt ?? c.createdAt, language)} · ${flow ? localize(flow.title, language) : c.flowId} · ${t(`checkin.status.${c.status}` as TextKey)}</summary>
${given.length === 0 ? html`<p>${t('chart.noAnswers')}</p>` : ''}
<ol>${given.map((a) => {
      const q = flow?.questions.find((x) => x.id === a.questionId);
      const v = a.value as AnswerValue;
      if (!q) return html`<li>${a.questionId}: ${JSON.stringify(v)}</li>`;
      const own = formatAnswer(q, v, patientLanguage);
      const mine = formatAnswer(q, v, language);
      return html`<li><p class="bot"><span class="label">${t('chart.asked')}:</span> <span lang="${patientLanguage}"${rtl ? html` dir="rtl"` : ''}>${questionText(q)}</span></p>
<p class="patient"><span class="label">${t('chart.answered')} (${formatTime(a.answeredAt, language, false)}):</span> <span lang="${patientLanguage}"${rtl ? html` dir="rtl"` : ''}>${own}</span>${mine !== own ? html` <span class="rendering">(${t('chart.rendering')}: <span lang="${language}">${mine}</span>)</span>` : ''}</p></li>`;
    })}
${alerts.flatMap((e) => patientWords(e.details as Record<string, unknown>).map((w) => html`<li><p class="patient"><span class="label">${t('chart.patientWrote')} (${formatTime(e.createdAt, language, false)}):</span> <span lang="${patientLanguage}">«${w}»</span></p></li>`))}</ol></details>`;
  });

  const alertList = data.alerts.filter((e) => !e.dedupeOf);
  return html`<h1>${t('chart.title', { name })} <span class="short">#${p.id.slice(0, 8)}</span></h1>
<p class="meta">${p.matrixUserId} · ${patientLanguage} · ${t(`status.${p.monitoring}` as TextKey)} · <a href="/app/patients/${p.id}/everything" download="patient-${p.id}.fhir.json">${t('chart.download')}</a></p>
<section aria-labelledby="enrollments"><h2 id="enrollments">${t('chart.enrollments')}</h2><ul>${data.enrollments.map(
    (e) =>
      html`<li>${e.enrollment.flowId} · ${t('chart.anchor', { date: e.enrollment.anchorDate })} · ${t('chart.team', { team: e.teamName })} · ${e.enrollment.status}</li>`,
  )}</ul></section>
${sections}
<section aria-labelledby="alerts"><h2 id="alerts">${t('chart.alerts')}</h2>${
    alertList.length === 0
      ? html`<p>–</p>`
      : html`<ul class="alert-list">${alertList.map((e) => {
          const flow = e.checkinId ? flows.get(checkinFlow.get(e.checkinId) ?? '') : undefined;
          const values = alertValues(e.details as Record<string, unknown>, flow, language);
          return html`<li class="${e.severity}"><span class="badge ${e.severity}">${t(`severity.${e.severity}` as TextKey)}</span> ${formatTime(e.createdAt, language)} · ${trigger({ ...e, details: e.details as Record<string, unknown> }, flow, language, t)}${values.length > 0 ? ` (${values.join(', ')})` : ''} · ${e.acknowledgedAt ? t('chart.acknowledgedBy', { who: e.acknowledgedBy ?? '' }) : t('chart.open')}</li>`;
        })}</ul>`
  }</section>
<section aria-labelledby="photos"><h2 id="photos">${t('chart.photos')}</h2>${
    data.photos.length === 0
      ? html`<p>${t('chart.noPhotos')}</p>`
      : html`<ul class="photos">${data.photos.map(
          (ph) =>
            html`<li><a href="/app/patients/${p.id}/photos/${ph.id}"><img src="/app/patients/${p.id}/photos/${ph.id}" alt="${t('chart.photoAlt', { date: formatTime(ph.createdAt, language) })}" loading="lazy" width="240"></a></li>`,
        )}</ul>`
  }</section>
<section aria-labelledby="transcripts"><h2 id="transcripts">${t('chart.transcripts')}</h2><p class="hint">${t('chart.transcriptNote')}</p>${transcripts}${shown.length < newestFirst.length ? html`<p><a href="/app/patients/${p.id}?transcripts=all#transcripts">${t('chart.allTranscripts', { count: newestFirst.length })}</a></p>` : ''}</section>` as HtmlEscapedString;
}
