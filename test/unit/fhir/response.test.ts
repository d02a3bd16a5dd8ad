import { describe, expect, it } from 'vitest';
import { buildObservations, buildQuestionnaireResponse, completeRun } from '../../../core/fhir/response.ts';
import { FhirValidationError, validateR4 } from '../../../core/fhir/validate.ts';
import { converse, shippedFlow } from '../helpers.ts';

const ctx = { subject: 'Patient/p1', responseId: 'r1' };

describe('QuestionnaireResponse and Observations of a finished run', () => {
  const flow = shippedFlow('post-op');
  const { state } = converse(flow, 'de', ['8', '38,7', '2, 4', 'überspringen', '1', '1', 'ja', 'nein']);

  it('builds a completed, valid QuestionnaireResponse without skipped items', () => {
    const qr = buildQuestionnaireResponse(flow, state, ctx);
    expect(validateR4(qr)).toEqual([]);
    expect(qr).toMatchObject({
      resourceType: 'QuestionnaireResponse',
      id: 'r1',
      status: 'completed',
      subject: { reference: 'Patient/p1' },
      questionnaire: 'https://visite.example/fhir/Questionnaire/post-op|1.0.0',
    });
    expect(qr.item?.map((i) => i.linkId)).toEqual(['pain', 'temperature', 'wound', 'nausea', 'mobility', 'bowel', 'wound_findings']);
    expect(qr.item?.find((i) => i.linkId === 'pain')?.answer).toEqual([{ valueInteger: 8 }]);
    expect(qr.item?.find((i) => i.linkId === 'temperature')?.answer).toEqual([{ valueDecimal: 38.7 }]);
    expect(qr.item?.find((i) => i.linkId === 'wound')?.answer?.map((a) => a.valueCoding?.code)).toEqual(['redness', 'discharge']);
  });

  it('builds one final Observation per extractable answer per SDC', () => {
    const obs = buildObservations(flow, state, ctx);
    for (const o of obs) {
      expect(validateR4(o)).toEqual([]);
      expect(o).toMatchObject({
        status: 'final',
        subject: { reference: 'Patient/p1' },
        performer: [{ reference: 'Patient/p1' }],
        derivedFrom: [{ reference: 'QuestionnaireResponse/r1' }],
      });
      expect(o.effectiveDateTime).toBe(state.answers[Object.keys(state.answers)[0] ?? '']?.at ?? o.effectiveDateTime);
    }
    const temp = obs.find((o) => o.code.coding?.[0]?.code === '8310-5');
    expect(temp?.valueQuantity).toEqual({ value: 38.7, unit: '°C', system: 'http://unitsofmeasure.org', code: 'Cel' });
    expect(temp?.category?.[0]?.coding?.[0]?.code).toBe('vital-signs');
    expect(obs.find((o) => o.code.coding?.[0]?.code === 'mobility')?.category?.[0]?.coding?.[0]?.code).toBe('survey');
    expect(obs.find((o) => o.code.coding?.[0]?.code === '72514-3')?.valueInteger).toBe(8);
    // Multi-choice: one Observation per selected option.
    expect(obs.filter((o) => o.code.coding?.[0]?.code === 'wound-appearance').map((o) => o.valueCodeableConcept?.coding?.[0]?.code)).toEqual([
      'redness',
      'discharge',
    ]);
    expect(obs.find((o) => o.code.coding?.[0]?.code === 'bowel-movement-48h')?.valueBoolean).toBe(true);
    expect(obs.find((o) => o.code.coding?.[0]?.code === 'wound-findings-count')?.valueInteger).toBe(2);
    // Skipped photo and unextracted comments produce none; ids are unique.
    expect(obs).toHaveLength(8);
    expect(new Set(obs.map((o) => o.id)).size).toBe(obs.length);
  });

  it('completeRun validates everything and refuses unfinished runs', () => {
    const { questionnaireResponse, observations } = completeRun(flow, state, ctx);
    expect(questionnaireResponse.status).toBe('completed');
    expect(observations.length).toBe(8);
    const open = converse(flow, 'de', ['3']).state;
    expect(() => completeRun(flow, open, ctx)).toThrow(/not completed/);
  });

  it('reports invalid resources as FhirValidationError issues', () => {
    const issues = validateR4({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 'high' } } as never);
    expect(issues[0]?.details?.text).toContain('expected number');
    expect(new FhirValidationError('Observation', issues).message).toContain('Observation is not valid R4');
  });

  it('writes dates, texts and attachments into the response', () => {
    const med = shippedFlow('medication-change');
    const run = converse(med, 'de', ['3', 'gestern', '1', '1', 'nein', '8', 'Kribbeln', 'nein']).state;
    const { questionnaireResponse, observations } = completeRun(med, run, ctx);
    expect(questionnaireResponse.item?.find((i) => i.linkId === 'last_dose')?.answer).toEqual([{ valueDate: '2026-01-14' }]);
    expect(questionnaireResponse.item?.find((i) => i.linkId === 'side_effects_other')?.answer).toEqual([{ valueString: 'Kribbeln' }]);
    expect(observations.find((o) => o.code.coding?.[0]?.code === 'last-dose-date')?.valueDateTime).toBe('2026-01-14');
    const post = converse(flow, 'de', ['1', '37', '2', { type: 'attachment', url: 'mxc://h/p', contentType: 'image/jpeg' }, '1', '1', 'ja', 'nein']).state;
    const qr = buildQuestionnaireResponse(flow, post, ctx);
    expect(qr.item?.find((i) => i.linkId === 'wound_photo')?.answer).toEqual([{ valueAttachment: { url: 'mxc://h/p', contentType: 'image/jpeg' } }]);
  });
});
