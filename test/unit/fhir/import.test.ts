import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportQuestionnaire } from '../../../core/fhir/export.ts';
import { flowSourceToYaml, importQuestionnaire, sanitizeId } from '../../../core/fhir/import.ts';
import { flowToSource } from '../../../core/flow/decompile.ts';
import { parseFlow } from '../../../core/flow/load.ts';
import { converse, shippedFlow } from '../helpers.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

describe('import FHIR Questionnaire → flow', () => {
  for (const name of ['post-op', 'medication-change'] as const) {
    it(`round trip keeps the meaning of ${name}`, () => {
      const flow = shippedFlow(name);
      const exported = JSON.parse(JSON.stringify(exportQuestionnaire(flow))) as unknown;
      const imported = importQuestionnaire(exported);
      if (!imported.ok) return expect.fail(imported.issues.map((i) => i.message).join('\n'));
      expect(imported.warnings).toEqual([]);
      expect(flowToSource(imported.flow)).toEqual(flowToSource(flow));
      // Printed YAML is a valid flow again, and behaves the same.
      const reparsed = parseFlow(flowSourceToYaml(imported.source), 'imported.yaml');
      if (!reparsed.ok) return expect.fail(reparsed.issues.map((i) => i.message).join('\n'));
      const answers = Array.from({ length: 30 }, () => '2');
      expect(converse(reparsed.flow, 'tr', answers).state).toEqual(converse(flow, 'tr', answers).state);
    });
  }

  it('reads a plain R4 Questionnaire written elsewhere (groups, integer, valueString options, enableWhen, units)', () => {
    const r = importQuestionnaire(fixture('phq-style.json'));
    if (!r.ok) return expect.fail(r.issues.map((i) => i.message).join('\n'));
    const qs = r.source.questions;
    expect(qs.map((q) => [q.id, q.type])).toEqual([
      ['q1-1', 'scale'],
      ['q1-2', 'choice'],
      ['q1-3', 'text'],
      ['weight', 'quantity'],
      ['smoker', 'boolean'],
      ['cigarettes', 'quantity'],
    ]);
    expect(qs[1]).toMatchObject({ options: [{ code: 'good', text: { en: 'Good' } }, { code: 'so-so' }, { code: 'bad' }] });
    expect(qs[2]).toMatchObject({ enableWhen: { answer: 'q1-2', op: '=', value: 'bad' }, required: false });
    expect(qs[3]).toMatchObject({ unit: 'kg', codes: [{ system: 'loinc', code: '29463-7' }] });
    expect(qs[4]).toMatchObject({ text: { en: 'Do you smoke?', de: 'Rauchen Sie?' } });
    expect(qs[5]).toMatchObject({ decimals: 0, enableWhen: { answer: 'smoker', op: '=', value: true } });
    expect(r.source.id).toBe('wellbeing-check');
    expect(r.warnings.some((w) => w.includes('linkId "1.1" becomes question id "q1-1"'))).toBe(true);
    expect(r.warnings.some((w) => w.includes('please translate'))).toBe(true);
  });

  it('a Questionnaire from elsewhere survives import → export → import unchanged', () => {
    const first = importQuestionnaire(fixture('phq-style.json'));
    if (!first.ok) return expect.fail('import failed');
    const again = importQuestionnaire(JSON.parse(JSON.stringify(exportQuestionnaire(first.flow))));
    if (!again.ok) return expect.fail(again.issues.map((i) => i.message).join('\n'));
    expect(flowToSource(again.flow)).toEqual(flowToSource(first.flow));
  });

  it('reads SDC expressions, help texts and units from elsewhere, renaming linkIds inside expressions', () => {
    const sdc = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';
    const r = importQuestionnaire({
      resourceType: 'Questionnaire',
      status: 'active',
      language: 'de-DE',
      title: 'Atmung',
      item: [
        {
          linkId: '1.1',
          type: 'quantity',
          text: 'Atemfrequenz?',
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption', valueCoding: { system: 'http://unitsofmeasure.org', code: '/min' } },
          ],
          item: [
            {
              linkId: '1.1.h',
              type: 'display',
              text: 'Atemzüge pro Minute zählen',
              extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl', valueCodeableConcept: { coding: [{ code: 'help' }] } }],
            },
          ],
        },
        {
          linkId: 'dyspnoea',
          type: 'boolean',
          text: 'Luftnot?',
          extension: [
            {
              url: `${sdc}/sdc-questionnaire-enableWhenExpression`,
              valueExpression: { language: 'text/fhirpath', expression: "%resource.item.where(linkId='1.1').answer.value > 20" },
            },
          ],
        },
        {
          linkId: 'fast',
          type: 'boolean',
          extension: [
            {
              url: `${sdc}/sdc-questionnaire-calculatedExpression`,
              valueExpression: { language: 'text/fhirpath', expression: "%resource.item.where(linkId='1.1').answer.value > 25" },
            },
          ],
        },
      ],
    });
    if (!r.ok) return expect.fail(r.issues.map((i) => i.message).join('\n'));
    expect(r.source.questions[0]).toMatchObject({ id: 'q1-1', type: 'quantity', unit: '/min', hint: { de: 'Atemzüge pro Minute zählen' } });
    expect(r.source.questions[1]).toMatchObject({ enableWhen: { expression: "%resource.item.where(linkId='q1-1').answer.value > 20" } });
    expect(r.source.computed).toEqual([{ id: 'fast', type: 'boolean', expression: "%resource.item.where(linkId='q1-1').answer.value > 25" }]);
    expect(r.source.questions[0]?.text).toEqual({ de: 'Atemfrequenz?', en: 'Atemfrequenz?' });
    // The imported flow runs: 30/min opens the dyspnoea question.
    const { state } = converse(r.flow, 'de', ['30', 'ja']);
    expect(state.status).toBe('completed');
    expect(state.computed).toEqual({ fast: true });
  });

  it('round trip keeps question labels in every language, and reads them from other tools', () => {
    const flow = shippedFlow('medication-change');
    const imported = importQuestionnaire(JSON.parse(JSON.stringify(exportQuestionnaire(flow))));
    if (!imported.ok) return expect.fail(imported.issues.map((i) => i.message).join('\n'));
    const labels = (f: typeof flow) => f.questions.map((q) => [q.id, q.label]);
    expect(labels(imported.flow)).toEqual(labels(flow));
    expect(imported.flow.questions.find((q) => q.id === 'dizziness')?.label).toEqual({
      de: 'Schwindel',
      en: 'Dizziness',
      tr: 'Baş dönmesi',
      ar: 'الدوخة',
      uk: 'Запаморочення',
      ru: 'Головокружение',
      pl: 'Zawroty głowy',
    });
    expect(flowSourceToYaml(imported.source)).toContain('label:');

    // A Questionnaire written elsewhere: German label with an English translation; none on display items.
    const labelExt = (de: string, en?: string) => ({
      url: 'https://visite.example/fhir/StructureDefinition/item-label',
      valueString: de,
      ...(en
        ? {
            _valueString: {
              extension: [
                {
                  url: 'http://hl7.org/fhir/StructureDefinition/translation',
                  extension: [
                    { url: 'lang', valueCode: 'en' },
                    { url: 'content', valueString: en },
                  ],
                },
              ],
            },
          }
        : {}),
    });
    const r = importQuestionnaire({
      resourceType: 'Questionnaire',
      status: 'active',
      language: 'de',
      title: 'T',
      _title: {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/translation',
            extension: [
              { url: 'lang', valueCode: 'en' },
              { url: 'content', valueString: 'T' },
            ],
          },
        ],
      },
      item: [
        {
          linkId: 'i',
          type: 'display',
          text: 'Hinweis',
          _text: {
            extension: [
              {
                url: 'http://hl7.org/fhir/StructureDefinition/translation',
                extension: [
                  { url: 'lang', valueCode: 'en' },
                  { url: 'content', valueString: 'Note' },
                ],
              },
            ],
          },
          extension: [labelExt('Hinweis')],
        },
        {
          linkId: 'fever',
          type: 'boolean',
          text: 'Fieber?',
          _text: {
            extension: [
              {
                url: 'http://hl7.org/fhir/StructureDefinition/translation',
                extension: [
                  { url: 'lang', valueCode: 'en' },
                  { url: 'content', valueString: 'Fever?' },
                ],
              },
            ],
          },
          extension: [labelExt('Fieber', 'Fever')],
        },
      ],
    });
    if (!r.ok) return expect.fail(r.issues.map((i) => i.message).join('\n'));
    expect(r.warnings).toEqual([]);
    expect(r.source.questions.map((q) => ('label' in q ? q.label : undefined))).toEqual([undefined, { de: 'Fieber', en: 'Fever' }]);
  });

  it('names the offending linkId when enableWhen points nowhere', () => {
    const r = importQuestionnaire(fixture('bad-enablewhen.json'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]?.message).toBe('item "fever-value": enableWhen refers to linkId "has-fever", which does not exist in this Questionnaire');
  });

  it('rejects what it cannot represent, naming the item', () => {
    const base = { resourceType: 'Questionnaire', status: 'active', language: 'de' };
    const cases: [unknown, string][] = [
      [{ resourceType: 'Patient' }, 'not a FHIR Questionnaire'],
      [{ ...base, item: [] }, 'the Questionnaire has no items'],
      [{ ...base, item: [{ linkId: 'r', type: 'reference', text: 'Wer?' }] }, 'item "r": item type "reference" is not supported'],
      [{ ...base, item: [{ linkId: 'v', type: 'choice', text: 'V?', answerValueSet: 'http://x' }] }, 'item "v": answerValueSet is not supported'],
      [
        {
          ...base,
          item: [
            { linkId: 'a', type: 'boolean', text: 'A' },
            { linkId: 'a', type: 'boolean', text: 'B' },
          ],
        },
        'item "a": linkId is not unique',
      ],
      [{ ...base, item: [{ linkId: 'n', type: 'boolean' }] }, 'item "n": has no text'],
      [
        {
          ...base,
          item: [
            { linkId: 'b', type: 'boolean', text: 'B' },
            {
              linkId: 'x',
              type: 'integer',
              text: 'X',
              extension: [
                {
                  url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression',
                  valueExpression: { language: 'text/fhirpath', expression: "%resource.item.where(linkId='zz').answer.value" },
                },
              ],
            },
          ],
        },
        'item "x": expression refers to unknown linkId',
      ],
    ];
    for (const [input, message] of cases) {
      const r = importQuestionnaire(input);
      expect(r.ok, message).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => i.message).join(' | ')).toContain(message);
    }
  });

  it('checks R4 structure first and names the item inside groups', () => {
    const r = importQuestionnaire({
      resourceType: 'Questionnaire',
      status: 'active',
      item: [{ linkId: 'g', type: 'group', item: [{ linkId: 'b', type: 'boolean', text: 'B', required: 'yes' }] }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.message).toBe('item "b": not valid FHIR R4: Invalid JSON type: expected boolean, but got string (required)');
  });

  it('prints YAML an author can read', () => {
    const r = importQuestionnaire(fixture('phq-style.json'));
    if (!r.ok) return expect.fail('import failed');
    const yaml = flowSourceToYaml(r.source);
    expect(parse(yaml)).toEqual(JSON.parse(JSON.stringify(r.source)));
    expect(yaml).toContain('id: wellbeing-check');
  });

  it('turns arbitrary linkIds into valid ids', () => {
    expect(sanitizeId('pain')).toBe('pain');
    expect(sanitizeId('1.2')).toBe('q1-2');
    expect(sanitizeId('Schmerz Stärke')).toBe('schmerz-starke');
  });
});
