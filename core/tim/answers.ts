import type { Extension, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from '@medplum/fhirtypes';
import type { AnswerValue } from '../engine/types.ts';
import { ISIK, sameIsikStage, type StructureInfo } from '../fhir/isik.ts';
import { validateR4 } from '../fhir/validate.ts';
import type { Flow } from '../flow/model.ts';

/**
 * A form the patient's TI-M client filled in — an `ISiKFormularDaten`
 * QuestionnaireResponse in a `de.gematik.fhir` event — read into answers the
 * engine checks like chat answers. Pure. Problems name the rule they come
 * from (the profile element, R4, or Visite's own rule), so the status the
 * patient's client gets back and the tests say the same thing.
 *
 * Whole-response problems (`ok: false`): the event does not say it carries
 * ISiKFormularDaten of Visite's ISiK stage, the resource is not valid R4, an
 * element the profile requires is missing, it answers another questionnaire
 * or belongs to another patient, it is not finished, or an unknown modifier
 * extension changes its meaning. Item problems leave the response usable: the
 * item is not taken and the chat asks it (`unreadable`).
 */
export interface FormProblem {
  /** Where the rule comes from, e.g. `ISiKFormularDaten.subject 1..1`, `R4`, `fhir.json structure_definition.url`. */
  rule: string;
  message: string;
  linkId?: string;
}

export type FormReading =
  | { ok: false; problems: FormProblem[] }
  | {
      ok: true;
      /** Typed answers by question id, as given; the engine checks ranges, options and lengths. */
      answers: Record<string, AnswerValue>;
      /** Items that could not be read (wrong value type, several answers to a single one, …): asked in the chat. */
      unreadable: string[];
      problems: FormProblem[];
      authored: string;
    };

export interface FormContext {
  /** What the event's `de.gematik.fhir.structure_definition` says. */
  structure: StructureInfo;
  /** Visite's id of the patient (the room's patient) and their Matrix id (the event's sender). */
  patientId: string;
  matrixUserId: string;
  /** The open check-in began then: a form authored earlier answers an earlier check-in. */
  notBefore?: Date;
}

/** Clocks of phones differ: a form authored this long before the check-in began still counts. */
const CLOCK_SKEW_MS = 10 * 60_000;

/** Statuses a finished form has; ISiK: an instance not `completed` should not be processed. */
const FINISHED = new Set(['completed', 'amended']);

/** A Matrix user as a URI (Matrix URI scheme, `matrix:u/<localpart>:<server>`), for `subject.identifier`. */
export function matrixUserUri(userId: string): string {
  return `matrix:u/${encodeURIComponent(userId.replace(/^@/, '')).replace(/%3A/gi, ':')}`;
}
export const URI_SYSTEM = 'urn:ietf:rfc:3986';

export function readFormResponse(flow: Flow, resource: unknown, ctx: FormContext): FormReading {
  const problems: FormProblem[] = [];
  const fail = (rule: string, message: string) => problems.push({ rule, message });

  // gematik fhir.json: the event must say what it carries.
  if (ctx.structure.url !== ISIK.formData) fail('fhir.json de.gematik.fhir.structure_definition.url', `expected ${ISIK.formData}, got ${ctx.structure.url}`);
  if (ctx.structure.type !== 'QuestionnaireResponse')
    fail('fhir.json de.gematik.fhir.structure_definition.type', `expected QuestionnaireResponse, got ${ctx.structure.type}`);
  if (!/^4\.0(\.\d+)?$/.test(ctx.structure.fhirVersion))
    fail('fhir.json de.gematik.fhir.structure_definition.fhir_version', `expected FHIR 4.0.x (R4), got ${ctx.structure.fhirVersion}`);
  if (!sameIsikStage(ctx.structure.version))
    fail('fhir.json de.gematik.fhir.structure_definition.version', `expected ISiK ${ISIK.version} (same major version), got ${ctx.structure.version}`);
  if (typeof resource !== 'object' || resource === null || (resource as { resourceType?: unknown }).resourceType !== 'QuestionnaireResponse') {
    fail('fhir.json de.gematik.fhir.resource', 'the resource is not a QuestionnaireResponse');
    return { ok: false, problems };
  }
  if (problems.length > 0) return { ok: false, problems };
  const qr = resource as QuestionnaireResponse;

  for (const issue of validateR4(qr)) {
    fail('R4', `${issue.details?.text ?? issue.diagnostics ?? issue.code}${issue.expression ? ` (${issue.expression.join(', ')})` : ''}`);
  }
  if (problems.length > 0) return { ok: false, problems };

  // ISiKFormularDaten 5.0.0: MDR relevance 1..1 (a modifier); any other modifier we do not know makes the form unreadable.
  const modifiers = qr.modifierExtension ?? [];
  const mdr = modifiers.filter((e) => e.url === ISIK.mdrExtension);
  if (mdr.length !== 1 || typeof mdr[0]?.valueCoding?.code !== 'string')
    fail('ISiKFormularDaten.modifierExtension:MDR-Relevant 1..1', 'the MDR relevance (ISiKMDRRelevanzFormularExtension with valueCoding) is required once');
  for (const m of modifiers) if (m.url !== ISIK.mdrExtension) fail('R4 modifierExtension', `unknown modifier extension ${m.url}`);

  // ISiKFormularDaten.questionnaire 1..1 with questionnaireDisplay 1..1, and it must be the flow's form.
  if (!qr.questionnaire) {
    fail('ISiKFormularDaten.questionnaire 1..1', 'questionnaire is required');
  } else {
    const [url, version] = qr.questionnaire.split('|');
    if (url !== flow.url || (version !== undefined && version !== flow.version)) {
      fail('Visite questionnaire', `answers ${qr.questionnaire}, but the open check-in asks ${flow.url}|${flow.version}`);
    }
  }
  const display = ((qr as { _questionnaire?: { extension?: Extension[] } })._questionnaire?.extension ?? []).filter((e) => e.url === ISIK.displayExtension);
  if (display.length !== 1 || typeof display[0]?.valueString !== 'string' || display[0].valueString.trim() === '') {
    fail('ISiKFormularDaten.questionnaire.extension:questionnaireDisplay 1..1', 'questionnaire needs exactly one display extension with the form title');
  }

  // status 1..1 (R4) — and only finished forms are processed.
  if (!FINISHED.has(qr.status)) fail('ISiKFormularDaten.status', `status "${qr.status}": only completed (or amended) forms are processed`);

  // subject 1..1: the patient, who is also the sender.
  if (!qr.subject) fail('ISiKFormularDaten.subject 1..1', 'subject is required');
  else {
    const conflict = subjectConflict(qr.subject, ctx);
    if (conflict) fail('Visite subject', conflict);
  }
  // authored 1..1 — and not before the open check-in began.
  if (!qr.authored) fail('ISiKFormularDaten.authored 1..1', 'authored is required');
  else if (ctx.notBefore && Date.parse(qr.authored) < ctx.notBefore.getTime() - CLOCK_SKEW_MS) {
    fail('Visite authored', `authored ${qr.authored}, before the open check-in began: it answers an earlier one`);
  }

  // sdcqr-2: an item with answers appears once per level (several answers go into one item).
  if (!linkIdsDistinct(qr.item ?? [])) fail('ISiKFormularDaten sdcqr-2', 'an item with answers appears more than once with the same linkId');
  if (problems.length > 0) return { ok: false, problems };

  const answers: Record<string, AnswerValue> = {};
  const unreadable: string[] = [];
  const itemProblem = (linkId: string, message: string) => {
    problems.push({ rule: 'Visite item', message, linkId });
    if (!unreadable.includes(linkId)) unreadable.push(linkId);
  };
  for (const item of flatten(qr.item ?? [])) {
    const given = item.answer ?? [];
    if (given.length === 0) continue; // display items, unanswered questions
    const q = flow.questions.find((x) => x.id === item.linkId);
    if (!q || q.type === 'info' || q.type === 'photo') {
      problems.push({ rule: 'Visite item', message: `no question "${item.linkId}" in the form`, linkId: item.linkId });
      continue;
    }
    const values = given.map((a) => answerValue(a, q.type === 'choice' || q.type === 'multi-choice' ? q.options : []));
    if (values.some((v) => v === undefined)) {
      itemProblem(q.id, 'an answer has no value of a type this question takes');
      continue;
    }
    const typed = values as AnswerValue[];
    if (q.type === 'multi-choice') {
      if (!typed.every((v) => v.type === 'choice')) itemProblem(q.id, 'expected coded answers');
      else answers[q.id] = { type: 'choices', codes: typed.map((v) => (v as { code: string }).code) };
      continue;
    }
    if (typed.length !== 1) {
      itemProblem(q.id, 'this question takes one answer');
      continue;
    }
    answers[q.id] = typed[0]!;
  }
  return { ok: true, answers, unreadable, problems, authored: qr.authored! };
}

/**
 * Who the subject names, checked where Visite can: a Patient reference must be
 * the room's patient; a Matrix user identifier must be the sender. A subject
 * Visite cannot check (a KVNR identifier, a reference local to the client) is
 * taken: the sender is authenticated as the room's patient.
 */
function subjectConflict(subject: NonNullable<QuestionnaireResponse['subject']>, ctx: FormContext): string | undefined {
  const ref = subject.reference;
  if (ref) {
    const m = /(?:^|\/)([A-Za-z]+)\/([^/]+?)(?:\/_history\/[^/]+)?$/.exec(ref);
    if (m && m[1] !== 'Patient') return `subject refers to a ${m[1]}, not a patient`;
    if (m && m[2] !== ctx.patientId) return 'subject refers to another patient';
  }
  const id = subject.identifier;
  if (id?.system === URI_SYSTEM && id.value?.startsWith('matrix:')) {
    if (id.value !== matrixUserUri(ctx.matrixUserId)) return 'subject identifies another Matrix user than the sender';
  }
  if (!ref && !id) return 'subject names nobody (no reference, no identifier)';
  return undefined;
}

function linkIdsDistinct(items: readonly QuestionnaireResponseItem[]): boolean {
  const answered = items.filter((i) => (i.answer ?? []).some((a) => Object.keys(a).some((k) => k.startsWith('value'))));
  if (new Set(answered.map((i) => i.linkId)).size !== answered.length) return false;
  return items.every((i) => linkIdsDistinct(i.item ?? []) && (i.answer ?? []).every((a) => linkIdsDistinct(a.item ?? [])));
}

/** Items at any depth (Visite's forms are flat; a client may group them). */
function flatten(items: readonly QuestionnaireResponseItem[]): QuestionnaireResponseItem[] {
  return items.flatMap((i) => [i, ...flatten(i.item ?? []), ...(i.answer ?? []).flatMap((a) => flatten(a.item ?? []))]);
}

/** One FHIR answer → an answer value, by its value[x]; the question decides later whether the type fits. */
function answerValue(a: QuestionnaireResponseItemAnswer, options: ReadonlyArray<{ code: string; system: string }>): AnswerValue | undefined {
  if (a.valueBoolean !== undefined) return { type: 'boolean', value: a.valueBoolean };
  if (a.valueInteger !== undefined) return { type: 'number', value: a.valueInteger };
  if (a.valueDecimal !== undefined) return { type: 'number', value: a.valueDecimal };
  if (a.valueQuantity?.value !== undefined) {
    const q = a.valueQuantity;
    // A unit must be a UCUM code to be compared with the question's unit.
    if (q.code !== undefined && q.system !== undefined && q.system !== 'http://unitsofmeasure.org') return undefined;
    return q.code ? { type: 'number', value: q.value!, unit: q.code } : { type: 'number', value: q.value! };
  }
  if (a.valueCoding?.code !== undefined) {
    const c = a.valueCoding;
    // The option is found by code; a system, when given, must be the option's.
    const option = options.find((o) => o.code === c.code);
    if (option && c.system !== undefined && c.system !== option.system) return { type: 'choice', code: `${c.system}|${c.code}` };
    return { type: 'choice', code: c.code! };
  }
  if (a.valueString !== undefined) return { type: 'text', value: a.valueString };
  if (a.valueDate !== undefined) return { type: 'date', value: a.valueDate };
  if (a.valueDateTime !== undefined) return /^\d{4}-\d{2}-\d{2}$/.test(a.valueDateTime) ? { type: 'date', value: a.valueDateTime } : undefined;
  return undefined;
}
