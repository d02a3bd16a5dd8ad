import type { Coding as FhirCoding, Extension, Questionnaire, QuestionnaireItem, QuestionnaireItemEnableWhen } from '@medplum/fhirtypes';
import { Document, isScalar, visit } from 'yaml';
import { compileFlow } from '../flow/compile.ts';
import { type FlowIssue, formatPath, issue } from '../flow/errors.ts';
import { CODE_SYSTEM_ALIASES, type Flow, type LocalizedText } from '../flow/model.ts';
import {
  type CodingSource,
  type ConditionSource,
  type EscalationSource,
  FlowSchema,
  type FlowSource,
  ID_PATTERN,
  type OptionSource,
  type QuestionSource,
  type ScheduleSource,
  SEVERITIES,
} from '../flow/schema.ts';
import { isLanguage, type Language, LANGUAGES } from '../language.ts';
import { elementOf, readTranslations } from './text.ts';
import { validateR4 } from './validate.ts';
import { EXT } from './urls.ts';

export type ImportResult = { ok: true; source: FlowSource; flow: Flow; warnings: string[] } | { ok: false; issues: FlowIssue[] };

/**
 * FHIR R4 Questionnaire (JSON) → flow source. Reads everything
 * `exportQuestionnaire` writes, plus plain R4/SDC: groups (flattened),
 * enableWhen/enableBehavior, enableWhenExpression, calculatedExpression,
 * units, min/max, translations. Problems name the offending linkId. The result
 * passes the same checks as a hand-written flow.
 */
export function importQuestionnaire(input: unknown): ImportResult {
  return new Importer().run(input);
}

/** Flow source → YAML text as an author would write it. */
export function flowSourceToYaml(source: FlowSource): string {
  const doc = new Document(source, { aliasDuplicateObjects: false });
  // Short lists and codings/comparisons on one line, as in the hand-written flows.
  visit(doc, {
    Scalar(_, node) {
      // "09:00" stays a string for YAML 1.1 readers too (sexagesimal numbers).
      if (typeof node.value === 'string' && /^\d{1,2}:\d{2}$/.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
    Map(_, node) {
      const keys = node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ''));
      const coding = keys.every((k) => ['system', 'code', 'display'].includes(k)) && keys.includes('code');
      const compare = keys.every((k) => ['answer', 'op', 'value'].includes(k)) && keys.includes('op');
      if (coding || compare) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

type Ctx = { enableWhen?: ConditionSource };

class Importer {
  private readonly issues: FlowIssue[] = [];
  private readonly warnings: string[] = [];
  private base: Language = 'de';
  private readonly linkIds = new Map<string, string>(); // linkId → flow id
  private readonly questions: QuestionSource[] = [];
  private readonly computed: NonNullable<FlowSource['computed']> = [];
  private codeSystem: string | undefined;

  private fail(linkId: string | undefined, message: string, hint?: string): void {
    this.issues.push(
      issue(
        linkId === undefined ? 'invalid-questionnaire' : 'unsupported-fhir',
        linkId === undefined ? [] : ['item', linkId],
        linkId === undefined ? message : `item "${linkId}": ${message}`,
        hint,
      ),
    );
  }

  run(input: unknown): ImportResult {
    if (input === null || typeof input !== 'object' || (input as { resourceType?: unknown }).resourceType !== 'Questionnaire') {
      return {
        ok: false,
        issues: [
          issue('invalid-questionnaire', [], 'not a FHIR Questionnaire (resourceType must be "Questionnaire")', 'export the Questionnaire as FHIR R4 JSON'),
        ],
      };
    }
    const q = input as Questionnaire;
    // Structure first (types, cardinalities, unknown properties), located by linkId.
    const structural = validateR4(q);
    if (structural.length > 0) {
      return { ok: false, issues: structural.map((i) => this.structuralIssue(q, i.expression?.[0] ?? '', i.details?.text ?? i.diagnostics ?? 'invalid')) };
    }
    const lang = q.language?.split('-')[0]?.toLowerCase();
    if (isLanguage(lang)) this.base = lang;
    else if (q.language) this.warnings.push(`Questionnaire.language "${q.language}" is not a Visite language; texts are read as German (de)`);
    else this.warnings.push('Questionnaire.language is not set; texts are read as German (de)');
    this.codeSystem = ext(q.extension, EXT.codeSystem)?.valueUri;

    const items = Array.isArray(q.item) ? q.item : [];
    if (items.length === 0) this.fail(undefined, 'the Questionnaire has no items', 'a flow needs at least one question');
    this.collectIds(items);
    for (const item of items) this.item(item, {});
    if (this.issues.length > 0) return { ok: false, issues: this.issues };

    const rawId = q.id ?? q.name ?? 'imported';
    const source: FlowSource = {
      id: sanitizeId(rawId),
      version: q.version ?? '1',
      title: this.text(q.title ?? q.name ?? rawId, elementOf(q, '_title'), 'title'),
      languages: [],
      questions: this.questions,
    };
    if (q.description) source.description = this.text(q.description, elementOf(q, '_description'), 'description');
    if (q.url && !q.url.startsWith('https://visite.example/fhir/Questionnaire/')) source.url = q.url;
    if (q.publisher) source.publisher = q.publisher;
    if (this.codeSystem && this.codeSystem !== `https://visite.example/fhir/CodeSystem/${source.id}`) source.codeSystem = this.codeSystem;
    const maxAttempts = ext(q.extension, EXT.maxAttempts)?.valueInteger;
    if (maxAttempts !== undefined && maxAttempts !== 3) source.maxAttempts = maxAttempts;
    const intro = ext(q.extension, EXT.intro);
    if (intro?.valueString) source.intro = this.text(intro.valueString, elementOf(intro, '_valueString'), 'intro');
    const outro = ext(q.extension, EXT.outro);
    if (outro?.valueString) source.outro = this.text(outro.valueString, elementOf(outro, '_valueString'), 'outro');
    const schedule = this.schedule(ext(q.extension, EXT.schedule));
    if (schedule) source.schedule = schedule;
    if (this.computed.length > 0) source.computed = this.computed;
    const flowRules = this.escalations(q.extension, undefined);
    if (flowRules.length > 0) source.escalations = flowRules;
    source.languages = this.languages(source, q.extension);
    if (this.issues.length > 0) return { ok: false, issues: this.issues };

    // Same checks as for YAML flows; paths are translated back to linkIds.
    const parsed = FlowSchema.safeParse(JSON.parse(JSON.stringify(source)));
    if (!parsed.success) {
      return {
        ok: false,
        issues: parsed.error.issues.map((zi) =>
          this.located(
            issue(
              'invalid-questionnaire',
              zi.path.filter((p): p is string | number => typeof p !== 'symbol'),
              zi.message,
            ),
            source,
          ),
        ),
      };
    }
    const compiled = compileFlow(parsed.data);
    if (!compiled.ok) return { ok: false, issues: compiled.issues.map((i) => this.located(i, source)) };
    return { ok: true, source: parsed.data, flow: compiled.flow, warnings: this.warnings };
  }

  /** An R4 validation issue at e.g. "Questionnaire.item[1].item[0].required", named by the item's linkId. */
  private structuralIssue(q: Questionnaire, expression: string, text: string): FlowIssue {
    let items = q.item;
    let linkId: string | undefined;
    let rest = expression.replace(/^Questionnaire\.?/, '');
    for (let m = /^item\[(\d+)\]\.?/.exec(rest); m; m = /^item\[(\d+)\]\.?/.exec(rest)) {
      const item: QuestionnaireItem | undefined = items?.[Number(m[1])];
      if (!item) break;
      linkId = typeof item.linkId === 'string' ? item.linkId : linkId;
      items = item.item;
      rest = rest.slice(m[0].length);
    }
    const where = rest ? ` (${rest})` : '';
    return linkId === undefined
      ? issue('invalid-questionnaire', [], `not valid FHIR R4: ${text}${where}`, 'fix the Questionnaire JSON')
      : issue('invalid-questionnaire', ['item', linkId], `item "${linkId}": not valid FHIR R4: ${text}${where}`, 'fix this item in the Questionnaire JSON');
  }

  /** Replaces ['questions', 3, ...] by the item's linkId in messages. */
  private located(i: FlowIssue, source: FlowSource): FlowIssue {
    const [head, index] = i.path;
    if ((head === 'questions' || head === 'computed') && typeof index === 'number') {
      const id = head === 'questions' ? source.questions[index]?.id : source.computed?.[index]?.id;
      const linkId = [...this.linkIds].find(([, v]) => v === id)?.[0] ?? id;
      return { ...i, message: `item "${linkId}": ${i.message}${i.path.length > 2 ? ` (${formatPath(i.path.slice(2))})` : ''}`, path: ['item', linkId ?? ''] };
    }
    return i;
  }

  private collectIds(items: QuestionnaireItem[]): void {
    for (const item of items) {
      if (typeof item.linkId !== 'string' || item.linkId === '') {
        this.fail(undefined, 'an item has no linkId', 'every Questionnaire item needs a linkId');
        continue;
      }
      if (item.type === 'group') {
        this.collectIds(item.item ?? []);
        continue;
      }
      const id = sanitizeId(item.linkId);
      if ([...this.linkIds.values()].includes(id) || this.linkIds.has(item.linkId)) {
        this.fail(item.linkId, `linkId is not unique (as flow id "${id}")`, 'give every item its own linkId');
      }
      this.linkIds.set(item.linkId, id);
      if (id !== item.linkId) this.warnings.push(`linkId "${item.linkId}" becomes question id "${id}"`);
    }
  }

  private item(item: QuestionnaireItem, ctx: Ctx): void {
    const linkId = item.linkId;
    if (typeof linkId !== 'string' || linkId === '') return;
    const enableWhen = this.enableWhen(item, ctx);
    if (item.type === 'group') {
      // Groups are flattened; their condition applies to every child.
      const childCtx: Ctx = enableWhen ? { enableWhen } : {};
      for (const child of item.item ?? []) this.item(child, childCtx);
      return;
    }
    const id = this.linkIds.get(linkId) ?? sanitizeId(linkId);
    const calculated = ext(item.extension, EXT.calculatedExpression)?.valueExpression?.expression;
    if (calculated) return this.computedItem(item, id, calculated);

    // `type` right after `id`, as authors write it; the real type is set below.
    const base: Record<string, unknown> = { id, type: 'info', text: this.text(item.text ?? '', elementOf(item, '_text'), linkId) };
    if (!item.text) {
      this.fail(linkId, 'has no text', 'add the question text (Questionnaire.item.text)');
      return;
    }
    const label = ext(item.extension, EXT.itemLabel);
    if (label?.valueString && item.type !== 'display') base['label'] = this.text(label.valueString, elementOf(label, '_valueString'), linkId);
    const hint = (item.item ?? []).find((c) => c.type === 'display' && controlOf(c) === 'help');
    if (hint?.text) base['hint'] = this.text(hint.text, elementOf(hint, '_text'), linkId);
    if (enableWhen) base['enableWhen'] = enableWhen;
    if (item.type !== 'display') {
      if (item.required !== true) base['required'] = false;
      const codes = (item.code ?? []).map((c) => this.coding(c, linkId)).filter((c): c is CodingSource => !!c);
      if (codes.length > 0) base['codes'] = codes;
      const extract = ext(item.extension, EXT.observationExtract)?.valueBoolean === true;
      if (extract !== codes.length > 0) base['extract'] = extract;
      const rules = this.escalations(item.extension, linkId);
      if (rules.length > 0) base['escalations'] = rules;
    }
    const min = numberExt(item.extension, EXT.minValue);
    const max = numberExt(item.extension, EXT.maxValue);
    const unit = ext(item.extension, EXT.unit)?.valueCoding ?? ext(item.extension, EXT.unitOption)?.valueCoding;
    switch (item.type) {
      case 'display':
        if (controlOf(item) && ['help', 'lower', 'upper', 'flyover', 'legal'].includes(controlOf(item) ?? '')) return;
        base['type'] = 'info';
        break;
      case 'boolean':
        base['type'] = 'boolean';
        break;
      case 'integer':
        if (min !== undefined && max !== undefined && Number.isInteger(min) && Number.isInteger(max) && max - min <= 100 && !unit) {
          base['type'] = 'scale';
          base['min'] = min;
          base['max'] = max;
          const lower = (item.item ?? []).find((c) => c.type === 'display' && controlOf(c) === 'lower');
          const upper = (item.item ?? []).find((c) => c.type === 'display' && controlOf(c) === 'upper');
          if (lower?.text) base['minLabel'] = this.text(lower.text, elementOf(lower, '_text'), linkId);
          if (upper?.text) base['maxLabel'] = this.text(upper.text, elementOf(upper, '_text'), linkId);
          const none = ext(item.extension, EXT.noneAnswer)?.valueCode;
          if (none) base['none'] = none;
          break;
        }
        quantityFields(base, item, 0);
        break;
      case 'decimal':
      case 'quantity':
        quantityFields(base, item, undefined);
        break;
      case 'choice':
      case 'open-choice': {
        base['type'] = item.repeats ? 'multi-choice' : 'choice';
        if (!item.answerOption?.length) {
          this.fail(
            linkId,
            item.answerValueSet ? 'answerValueSet is not supported' : 'choice without answerOption',
            'list the options as answerOption (valueCoding or valueString)',
          );
          return;
        }
        if (item.type === 'open-choice') this.warnings.push(`item "${linkId}": open-choice imported as choice (free text is not offered)`);
        const options: OptionSource[] = [];
        for (const [i, o] of item.answerOption.entries()) {
          const option = this.option(o, linkId, i);
          if (option) options.push(option);
        }
        base['options'] = options;
        break;
      }
      case 'string':
      case 'text':
        base['type'] = 'text';
        if (item.maxLength !== undefined && item.maxLength !== 2000) base['maxLength'] = item.maxLength;
        break;
      case 'date':
        base['type'] = 'date';
        break;
      case 'dateTime':
        base['type'] = 'date';
        this.warnings.push(`item "${linkId}": dateTime imported as date`);
        break;
      case 'attachment':
        base['type'] = 'photo';
        break;
      default:
        this.fail(
          linkId,
          `item type "${String(item.type)}" is not supported`,
          'Visite supports boolean, integer, decimal, quantity, choice, open-choice, string, text, date, dateTime, attachment, display and group',
        );
        return;
    }
    if (base['type'] === 'info') {
      delete base['required'];
    }
    this.questions.push(base as QuestionSource);
  }

  private computedItem(item: QuestionnaireItem, id: string, expression: string): void {
    const type = item.type === 'integer' || item.type === 'decimal' || item.type === 'boolean' ? item.type : undefined;
    if (!type) {
      this.fail(item.linkId, `calculatedExpression on a ${String(item.type)} item is not supported`, 'computed values are integer, decimal or boolean');
      return;
    }
    const c: NonNullable<FlowSource['computed']>[number] = { id, type, expression: this.rewriteLinkIds(expression) };
    if (item.text) c.text = this.text(item.text, elementOf(item, '_text'), item.linkId);
    const unit = ext(item.extension, EXT.unit)?.valueCoding?.code;
    if (unit) c.unit = unit;
    const codes = (item.code ?? []).map((x) => this.coding(x, item.linkId)).filter((x): x is CodingSource => !!x);
    if (codes.length > 0) c.codes = codes;
    const extract = ext(item.extension, EXT.observationExtract)?.valueBoolean === true;
    if (extract !== codes.length > 0) c.extract = extract;
    const rules = this.escalations(item.extension, item.linkId);
    if (rules.length > 0) c.escalations = rules;
    this.computed.push(c);
  }

  private enableWhen(item: QuestionnaireItem, ctx: Ctx): ConditionSource | undefined {
    const parts: ConditionSource[] = [];
    if (ctx.enableWhen) parts.push(ctx.enableWhen);
    const list = Array.isArray(item.enableWhen) ? item.enableWhen : [];
    const own = list.map((w) => this.enableWhenOne(w, item.linkId)).filter((c): c is ConditionSource => !!c);
    if (own.length === 1 && own[0]) parts.push(own[0]);
    else if (
      own.length > 1 &&
      item.enableBehavior === 'any' &&
      own.every((c) => (c.op === '=' || c.op === 'includes') && c.answer === own[0]?.answer && !Array.isArray(c.value))
    ) {
      // "any of several = on one question" is what Visite writes for `in`.
      parts.push({ answer: own[0]?.answer, op: 'in', value: own.map((c) => c.value as string | number | boolean) });
    } else if (own.length > 1) parts.push(item.enableBehavior === 'any' ? { any: own } : { all: own });
    if (own.length > 1 && item.enableBehavior === undefined)
      this.warnings.push(`item "${item.linkId}": several enableWhen without enableBehavior; using "all"`);
    const expression = ext(item.extension, EXT.enableWhenExpression)?.valueExpression?.expression;
    if (expression) parts.push({ expression: this.rewriteLinkIds(expression) });
    if (parts.length === 0) return undefined;
    if (parts.length === 1) return parts[0];
    return { all: parts };
  }

  private enableWhenOne(w: QuestionnaireItemEnableWhen, linkId: string): ConditionSource | undefined {
    const target = this.linkIds.get(w.question);
    if (!target) {
      this.fail(
        linkId,
        `enableWhen refers to linkId "${w.question}", which does not exist in this Questionnaire`,
        'fix enableWhen.question to an existing linkId',
      );
      return undefined;
    }
    if (w.operator === 'exists') return { answer: target, op: 'exists', value: w.answerBoolean ?? true };
    const value =
      w.answerBoolean ??
      w.answerDecimal ??
      w.answerInteger ??
      w.answerDate ??
      w.answerString ??
      w.answerCoding?.code ??
      w.answerQuantity?.value ??
      w.answerDateTime ??
      w.answerTime;
    if (value === undefined) {
      this.fail(
        linkId,
        `enableWhen on "${w.question}" has no answer value`,
        'set answerBoolean, answerInteger, answerDecimal, answerCoding, answerString or answerDate',
      );
      return undefined;
    }
    if (!['=', '!=', '>', '>=', '<', '<='].includes(w.operator)) {
      this.fail(linkId, `enableWhen operator "${w.operator}" is not supported`);
      return undefined;
    }
    // On a repeating choice, R4 "=" means "one of the answers is": Visite's `includes`.
    const repeating = this.questions.find((x) => x.id === target)?.type === 'multi-choice';
    const op = repeating && w.operator === '=' ? 'includes' : (w.operator as ConditionSource['op']);
    return { answer: target, op, value: this.optionCode(target, value) };
  }

  /** enableWhen on a valueString option compares the label; flows compare option codes. */
  private optionCode(questionId: string, value: string | number | boolean): string | number | boolean {
    const q = this.questions.find((x) => x.id === questionId);
    if (!q || !('options' in q) || typeof value !== 'string') return value;
    const match = q.options.find((o) => o.code === value) ?? q.options.find((o) => Object.values(o.text).includes(value));
    return match?.code ?? value;
  }

  private option(o: NonNullable<QuestionnaireItem['answerOption']>[number], linkId: string, index: number): OptionSource | undefined {
    const exclusive = ext(o.extension, EXT.optionExclusive)?.valueBoolean === true;
    const emoji = ext(o.extension, EXT.optionEmoji)?.valueString;
    let option: OptionSource;
    if (o.valueCoding) {
      const c = o.valueCoding;
      if (!c.code) {
        this.fail(linkId, `answerOption ${index + 1} has a coding without code`);
        return undefined;
      }
      option = { code: c.code, text: this.text(c.display ?? c.code, elementOf(c, '_display'), linkId) };
      if (c.system && c.system !== this.codeSystem) option.system = aliasOf(c.system);
    } else if (o.valueString !== undefined || o.valueInteger !== undefined) {
      const label = String(o.valueString ?? o.valueInteger);
      option = { code: sanitizeId(label) || `option-${index + 1}`, text: this.text(label, elementOf(o, '_valueString'), linkId) };
    } else {
      this.fail(linkId, `answerOption ${index + 1} has no valueCoding or valueString`, 'date/time/reference options are not supported');
      return undefined;
    }
    if (emoji) option.emoji = emoji;
    if (exclusive) option.exclusive = true;
    return option;
  }

  private coding(c: FhirCoding, linkId: string): CodingSource | undefined {
    if (!c.code) {
      this.fail(linkId, 'item.code without a code');
      return undefined;
    }
    const out: CodingSource = { system: !c.system ? 'local' : c.system === this.codeSystem ? 'local' : aliasOf(c.system), code: c.code };
    if (c.display) out.display = c.display;
    return out;
  }

  private escalations(extensions: Extension[] | undefined, linkId: string | undefined): EscalationSource[] {
    const out: EscalationSource[] = [];
    for (const e of (extensions ?? []).filter((x) => x.url === EXT.escalation)) {
      const sub = (u: string) => e.extension?.find((x) => x.url === u);
      const id = sub('id')?.valueId;
      const severity = sub('severity')?.valueCode;
      const message = sub('message');
      let when: ConditionSource | undefined;
      const json = sub('condition')?.valueString;
      if (json) {
        try {
          when = JSON.parse(json) as ConditionSource;
        } catch {
          this.fail(linkId, `escalation "${id ?? '?'}" has an unreadable condition`);
        }
      }
      const expression = sub('expression')?.valueExpression?.expression;
      if (!when && expression) when = { expression: this.rewriteLinkIds(expression) };
      // Without the exact condition, a rule that is a single trend is read from its trend extension.
      const trends = (e.extension ?? []).filter((x) => x.url === EXT.trend);
      if (!when && !expression && trends.length === 1 && trends[0]) when = this.trend(trends[0], linkId);
      if (!id || !severity || !(SEVERITIES as readonly string[]).includes(severity) || !when || !message?.valueString) {
        this.fail(
          linkId,
          `escalation extension ${id ? `"${id}" ` : ''}is incomplete (needs id, severity info|warning|urgent, condition or expression, message)`,
        );
        continue;
      }
      out.push({
        id,
        when,
        severity: severity as EscalationSource['severity'],
        message: this.text(message.valueString, elementOf(message, '_valueString'), linkId ?? 'escalation'),
      });
    }
    return out;
  }

  /** The Visite trend extension (see export.ts `trendExtension`) → a trend condition source. */
  private trend(e: Extension, linkId: string | undefined): ConditionSource | undefined {
    const sub = (u: string) => e.extension?.find((x) => x.url === u);
    const item = sub('linkId')?.valueString;
    const test = sub('test')?.valueCode;
    const value = sub('value')?.valueDecimal;
    if (!item || !test) {
      this.fail(linkId, 'trend extension needs linkId and test');
      return undefined;
    }
    const c: ConditionSource = { trend: this.linkIds.get(item) ?? item };
    const checkins = sub('checkins')?.valueInteger;
    if (checkins !== undefined) c.checkins = checkins;
    const within = sub('within')?.valueDuration;
    if (within?.value !== undefined) c.within = `${within.value}${within.code === 'h' ? 'h' : 'd'}`;
    if (test === 'rising' || test === 'falling') c[test] = true;
    else if ((test === 'increase' || test === 'decrease') && value !== undefined) c[test] = value;
    else if (test === 'each' && value !== undefined) {
      c.op = sub('comparator')?.valueCode as ConditionSource['op'];
      c.value = value;
    } else {
      this.fail(linkId, `trend extension has an unknown test "${test}" or no value`);
      return undefined;
    }
    return c;
  }

  private schedule(e: Extension | undefined): ScheduleSource | undefined {
    if (!e) return undefined;
    const sub = (u: string) => e.extension?.filter((x) => x.url === u) ?? [];
    const anchor = sub('anchor')[0]?.valueCode;
    const time = sub('time')[0]?.valueTime?.slice(0, 5);
    const days = sub('day')
      .map((x) => x.valueInteger)
      .filter((d): d is number => d !== undefined);
    if (!anchor || !time || days.length === 0) {
      this.fail(undefined, 'schedule extension needs anchor, time and at least one day');
      return undefined;
    }
    const s: ScheduleSource = { anchor, days, time };
    const tz = sub('timezone')[0]?.valueCode;
    if (tz) s.timezone = tz;
    const reminder = sub('reminderAfterHours')[0]?.valueDecimal;
    if (reminder !== undefined) s.reminderAfterHours = reminder;
    const expire = sub('expireAfterHours')[0]?.valueDecimal;
    if (expire !== undefined) s.expireAfterHours = expire;
    return s;
  }

  private text(value: string, element: Parameters<typeof readTranslations>[1], where: string): LocalizedText {
    const { text, foreign } = readTranslations(value, element, this.base);
    if (foreign.length > 0) this.warnings.push(`${where}: translations in ${foreign.join(', ')} are not Visite languages and were dropped`);
    this.texts.push({ text, where });
    return text;
  }
  private readonly texts: { text: LocalizedText; where: string }[] = [];

  /**
   * Languages: the declared ones (Visite export) or those every text has. German
   * and English are required; where a text lacks one, it is copied from the
   * other (or the source language) and a warning asks for a translation.
   */
  private languages(source: FlowSource, extensions: Extension[] | undefined): Language[] {
    const declared = (extensions ?? [])
      .filter((e) => e.url === EXT.flowLanguage)
      .map((e) => e.valueCode)
      .filter(isLanguage);
    const complete = LANGUAGES.filter((l) => this.texts.every((t) => t.text[l]));
    const langs = declared.length > 0 ? declared : complete;
    for (const required of ['de', 'en'] as const) if (!langs.includes(required)) langs.push(required);
    const copied = new Set<string>();
    for (const { text, where } of this.texts) {
      for (const l of LANGUAGES) {
        if (!langs.includes(l) && text[l]) delete text[l];
      }
      for (const l of langs) {
        if (text[l]) continue;
        const from = text[this.base] ?? text.de ?? text.en ?? Object.values(text)[0];
        if (from !== undefined && (l === 'de' || l === 'en')) {
          text[l] = from;
          copied.add(`${l} (${where})`);
        }
      }
    }
    if (copied.size > 0) this.warnings.push(`copied untranslated text for ${[...copied].join(', ')}; please translate before use`);
    void source;
    return LANGUAGES.filter((l) => langs.includes(l));
  }

  private rewriteLinkIds(expression: string): string {
    return expression.replace(/linkId\s*=\s*'([^']*)'/g, (m, linkId: string) => {
      const id = this.linkIds.get(linkId);
      return id && id !== linkId ? `linkId='${id}'` : m;
    });
  }
}

/** An integer without a scale range, a decimal or a quantity: a number with optional unit and range. */
function quantityFields(base: Record<string, unknown>, item: QuestionnaireItem, decimals: number | undefined): void {
  base['type'] = 'quantity';
  const unit = ext(item.extension, EXT.unit)?.valueCoding ?? ext(item.extension, EXT.unitOption)?.valueCoding;
  if (unit?.code) {
    base['unit'] = unit.code;
    if (unit.display && unit.display !== unit.code) base['unitDisplay'] = unit.display;
  }
  const min = numberExt(item.extension, EXT.minValue);
  const max = numberExt(item.extension, EXT.maxValue);
  if (min !== undefined) base['min'] = min;
  if (max !== undefined) base['max'] = max;
  const places = decimals ?? ext(item.extension, EXT.maxDecimalPlaces)?.valueInteger;
  if (places !== undefined && places !== 1) base['decimals'] = places;
}

function ext(list: Extension[] | undefined, url: string): Extension | undefined {
  return list?.find((e) => e.url === url);
}

function numberExt(list: Extension[] | undefined, url: string): number | undefined {
  const e = ext(list, url);
  return e?.valueInteger ?? e?.valueDecimal;
}

function controlOf(item: QuestionnaireItem): string | undefined {
  return ext(item.extension, EXT.itemControl)?.valueCodeableConcept?.coding?.[0]?.code;
}

function aliasOf(system: string): string {
  return Object.entries(CODE_SYSTEM_ALIASES).find(([, uri]) => uri === system)?.[0] ?? system;
}

/** linkIds like "1.2" or "Pain Score" become valid flow ids ("q1-2", "pain-score"). */
export function sanitizeId(raw: string): string {
  if (ID_PATTERN.test(raw)) return raw;
  let id = raw
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(id)) id = `q${id}`;
  return id.slice(0, 64);
}
