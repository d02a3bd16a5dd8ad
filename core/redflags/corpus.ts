import { isLanguage, type Language } from '../language.ts';
import { detectRedFlags } from './detect.ts';
import { CATEGORIES, type RedFlagCategory, type RedFlagFinding } from './types.ts';

/**
 * The red-flag test corpus (test/fixtures/redflags/*.jsonl, format in
 * SPEC.md there) and its evaluation: recall on urgent messages, precision of
 * urgent alerts, false alarms on ordinary messages and on negations.
 */
export interface CorpusItem {
  id: string;
  lang: Language;
  text: string;
  expect: 'urgent' | 'none';
  category: RedFlagCategory | null;
  also: RedFlagCategory[];
  kind: string;
  file: string;
  line: number;
}

function isCategory(value: unknown): value is RedFlagCategory {
  return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value);
}

/** Parses JSON Lines; throws with file:line on a malformed line. */
export function parseCorpus(text: string, file: string): CorpusItem[] {
  const items: CorpusItem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === '') return;
    const where = `${file}:${index + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new Error(`${where}: not valid JSON`);
    }
    const { id, lang, text: message, expect, category, also, kind } = row;
    if (typeof id !== 'string' || typeof message !== 'string') throw new Error(`${where}: "id" and "text" must be strings`);
    if (!isLanguage(lang)) throw new Error(`${where}: unknown "lang" ${JSON.stringify(lang)}`);
    if (expect !== 'urgent' && expect !== 'none') throw new Error(`${where}: "expect" must be "urgent" or "none"`);
    if (expect === 'urgent' && !isCategory(category)) throw new Error(`${where}: unknown "category" ${JSON.stringify(category)}`);
    items.push({
      id,
      lang,
      text: message,
      expect,
      category: isCategory(category) ? category : null,
      also: Array.isArray(also) ? also.filter(isCategory) : [],
      kind: typeof kind === 'string' ? kind : '',
      file,
      line: index + 1,
    });
  });
  return items;
}

export interface Outcome {
  item: CorpusItem;
  finding: RedFlagFinding;
  /** Urgent expected and raised (any category). */
  caught: boolean;
  /** Urgent raised with the expected category (or one of `also`) among the urgent hits. */
  rightCategory: boolean;
  /** Urgent raised where none was expected. */
  falseAlarm: boolean;
}

export interface Tally {
  urgent: number;
  caught: number;
  rightCategory: number;
  /** Urgent alerts raised (true and false). */
  raised: number;
  falseAlarms: number;
  /** Not-urgent messages other than negations, and the urgent alerts among them. */
  ordinary: number;
  ordinaryUrgent: number;
  negations: number;
  negationsUrgent: number;
}

export interface Evaluation {
  outcomes: Outcome[];
  total: Tally;
  byLanguage: Map<Language, Tally>;
  byCategory: Map<RedFlagCategory, Tally>;
}

const emptyTally = (): Tally => ({
  urgent: 0,
  caught: 0,
  rightCategory: 0,
  raised: 0,
  falseAlarms: 0,
  ordinary: 0,
  ordinaryUrgent: 0,
  negations: 0,
  negationsUrgent: 0,
});

function add(t: Tally, o: Outcome): void {
  const urgent = o.finding.severity === 'urgent';
  if (o.item.expect === 'urgent') {
    t.urgent++;
    if (o.caught) t.caught++;
    if (o.rightCategory) t.rightCategory++;
  } else if (o.item.kind === 'negation') {
    t.negations++;
    if (urgent) t.negationsUrgent++;
  } else {
    t.ordinary++;
    if (urgent) t.ordinaryUrgent++;
  }
  if (urgent) t.raised++;
  if (o.falseAlarm) t.falseAlarms++;
}

export function evaluate(
  items: readonly CorpusItem[],
  detect: (text: string, language: Language) => RedFlagFinding = (text, language) => detectRedFlags(text, { language }),
): Evaluation {
  const evaluation: Evaluation = { outcomes: [], total: emptyTally(), byLanguage: new Map(), byCategory: new Map() };
  for (const item of items) {
    const finding = detect(item.text, item.lang);
    const urgent = finding.severity === 'urgent';
    const wanted = new Set([item.category, ...item.also]);
    const outcome: Outcome = {
      item,
      finding,
      caught: item.expect === 'urgent' && urgent,
      rightCategory: item.expect === 'urgent' && finding.hits.some((h) => h.severity === 'urgent' && wanted.has(h.category)),
      falseAlarm: item.expect === 'none' && urgent,
    };
    evaluation.outcomes.push(outcome);
    add(evaluation.total, outcome);
    let lang = evaluation.byLanguage.get(item.lang);
    if (!lang) evaluation.byLanguage.set(item.lang, (lang = emptyTally()));
    add(lang, outcome);
    // Per category: urgent messages by their expected category, false alarms by the raised one.
    const category = item.expect === 'urgent' ? item.category : urgent ? finding.category : null;
    if (category) {
      let c = evaluation.byCategory.get(category);
      if (!c) evaluation.byCategory.set(category, (c = emptyTally()));
      add(c, outcome);
    }
  }
  return evaluation;
}

export const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
export const recall = (t: Tally) => ratio(t.caught, t.urgent);
export const precision = (t: Tally) => ratio(t.raised - t.falseAlarms, t.raised);
export const falseUrgentRate = (t: Tally) => ratio(t.ordinaryUrgent, t.ordinary);
