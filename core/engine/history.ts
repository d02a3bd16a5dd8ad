import type { Condition, Flow, TrendCondition } from '../flow/model.ts';
import type { History, HistoryPoint } from './types.ts';

/**
 * The patient's history for trend rules, as plain data: the shell loads rows
 * of earlier answers, these helpers (pure) decide what the engine sees.
 */

/** At most this many earlier values per question reach the engine (a trend spans at most 10 check-ins). */
export const HISTORY_LIMIT = 10;

const trendIds = new WeakMap<Flow, readonly string[]>();

/** Questions that trend rules look at; empty when the flow has no trend rules (then no history is needed). */
export function trendQuestionIds(flow: Flow): readonly string[] {
  let ids = trendIds.get(flow);
  if (!ids) {
    const found = new Set<string>();
    const rules = [...flow.escalations, ...flow.questions.flatMap((q) => q.escalations), ...flow.computed.flatMap((c) => c.escalations)];
    for (const r of rules) for (const t of trendConditions(r.when)) found.add(t.answer);
    ids = [...found];
    trendIds.set(flow, ids);
  }
  return ids;
}

export function trendConditions(c: Condition, into: TrendCondition[] = []): TrendCondition[] {
  if (c.kind === 'trend') into.push(c);
  else if (c.kind === 'all' || c.kind === 'any') c.of.forEach((x) => trendConditions(x, into));
  else if (c.kind === 'not') trendConditions(c.of, into);
  return into;
}

/** A stored answer row as the shell reads it (value is the engine's AnswerValue JSON). */
export interface HistoryRow {
  questionId: string;
  value: unknown;
  at: Date | string;
  /** Rows with another status than `current` (retracted answers) are ignored. */
  status?: string;
}

/** Rows of earlier answers → History: numbers only, current answers only, newest first, at most `limit` per question. */
export function historyFromRows(rows: readonly HistoryRow[], limit = HISTORY_LIMIT): History {
  const out: Record<string, HistoryPoint[]> = {};
  for (const row of rows) {
    if (row.status !== undefined && row.status !== 'current') continue;
    const v = row.value as { type?: unknown; value?: unknown } | null;
    if (!v || v.type !== 'number' || typeof v.value !== 'number' || !Number.isFinite(v.value)) continue;
    const time = row.at instanceof Date ? row.at.getTime() : Date.parse(row.at);
    if (!Number.isFinite(time)) continue;
    const at = new Date(time).toISOString();
    (out[row.questionId] ??= []).push({ value: v.value, at });
  }
  for (const [id, points] of Object.entries(out)) out[id] = points.sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, limit);
  return out;
}
