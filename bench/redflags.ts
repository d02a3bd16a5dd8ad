/**
 * Red-flag detection latency: p50/p99 per message for short messages and for
 * 4,000-character ones (long letters and adversarial input), next to the
 * phrase matcher it replaced (findRedFlag as of a71de7e, its phrase lists in
 * bench/data/) on the same inputs in the same run. The budget: ≤ 1 ms p99 at
 * 4,000 characters.
 *
 *   scripts/node24.sh node --max-semi-space-size=8 bench/redflags.ts [rounds]
 *
 * (--max-semi-space-size=8 as `npm start` runs Visite: fewer young-generation
 * collections in the middle of a message.)
 */
import { readFileSync } from 'node:fs';
import { normalizeWords } from '../core/engine/normalize.ts';
import { LANGUAGES } from '../core/language.ts';
import { parseCorpus } from '../core/redflags/corpus.ts';
import { detectRedFlags, isSmallTalk, lexicon } from '../core/redflags/index.ts';

const rounds = Number(process.argv[2] ?? 20);
const here = (path: string) => new URL(path, import.meta.url);

// --- The baseline: the old exact-phrase matcher, verbatim in behaviour. ---
interface OldList {
  categories: Record<string, string[]>;
  negation: { before: string[]; after: string[] };
}
const old = JSON.parse(readFileSync(here('./data/redflags-phrases-a71de7e.json'), 'utf8')) as Record<string, OldList>;
const phrases: { padded: string; category: string; language: string }[] = [];
const negations = new Map<string, { before: string[]; after: string[] }>();
for (const [language, list] of Object.entries(old)) {
  negations.set(language, { before: list.negation.before.map(normalizeWords), after: list.negation.after.map(normalizeWords) });
  for (const [category, ps] of Object.entries(list.categories)) for (const p of ps) phrases.push({ padded: ` ${normalizeWords(p)} `, category, language });
}
phrases.sort((a, b) => Number(b.category === 'suicidal') - Number(a.category === 'suicidal'));
function oldFindRedFlag(text: string): { category: string; negated: boolean } | null {
  const padded = ` ${normalizeWords(text.slice(0, 4_000))} `;
  if (padded.length <= 2) return null;
  let negatedHit: { category: string; negated: boolean } | null = null;
  for (const phrase of phrases) {
    let at = padded.indexOf(phrase.padded);
    while (at >= 0) {
      const n = negations.get(phrase.language);
      const before = padded.slice(0, at + 1);
      const after = padded.slice(at + phrase.padded.length - 1);
      const negated =
        phrase.category !== 'suicidal' && !!n && (n.before.some((w) => before.endsWith(` ${w} `)) || n.after.some((w) => after.startsWith(` ${w} `)));
      if (!negated) return { category: phrase.category, negated: false };
      negatedHit ??= { category: phrase.category, negated: true };
      at = padded.indexOf(phrase.padded, at + 1);
    }
  }
  return negatedHit;
}

// --- Inputs ---
const corpus = LANGUAGES.flatMap((l) => parseCorpus(readFileSync(here(`../test/fixtures/redflags/${l}.tuning.jsonl`), 'utf8'), l).map((i) => i.text));
const short = [...corpus.filter((t) => t.length < 300), '7', '37,2', 'ja', 'danke 👍', 'überspringen'];
/** A long polite letter: corpus messages one after another up to 4,000 characters. */
function letter(offset: number): string {
  let text = '';
  for (let i = offset; text.length < 4_000; i++) text += `${corpus[i % corpus.length]}. `;
  return text.slice(0, 4_000);
}
const letters = Array.from({ length: 20 }, (_, i) => letter(i * 25));
const adversarial = [
  'a'.repeat(4_000),
  'Brustschmerzen'.repeat(286).slice(0, 4_000),
  'blut '.repeat(800),
  'keine luft '.repeat(364).slice(0, 4_000),
  'nicht kein no не nie yok '.repeat(160),
  'kann den arm nicht '.repeat(211).slice(0, 4_000),
  '39,8 puls 140 '.repeat(286).slice(0, 4_000),
  '😂🆘🩸'.repeat(667).slice(0, 4_000),
  'وبالدم '.repeat(572).slice(0, 4_000),
  'bluutung brustschmerzn atemnoot '.repeat(125),
  Array.from({ length: 4_000 }, (_, i) => 'abcдеж ağşı0,.!?-'[(i * 7919) % 17]).join(''),
];

/**
 * Per call: wall time, and the process's CPU time (user + system), which a
 * busy shared machine does not inflate by taking the core away mid-call.
 */
function measure(inputs: string[], fn: (t: string) => unknown): { p50: number; p99: number; max: number; cpu50: number; cpu99: number } {
  for (let i = 0; i < 3; i++) for (const t of inputs) fn(t); // warm-up (JIT, memo of the word lists)
  const times: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const t of inputs) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn(t);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const q = (list: number[], p: number) => list[Math.min(list.length - 1, Math.floor(p * list.length))]!;
  return { p50: q(times, 0.5), p99: q(times, 0.99), max: times[times.length - 1]!, cpu50: q(cpu, 0.5), cpu99: q(cpu, 0.99) };
}

const t0 = performance.now();
lexicon();
console.log(`word lists compiled in ${(performance.now() - t0).toFixed(0)} ms (${lexicon().entries.length.toLocaleString('en')} entries, 7 languages)`);
const fmt = (ms: number) => `${(ms * 1000).toFixed(0).padStart(5)} µs`;
console.log(`node ${process.version}, ${rounds} rounds; wall-clock p50/p99 per message, and CPU-time p50/p99 of the new detector`);
console.log(
  `${'inputs'.padEnd(36)} ${'new p50'.padStart(8)} ${'new p99'.padStart(8)} ${'old p50'.padStart(8)} ${'old p99'.padStart(8)}  p99 new/old   ${'cpu p50'.padStart(8)} ${'cpu p99'.padStart(8)}`,
);
for (const [name, inputs] of [
  [`short messages (${short.length}, corpus + answers)`, short],
  [`4,000-char letters (${letters.length})`, letters],
  [`4,000-char adversarial (${adversarial.length})`, adversarial],
] as const) {
  const n = measure(inputs, (t) => detectRedFlags(t));
  const o = measure(inputs, oldFindRedFlag);
  console.log(
    `${name.padEnd(36)} ${fmt(n.p50)} ${fmt(n.p99)} ${fmt(o.p50)} ${fmt(o.p99)}  ${(n.p99 / o.p99).toFixed(1).padStart(5)}×      ${fmt(n.cpu50)} ${fmt(n.cpu99)}`,
  );
}
const s = measure(short, isSmallTalk);
console.log(`isSmallTalk, short messages: p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}`);
