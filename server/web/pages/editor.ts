import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { TryEvent } from '../../../core/conversation/try.ts';
import type { Flow } from '../../../core/flow/model.ts';
import { localize } from '../../../core/flow/text.ts';
import { isRightToLeft, type Language } from '../../../core/language.ts';
import type { T, UiLanguage } from '../i18n.ts';
import { csrfField, type PageUser } from '../layout.ts';
import { flowTextsBody } from './flows.ts';

/** A problem of the flow text, located when the text has positions. */
export interface Problem {
  message: string;
  hint?: string | undefined;
  path?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
}

export function problemsList(problems: readonly Problem[], t: T): HtmlEscapedString {
  if (problems.length === 0) return html`<p class="ok">${t('editor.noProblems')}</p>` as HtmlEscapedString;
  return html`<ul class="problems">${problems.map(
    (p) =>
      html`<li>${p.line !== undefined ? html`<a href="#flow-yaml" data-line="${p.line}" data-col="${p.column ?? 1}">${t('editor.at', { line: p.line, column: p.column ?? 1 })}</a>: ` : p.path ? html`<code>${p.path}</code>: ` : ''}${p.message}${p.hint ? html` <span class="hint">(${p.hint})</span>` : ''}</li>`,
  )}</ul>` as HtmlEscapedString;
}

export interface DiffView {
  from: string | null;
  to: string;
  texts: Array<{ key: string; language: string; before: string | null; after: string | null }>;
  thresholds: Array<{ ruleId: string; questionId: string; before: number; after: number }>;
  questions: Array<Record<string, unknown>>;
  rules: Array<Record<string, unknown>>;
}

export interface EditorView {
  t: T;
  language: UiLanguage;
  user: PageUser;
  flowId: string;
  text: string;
  /** The draft's state: none yet, being written, or submitted for review. */
  draft: { version: string; status: 'draft' | 'in_review' } | null;
  compiled: Flow | undefined;
  problems: Problem[];
  diff?: DiffView | undefined;
  chat?: { lang: Language; answers: string[]; events: TryEvent[] } | undefined;
  notice?: string | undefined;
  error?: string | undefined;
  canWrite: boolean;
  canPublish: boolean;
}

export function editorBody(view: EditorView): HtmlEscapedString {
  const { t, flowId } = view;
  const languages = view.compiled?.languages ?? ['de'];
  const chatLang = view.chat?.lang ?? 'de';
  return html`<h1>${t('editor.title', { flow: view.compiled ? localize(view.compiled.title, view.language) : flowId })} <span class="short">${flowId}</span></h1>
<p class="meta">${view.draft ? t(view.draft.status === 'in_review' ? 'editor.inReview' : 'editor.draft', { version: view.draft.version }) : t('editor.noDraft')}</p>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
${view.error ? html`<div class="error-summary" role="alert"><p>${view.error}</p></div>` : ''}
<div class="editor">
<section aria-labelledby="yaml-h">
<h2 id="yaml-h">${t('editor.yaml')}</h2>
<form method="post" action="/app/flows/${flowId}/draft">${csrfField(view.user)}
<label for="flow-yaml" class="visually-hidden">${t('editor.yaml')}</label>
<textarea id="flow-yaml" name="yaml" class="code" spellcheck="false" data-validate="/app/flows/${flowId}/validate" aria-describedby="yaml-problems"${view.canWrite ? '' : html` readonly`}>${view.text}</textarea>
${view.canWrite ? html`<p><button type="submit">${t('editor.save')}</button></p>` : ''}
</form>
</section>
<section aria-labelledby="problems-h">
<h2 id="problems-h">${t('editor.problems')}</h2>
<div id="yaml-problems" role="status" aria-live="polite">${problemsList(view.problems, t)}</div>
<h2 id="preview-h">${t('editor.preview')}</h2>
<form method="post" action="/app/flows/${flowId}/try" class="form">${csrfField(view.user)}
<label for="try-lang">${t('editor.language')}</label>
<select id="try-lang" name="lang">${languages.map((l) => html`<option value="${l}"${l === chatLang ? html` selected` : ''}>${l}</option>`)}</select>
<label for="try-answers">${t('editor.answers')}</label>
<textarea id="try-answers" name="answers" rows="4">${(view.chat?.answers ?? []).join('\n')}</textarea>
<button type="submit" class="secondary">${t('editor.try')}</button>
</form>
${
  view.chat
    ? html`<div class="chat" id="chat" aria-label="${t('editor.preview')}" tabindex="0" role="region">${view.chat.events.flatMap((e) => {
        if (e.type === 'bot') return [html`<p class="from-bot" lang="${e.lang}"${isRightToLeft(e.lang) ? html` dir="rtl"` : ''}>${e.text}</p>`];
        if (e.type === 'alert')
          return [html`<p class="alert-event"><span class="badge ${e.severity}">${e.severity}</span> ${e.ruleId}: ${e.message ?? ''}</p>`];
        return [];
      })}</div>`
    : ''
}
</section>
</div>
${view.compiled ? flowTextsBody({ flow: view.compiled, t, language: view.language, heading: 2 }) : ''}
${
  view.diff
    ? html`<h2>${t('editor.diff', { from: view.diff.from ?? '–', to: view.diff.to })}</h2>
<div class="scroll diff" tabindex="0" role="region" aria-label="${t('editor.diff', { from: view.diff.from ?? '–', to: view.diff.to })}"><table><thead><tr><th scope="col">${t('flows.where')}</th><th scope="col">${t('editor.lang')}</th><th scope="col">${t('editor.before')}</th><th scope="col">${t('editor.after')}</th></tr></thead><tbody>
${view.diff.texts.map((d) => html`<tr><th scope="row"><code>${d.key}</code></th><td>${d.language}</td><td>${d.before !== null ? html`<del>${d.before}</del>` : '–'}</td><td>${d.after !== null ? html`<ins>${d.after}</ins>` : '–'}</td></tr>`)}
${view.diff.thresholds.map((d) => html`<tr><th scope="row"><code>${d.ruleId}</code></th><td>${d.questionId}</td><td><del>${d.before}</del></td><td><ins>${d.after}</ins></td></tr>`)}
${[...view.diff.questions, ...view.diff.rules].map((d) => html`<tr><th scope="row"><code>${String(d['id'] ?? '')}</code></th><td>${String(d['change'] ?? '')}</td><td colspan="2">${Array.isArray(d['fields']) ? (d['fields'] as unknown[]).join(', ') : ''}</td></tr>`)}
</tbody></table></div>`
    : ''
}
<h2>${t('editor.release')}</h2>
<div class="batch">
${view.canWrite && view.draft?.status === 'draft' ? html`<form method="post" action="/app/flows/${flowId}/submit">${csrfField(view.user)}<button type="submit">${t('editor.submit')}</button></form>` : ''}
${view.canPublish && view.draft?.status === 'in_review' ? html`<form method="post" action="/app/flows/${flowId}/publish">${csrfField(view.user)}<button type="submit">${t('editor.publish')}</button></form>` : ''}
</div>
<p class="hint">${t('editor.fourEyes')}</p>` as HtmlEscapedString;
}
