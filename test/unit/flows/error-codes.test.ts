import { describe, expect, it } from 'vitest';
import { FLOW_ISSUE_CODES, type FlowIssue } from '../../../core/flow/errors.ts';
import { loadFlowFile, parseFlow } from '../../../core/flow/load.ts';
import { importQuestionnaire } from '../../../core/fhir/import.ts';
import { HEADER } from '../helpers.ts';

const q = (extra: string) => `${HEADER}questions:\n  - id: a\n    type: scale\n    min: 0\n    max: 10\n    text: { de: A, en: A }\n${extra}`;
const flowIssues = (yaml: string): FlowIssue[] => {
  const r = parseFlow(yaml, 'x.yaml');
  return r.ok ? [] : r.issues;
};
const importIssues = (json: unknown): FlowIssue[] => {
  const r = importQuestionnaire(json);
  return r.ok ? [] : r.issues;
};

/** One minimal bad input per error code: every code in the vocabulary is reachable and located. */
const CASES: Record<(typeof FLOW_ISSUE_CODES)[number], () => FlowIssue[]> = {
  'yaml-syntax': () => flowIssues(`${HEADER}questions: [\n`),
  'unknown-key': () => flowIssues(q('    colour: red\n')),
  'missing-key': () => flowIssues(`id: t\nversion: "1"\nlanguages: [de, en]\nquestions: []\n`),
  'wrong-type': () => flowIssues(q('    required: 1\n')),
  'invalid-value': () => flowIssues(q('    maxLabel: { de: M, en: M }\n').replace('max: 10', 'max: 500')),
  'duplicate-id': () => flowIssues(`${q('')}  - id: a\n    type: boolean\n    text: { de: B, en: B }\n`),
  'unknown-reference': () => flowIssues(q('    enableWhen: { answer: nope, op: exists }\n')),
  'forward-reference': () => flowIssues(`${q('    enableWhen: { answer: b, op: exists }\n')}  - id: b\n    type: boolean\n    text: { de: B, en: B }\n`),
  'branching-cycle': () => flowIssues(q('    enableWhen: { answer: a, op: exists }\n')),
  'missing-translation': () => flowIssues(q('    hint: { de: nur deutsch }\n')),
  'threshold-out-of-range': () => flowIssues(q('    escalations: [{ id: r, when: { op: ">", value: 11 }, severity: info, message: { de: X, en: X } }]\n')),
  'invalid-expression': () => flowIssues(q('    enableWhen: { expression: "((" }\n')),
  'invalid-code': () => flowIssues(q('    codes: [{ system: loinc, code: 1234-0 }]\n')),
  'invalid-questionnaire': () => importIssues({ resourceType: 'Bundle' }),
  'unsupported-fhir': () => importIssues({ resourceType: 'Questionnaire', status: 'active', item: [{ linkId: 'u', type: 'url', text: 'Link?' }] }),
  io: () => {
    const r = loadFlowFile('/does/not/exist.yaml');
    return r.ok ? [] : r.issues;
  },
};

describe('error vocabulary', () => {
  for (const code of FLOW_ISSUE_CODES) {
    it(`${code} is produced with a message (and a position for flow files)`, () => {
      const issues = CASES[code]();
      const hit = issues.find((i) => i.code === code);
      expect(hit, `${code}: got ${issues.map((i) => i.code).join(', ')}`).toBeDefined();
      expect(hit?.message.length).toBeGreaterThan(5);
      if (hit?.file === 'x.yaml') {
        expect(hit.line).toBeGreaterThan(0);
        expect(hit.col).toBeGreaterThan(0);
      }
    });
  }
});
