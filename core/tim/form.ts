import type { Coding, Extension, Questionnaire, QuestionnaireItem } from '@medplum/fhirtypes';
import { isFormQuestion } from '../engine/form.ts';
import { questionLabel } from '../engine/render.ts';
import { exportQuestionnaire } from '../fhir/export.ts';
import { FORM_DEFINITION, mdrExtension, versioned, type MdrRelevance } from '../fhir/isik.ts';
import { EXT } from '../fhir/urls.ts';
import { assertValidR4 } from '../fhir/validate.ts';
import type { Flow, LocalizedText, Question } from '../flow/model.ts';
import { localize } from '../flow/text.ts';
import { translator } from '../i18n.ts';
import type { Language } from '../language.ts';

/**
 * A flow as the form a patient's TI-M client renders: an `ISiKFormularDefinition`
 * (ISiK Formularmodul, core/fhir/isik.ts) in the patient's language. It is the
 * flow's FHIR export (core/fhir/export.ts: items, types, answer options,
 * enableWhen, units, ranges, item controls) without what the patient's client
 * has no use for: Visite's own extensions (alert rules and thresholds,
 * schedule, labels), the other languages, computed values (Visite calculates
 * them) and photo questions (they stay in the chat, where the messenger's
 * camera and encrypted upload work).
 */

/** Standard extensions a form renderer can use; everything else (Visite's own) stays home. */
const KEPT_EXTENSIONS: ReadonlySet<string> = new Set([
  EXT.unit,
  EXT.minValue,
  EXT.maxValue,
  EXT.maxDecimalPlaces,
  EXT.itemControl,
  EXT.optionExclusive,
  EXT.enableWhenExpression,
  EXT.observationExtract,
]);

export interface FormOptions {
  /** The MDR relevance the operator declares (VISITE_TIM_MDR_RELEVANCE); `rel` adds the ISiK modifier extension. */
  mdr: MdrRelevance;
}

/** Does the flow have anything a form can ask? (A flow of photos only is asked in the chat.) */
export function hasFormQuestions(flow: Flow): boolean {
  return flow.questions.some((q) => q.type !== 'info' && isFormQuestion(q));
}

export function formQuestionnaire(flow: Flow, lang: Language, options: FormOptions): Questionnaire {
  const exported = exportQuestionnaire(flow);
  const t = (text: LocalizedText | undefined) => (text ? localize(text, lang) : '');
  const questions = new Map(flow.questions.map((q) => [q.id, q]));

  // Photos stay in the chat, and so does whatever only a photo answer could enable.
  const left = new Set<string>();
  for (const q of flow.questions) {
    const depends = (exported.item ?? []).find((i) => i.linkId === q.id)?.enableWhen?.map((w) => w.question) ?? [];
    if (!isFormQuestion(q) || depends.some((id) => left.has(id) || !questions.has(id))) left.add(q.id);
  }

  const items: QuestionnaireItem[] = [];
  for (const item of exported.item ?? []) {
    const q = questions.get(item.linkId);
    if (!q || left.has(q.id)) continue; // computed values and chat-only questions
    items.push(localizeItem(item, q, lang));
  }

  const questionnaire: Questionnaire = {
    resourceType: 'Questionnaire',
    id: flow.id,
    meta: { profile: [versioned(FORM_DEFINITION)] },
    language: lang,
    url: flow.url,
    version: flow.version,
    name: exported.name,
    title: t(flow.title),
    status: 'active',
    subjectType: ['Patient'],
    description: flow.description ? t(flow.description) : translator(lang)('form.description', { title: t(flow.title) }),
    item: items,
  };
  if (flow.publisher) questionnaire.publisher = flow.publisher;
  if (options.mdr === 'rel') questionnaire.modifierExtension = [mdrExtension('rel')];
  assertValidR4(questionnaire);
  return questionnaire;
}

function keep(extensions: Extension[] | undefined): Extension[] | undefined {
  const kept = (extensions ?? []).filter((e) => KEPT_EXTENSIONS.has(e.url));
  return kept.length > 0 ? kept : undefined;
}

function localizeItem(item: QuestionnaireItem, q: Question, lang: Language): QuestionnaireItem {
  const out: QuestionnaireItem = { ...item, text: localize(q.text, lang) };
  delete (out as { _text?: unknown })._text;
  const extension = keep(item.extension);
  if (extension) out.extension = extension;
  else delete out.extension;
  if (item.answerOption && (q.type === 'choice' || q.type === 'multi-choice')) {
    out.answerOption = item.answerOption.map((option) => {
      const code = option.valueCoding?.code;
      const source = q.options.find((o) => o.code === code);
      const coding: Coding = { ...option.valueCoding, display: source ? localize(source.text, lang) : (option.valueCoding?.display ?? '') };
      delete (coding as { _display?: unknown })._display;
      const ext = keep(option.extension);
      return ext ? { valueCoding: coding, extension: ext } : { valueCoding: coding };
    });
  }
  if (item.item) {
    out.item = item.item.map((child) => {
      const source = child.linkId.endsWith('.help')
        ? q.hint
        : child.linkId.endsWith('.lower') && q.type === 'scale'
          ? q.minLabel
          : child.linkId.endsWith('.upper') && q.type === 'scale'
            ? q.maxLabel
            : undefined;
      const localized: QuestionnaireItem = { ...child, text: source ? localize(source, lang) : (child.text ?? '') };
      delete (localized as { _text?: unknown })._text;
      const ext = keep(child.extension);
      if (ext) localized.extension = ext;
      else delete localized.extension;
      return localized;
    });
  }
  return out;
}

/**
 * The plain-text fallback of the form event (`de.gematik.text`), for devices
 * of the patient that cannot show the form: what it is and that the chat works
 * too. The questions are not listed: the chat asks them one by one.
 */
export function formFallbackText(flow: Flow, lang: Language): string {
  return translator(lang)('form.fallback', { title: localize(flow.title, lang) });
}

/** The names (labels) of questions, for messages about them. */
export function questionNames(flow: Flow, ids: readonly string[], lang: Language): string {
  return ids
    .map((id) => flow.questions.find((q) => q.id === id))
    .filter((q): q is Question => q !== undefined)
    .map((q) => questionLabel(q, lang))
    .join(', ');
}
