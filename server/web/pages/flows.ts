import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Flow, LocalizedText } from '../../../core/flow/model.ts';
import { localize } from '../../../core/flow/text.ts';
import type { Language } from '../../../core/language.ts';
import type { T, UiLanguage } from '../i18n.ts';

/** One text of a flow in every language: where it is (a path like `questions.pain.text`) and its translations. */
export interface FlowText {
  path: string;
  text: LocalizedText;
  /** For clinicians (alert messages): German and English are enough. */
  clinicians?: boolean;
}

/** The languages a text must have: every language of the flow, for clinicians' texts its German and English. */
export const requiredLanguages = (flow: Flow, text: FlowText): Language[] =>
  text.clinicians ? flow.languages.filter((l) => l === 'de' || l === 'en') : flow.languages;

/** Every patient- or clinician-facing text of a flow, in flow order. */
export function flowTexts(flow: Flow): FlowText[] {
  const out: FlowText[] = [];
  const add = (path: string, text: LocalizedText | undefined, clinicians = false) => {
    if (text && Object.keys(text).length > 0) out.push({ path, text, ...(clinicians ? { clinicians } : {}) });
  };
  add('title', flow.title);
  add('description', flow.description);
  add('intro', flow.intro);
  for (const q of flow.questions) {
    add(`questions.${q.id}.text`, q.text);
    add(`questions.${q.id}.label`, q.label);
    add(`questions.${q.id}.hint`, q.hint);
    if (q.type === 'scale') {
      add(`questions.${q.id}.minLabel`, q.minLabel);
      add(`questions.${q.id}.maxLabel`, q.maxLabel);
    }
    if (q.type === 'choice' || q.type === 'multi-choice') for (const o of q.options) add(`questions.${q.id}.options.${o.code}`, o.text);
    for (const r of q.escalations) add(`questions.${q.id}.escalations.${r.id}.message`, r.message, true);
  }
  for (const c of flow.computed) {
    add(`computed.${c.id}.text`, c.text);
    for (const r of c.escalations) add(`computed.${c.id}.escalations.${r.id}.message`, r.message, true);
  }
  for (const r of flow.escalations) add(`escalations.${r.id}.message`, r.message, true);
  add('outro', flow.outro);
  return out;
}

/** The flow's texts that lack one of its declared languages. */
export function missingTexts(flow: Flow): Array<{ path: string; language: Language }> {
  return flowTexts(flow).flatMap((t) =>
    requiredLanguages(flow, t)
      .filter((l) => !t.text[l])
      .map((language) => ({ path: t.path, language })),
  );
}

export function flowsBody(view: { flows: readonly Flow[]; t: T; language: UiLanguage }): HtmlEscapedString {
  const { t, language } = view;
  return html`<h1>${t('flows.title')}</h1>
<table><caption class="visually-hidden">${t('flows.title')}</caption>
<thead><tr><th scope="col">${t('flows.flow')}</th><th scope="col">${t('flows.version')}</th><th scope="col">${t('flows.languages')}</th><th scope="col">${t('flows.questions')}</th><th scope="col">${t('flows.missing')}</th></tr></thead>
<tbody>${view.flows.map((f) => {
    const missing = missingTexts(f).length;
    return html`<tr><th scope="row"><a href="/app/flows/${f.id}">${localize(f.title, language)}</a> <span class="short">${f.id}</span></th><td>${f.version}</td><td>${f.languages.join(', ')}</td><td>${f.questions.length}</td><td>${missing === 0 ? '0' : html`<span class="badge warning">${missing}</span>`}</td></tr>`;
  })}</tbody></table>` as HtmlEscapedString;
}

/** The table of every text in every declared language; a missing translation is marked. */
export function flowTextsBody(view: { flow: Flow; t: T; language: UiLanguage; heading?: 1 | 2 }): HtmlEscapedString {
  const { flow, t, language } = view;
  const texts = flowTexts(flow);
  const missing = missingTexts(flow).length;
  return html`${view.heading === 2 ? '' : html`<h1>${localize(flow.title, language)} <span class="short">${flow.id} · ${flow.version}</span></h1><p><a class="button" href="/app/flows/${flow.id}/edit">${t('editor.open')}</a></p>`}
<h2>${t('flows.texts')}</h2>
<p>${missing === 0 ? t('flows.complete') : t('flows.missingCount', { count: missing })}</p>
<div class="scroll" tabindex="0" role="region" aria-label="${t('flows.texts')}"><table class="texts"><caption class="visually-hidden">${t('flows.texts')}</caption>
<thead><tr><th scope="col">${t('flows.where')}</th>${flow.languages.map((l) => html`<th scope="col" lang="${l}">${l}</th>`)}</tr></thead>
<tbody>${texts.map(
    (x) =>
      html`<tr><th scope="row"><code>${x.path}</code></th>${flow.languages.map((l) =>
        x.text[l]
          ? html`<td lang="${l}"${l === 'ar' ? html` dir="rtl"` : ''}>${x.text[l]}</td>`
          : requiredLanguages(flow, x).includes(l)
            ? html`<td class="missing">${t('flows.missingText')}</td>`
            : html`<td class="optional">${t('flows.notNeeded')}</td>`,
      )}</tr>`,
  )}</tbody></table></div>` as HtmlEscapedString;
}
