import type { Condition, Flow, Scalar } from '../flow/model.ts';

/**
 * A Visite condition as an SDC FHIRPath expression over %resource (the
 * QuestionnaireResponse). Used where plain R4 enableWhen cannot express the
 * condition (nesting, "not", computed values) and for escalation rules, so
 * other SDC tools can evaluate them too.
 */
export function conditionToFhirPath(flow: Flow, c: Condition): string {
  switch (c.kind) {
    case 'all':
      return c.of.map((x) => `(${conditionToFhirPath(flow, x)})`).join(' and ');
    case 'any':
      return c.of.map((x) => `(${conditionToFhirPath(flow, x)})`).join(' or ');
    case 'not':
      return `(${conditionToFhirPath(flow, c.of)}).not()`;
    case 'expression':
      return c.expression;
    case 'compare':
      return compareToFhirPath(flow, c.answer, c.op, c.value);
    case 'trend':
      // FHIRPath over one response cannot see earlier check-ins: the empty
      // collection (never true). Rules with trends are exported without an
      // expression, see export.ts.
      return '{}';
  }
}

function compareToFhirPath(flow: Flow, id: string, op: string, value: Scalar | Scalar[] | undefined): string {
  const path = `%resource.item.where(linkId='${id}').answer.value`;
  if (op === 'exists') return value === false ? `${path}.empty()` : `${path}.exists()`;
  const q = flow.questions[flow.questionIndex.get(id) ?? -1];
  const coded = q?.type === 'choice' || q?.type === 'multi-choice';
  const values = Array.isArray(value) ? value : [value];
  if (coded) {
    const any = `${path}.where(${values.map((v) => `code = ${literal(v, q?.type)}`).join(' or ')}).exists()`;
    if (op === '!=') return `${path}.exists() and ${path}.where(${values.map((v) => `code = ${literal(v, q?.type)}`).join(' or ')}).empty()`;
    return any;
  }
  if (op === 'in') return `${path}.where(${values.map((v) => `$this = ${literal(v, q?.type)}`).join(' or ')}).exists()`;
  return `${path} ${op} ${literal(values[0], q?.type)}`;
}

function literal(v: Scalar | undefined, type: string | undefined): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (type === 'date' && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return `@${v}`;
  return `'${String(v ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")}'`;
}
