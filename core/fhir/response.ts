import type { Observation, Patient, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer, Reference } from '@medplum/fhirtypes';
import type { ComputedValue, Flow, Question } from '../flow/model.ts';
import type { AnswerValue, ConversationState } from '../engine/types.ts';
import { FORM_DATA, ISIK, mdrExtension, versioned, type MdrRelevance } from './isik.ts';
import { primary, withElement } from './text.ts';
import { EXT, LOINC, OBSERVATION_CATEGORY, UCUM } from './urls.ts';
import { assertValidR4 } from './validate.ts';

/**
 * A finished conversation as FHIR: one QuestionnaireResponse (status
 * completed) and one Observation per extractable answer following SDC
 * observation-based extraction (BRIEF §4). Ids come from the caller so the
 * functions stay pure and replays produce the same resources.
 */
export interface RunContext {
  /** e.g. "Patient/123" */
  subject: string;
  /** id for the QuestionnaireResponse; Observations get `${responseId}-<n>`. */
  responseId: string;
  subjectDisplay?: string;
  /** The MDR relevance the operator declares for the ISiK modifier extension (default `none`; VISITE_TIM_MDR_RELEVANCE). */
  mdr?: MdrRelevance;
}

/**
 * Which channel an answer came from (`chat` or `form`, core/engine/types.ts),
 * on each QuestionnaireResponse item and each Observation (docs/tim.md).
 */
function channelExtension(channel: 'chat' | 'form' | undefined) {
  return { url: EXT.answerChannel, valueCode: channel ?? 'chat' };
}

export interface RunResources {
  questionnaireResponse: QuestionnaireResponse;
  observations: Observation[];
}

/** Builds and validates (R4) the resources of a completed run; throws FhirValidationError on a bug. */
export function completeRun(flow: Flow, state: ConversationState, ctx: RunContext): RunResources {
  if (state.status !== 'completed') throw new Error(`conversation for ${flow.id} is not completed`);
  const questionnaireResponse = buildQuestionnaireResponse(flow, state, ctx);
  const observations = buildObservations(flow, state, ctx);
  assertValidR4(questionnaireResponse);
  for (const o of observations) assertValidR4(o);
  return { questionnaireResponse, observations };
}

function subjectRef(ctx: RunContext): Reference<Patient> {
  return ctx.subjectDisplay ? { reference: ctx.subject, display: ctx.subjectDisplay } : { reference: ctx.subject };
}

export function buildQuestionnaireResponse(flow: Flow, state: ConversationState, ctx: RunContext): QuestionnaireResponse {
  const item: QuestionnaireResponseItem[] = [];
  for (const q of flow.questions) {
    const stored = state.answers[q.id];
    if (!stored || state.outcomes[q.id] !== 'answered') continue;
    item.push({ linkId: q.id, text: primary(q.text), extension: [channelExtension(stored.channel)], answer: answersFor(flow, q, stored.value) });
  }
  for (const c of flow.computed) {
    const v = state.computed[c.id];
    if (v === undefined) continue;
    // ISiKFormularDaten: the question travels with the answer — for a computed value, its text or code.
    const entry: QuestionnaireResponseItem = { linkId: c.id, text: c.text ? primary(c.text) : (c.codes[0]?.display ?? c.id), answer: [computedAnswer(c, v)] };
    item.push(entry);
  }
  // Item texts are the German (primary) texts for the care team; answers are as the patient gave them.
  // ISiKFormularDaten (core/fhir/isik.ts): questionnaire with its title, status, subject, authored, MDR relevance.
  const qr: QuestionnaireResponse = {
    resourceType: 'QuestionnaireResponse',
    id: ctx.responseId,
    meta: { profile: [versioned(FORM_DATA)] },
    modifierExtension: [mdrExtension(ctx.mdr ?? 'none')],
    questionnaire: `${flow.url}|${flow.version}`,
    status: 'completed',
    subject: subjectRef(ctx),
    authored: state.completedAt ?? state.startedAt,
    author: subjectRef(ctx),
    source: subjectRef(ctx),
    item,
  };
  withElement(qr, '_questionnaire', { extension: [{ url: ISIK.displayExtension, valueString: primary(flow.title) }] });
  return qr;
}

function answersFor(flow: Flow, q: Question, v: AnswerValue): QuestionnaireResponseItemAnswer[] {
  switch (v.type) {
    case 'number':
      return [q.type === 'scale' || (q.type === 'quantity' && q.decimals === 0 && !q.unit) ? { valueInteger: v.value } : { valueDecimal: v.value }];
    case 'boolean':
      return [{ valueBoolean: v.value }];
    case 'choice':
    case 'choices': {
      const codes = v.type === 'choice' ? [v.code] : v.codes;
      return codes.map((code) => ({ valueCoding: optionCoding(flow, q, code) }));
    }
    case 'text':
      return [{ valueString: v.value }];
    case 'date':
      return [{ valueDate: v.value }];
    case 'attachment': {
      const a: NonNullable<QuestionnaireResponseItemAnswer['valueAttachment']> = { url: v.url, contentType: v.contentType };
      if (v.title) a.title = v.title;
      if (v.size !== undefined) a.size = v.size;
      return [{ valueAttachment: a }];
    }
  }
}

function optionCoding(flow: Flow, q: Question, code: string): { system: string; code: string; display?: string } {
  const o = q.type === 'choice' || q.type === 'multi-choice' ? q.options.find((x) => x.code === code) : undefined;
  return o ? { system: o.system, code, display: primary(o.text) } : { system: flow.codeSystem, code };
}

function computedAnswer(c: ComputedValue, v: number | boolean): QuestionnaireResponseItemAnswer {
  if (typeof v === 'boolean') return { valueBoolean: v };
  return c.type === 'integer' ? { valueInteger: v } : { valueDecimal: v };
}

/** LOINC vital signs (FHIR vital-signs profile) get that category; everything else is a survey answer. */
const VITAL_SIGNS = new Set([
  '8310-5',
  '8867-4',
  '8480-6',
  '8462-4',
  '85354-9',
  '9279-1',
  '59408-5',
  '2708-6',
  '29463-7',
  '8302-2',
  '39156-5',
  '9843-4',
  '8478-0',
]);
function category(codes: { system: string; code: string }[]): { system: string; code: string; display: string } {
  return codes.some((c) => c.system === LOINC && VITAL_SIGNS.has(c.code))
    ? { system: OBSERVATION_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }
    : { system: OBSERVATION_CATEGORY, code: 'survey', display: 'Survey' };
}

export function buildObservations(flow: Flow, state: ConversationState, ctx: RunContext): Observation[] {
  const out: Observation[] = [];
  const base = (codes: { system: string; code: string; display?: string }[], text: string | undefined, effective: string): Observation => {
    const o: Observation = {
      resourceType: 'Observation',
      id: `${ctx.responseId}-${out.length + 1}`,
      status: 'final',
      category: [{ coding: [category(codes)] }],
      code: text ? { coding: codes, text } : { coding: codes },
      subject: subjectRef(ctx),
      effectiveDateTime: effective,
      issued: state.completedAt ?? effective,
      performer: [subjectRef(ctx)],
      derivedFrom: [{ reference: `QuestionnaireResponse/${ctx.responseId}` }],
    };
    return o;
  };
  for (const q of flow.questions) {
    const stored = state.answers[q.id];
    if (!q.extract || !stored || state.outcomes[q.id] !== 'answered') continue;
    const v = stored.value;
    const codes = q.codes;
    const text = primary(q.text);
    const channel = [channelExtension(stored.channel)];
    if (v.type === 'choices' || v.type === 'choice') {
      // One Observation per selected option: codings in one CodeableConcept must be synonyms.
      for (const code of v.type === 'choice' ? [v.code] : v.codes) {
        const o = base(codes, text, stored.at);
        o.extension = channel;
        const c = optionCoding(flow, q, code);
        o.valueCodeableConcept = { coding: [c], text: c.display ?? code };
        out.push(o);
      }
      continue;
    }
    const o = base(codes, text, stored.at);
    o.extension = channel;
    switch (v.type) {
      case 'number':
        if (q.type === 'quantity' && q.unit) o.valueQuantity = { value: v.value, unit: q.unitDisplay ?? q.unit, system: UCUM, code: q.unit };
        else if (Number.isInteger(v.value)) o.valueInteger = v.value;
        else o.valueQuantity = { value: v.value };
        break;
      case 'boolean':
        o.valueBoolean = v.value;
        break;
      case 'text':
        o.valueString = v.value;
        break;
      case 'date':
        o.valueDateTime = v.value;
        break;
      case 'attachment':
        continue; // R4 Observation.value[x] has no Attachment; photos stay in the response.
    }
    out.push(o);
  }
  for (const c of flow.computed) {
    const v = state.computed[c.id];
    if (!c.extract || v === undefined) continue;
    const o = base(c.codes, c.text ? primary(c.text) : undefined, state.completedAt ?? state.startedAt);
    if (typeof v === 'boolean') o.valueBoolean = v;
    else if (c.unit) o.valueQuantity = { value: v, unit: c.unit, system: UCUM, code: c.unit };
    else if (c.type === 'integer') o.valueInteger = v;
    else o.valueQuantity = { value: v };
    out.push(o);
  }
  return out;
}
