import type { Coding as FhirCoding, Extension, Questionnaire, QuestionnaireItem, QuestionnaireItemEnableWhen } from '@medplum/fhirtypes';
import { conditionToSource } from '../flow/decompile.ts';
import type { Condition, EscalationRule, Flow, Question, Scalar, Schedule, TrendCondition } from '../flow/model.ts';
import { trendConditions } from '../engine/history.ts';
import { conditionToFhirPath } from './condition-fhirpath.ts';
import { PRIMARY, primary, translations, withElement } from './text.ts';
import { EXT, ITEM_CONTROL_SYSTEM, UCUM } from './urls.ts';

/**
 * Flow → FHIR R4 Questionnaire with SDC extensions. Everything with a standard
 * home goes there (units, ranges, enableWhen, translations, codes, item
 * controls, observationExtract, calculatedExpression); Visite-only meaning
 * (escalation rules, schedule, conversation settings) uses Visite extensions so
 * that `importQuestionnaire` restores the flow exactly.
 */
export function exportQuestionnaire(flow: Flow): Questionnaire {
  const q: Questionnaire = {
    resourceType: 'Questionnaire',
    id: flow.id,
    url: flow.url,
    version: flow.version,
    name: pascal(flow.id),
    title: primary(flow.title),
    status: 'active',
    language: PRIMARY,
    subjectType: ['Patient'],
  };
  const titleTr = translations(flow.title);
  if (titleTr) withElement(q, '_title', titleTr);
  if (flow.publisher) q.publisher = flow.publisher;
  if (flow.description) {
    q.description = primary(flow.description);
    const tr = translations(flow.description);
    if (tr) withElement(q, '_description', tr);
  }
  const ext: Extension[] = flow.languages.map((l) => ({ url: EXT.flowLanguage, valueCode: l }));
  ext.push({ url: EXT.codeSystem, valueUri: flow.codeSystem });
  ext.push({ url: EXT.maxAttempts, valueInteger: flow.maxAttempts });
  if (flow.intro) ext.push(localizedExtension(EXT.intro, flow.intro));
  if (flow.outro) ext.push(localizedExtension(EXT.outro, flow.outro));
  if (flow.schedule) ext.push(scheduleExtension(flow.schedule));
  for (const r of flow.escalations) ext.push(escalationExtension(flow, r));
  q.extension = ext;
  q.item = [...flow.questions.map((x) => questionItem(flow, x)), ...flow.computed.map((c) => computedItem(flow, c))];
  return q;
}

function questionItem(flow: Flow, q: Question): QuestionnaireItem {
  const item: QuestionnaireItem = { linkId: q.id, text: primary(q.text), type: 'display' };
  const tr = translations(q.text);
  if (tr) withElement(item, '_text', tr);
  const ext: Extension[] = [];
  const children: QuestionnaireItem[] = [];
  if (q.type !== 'info') {
    if (q.label) ext.push(localizedExtension(EXT.itemLabel, q.label));
    item.required = q.required;
    if (q.codes.length > 0) item.code = q.codes.map(fhirCoding);
    if (q.extract) ext.push({ url: EXT.observationExtract, valueBoolean: true });
  }
  switch (q.type) {
    case 'quantity':
      item.type = 'decimal';
      if (q.unit) ext.push({ url: EXT.unit, valueCoding: { system: UCUM, code: q.unit, display: q.unitDisplay ?? q.unit } });
      if (q.min !== undefined) ext.push({ url: EXT.minValue, valueDecimal: q.min });
      if (q.max !== undefined) ext.push({ url: EXT.maxValue, valueDecimal: q.max });
      ext.push({ url: EXT.maxDecimalPlaces, valueInteger: q.decimals });
      break;
    case 'scale':
      item.type = 'integer';
      ext.push({ url: EXT.minValue, valueInteger: q.min }, { url: EXT.maxValue, valueInteger: q.max }, itemControl('slider'));
      if (q.minLabel) children.push(displayChild(`${q.id}.lower`, q.minLabel, 'lower'));
      if (q.maxLabel) children.push(displayChild(`${q.id}.upper`, q.maxLabel, 'upper'));
      if (q.none) ext.push({ url: EXT.noneAnswer, valueCode: q.none });
      break;
    case 'boolean':
      item.type = 'boolean';
      break;
    case 'choice':
    case 'multi-choice':
      item.type = 'choice';
      if (q.type === 'multi-choice') item.repeats = true;
      ext.push(itemControl(q.type === 'multi-choice' ? 'check-box' : 'radio-button'));
      item.answerOption = q.options.map((o) => {
        const coding: FhirCoding = { system: o.system, code: o.code, display: primary(o.text) };
        const dtr = translations(o.text);
        if (dtr) withElement(coding, '_display', dtr);
        const oext: Extension[] = [];
        if (o.exclusive) oext.push({ url: EXT.optionExclusive, valueBoolean: true });
        if (o.emoji) oext.push({ url: EXT.optionEmoji, valueString: o.emoji });
        return oext.length > 0 ? { valueCoding: coding, extension: oext } : { valueCoding: coding };
      });
      break;
    case 'text':
      item.type = 'text';
      item.maxLength = q.maxLength;
      break;
    case 'date':
      item.type = 'date';
      break;
    case 'photo':
      item.type = 'attachment';
      ext.push({ url: 'http://hl7.org/fhir/StructureDefinition/mimeType', valueCode: 'image/*' });
      break;
    case 'info':
      item.type = 'display';
      break;
  }
  if (q.hint) children.push(displayChild(`${q.id}.help`, q.hint, 'help'));
  if (q.enableWhen) applyEnableWhen(flow, item, ext, q.enableWhen);
  if (q.type !== 'info') for (const r of q.escalations) ext.push(escalationExtension(flow, r));
  if (ext.length > 0) item.extension = ext;
  if (children.length > 0) item.item = children;
  return item;
}

function computedItem(flow: Flow, c: Flow['computed'][number]): QuestionnaireItem {
  const item: QuestionnaireItem = { linkId: c.id, type: c.type, readOnly: true };
  const ext: Extension[] = [{ url: EXT.calculatedExpression, valueExpression: { language: 'text/fhirpath', expression: c.expression } }];
  if (c.text) {
    item.text = primary(c.text);
    const tr = translations(c.text);
    if (tr) withElement(item, '_text', tr);
  } else ext.push({ url: EXT.hidden, valueBoolean: true });
  if (c.unit) ext.push({ url: EXT.unit, valueCoding: { system: UCUM, code: c.unit, display: c.unit } });
  if (c.codes.length > 0) item.code = c.codes.map(fhirCoding);
  if (c.extract) ext.push({ url: EXT.observationExtract, valueBoolean: true });
  for (const r of c.escalations) ext.push(escalationExtension(flow, r));
  item.extension = ext;
  return item;
}

/**
 * Plain R4 enableWhen when it can say the same thing (one comparison, or an
 * all/any list of comparisons on questions); otherwise SDC enableWhenExpression.
 */
function applyEnableWhen(flow: Flow, item: QuestionnaireItem, ext: Extension[], c: Condition): void {
  const list = c.kind === 'compare' ? [c] : c.kind === 'all' || c.kind === 'any' ? c.of : [];
  const plain = list.map((x) => toEnableWhen(flow, x));
  // "in" is "any of several =" — only expressible alone.
  const inList = c.kind === 'compare' && c.op === 'in' ? toEnableWhenIn(flow, c) : undefined;
  if (inList) {
    item.enableWhen = inList;
    if (inList.length > 1) item.enableBehavior = 'any';
    return;
  }
  if (plain.length > 0 && plain.every((x) => x !== undefined)) {
    item.enableWhen = plain as QuestionnaireItemEnableWhen[];
    if (plain.length > 1) item.enableBehavior = c.kind === 'any' ? 'any' : 'all';
    return;
  }
  ext.push({ url: EXT.enableWhenExpression, valueExpression: { language: 'text/fhirpath', expression: conditionToFhirPath(flow, c) } });
}

function toEnableWhen(flow: Flow, c: Condition): QuestionnaireItemEnableWhen | undefined {
  if (c.kind !== 'compare' || c.op === 'in') return undefined;
  const target = flow.questions[flow.questionIndex.get(c.answer) ?? -1];
  if (!target) return undefined; // computed values: expression only
  const operator = c.op === 'includes' ? '=' : c.op;
  if (operator === 'exists') return { question: c.answer, operator: 'exists', answerBoolean: c.value !== false };
  if (Array.isArray(c.value) || c.value === undefined) return undefined;
  const answer = answerFor(flow, target, c.value);
  return answer ? { question: c.answer, operator, ...answer } : undefined;
}

function toEnableWhenIn(flow: Flow, c: Extract<Condition, { kind: 'compare' }>): QuestionnaireItemEnableWhen[] | undefined {
  const target = flow.questions[flow.questionIndex.get(c.answer) ?? -1];
  if (!target || !Array.isArray(c.value)) return undefined;
  const out: QuestionnaireItemEnableWhen[] = [];
  for (const v of c.value) {
    const answer = answerFor(flow, target, v);
    if (!answer) return undefined;
    out.push({ question: c.answer, operator: '=', ...answer });
  }
  return out;
}

function answerFor(flow: Flow, q: Question, v: Scalar): Partial<QuestionnaireItemEnableWhen> | undefined {
  switch (q.type) {
    case 'boolean':
      return typeof v === 'boolean' ? { answerBoolean: v } : undefined;
    case 'scale':
      return typeof v === 'number' && Number.isInteger(v) ? { answerInteger: v } : undefined;
    case 'quantity':
      return typeof v === 'number' ? { answerDecimal: v } : undefined;
    case 'choice':
    case 'multi-choice': {
      const o = q.options.find((x) => x.code === String(v));
      return o ? { answerCoding: { system: o.system ?? flow.codeSystem, code: o.code } } : undefined;
    }
    case 'date':
      return typeof v === 'string' ? { answerDate: v } : undefined;
    case 'text':
      return typeof v === 'string' ? { answerString: v } : undefined;
    default:
      return undefined;
  }
}

function escalationExtension(flow: Flow, r: EscalationRule): Extension {
  const trends = trendConditions(r.when);
  return {
    url: EXT.escalation,
    extension: [
      { url: 'id', valueId: r.id },
      { url: 'severity', valueCode: r.severity },
      // Exact rule for Visite, FHIRPath for everyone else.
      { url: 'condition', valueString: JSON.stringify(conditionToSource(r.when)) },
      // FHIRPath sees one response, not the patient's earlier check-ins: rules
      // with trends carry each trend as a structured Visite extension instead.
      ...(trends.length === 0
        ? [{ url: 'expression', valueExpression: { language: 'text/fhirpath', expression: conditionToFhirPath(flow, r.when) } } as Extension]
        : trends.map(trendExtension)),
      localizedExtension('message', r.message),
    ],
  };
}

/**
 * A trend condition as a Visite extension: the question (linkId), how many
 * check-ins, the time window as a UCUM Duration, and what is tested
 * (each|rising|falling|increase|decrease with comparator and value).
 */
export function trendExtension(c: TrendCondition): Extension {
  const ext: Extension[] = [{ url: 'linkId', valueString: c.answer }];
  if (c.checkins !== undefined) ext.push({ url: 'checkins', valueInteger: c.checkins });
  if (c.within)
    ext.push({ url: 'within', valueDuration: { value: c.within.amount, unit: c.within.unit === 'd' ? 'day' : 'hour', system: UCUM, code: c.within.unit } });
  ext.push({ url: 'test', valueCode: c.test.type });
  if (c.test.type === 'each') ext.push({ url: 'comparator', valueCode: c.test.op }, { url: 'value', valueDecimal: c.test.value });
  if (c.test.type === 'increase' || c.test.type === 'decrease') ext.push({ url: 'value', valueDecimal: c.test.by });
  return { url: EXT.trend, extension: ext };
}

function scheduleExtension(s: Schedule): Extension {
  const ext: Extension[] = [{ url: 'anchor', valueCode: s.anchor }];
  for (const d of s.days) ext.push({ url: 'day', valueInteger: d });
  ext.push({ url: 'time', valueTime: `${s.time}:00` }, { url: 'timezone', valueCode: s.timezone });
  if (s.reminderAfterHours !== undefined) ext.push({ url: 'reminderAfterHours', valueDecimal: s.reminderAfterHours });
  if (s.expireAfterHours !== undefined) ext.push({ url: 'expireAfterHours', valueDecimal: s.expireAfterHours });
  return { url: EXT.schedule, extension: ext };
}

function localizedExtension(url: string, t: Flow['title']): Extension {
  const ext: Extension = { url, valueString: primary(t) };
  const tr = translations(t);
  if (tr) withElement(ext, '_valueString', tr);
  return ext;
}

function itemControl(code: string): Extension {
  return { url: EXT.itemControl, valueCodeableConcept: { coding: [{ system: ITEM_CONTROL_SYSTEM, code }] } };
}

function displayChild(linkId: string, t: Flow['title'], control: string): QuestionnaireItem {
  const child: QuestionnaireItem = { linkId, type: 'display', text: primary(t), extension: [itemControl(control)] };
  const tr = translations(t);
  if (tr) withElement(child, '_text', tr);
  return child;
}

function fhirCoding(c: { system: string; code: string; display?: string }): FhirCoding {
  return c.display ? { system: c.system, code: c.code, display: c.display } : { system: c.system, code: c.code };
}

function pascal(id: string): string {
  return id
    .split(/[-_]/)
    .map((p) => (p ? (p[0] ?? '').toUpperCase() + p.slice(1) : ''))
    .join('');
}
