/** Public API of the FHIR mapping. */
export { exportQuestionnaire } from './export.ts';
export { flowSourceToYaml, importQuestionnaire, type ImportResult } from './import.ts';
export { buildObservations, buildQuestionnaireResponse, completeRun, type RunContext, type RunResources } from './response.ts';
export { assertValidR4, ensureDefinitions, FhirValidationError, validateR4 } from './validate.ts';
