import { FALLBACK_LANGUAGES, type Language } from '../../language.ts';
import { matchAt, type Phrase } from './phrases.ts';
import type { Token } from './tokens.ts';
import { vocabulary } from './vocabulary.ts';

/**
 * "None" answers to a scale whose minimum means none ("keine Schmerzen",
 * "ağrım yok", "не болит"). Two kinds of words:
 * - general words ("keine", "nothing", "yok") only when they are the whole
 *   answer or its first clause ("nothing, feels fine") — inside a sentence
 *   "keine" could be "keine Ahnung";
 * - phrases about the symptom ("no pain", "tut nicht weh", and the scale's own
 *   minLabel) anywhere in the message — unless "almost" stands before them
 *   ("fast keine Schmerzen") or a comparison follows ("не болит так сильно",
 *   "doesn't hurt that much"), which is not none.
 */
export type NoneFound = { kind: 'none'; used: ReadonlySet<number> } | { kind: 'not-quite' };

export interface NoneOptions {
  /** Symptom phrases of the built-in vocabulary: `pain` (see `none:` in docs/flows.md), or only the general words. */
  vocabulary: 'pain' | 'general';
  /** The scale's minLabel in the patient's language, German and English, as phrases. */
  labels: readonly Phrase[];
}

const CLAUSE_END = new Set([',', ';', '.', '!', '?', ':', '—', '–', '-', '(', '،', '؛', '؟']);

export function findNone(tokens: readonly Token[], lang: Language, options: NoneOptions): NoneFound | undefined {
  const vocabs = [lang, ...FALLBACK_LANGUAGES.filter((l) => l !== lang)].map(vocabulary);
  const pain = options.vocabulary === 'pain';
  // General words: the first clause, exactly.
  let end = 0;
  while (end < tokens.length && !(tokens[end]?.kind === 'symbol' && CLAUSE_END.has(tokens[end]?.key ?? ''))) end++;
  if (end > 0) {
    const whole =
      vocabs.some((v) => v.none.general.exactly(tokens, 0, end) || (pain && v.none.pain.exactly(tokens, 0, end))) ||
      options.labels.some((p) => matchAt(tokens, 0, p) === end);
    if (whole) return { kind: 'none', used: range(0, end) };
  }
  // Symptom phrases anywhere; a one-word label ("keine") only as the first clause, above.
  const labels = options.labels.filter((l) => l.length > 1);
  for (let i = 0; i < tokens.length; i++) {
    let stop = -1;
    for (const p of labels) stop = Math.max(stop, matchAt(tokens, i, p));
    if (pain) for (const v of vocabs) stop = Math.max(stop, v.none.pain.at(tokens, i)?.end ?? -1);
    if (stop < 0) continue;
    for (const v of vocabs) {
      if (v.none.almost.before(tokens, i)) return { kind: 'not-quite' };
      // Within the next two words, not across punctuation ("keine Schmerzen, so ist es" is none).
      for (let k = stop; k < stop + 2 && tokens[k]?.kind === 'word'; k++)
        if (v.none.degree.at(tokens, k) || v.none.almost.at(tokens, k)) return { kind: 'not-quite' };
    }
    return { kind: 'none', used: range(i, stop) };
  }
  return undefined;
}

function range(from: number, to: number): Set<number> {
  const s = new Set<number>();
  for (let i = from; i < to; i++) s.add(i);
  return s;
}
