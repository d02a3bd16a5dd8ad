import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { step } from '../../../core/engine/step.ts';
import { checkinRecords } from '../../../core/fhir/records.ts';
import { FORM_DATA, ISIK } from '../../../core/fhir/isik.ts';
import { validateR4 } from '../../../core/fhir/validate.ts';
import { LANGUAGES } from '../../../core/language.ts';
import { matrixUserUri, readFormResponse, URI_SYSTEM } from '../../../core/tim/answers.ts';
import { formQuestionnaire } from '../../../core/tim/form.ts';
import { FORM_DATA_RULES, FORM_DEFINITION_RULES, ISIK_URLS, violations } from '../../harness/isik-profiles.ts';
import { converse, shippedFlow } from '../helpers.ts';

/**
 * Visite's ISiK Formularmodul 5.0.0 resources against the profiles' required
 * elements (test/harness/isik-profiles.ts names each rule) and against R4; and
 * how incoming ISiKFormularDaten are read, one rule at a time.
 */
const postOp = shippedFlow('post-op');
const medication = shippedFlow('medication-change');

describe('the form (ISiKFormularDefinition) Visite sends', () => {
  const forms = LANGUAGES.flatMap((lang) =>
    [postOp, medication].map((flow) => ({ name: `${flow.id} in ${lang}`, q: formQuestionnaire(flow, lang, { mdr: 'none' }) })),
  );

  it.each(Object.keys(FORM_DEFINITION_RULES))('%s', (rule) => {
    for (const { name, q } of forms) expect(violations({ [rule]: FORM_DEFINITION_RULES[rule]! }, q), name).toEqual({});
  });

  it('is valid R4 (core/fhir/validate.ts)', () => {
    for (const { name, q } of forms) expect(validateR4(q), name).toEqual([]);
  });

  it('names the ISiK version Visite speaks in meta.profile, and declares MDR relevance only when the operator says rel', () => {
    const q = formQuestionnaire(postOp, 'de', { mdr: 'none' });
    expect(q.meta?.profile).toEqual([`${ISIK_URLS.DEFINITION}|5.0.0`]);
    expect(q.modifierExtension).toBeUndefined();
    const rel = formQuestionnaire(postOp, 'de', { mdr: 'rel' });
    expect(rel.modifierExtension).toEqual([{ url: ISIK_URLS.MDR, valueCoding: { system: ISIK_URLS.MDR_CODES, code: 'rel' } }]);
    expect(violations(FORM_DEFINITION_RULES, rel)).toEqual({});
  });

  it("speaks the patient's language: title, questions, options, help texts", () => {
    const tr = formQuestionnaire(postOp, 'tr', { mdr: 'none' });
    expect(tr.language).toBe('tr');
    expect(tr.title).toBe(postOp.title.tr);
    const pain = tr.item?.find((i) => i.linkId === 'pain');
    expect(pain?.text).toBe(postOp.questions.find((q) => q.id === 'pain')?.text.tr);
    const nausea = tr.item?.find((i) => i.linkId === 'nausea');
    expect(nausea?.answerOption?.map((o) => o.valueCoding?.display)).toEqual(
      (postOp.questions.find((q) => q.id === 'nausea') as { options: Array<{ text: { tr?: string } }> }).options.map((o) => o.text.tr),
    );
    expect(JSON.stringify(tr)).not.toContain('"_text"');
    expect(JSON.stringify(tr)).not.toContain('/translation');
  });

  it("carries the flow's answer types, options, ranges, units and enableWhen; nothing of Visite's own (rules, thresholds, schedule)", () => {
    const q = formQuestionnaire(medication, 'de', { mdr: 'none' });
    const item = (id: string) => q.item?.find((i) => i.linkId === id);
    expect(item('intake')?.type).toBe('choice');
    expect(item('last_dose')).toMatchObject({ type: 'date', enableWhen: [{ question: 'intake', operator: '=' }] });
    expect(item('bp_tip')?.type).toBe('display');
    expect(item('systolic')?.type).toBe('decimal');
    expect(item('systolic')?.extension?.map((e) => e.url)).toEqual(
      expect.arrayContaining(['http://hl7.org/fhir/StructureDefinition/questionnaire-unit', 'http://hl7.org/fhir/StructureDefinition/minValue']),
    );
    expect(item('side_effects')?.repeats).toBe(true);
    expect(JSON.stringify(q)).not.toContain('visite.example/fhir/StructureDefinition');
    expect(item('map_estimate')).toBeUndefined(); // computed by Visite
  });

  it('leaves photo questions to the chat', () => {
    const q = formQuestionnaire(postOp, 'de', { mdr: 'none' });
    expect(q.item?.map((i) => i.linkId)).toEqual(['pain', 'temperature', 'wound', 'nausea', 'mobility', 'bowel', 'comments']);
  });
});

describe('the QuestionnaireResponse Visite stores (ISiKFormularDaten)', () => {
  const chat = converse(postOp, 'de', ['8', '38,7', '2, 4', 'überspringen', '1', '1', 'ja', 'nein']).state;
  const formStart = step(postOp, undefined, { type: 'start', lang: 'de', form: true }, new Date('2026-01-15T08:00:00Z')).state;
  const form = step(
    postOp,
    formStart,
    {
      type: 'form',
      answers: {
        pain: { type: 'number', value: 2 },
        wound: { type: 'choices', codes: ['unremarkable'] },
        nausea: { type: 'choice', code: 'none' },
        mobility: { type: 'choice', code: 'as-usual' },
        bowel: { type: 'boolean', value: true },
      },
    },
    new Date('2026-01-15T08:05:00Z'),
  ).state;
  const open = converse(postOp, 'de', ['3']).state;
  const stored = [chat, form, open].map(
    (state) =>
      checkinRecords(postOp, state, { patientId: 'p1', checkinId: 'c1' }).find((r) => r.resourceType === 'QuestionnaireResponse')!
        .resource as QuestionnaireResponse,
  );

  it.each(Object.keys(FORM_DATA_RULES))('%s', (rule) => {
    for (const qr of stored) expect(violations({ [rule]: FORM_DATA_RULES[rule]! }, qr)).toEqual({});
  });

  it('is valid R4 and claims ISiKFormularDaten 5.0.0', () => {
    for (const qr of stored) {
      expect(validateR4(qr)).toEqual([]);
      expect(qr.meta?.profile).toEqual([`${ISIK_URLS.DATA}|5.0.0`]);
    }
  });

  it('says for every answer which channel it came from', () => {
    const channels = (qr: QuestionnaireResponse) =>
      Object.fromEntries((qr.item ?? []).filter((i) => i.extension).map((i) => [i.linkId, i.extension?.[0]?.valueCode]));
    expect(Object.values(channels(stored[0]!)).every((c) => c === 'chat')).toBe(true);
    expect(channels(stored[1]!)).toMatchObject({ pain: 'form', wound: 'form', bowel: 'form' });
    // Observations of answers (computed values are Visite's, from answers of any channel).
    const observations = checkinRecords(postOp, form, { patientId: 'p1', checkinId: 'c1' }).filter(
      (r) => r.resourceType === 'Observation' && !r.codes.some((c) => c.endsWith('|wound-findings-count')),
    );
    expect(observations.length).toBe(5);
    for (const o of observations)
      expect((o.resource as { extension?: Array<{ url: string; valueCode: string }> }).extension).toEqual([
        { url: 'https://visite.example/fhir/StructureDefinition/answer-channel', valueCode: 'form' },
      ]);
  });
});

describe('reading a filled-in form (ISiKFormularDaten from the patient)', () => {
  const ctx = { structure: FORM_DATA, patientId: 'p1', matrixUserId: '@erika:klinik.de' };
  const valid = () =>
    ({
      resourceType: 'QuestionnaireResponse',
      meta: { profile: [`${ISIK_URLS.DATA}|5.0.0`] },
      modifierExtension: [{ url: ISIK_URLS.MDR, valueCoding: { system: ISIK_URLS.MDR_CODES, code: 'none' } }],
      questionnaire: `${postOp.url}|${postOp.version}`,
      _questionnaire: { extension: [{ url: ISIK_URLS.DISPLAY, valueString: 'Check-in nach der Operation' }] },
      status: 'completed',
      subject: { identifier: { system: URI_SYSTEM, value: matrixUserUri('@erika:klinik.de') } },
      authored: '2026-01-15T08:10:00+01:00',
      item: [
        { linkId: 'pain', text: 'Schmerzen', answer: [{ valueInteger: 4 }] },
        { linkId: 'temperature', answer: [{ valueQuantity: { value: 37.4, unit: '°C', system: 'http://unitsofmeasure.org', code: 'Cel' } }] },
        { linkId: 'wound', answer: [{ valueCoding: { system: postOp.codeSystem, code: 'redness' } }, { valueCoding: { code: 'swelling' } }] },
        { linkId: 'nausea', answer: [{ valueCoding: { code: 'none' } }] },
        { linkId: 'bowel', answer: [{ valueBoolean: false }] },
        { linkId: 'comments', answer: [{ valueString: 'Es zieht etwas.' }] },
      ],
    }) as Record<string, unknown>;
  const problemsOf = (resource: unknown, over: Partial<typeof ctx> = {}) => {
    const r = readFormResponse(postOp, resource, { ...ctx, ...over });
    return r.ok ? [] : r.problems.map((p) => p.rule);
  };

  it('a valid one gives typed answers by question', () => {
    const r = readFormResponse(postOp, valid(), ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.answers).toEqual({
      pain: { type: 'number', value: 4 },
      temperature: { type: 'number', value: 37.4, unit: 'Cel' },
      wound: { type: 'choices', codes: ['redness', 'swelling'] },
      nausea: { type: 'choice', code: 'none' },
      bowel: { type: 'boolean', value: false },
      comments: { type: 'text', value: 'Es zieht etwas.' },
    });
    expect(r.unreadable).toEqual([]);
  });

  const without = (key: string) => {
    const r = valid();
    delete r[key];
    return r;
  };

  it.each([
    [
      'fhir.json de.gematik.fhir.structure_definition.url',
      valid(),
      { structure: { ...FORM_DATA, url: 'http://hl7.org/fhir/StructureDefinition/QuestionnaireResponse' } },
    ],
    ['fhir.json de.gematik.fhir.structure_definition.type', valid(), { structure: { ...FORM_DATA, type: 'Questionnaire' } }],
    ['fhir.json de.gematik.fhir.structure_definition.version', valid(), { structure: { ...FORM_DATA, version: '6.0.0-rc' } }],
    ['fhir.json de.gematik.fhir.structure_definition.fhir_version', valid(), { structure: { ...FORM_DATA, fhirVersion: '5.0.0' } }],
    ['fhir.json de.gematik.fhir.resource', { resourceType: 'Observation' }, {}],
    ['R4', { ...valid(), status: 42 }, {}],
    ['ISiKFormularDaten.modifierExtension:MDR-Relevant 1..1', without('modifierExtension'), {}],
    [
      'R4 modifierExtension',
      { ...valid(), modifierExtension: [...(valid()['modifierExtension'] as unknown[]), { url: 'https://example.org/unknown', valueBoolean: true }] },
      {},
    ],
    ['ISiKFormularDaten.questionnaire 1..1', without('questionnaire'), {}],
    ['ISiKFormularDaten.questionnaire.extension:questionnaireDisplay 1..1', without('_questionnaire'), {}],
    ['Visite questionnaire', { ...valid(), questionnaire: `${postOp.url}|0.9` }, {}],
    ['ISiKFormularDaten.status', { ...valid(), status: 'in-progress' }, {}],
    ['ISiKFormularDaten.subject 1..1', without('subject'), {}],
    ['Visite subject', { ...valid(), subject: { reference: 'Patient/p2' } }, {}],
    ['Visite subject', { ...valid(), subject: { identifier: { system: URI_SYSTEM, value: matrixUserUri('@mallory:klinik.de') } } }, {}],
    ['ISiKFormularDaten.authored 1..1', without('authored'), {}],
    ['Visite authored', valid(), { notBefore: new Date('2026-01-16T08:00:00Z') }],
    [
      'ISiKFormularDaten sdcqr-2',
      {
        ...valid(),
        item: [
          { linkId: 'pain', answer: [{ valueInteger: 1 }] },
          { linkId: 'pain', answer: [{ valueInteger: 2 }] },
        ],
      },
      {},
    ],
  ])('refuses the whole form: %s', (rule, resource, over) => {
    expect(problemsOf(resource, over as Partial<typeof ctx>)).toContain(rule);
  });

  it('takes subjects it can check when they are right, and ones it cannot check (the sender is the patient)', () => {
    expect(problemsOf({ ...valid(), subject: { reference: 'Patient/p1' } })).toEqual([]);
    expect(problemsOf({ ...valid(), subject: { identifier: { system: 'http://fhir.de/sid/gkv/kvid-10', value: 'A123456789' } } })).toEqual([]);
    expect(problemsOf({ ...valid(), subject: { reference: 'Practitioner/x' } })).toContain('Visite subject');
  });

  it('item problems leave the rest usable: the item is asked in the chat', () => {
    const r = readFormResponse(
      postOp,
      {
        ...valid(),
        item: [
          { linkId: 'pain', answer: [{ valueString: 'vier' }] },
          { linkId: 'nausea', answer: [{ valueCoding: { code: 'none' } }, { valueCoding: { code: 'nausea' } }] },
          { linkId: 'unknown', answer: [{ valueBoolean: true }] },
          { linkId: 'bowel', answer: [{ valueBoolean: true }] },
        ],
      },
      ctx,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.unreadable).toEqual(['nausea']);
    expect(r.answers).toEqual({ pain: { type: 'text', value: 'vier' }, bowel: { type: 'boolean', value: true } });
    expect(r.problems.map((p) => p.linkId)).toEqual(['nausea', 'unknown']);
  });

  it('accepts the ISiK stage by major version (5.x), as announced in one place', () => {
    expect(ISIK.version).toBe('5.0.0');
    expect(problemsOf(valid(), { structure: { ...FORM_DATA, version: '5.0.1' } })).toEqual([]);
  });
});
