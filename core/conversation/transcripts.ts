import type { Observation } from '@medplum/fhirtypes';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { comparable } from '../engine/conditions.ts';
import { historyFromRows } from '../engine/history.ts';
import type { History } from '../engine/types.ts';
import { positionIn } from '../flow/load.ts';
import type { Flow } from '../flow/model.ts';
import { LANGUAGES } from '../language.ts';
import { lineToInput, Session, type SessionEvent } from './session.ts';

/**
 * Golden transcripts: patient messages → expected answers, Observation values
 * and alerts. As files they sit next to the flow as `<flow>.transcripts.yaml`
 * (cli/transcripts.ts); in the flow catalog they are stored with a version and
 * run before it is published. Pure: text and flow in, results out.
 */
const Expected = z.strictObject({
  completed: z.boolean().optional(),
  answers: z.record(z.string(), z.unknown()).optional(),
  skipped: z.array(z.string()).optional(),
  unanswered: z.array(z.string()).optional(),
  /** Rule ids of all alerts raised, in order. */
  alerts: z.array(z.string()).optional(),
  /** Observation code → value (number, boolean, string, option code; a list for several). */
  observations: z.record(z.string(), z.unknown()).optional(),
  /** Texts that must appear in some bot message. */
  botSays: z.array(z.string()).optional(),
  /** The summary sent after the thank-you, line by line, exactly ([] = no summary). */
  summary: z.array(z.string()).optional(),
});
/**
 * An earlier check-in of the same patient, for trend rules: how many days
 * before the transcript's clock it was, and its numeric answers by question id.
 */
const EarlierCheckin = z.strictObject({
  daysAgo: z.number().positive(),
  answers: z.record(z.string(), z.number()),
});
const Transcript = z.strictObject({
  name: z.string().min(1),
  lang: z.enum(LANGUAGES),
  now: z.string().optional(),
  history: z.array(EarlierCheckin).optional(),
  messages: z.array(z.string()),
  expect: Expected,
});
/** The transcripts format. `flow` names the flow file; the catalog stores transcripts with their flow and ignores it. */
export const TranscriptFileSchema = z.strictObject({
  flow: z.string().min(1).optional(),
  now: z.string().optional(),
  transcripts: z.array(Transcript).min(1),
});
export type TranscriptFile = z.infer<typeof TranscriptFileSchema>;

export interface TranscriptResult {
  file: string;
  name: string;
  lang: string;
  ok: boolean;
  failures: string[];
}

/** A problem with the transcripts text itself, located in it. */
export interface TranscriptProblem {
  line: number;
  col: number;
  /** Where in the document, e.g. `transcripts.0.lang` (an unknown key included); empty for the whole text. */
  path: string;
  message: string;
}

/** Transcripts YAML → the checked document, or located problems. */
export function parseTranscripts(text: string): { ok: true; file: TranscriptFile } | { ok: false; problems: TranscriptProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return { ok: false, problems: [{ line, col, path: '', message: `YAML syntax: ${error.message.split('\n')[0]}` }] };
  }
  const parsed = TranscriptFileSchema.safeParse(doc.toJS());
  if (parsed.success) return { ok: true, file: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => {
      const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
      const { line, col } = positionIn(text, path);
      const what = i.code === 'unrecognized_keys' ? `unknown key ${i.keys.map((k) => `"${k}"`).join(', ')}` : `${path.join('.') || 'file'}: ${i.message}`;
      const named = i.code === 'unrecognized_keys' && i.keys.length === 1 ? [...path, i.keys[0]!] : path;
      return { line, col, path: named.join('.'), message: what };
    }),
  };
}

/** Replays every transcript against the flow; `file` only labels the results. */
export function runTranscripts(flow: Flow, transcripts: TranscriptFile, file = '<transcripts>'): TranscriptResult[] {
  return transcripts.transcripts.map((t) => {
    const failures: string[] = [];
    try {
      const now = new Date(t.now ?? transcripts.now ?? '2026-01-15T08:00:00Z');
      const history = t.history ? historyOf(t.history, now) : undefined;
      const session = new Session(flow, { lang: t.lang, now, ...(history ? { history } : {}) });
      const events: SessionEvent[] = [...session.start()];
      for (const m of t.messages) {
        const input = lineToInput(m);
        if (input) events.push(...session.send(input));
      }
      check(t.expect, events, failures);
    } catch (err) {
      failures.push(`crashed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { file, name: t.name, lang: t.lang, ok: failures.length === 0, failures };
  });
}

function historyOf(earlier: z.infer<typeof EarlierCheckin>[], now: Date): History {
  return historyFromRows(
    earlier.flatMap((c) =>
      Object.entries(c.answers).map(([questionId, value]) => ({
        questionId,
        value: { type: 'number', value },
        at: new Date(now.getTime() - c.daysAgo * 86_400_000),
      })),
    ),
  );
}

function check(expect: z.infer<typeof Expected>, events: SessionEvent[], failures: string[]): void {
  const done = events.find((e) => e.type === 'done');
  const last = [...events].reverse().find((e) => e.type === 'state');
  const state = last?.type === 'state' ? (last.state ?? undefined) : undefined;
  const completed = state?.status === 'completed';
  if ((expect.completed ?? true) !== completed) failures.push(`expected completed=${expect.completed ?? true}, got ${completed}`);
  if (expect.answers && state) {
    const actual: Record<string, unknown> = {};
    for (const [id, outcome] of Object.entries(state.outcomes)) {
      const a = state.answers[id];
      if (outcome === 'answered' && a) actual[id] = comparable(a.value);
    }
    diff('answers', expect.answers, actual, failures);
  }
  const outcomes = (o: string) =>
    state
      ? Object.entries(state.outcomes)
          .filter(([, v]) => v === o)
          .map(([k]) => k)
      : [];
  if (expect.skipped) same('skipped', expect.skipped, outcomes('skipped'), failures);
  if (expect.unanswered) same('unanswered', expect.unanswered, outcomes('unanswered'), failures);
  if (expect.alerts) {
    const fired = events.flatMap((e) => (e.type === 'alert' ? [e.event.ruleId] : []));
    if (JSON.stringify(fired) !== JSON.stringify(expect.alerts)) failures.push(`alerts: expected [${expect.alerts.join(', ')}], got [${fired.join(', ')}]`);
  }
  if (expect.observations) {
    const actual = done?.type === 'done' ? observationValues(done.observations) : {};
    diff('observations', expect.observations, actual, failures);
  }
  if (expect.summary) {
    const summary = events.find((e) => e.type === 'bot' && e.message.kind === 'summary');
    const lines = summary?.type === 'bot' ? summary.message.text.split('\n') : [];
    if (JSON.stringify(lines) !== JSON.stringify(expect.summary)) {
      failures.push(`summary: expected ${JSON.stringify(expect.summary)}, got ${summary ? JSON.stringify(lines) : '(none)'}`);
    }
  }
  for (const text of expect.botSays ?? []) {
    if (!events.some((e) => e.type === 'bot' && e.message.text.includes(text))) failures.push(`no bot message contains ${JSON.stringify(text)}`);
  }
}

/** code → value; several Observations with one code (multi-choice) → list. */
export function observationValues(observations: Observation[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of observations) {
    const code = o.code.coding?.[0]?.code ?? '?';
    const value = o.valueQuantity?.value ?? o.valueInteger ?? o.valueBoolean ?? o.valueString ?? o.valueDateTime ?? o.valueCodeableConcept?.coding?.[0]?.code;
    const prior = out[code];
    if (prior === undefined) out[code] = value;
    else out[code] = Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

function diff(what: string, expected: Record<string, unknown>, actual: Record<string, unknown>, failures: string[]): void {
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const e = expected[key];
    const a = actual[key];
    if (JSON.stringify(normalizeList(e)) !== JSON.stringify(normalizeList(a))) {
      failures.push(`${what}.${key}: expected ${e === undefined ? '(none)' : JSON.stringify(e)}, got ${a === undefined ? '(none)' : JSON.stringify(a)}`);
    }
  }
}

/** A one-element list and its element are the same expectation. */
function normalizeList(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 ? v[0] : v;
}

function same(what: string, expected: string[], actual: string[], failures: string[]): void {
  if (JSON.stringify([...expected].sort()) !== JSON.stringify([...actual].sort()))
    failures.push(`${what}: expected [${expected.join(', ')}], got [${actual.join(', ')}]`);
}
