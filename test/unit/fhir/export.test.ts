import type { Extension, QuestionnaireItem } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { exportQuestionnaire } from '../../../core/fhir/export.ts';
import { EXT } from '../../../core/fhir/urls.ts';
import { validateR4 } from '../../../core/fhir/validate.ts';
import { flowFrom, HEADER, shippedFlow } from '../helpers.ts';

const ext = (x: { extension?: Extension[] } | undefined, url: string) => x?.extension?.find((e) => e.url === url);
const item = (items: QuestionnaireItem[] | undefined, linkId: string) => items?.find((i) => i.linkId === linkId);

describe('export to FHIR R4 Questionnaire (SDC)', () => {
  const q = exportQuestionnaire(shippedFlow('post-op'));

  it('is valid R4', () => {
    expect(validateR4(q)).toEqual([]);
    expect(validateR4(exportQuestionnaire(shippedFlow('medication-change')))).toEqual([]);
  });

  it('carries metadata and translations of the title', () => {
    expect(q).toMatchObject({
      resourceType: 'Questionnaire',
      id: 'post-op',
      version: '1.0.0',
      status: 'active',
      language: 'de',
      title: 'Check-in nach der Operation',
    });
    const tr = (q as unknown as { _title: { extension: Extension[] } })._title.extension;
    expect(tr).toContainEqual({
      url: EXT.translation,
      extension: [
        { url: 'lang', valueCode: 'tr' },
        { url: 'content', valueString: 'Ameliyat sonrası kontrol' },
      ],
    });
  });

  it('exports quantity with UCUM unit, min/max and observationExtract', () => {
    const temp = item(q.item, 'temperature');
    expect(temp).toMatchObject({ type: 'decimal', required: false, code: [{ system: 'http://loinc.org', code: '8310-5' }] });
    expect(ext(temp, EXT.unit)?.valueCoding).toEqual({ system: 'http://unitsofmeasure.org', code: 'Cel', display: '°C' });
    expect(ext(temp, EXT.minValue)?.valueDecimal).toBe(34);
    expect(ext(temp, EXT.maxValue)?.valueDecimal).toBe(43);
    expect(ext(temp, EXT.observationExtract)?.valueBoolean).toBe(true);
    expect(temp?.item?.find((c) => c.linkId === 'temperature.help')?.text).toContain('37,2');
  });

  it('exports a question label as a Visite extension with translations on its valueString', () => {
    const label = ext(item(q.item, 'pain'), EXT.itemLabel);
    expect(EXT.itemLabel).toBe('https://visite.example/fhir/StructureDefinition/item-label');
    expect(label?.valueString).toBe('Schmerzen');
    const tr = (label as unknown as { _valueString: { extension: Extension[] } })._valueString.extension;
    expect(tr).toContainEqual({
      url: EXT.translation,
      extension: [
        { url: 'lang', valueCode: 'tr' },
        { url: 'content', valueString: 'Ağrı' },
      ],
    });
    expect(tr).toHaveLength(6);
    // `prefix` stays free for numbering ("1.", "(a)").
    expect(item(q.item, 'pain')?.prefix).toBeUndefined();
    const unlabelled = exportQuestionnaire(flowFrom(`${HEADER}questions:\n  - { id: a, type: boolean, text: { de: A, en: A } }\n`));
    expect(ext(item(unlabelled.item, 'a'), EXT.itemLabel)).toBeUndefined();
  });

  it('exports a scale as integer slider with lower/upper labels', () => {
    const pain = item(q.item, 'pain');
    expect(pain?.type).toBe('integer');
    expect(ext(pain, EXT.itemControl)?.valueCodeableConcept?.coding?.[0]?.code).toBe('slider');
    expect(pain?.item?.map((c) => c.linkId)).toEqual(['pain.lower', 'pain.upper']);
  });

  it('exports choices as codings with translations, exclusive and check-box', () => {
    const wound = item(q.item, 'wound');
    expect(wound).toMatchObject({ type: 'choice', repeats: true });
    expect(ext(wound, EXT.itemControl)?.valueCodeableConcept?.coding?.[0]?.code).toBe('check-box');
    const first = wound?.answerOption?.[0];
    expect(first?.valueCoding).toMatchObject({ system: 'https://visite.example/fhir/CodeSystem/post-op', code: 'unremarkable', display: 'unauffällig' });
    expect(ext(first, EXT.optionExclusive)?.valueBoolean).toBe(true);
  });

  it('exports enableWhen as plain R4 where possible (in → any of =)', () => {
    const photo = item(q.item, 'wound_photo');
    expect(photo).toMatchObject({ type: 'attachment', enableBehavior: 'any' });
    expect(photo?.enableWhen).toHaveLength(4);
    expect(photo?.enableWhen?.[0]).toEqual({
      question: 'wound',
      operator: '=',
      answerCoding: { system: 'https://visite.example/fhir/CodeSystem/post-op', code: 'redness' },
    });
  });

  it('exports complex conditions as enableWhenExpression and computed values as calculatedExpression', () => {
    const flow = flowFrom(`${HEADER}questions:
  - { id: a, type: boolean, text: { de: A, en: A } }
  - { id: b, type: boolean, text: { de: B, en: B } }
  - id: c
    type: text
    enableWhen: { not: { any: [{ answer: a, op: "=", value: true }, { answer: b, op: exists }] } }
    text: { de: C, en: C }
computed:
  - { id: n, type: integer, expression: "%resource.item.answer.count()" }
`);
    const out = exportQuestionnaire(flow);
    const c = item(out.item, 'c');
    expect(c?.enableWhen).toBeUndefined();
    expect(ext(c, EXT.enableWhenExpression)?.valueExpression).toEqual({
      language: 'text/fhirpath',
      expression: "((%resource.item.where(linkId='a').answer.value = true) or (%resource.item.where(linkId='b').answer.value.exists())).not()",
    });
    const n = item(out.item, 'n');
    expect(n).toMatchObject({ type: 'integer', readOnly: true });
    expect(ext(n, EXT.calculatedExpression)?.valueExpression?.expression).toBe('%resource.item.answer.count()');
    expect(ext(n, EXT.hidden)?.valueBoolean).toBe(true);
    expect(validateR4(out)).toEqual([]);
  });

  it('keeps escalation rules as Visite extensions with a FHIRPath rendering', () => {
    const fever = item(q.item, 'temperature')?.extension?.filter((e) => e.url === EXT.escalation) ?? [];
    expect(fever).toHaveLength(4);
    const sub = (e: Extension, url: string) => e.extension?.find((x) => x.url === url);
    expect(sub(fever[0]!, 'id')?.valueId).toBe('fever');
    expect(sub(fever[0]!, 'severity')?.valueCode).toBe('warning');
    expect(sub(fever[0]!, 'expression')?.valueExpression?.expression).toBe("%resource.item.where(linkId='temperature').answer.value >= 38.5");
    expect(q.extension?.some((e) => e.url === EXT.schedule)).toBe(true);
  });

  it('exports a trend rule with a structured trend extension instead of a FHIRPath expression', () => {
    const rules = item(q.item, 'temperature')?.extension?.filter((e) => e.url === EXT.escalation) ?? [];
    const persisting = rules.find((r) => r.extension?.some((x) => x.url === 'id' && x.valueId === 'fever-persisting'));
    expect(persisting).toBeDefined();
    expect(persisting?.extension?.some((x) => x.url === 'expression')).toBe(false);
    expect(JSON.parse(persisting?.extension?.find((x) => x.url === 'condition')?.valueString ?? '{}')).toEqual({
      trend: 'temperature',
      checkins: 2,
      within: '7d',
      op: '>=',
      value: 38,
    });
    expect(ext(persisting, EXT.trend)?.extension).toEqual([
      { url: 'linkId', valueString: 'temperature' },
      { url: 'checkins', valueInteger: 2 },
      { url: 'within', valueDuration: { value: 7, unit: 'day', system: 'http://unitsofmeasure.org', code: 'd' } },
      { url: 'test', valueCode: 'each' },
      { url: 'comparator', valueCode: '>=' },
      { url: 'value', valueDecimal: 38 },
    ]);
  });
});
