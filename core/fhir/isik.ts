/**
 * ISiK Formularmodul: the profiles TI-M uses for questionnaires
 * (gematik api-ti-messenger, images/workflow-questionnaires.mermaid: the Pro
 * side sends an ISiKFormularDefinition, the patient's client answers with
 * ISiKFormularDaten). The one place that names the version Visite speaks.
 *
 * Stufe 5 (5.0.0) is the binding stage; Stufe 6 (6.0.0) exists only as a
 * release candidate. Changing `version` here changes every structure
 * definition Visite sends and announces; incoming responses are accepted with
 * the same major version (docs/tim.md).
 */
export const ISIK = {
  version: '5.0.0',
  /** FHIR R4. */
  fhirVersion: '4.0.1',
  /** Questionnaire profile: url, version, title, status, subjectType Patient and description are required. */
  formDefinition: 'https://gematik.de/fhir/isik/StructureDefinition/ISiKFormularDefinition',
  /** QuestionnaireResponse profile: questionnaire (with questionnaireDisplay), status, subject, authored, MDR relevance. */
  formData: 'https://gematik.de/fhir/isik/StructureDefinition/ISiKFormularDaten',
  /** Modifier extension: is the form relevant under the MDR? 1..1 on ISiKFormularDaten 5.0.0, 0..1 on the definition. */
  mdrExtension: 'https://gematik.de/fhir/isik/StructureDefinition/ISiKMDRRelevanzFormularExtension',
  mdrCodeSystem: 'https://gematik.de/fhir/isik/CodeSystem/ISiKMDRRelevanzFormularCS',
  /** `QuestionnaireResponse.questionnaire.extension:questionnaireDisplay`: the form's title. */
  displayExtension: 'http://hl7.org/fhir/StructureDefinition/display',
} as const;

/** `none`: not relevant under the MDR; `rel`: relevant, not further specified (ISiKMDRRelevanzFormularCS). */
export type MdrRelevance = 'none' | 'rel';

/** What `de.gematik.fhir.structure_definition` says about a resource (gematik fhir.json). */
export interface StructureInfo {
  url: string;
  version: string;
  /** The base resource type. */
  type: string;
  fhirVersion: string;
}

export const FORM_DEFINITION: StructureInfo = { url: ISIK.formDefinition, version: ISIK.version, type: 'Questionnaire', fhirVersion: ISIK.fhirVersion };
export const FORM_DATA: StructureInfo = { url: ISIK.formData, version: ISIK.version, type: 'QuestionnaireResponse', fhirVersion: ISIK.fhirVersion };

/** A versioned canonical reference (`url|version`), as FHIR writes it. */
export const versioned = (s: StructureInfo): string => `${s.url}|${s.version}`;

/** The MDR relevance modifier extension (ISiKMDRRelevanzFormularExtension). */
export function mdrExtension(relevance: MdrRelevance) {
  return { url: ISIK.mdrExtension, valueCoding: { system: ISIK.mdrCodeSystem, code: relevance } };
}

/** Does a version (e.g. a sender's) belong to the ISiK stage Visite speaks (same major version)? */
export function sameIsikStage(version: string): boolean {
  const major = (v: string) => /^(\d+)\./.exec(v)?.[1];
  return major(version) !== undefined && major(version) === major(ISIK.version);
}
