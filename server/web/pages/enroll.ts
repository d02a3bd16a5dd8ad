import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { LANGUAGES } from '../../../core/language.ts';
import type { T } from '../i18n.ts';
import { csrfField, type PageUser } from '../layout.ts';

export const ENROLL_FIELDS = ['matrixUserId', 'displayName', 'language', 'timeZone', 'flowId', 'careTeamId', 'anchorDate'] as const;
export type EnrollField = (typeof ENROLL_FIELDS)[number];

export interface EnrollView {
  t: T;
  user: PageUser;
  flows: ReadonlyArray<{ id: string; title: string }>;
  teams: ReadonlyArray<{ id: string; name: string }>;
  values: Partial<Record<EnrollField, string>>;
  /** Problems by field, as the API names them. */
  errors: Partial<Record<EnrollField | 'form', string>>;
  done?: string | undefined;
}

export function enrollBody(view: EnrollView): HtmlEscapedString {
  const { t, values, errors } = view;
  const field = (name: EnrollField, label: string, control: HtmlEscapedString | Promise<HtmlEscapedString>) => {
    const error = errors[name];
    return html`<div class="field${error ? ' invalid' : ''}"><label for="f-${name}">${label}</label>${control}${error ? html`<p class="error" id="e-${name}">${error}</p>` : ''}</div>`;
  };
  const aria = (name: EnrollField) => (errors[name] ? html` aria-invalid="true" aria-describedby="e-${name}"` : '');
  const input = (name: EnrollField, type = 'text', extra = '') =>
    html`<input id="f-${name}" name="${name}" type="${type}" value="${values[name] ?? ''}"${aria(name)}${extra ? raw(` ${extra}`) : ''}>`;
  const select = (name: EnrollField, options: ReadonlyArray<{ value: string; label: string }>) =>
    html`<select id="f-${name}" name="${name}"${aria(name)}>${options.map((o) => html`<option value="${o.value}"${values[name] === o.value ? html` selected` : ''}>${o.label}</option>`)}</select>`;
  const hasErrors = Object.keys(errors).length > 0;
  return html`<h1>${t('enroll.title')}</h1>
<p>${t('enroll.intro')}</p>
${view.done ? html`<p class="notice" role="status">${view.done}</p>` : ''}
${hasErrors ? html`<div class="error-summary" role="alert"><p>${t('enroll.errors')}</p>${errors.form ? html`<p>${errors.form}</p>` : ''}</div>` : ''}
<form method="post" action="/app/enroll" class="form" novalidate>${csrfField(view.user)}
${field('matrixUserId', t('enroll.matrixUserId'), input('matrixUserId', 'text', 'autocomplete="off" spellcheck="false" placeholder="@erika.muster:klinik.de"'))}
${field('displayName', t('enroll.displayName'), input('displayName', 'text', 'autocomplete="off"'))}
${field(
  'language',
  t('enroll.language'),
  select(
    'language',
    LANGUAGES.map((l) => ({ value: l, label: l })),
  ),
)}
${field('timeZone', t('enroll.timeZone'), input('timeZone'))}
${field('flowId', t('enroll.flow'), select('flowId', [{ value: '', label: '–' }, ...view.flows.map((f) => ({ value: f.id, label: f.title }))]))}
${field('careTeamId', t('enroll.team'), select('careTeamId', [{ value: '', label: '–' }, ...view.teams.map((team) => ({ value: team.id, label: team.name }))]))}
${field('anchorDate', t('enroll.anchorDate'), input('anchorDate', 'date'))}
<button type="submit">${t('enroll.submit')}</button>
</form>` as HtmlEscapedString;
}
