import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { PatientOverview } from '../../../db/web.ts';
import type { T, TextKey, UiLanguage } from '../i18n.ts';
import { formatTime } from '../layout.ts';

export function patientsBody(view: {
  rows: readonly PatientOverview[];
  search: string;
  teams: ReadonlyArray<{ id: string; name: string }>;
  teamId: string | undefined;
  t: T;
  language: UiLanguage;
}): HtmlEscapedString {
  const { t, language } = view;
  const teamName = new Map(view.teams.map((team) => [team.id, team.name]));
  return html`<h1>${t('patients.title')}</h1>
<form method="get" action="/app/patients" class="filters" role="search">
  <label>${t('patients.search')} <input type="search" name="q" value="${view.search}"></label>
  <label>${t('worklist.team')} <select name="team"><option value="">${t('worklist.allTeams')}</option>${view.teams.map((team) => html`<option value="${team.id}"${view.teamId === team.id ? html` selected` : ''}>${team.name}</option>`)}</select></label>
  <button type="submit" class="secondary">${t('patients.searchButton')}</button>
</form>
${
  view.rows.length === 0
    ? html`<p>${t('patients.none')}</p>`
    : html`<table class="patients">
<caption class="visually-hidden">${t('patients.title')}</caption>
<thead><tr><th scope="col">${t('patients.name')}</th><th scope="col">${t('patients.status')}</th><th scope="col">${t('patients.flows')}</th><th scope="col">${t('patients.lastCheckin')}</th><th scope="col">${t('patients.missed')}</th><th scope="col">${t('patients.openAlerts')}</th></tr></thead>
<tbody>${view.rows.map(
        (p) => html`<tr>
<th scope="row"><a href="/app/patients/${p.id}">${p.displayName ?? p.matrixUserId}</a> <span class="short">#${p.id.slice(0, 8)}</span></th>
<td>${t(`status.${p.monitoring}` as TextKey)}</td>
<td>${p.flows.join(', ')}${p.teamId ? html` <span class="team">(${teamName.get(p.teamId) ?? ''})</span>` : ''}</td>
<td>${p.lastCheckinAt ? html`<time datetime="${p.lastCheckinAt.toISOString()}">${formatTime(p.lastCheckinAt, language)}</time>` : t('patients.never')}</td>
<td>${p.missed}</td>
<td>${p.openAlerts > 0 ? html`<span class="badge ${p.urgentAlerts > 0 ? 'urgent' : 'warning'}">${p.openAlerts}</span>` : '0'}</td>
</tr>`,
      )}</tbody></table>`
}` as HtmlEscapedString;
}
