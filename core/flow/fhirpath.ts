import { evalFhirPath, parseFhirPath, type TypedValue } from '@medplum/core';

/**
 * FHIRPath through @medplum/core, parsed once per distinct expression.
 * Conditions and computed values see `%resource` (the QuestionnaireResponse
 * built from the answers so far), as in SDC.
 */
type Atom = ReturnType<typeof parseFhirPath>;
const atoms = new Map<string, Atom>();

/** Parses (and caches) an expression; throws with the parser's message on a syntax error. */
export function compileFhirPath(expression: string): Atom {
  let atom = atoms.get(expression);
  if (!atom) {
    atom = parseFhirPath(expression);
    atoms.set(expression, atom);
  }
  return atom;
}

export function evaluateFhirPath(expression: string, resource: object): unknown[] {
  const variables: Record<string, TypedValue> = {
    '%resource': { type: 'QuestionnaireResponse', value: resource },
    '%context': { type: 'QuestionnaireResponse', value: resource },
  };
  return evalFhirPath(compileFhirPath(expression), resource, variables);
}

/** linkIds an expression mentions (`linkId = 'x'`), to check references and dependencies. */
export function referencedLinkIds(expression: string): string[] {
  return [...expression.matchAll(/linkId\s*=\s*'([^']*)'/g)].map((m) => m[1] ?? '');
}
