/**
 * Engine throughput: conversation steps per second on the shipped flows, one
 * core, no I/O. Each run is a full check-in (start, answers incl. a re-ask, a
 * "back" and red-flag values that raise alerts), so parsing, branching,
 * escalation rules and computed values are all on the measured path.
 * FHIR building/validation happens once per completed run in production and
 * is measured separately.
 *
 *   scripts/node24.sh node bench/engine.ts [seconds]
 */
import { fileURLToPath } from 'node:url';
import { step } from '../core/engine/step.ts';
import type { ConversationState, Input } from '../core/engine/types.ts';
import { completeRun } from '../core/fhir/response.ts';
import { ensureDefinitions } from '../core/fhir/validate.ts';
import { loadFlowOrThrow } from '../core/flow/load.ts';
import type { Flow } from '../core/flow/model.ts';
import type { Language } from '../core/language.ts';

const TARGET = 50_000;
const seconds = Number(process.argv[2] ?? 2);

const scenarios: { file: string; lang: Language; messages: string[] }[] = [
  {
    file: 'post-op.yaml',
    lang: 'de',
    messages: ['acht', 'viel', '39,8 Grad', 'gerötet und nässt oder eitert', 'überspringen', '3', 'zurück', '2', '4', 'nein', 'Die Wunde tut beim Husten weh'],
  },
  { file: 'medication-change.yaml', lang: 'en', messages: ['1', 'none', '2', 'yes', '130/80', '130', '85', 'skip', '2', 'no'] },
];

function text(t: string): Input {
  return { type: 'text', text: t };
}

function bench(flow: Flow, lang: Language, messages: string[]): { steps: number; perSecond: number; last: ConversationState } {
  const inputs: Input[] = messages.map(text);
  const now = new Date('2026-01-15T08:00:00Z');
  let steps = 0;
  let last: ConversationState | undefined;
  // Warm-up (JIT, lexicon and FHIRPath caches).
  for (let i = 0; i < 200; i++) {
    let s = step(flow, undefined, { type: 'start', lang }, now).state;
    for (const input of inputs) s = step(flow, s, input, now).state;
  }
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let batch = 0; batch < 50; batch++) {
      let s = step(flow, undefined, { type: 'start', lang }, now).state;
      steps++;
      for (const input of inputs) {
        s = step(flow, s, input, now).state;
        steps++;
      }
      last = s;
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  if (!last || last.status !== 'completed') throw new Error('bench scenario did not complete the flow');
  return { steps, perSecond: steps / elapsed, last };
}

const flowsDir = fileURLToPath(new URL('../flows/', import.meta.url));
let worst = Number.POSITIVE_INFINITY;
for (const sc of scenarios) {
  const flow = loadFlowOrThrow(`${flowsDir}${sc.file}`);
  const r = bench(flow, sc.lang, sc.messages);
  worst = Math.min(worst, r.perSecond);
  console.log(`${sc.file} [${sc.lang}]: ${Math.round(r.perSecond).toLocaleString('en')} steps/s (${r.steps.toLocaleString('en')} steps in ${seconds}s)`);
  // Completion cost (QuestionnaireResponse + Observations, R4-validated), once per run.
  ensureDefinitions();
  const t0 = performance.now();
  let runs = 0;
  while (performance.now() - t0 < 500) {
    completeRun(flow, r.last, { subject: 'Patient/bench', responseId: `bench-${runs}` });
    runs++;
  }
  console.log(`  completion (QR + Observations, validated): ${Math.round(runs / ((performance.now() - t0) / 1000)).toLocaleString('en')} runs/s`);
}
console.log(`engine: ${Math.round(worst).toLocaleString('en')} steps/s (target ≥ ${TARGET.toLocaleString('en')}) ${worst >= TARGET ? 'OK' : 'BELOW TARGET'}`);
