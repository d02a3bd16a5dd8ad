import { describe, expect, it } from 'vitest';
import { checkinRecords } from '../../../core/fhir/records.ts';
import { validateR4 } from '../../../core/fhir/validate.ts';
import { converse, shippedFlow } from '../helpers.ts';

/**
 * The service validates only completed records at run time (the in-progress
 * response is rewritten on every answer); these tests validate the in-progress
 * response after every single step of both shipped flows, so a builder bug is
 * caught here instead.
 */
describe('in-progress QuestionnaireResponses', () => {
  it.each([
    ['post-op', ['3', '37,2', '1, 4', '2', '1', 'ja', 'nichts weiter']],
    ['medication-change', ['1', '1', 'nein', 'nein', '1', 'nein']],
  ] as const)('of %s are valid R4 after every answer', (name, answers) => {
    const flow = shippedFlow(name);
    const { results } = converse(flow, 'de', [...answers]);
    expect(results.length).toBeGreaterThan(answers.length - 1);
    for (const result of results) {
      for (const record of checkinRecords(flow, result.state, { patientId: 'p1', checkinId: 'c1' })) {
        expect(validateR4(record.resource), `${name} ${record.resourceType} after ${result.state.path.join(',')}`).toEqual([]);
      }
    }
  });

  it("skips only the in-progress response's validation when asked, never a completed check-in's", () => {
    const flow = shippedFlow('medication-change');
    const { state } = converse(flow, 'de', ['1', '1', 'nein', 'nein', '1', 'nein']);
    expect(state.status).toBe('completed');
    // A completed check-in whose record would be invalid (an impossible time) still throws.
    const broken = {
      ...state,
      completedAt: 'not a time',
      answers: Object.fromEntries(Object.entries(state.answers).map(([k, a]) => [k, { ...a, at: 'not a time' }])),
    };
    expect(() => checkinRecords(flow, broken, { patientId: 'p1', checkinId: 'c1' }, { validate: 'completed' })).toThrow();
    // The same state while in progress is not validated with validate: 'completed'.
    expect(() => checkinRecords(flow, { ...broken, status: 'active' }, { patientId: 'p1', checkinId: 'c1' }, { validate: 'completed' })).not.toThrow();
  });
});
