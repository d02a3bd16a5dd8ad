import { fileURLToPath } from 'node:url';
import { step } from '../../core/engine/step.ts';
import type { ConversationState, Input, StepResult } from '../../core/engine/types.ts';
import { loadFlowOrThrow, parseFlow } from '../../core/flow/load.ts';
import type { Flow } from '../../core/flow/model.ts';
import type { Language } from '../../core/language.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FLOWS = `${ROOT}flows/`;
export const NOW = new Date('2026-01-15T08:00:00Z');

export function shippedFlow(name: 'post-op' | 'medication-change'): Flow {
  return loadFlowOrThrow(`${FLOWS}${name}.yaml`);
}

/** Compiles YAML or fails the test with the issues. */
export function flowFrom(yaml: string): Flow {
  const r = parseFlow(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.line}:${i.col} ${i.message}`).join('\n'));
  return r.flow;
}

/** A minimal valid flow header; append `questions:`. */
export const HEADER = `id: t
version: "1"
title: { de: Test, en: Test }
languages: [de, en]
`;

/** Runs start + messages; returns every step's result and the final state. */
export function converse(flow: Flow, lang: Language, inputs: (string | Input)[], now = NOW): { results: StepResult[]; state: ConversationState } {
  const results: StepResult[] = [step(flow, undefined, { type: 'start', lang }, now)];
  let state = results[0]?.state as ConversationState;
  for (const i of inputs) {
    const r = step(flow, state, typeof i === 'string' ? { type: 'text', text: i } : i, now);
    results.push(r);
    state = r.state;
  }
  return { results, state };
}

export function lastResult(results: StepResult[]): StepResult {
  const r = results[results.length - 1];
  if (!r) throw new Error('no results');
  return r;
}
