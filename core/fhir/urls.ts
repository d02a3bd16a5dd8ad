import { VISITE_EXTENSION } from '../flow/model.ts';

/** Extension and code system URLs (BRIEF §4). */
export const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';
export const FHIR_SD = 'http://hl7.org/fhir/StructureDefinition';

export const EXT = {
  observationExtract: `${SDC}/sdc-questionnaire-observationExtract`,
  enableWhenExpression: `${SDC}/sdc-questionnaire-enableWhenExpression`,
  calculatedExpression: `${SDC}/sdc-questionnaire-calculatedExpression`,
  unit: `${FHIR_SD}/questionnaire-unit`,
  itemControl: `${FHIR_SD}/questionnaire-itemControl`,
  hidden: `${FHIR_SD}/questionnaire-hidden`,
  optionExclusive: `${FHIR_SD}/questionnaire-optionExclusive`,
  unitOption: `${FHIR_SD}/questionnaire-unitOption`,
  minValue: `${FHIR_SD}/minValue`,
  maxValue: `${FHIR_SD}/maxValue`,
  maxDecimalPlaces: `${FHIR_SD}/maxDecimalPlaces`,
  translation: `${FHIR_SD}/translation`,
  // Visite's own: what FHIR has no place for (rules, schedule, conversation settings).
  escalation: `${VISITE_EXTENSION}/escalation`,
  schedule: `${VISITE_EXTENSION}/schedule`,
  flowLanguage: `${VISITE_EXTENSION}/flow-language`,
  maxAttempts: `${VISITE_EXTENSION}/max-attempts`,
  intro: `${VISITE_EXTENSION}/intro`,
  outro: `${VISITE_EXTENSION}/outro`,
  optionEmoji: `${VISITE_EXTENSION}/option-emoji`,
  /** Short name of a question (summaries, alerts); translations on `_valueString`. */
  itemLabel: `${VISITE_EXTENSION}/item-label`,
  codeSystem: `${VISITE_EXTENSION}/code-system`,
  /** A trend condition of an escalation rule (inside `escalation`): values over the patient's check-ins. */
  trend: `${VISITE_EXTENSION}/trend`,
  /** On a scale item: its minimum means none, and which "none" answers count as it (valueCode pain | general). */
  noneAnswer: `${VISITE_EXTENSION}/none-answer`,
} as const;

export const ITEM_CONTROL_SYSTEM = 'http://hl7.org/fhir/questionnaire-item-control';
export const UCUM = 'http://unitsofmeasure.org';
export const LOINC = 'http://loinc.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
