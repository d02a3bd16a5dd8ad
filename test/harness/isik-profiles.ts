/**
 * The required elements of the ISiK Formularmodul profiles, Stufe 5 (5.0.0),
 * as rules with names, written from the profiles (gematik, ISiK Formularmodul:
 * ISiKFormularDefinition on Questionnaire, ISiKFormularDaten on
 * QuestionnaireResponse; simplifier.net/guide/isik-formular-stufe-5). Kept
 * apart from Visite's own reading of incoming forms (core/tim/answers.ts), so
 * a mistake there cannot hide itself here. Each rule returns what is wrong.
 */
type Json = Record<string, unknown>;
const obj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

const DEFINITION = 'https://gematik.de/fhir/isik/StructureDefinition/ISiKFormularDefinition';
const DATA = 'https://gematik.de/fhir/isik/StructureDefinition/ISiKFormularDaten';
const MDR = 'https://gematik.de/fhir/isik/StructureDefinition/ISiKMDRRelevanzFormularExtension';
const MDR_CODES = 'https://gematik.de/fhir/isik/CodeSystem/ISiKMDRRelevanzFormularCS';
const DISPLAY = 'http://hl7.org/fhir/StructureDefinition/display';

type Rule = (r: Json) => string | undefined;

function items(list: unknown): Json[] {
  return Array.isArray(list)
    ? list.filter(obj).flatMap((i) => [i, ...items(i['item']), ...(Array.isArray(i['answer']) ? i['answer'].filter(obj).flatMap((a) => items(a['item'])) : [])])
    : [];
}

function mdrRule(min: 0 | 1): Rule {
  return (r) => {
    const found = (Array.isArray(r['modifierExtension']) ? r['modifierExtension'] : []).filter((e) => obj(e) && e['url'] === MDR) as Json[];
    if (found.length < min) return 'the MDR relevance extension is required';
    if (found.length > 1) return 'at most one MDR relevance extension';
    const coding = found[0]?.['valueCoding'];
    if (found.length === 1 && !(obj(coding) && coding['system'] === MDR_CODES && (coding['code'] === 'none' || coding['code'] === 'rel')))
      return 'valueCoding from ISiKMDRRelevanzFormularCS (none | rel) is required';
    return undefined;
  };
}

export const FORM_DEFINITION_RULES: Record<string, Rule> = {
  'ISiKFormularDefinition is a Questionnaire claiming the profile': (r) =>
    r['resourceType'] !== 'Questionnaire'
      ? 'not a Questionnaire'
      : !(obj(r['meta']) && Array.isArray(r['meta']['profile']) && r['meta']['profile'].some((p) => String(p).split('|')[0] === DEFINITION))
        ? 'meta.profile does not name ISiKFormularDefinition'
        : undefined,
  'ISiKFormularDefinition.url 1..1': (r) => (str(r['url']) ? undefined : 'url is required'),
  'ISiKFormularDefinition.version 1..1': (r) => (str(r['version']) ? undefined : 'version is required'),
  'ISiKFormularDefinition.title 1..1': (r) => (str(r['title']) ? undefined : 'title is required'),
  'ISiKFormularDefinition.status 1..1 (active | retired)': (r) =>
    r['status'] === 'active' || r['status'] === 'retired' ? undefined : `status "${String(r['status'])}"`,
  'ISiKFormularDefinition.subjectType 1..1 = Patient': (r) =>
    Array.isArray(r['subjectType']) && r['subjectType'].length === 1 && r['subjectType'][0] === 'Patient' ? undefined : 'subjectType must be exactly [Patient]',
  'ISiKFormularDefinition.description 1..1': (r) => (str(r['description']) ? undefined : 'description is required'),
  'ISiKFormularDefinition.modifierExtension:MDR-Relevant 0..1': mdrRule(0),
  'ISiKFormularDefinition.item.linkId 1..1': (r) => (items(r['item']).every((i) => str(i['linkId'])) ? undefined : 'an item without linkId'),
  'ISiKFormularDefinition.item.type 1..1': (r) => (items(r['item']).every((i) => str(i['type'])) ? undefined : 'an item without type'),
  'que-2: linkIds are unique': (r) => {
    const ids = items(r['item']).map((i) => i['linkId']);
    return new Set(ids).size === ids.length ? undefined : 'duplicate linkIds';
  },
  'que-0: name is a machine-processable identifier': (r) =>
    r['name'] === undefined || /^[A-Z]([A-Za-z0-9_]){0,254}$/.test(String(r['name'])) ? undefined : `name "${String(r['name'])}"`,
  'ISiKFormularDefinition.item.enableWhen refers to an item of the form': (r) => {
    const ids = new Set(items(r['item']).map((i) => i['linkId']));
    const dangling = items(r['item']).flatMap((i) => (Array.isArray(i['enableWhen']) ? i['enableWhen'] : []).filter((w) => obj(w) && !ids.has(w['question'])));
    return dangling.length === 0 ? undefined : 'enableWhen.question names no item';
  },
};

export const FORM_DATA_RULES: Record<string, Rule> = {
  'ISiKFormularDaten is a QuestionnaireResponse': (r) => (r['resourceType'] === 'QuestionnaireResponse' ? undefined : 'not a QuestionnaireResponse'),
  'ISiKFormularDaten.modifierExtension:MDR-Relevant 1..1': mdrRule(1),
  'ISiKFormularDaten.questionnaire 1..1': (r) => (str(r['questionnaire']) ? undefined : 'questionnaire is required'),
  'ISiKFormularDaten.questionnaire.extension:questionnaireDisplay 1..1': (r) => {
    const ext =
      obj(r['_questionnaire']) && Array.isArray(r['_questionnaire']['extension'])
        ? (r['_questionnaire']['extension'] as unknown[]).filter((e) => obj(e) && e['url'] === DISPLAY)
        : [];
    return ext.length === 1 && str((ext[0] as Json)['valueString']) ? undefined : 'exactly one questionnaireDisplay (display extension with valueString)';
  },
  'ISiKFormularDaten.status 1..1': (r) =>
    ['in-progress', 'completed', 'amended', 'entered-in-error', 'stopped'].includes(String(r['status'])) ? undefined : 'status is required',
  'ISiKFormularDaten.subject 1..1': (r) =>
    obj(r['subject']) && (str(r['subject']['reference']) || obj(r['subject']['identifier'])) ? undefined : 'subject is required',
  'ISiKFormularDaten.authored 1..1': (r) =>
    str(r['authored']) && !Number.isNaN(Date.parse(String(r['authored']))) ? undefined : 'authored is required (dateTime)',
  'ISiKFormularDaten.item.linkId 1..1': (r) => (items(r['item']).every((i) => str(i['linkId'])) ? undefined : 'an item without linkId'),
  'ISiKFormularDaten.item.text (MS: the question travels with the answer)': (r) =>
    items(r['item']).every((i) => str(i['text'])) ? undefined : 'an item without text',
  'ISiKFormularDaten.item.answer.value[x] (MS: every answer has a value)': (r) =>
    items(r['item']).every((i) => !Array.isArray(i['answer']) || i['answer'].every((a) => obj(a) && Object.keys(a).some((k) => k.startsWith('value'))))
      ? undefined
      : 'an answer without value',
  'sdcqr-2: an answered linkId appears once per level': (r) => {
    const level = (list: unknown): boolean => {
      const answered = (Array.isArray(list) ? list.filter(obj) : []).filter((i) => Array.isArray(i['answer']) && i['answer'].length > 0);
      return new Set(answered.map((i) => i['linkId'])).size === answered.length && (Array.isArray(list) ? list.filter(obj) : []).every((i) => level(i['item']));
    };
    return level(r['item']) ? undefined : 'duplicate answered linkIds';
  },
};

/** Names every rule with what is wrong; `{}` when all hold. */
export function violations(rules: Record<string, Rule>, resource: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!obj(resource)) return { resource: 'not an object' };
  for (const [name, rule] of Object.entries(rules)) {
    const problem = rule(resource);
    if (problem) out[name] = problem;
  }
  return out;
}

export const ISIK_URLS = { DEFINITION, DATA, MDR, MDR_CODES, DISPLAY };
