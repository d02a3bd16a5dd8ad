import { evaluateFhirPath } from '../flow/fhirpath.ts';
import { type Condition, DEFAULT_TIMEZONE, type Flow, type Scalar, type TrendCondition } from '../flow/model.ts';
import type { AnswerValue, ConversationState, History, HistoryPoint } from './types.ts';

/**
 * Evaluates conditions (enableWhen, escalation rules) against the answers so
 * far. Comparisons are direct; FHIRPath expressions and computed values see a
 * QuestionnaireResponse built from the answers, made at most once per call.
 * Missing answers make a comparison false (except `exists: false`), so a rule
 * never fires on absent data and a branch never opens on it.
 */
export class Evaluator {
  private readonly flow: Flow;
  private readonly state: ConversationState;
  private answersOnly: object | undefined;
  private withComputed: object | undefined;
  private readonly computedCache = new Map<string, number | boolean | undefined>();

  private readonly history: History | undefined;

  constructor(flow: Flow, state: ConversationState, history?: History) {
    this.flow = flow;
    this.state = state;
    this.history = history;
  }

  test(c: Condition): boolean {
    switch (c.kind) {
      case 'all':
        return c.of.every((x) => this.test(x));
      case 'any':
        return c.of.some((x) => this.test(x));
      case 'not':
        return !this.test(c.of);
      case 'expression':
        return this.expression(c.expression);
      case 'compare':
        return compare(this.value(c.answer), c.op, c.value);
      case 'trend':
        return trendHolds(c, this.series(c));
    }
  }

  /**
   * The values a trend looks at, oldest first, today's answer last: earlier
   * values before today's answer, within the window, at most `checkins`
   * values. Undefined when today's question is not answered with a number.
   */
  series(c: TrendCondition): HistoryPoint[] | undefined {
    const stored = this.state.answers[c.answer];
    if (!stored || this.state.outcomes[c.answer] !== 'answered' || stored.value.type !== 'number') return undefined;
    const today: HistoryPoint = { value: stored.value.value, at: stored.at };
    const ref = Date.parse(stored.at);
    const timeZone = this.flow.schedule?.timezone ?? DEFAULT_TIMEZONE;
    const earlier = [...(this.history?.[c.answer] ?? [])]
      .filter((p) => Number.isFinite(p.value) && Date.parse(p.at) < ref && inWindow(p.at, stored.at, c.within, timeZone))
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    const kept = c.checkins !== undefined ? earlier.slice(0, c.checkins - 1) : earlier;
    return [...kept.reverse(), today];
  }

  /** The comparable value of an answer or computed value (undefined when absent). */
  value(id: string): Comparable | undefined {
    const stored = this.state.answers[id];
    if (stored && this.state.outcomes[id] === 'answered') return comparable(stored.value);
    if (this.flow.computedIndex.has(id)) return this.computed(id);
    return undefined;
  }

  computed(id: string): number | boolean | undefined {
    if (this.computedCache.has(id)) return this.computedCache.get(id);
    const def = this.flow.computed[this.flow.computedIndex.get(id) ?? -1];
    let result: number | boolean | undefined;
    if (def) {
      this.computedCache.set(id, undefined); // guards against self-reference loops
      const out = this.safeEval(def.expression, false)[0];
      if (def.type === 'boolean' && typeof out === 'boolean') result = out;
      if (def.type !== 'boolean' && typeof out === 'number' && Number.isFinite(out)) result = def.type === 'integer' ? Math.round(out) : out;
    }
    this.computedCache.set(id, result);
    return result;
  }

  private expression(expression: string): boolean {
    const out = this.safeEval(expression, true);
    return out.length === 1 && out[0] === true;
  }

  /** Computed values see answers only; conditions also see computed values (as items with their id). */
  private safeEval(expression: string, includeComputed: boolean): unknown[] {
    try {
      this.answersOnly ??= responseForExpressions(this.flow, this.state);
      let resource = this.answersOnly;
      if (includeComputed && this.flow.computed.length > 0) {
        if (!this.withComputed) {
          const items = [...(this.answersOnly as { item: object[] }).item];
          for (const c of this.flow.computed) {
            const v = this.computed(c.id);
            if (v !== undefined)
              items.push({
                linkId: c.id,
                answer: [typeof v === 'boolean' ? { valueBoolean: v } : c.type === 'integer' ? { valueInteger: v } : { valueDecimal: v }],
              });
          }
          this.withComputed = { ...this.answersOnly, item: items };
        }
        resource = this.withComputed;
      }
      return evaluateFhirPath(expression, resource);
    } catch {
      // A failing author expression must not break the conversation; it evaluates to "no".
      return [];
    }
  }
}

/** Whether a trend holds on its series (oldest first, today's last). Too few values never hold. */
export function trendHolds(c: TrendCondition, series: readonly HistoryPoint[] | undefined): boolean {
  if (!series) return false;
  const needed = c.checkins ?? 2;
  if (series.length < needed) return false;
  const values = series.map((p) => p.value);
  const first = values[0] ?? 0;
  const last = values[values.length - 1] ?? 0;
  // Decimal answers (38.4 − 36.4) must not miss a threshold by a rounding error.
  const EPS = 1e-9;
  switch (c.test.type) {
    case 'each': {
      const { op, value } = c.test;
      return values.every((v) => compare(v, op, value));
    }
    case 'rising':
      return values.every((v, i) => i === 0 || v > (values[i - 1] ?? v));
    case 'falling':
      return values.every((v, i) => i === 0 || v < (values[i - 1] ?? v));
    case 'increase':
      return last - first >= c.test.by - EPS;
    case 'decrease':
      return first - last >= c.test.by - EPS;
  }
}

/** `within` in hours is exact; in days it counts calendar days in the flow's time zone ("in 3 days": since the day 3 days ago). */
function inWindow(at: string, ref: string, within: TrendCondition['within'], timeZone: string): boolean {
  if (!within) return true;
  if (within.unit === 'h') return Date.parse(ref) - Date.parse(at) <= within.amount * 3_600_000;
  return dayNumber(ref, timeZone) - dayNumber(at, timeZone) <= within.amount;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
function dayNumber(iso: string, timeZone: string): number {
  let f = dayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, f);
  }
  return Math.round(Date.parse(`${f.format(new Date(iso))}T00:00:00Z`) / 86_400_000);
}

export type Comparable = number | boolean | string | string[];

export function comparable(v: AnswerValue): Comparable {
  switch (v.type) {
    case 'number':
    case 'boolean':
    case 'text':
    case 'date':
      return v.value;
    case 'choice':
      return v.code;
    case 'choices':
      return v.codes;
    case 'attachment':
      return v.url;
  }
}

export function compare(actual: Comparable | undefined, op: string, expected: Scalar | Scalar[] | undefined): boolean {
  if (op === 'exists') return (actual !== undefined) === (expected ?? true);
  if (actual === undefined) return false;
  const list = Array.isArray(expected) ? expected : [expected];
  if (Array.isArray(actual)) {
    // Multi-choice: "=" / "includes" → contains the code, "in" → shares a code, "!=" → does not contain.
    if (op === '=' || op === 'includes') return list.some((e) => actual.includes(String(e)));
    if (op === 'in') return actual.some((a) => list.map(String).includes(a));
    if (op === '!=') return !list.some((e) => actual.includes(String(e)));
    return false;
  }
  const e = list[0];
  switch (op) {
    case '=':
      return actual === e;
    case '!=':
      return actual !== e;
    case 'in':
      return list.includes(actual);
    case '>':
      return e !== undefined && actual > e;
    case '>=':
      return e !== undefined && actual >= e;
    case '<':
      return e !== undefined && actual < e;
    case '<=':
      return e !== undefined && actual <= e;
    default:
      return false;
  }
}

/** Minimal QuestionnaireResponse (answers only) for FHIRPath conditions and computed values. */
export function responseForExpressions(flow: Flow, state: ConversationState): object {
  const item: object[] = [];
  for (const q of flow.questions) {
    const stored = state.answers[q.id];
    if (!stored || state.outcomes[q.id] !== 'answered') continue;
    item.push({ linkId: q.id, answer: answerValues(stored.value) });
  }
  return { resourceType: 'QuestionnaireResponse', status: 'in-progress', item };
}

/** FHIR answer[] for a value, as FHIRPath expressions see it (codes without systems suffice there). */
export function answerValues(v: AnswerValue): object[] {
  switch (v.type) {
    case 'number':
      return [Number.isInteger(v.value) && v.unit === undefined ? { valueInteger: v.value } : { valueDecimal: v.value }];
    case 'boolean':
      return [{ valueBoolean: v.value }];
    case 'choice':
      return [{ valueCoding: { code: v.code } }];
    case 'choices':
      return v.codes.map((code) => ({ valueCoding: { code } }));
    case 'text':
      return [{ valueString: v.value }];
    case 'date':
      return [{ valueDate: v.value }];
    case 'attachment':
      return [{ valueAttachment: { url: v.url, contentType: v.contentType } }];
  }
}
