import { FALLBACK_LANGUAGES, type Language } from '../../language.ts';
import { firstAt, firstBefore, matchAt } from './phrases.ts';
import type { Token } from './tokens.ts';
import { type Phrase, vocabulary } from './vocabulary.ts';

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
  // General words: the first clause, exactly.
  let end = 0;
  while (end < tokens.length && !(tokens[end]?.kind === 'symbol' && CLAUSE_END.has(tokens[end]?.key ?? ''))) end++;
  if (end > 0) {
    for (const v of vocabs) {
      for (const p of [...v.none.general, ...(options.vocabulary === 'pain' ? v.none.pain : []), ...options.labels]) {
        if (matchAt(tokens, 0, p) === end) return { kind: 'none', used: range(0, end) };
      }
    }
  }
  // Symptom phrases anywhere; a one-word label ("keine") only as the first clause, above.
  const phrases = [...options.labels.filter((l) => l.length > 1), ...(options.vocabulary === 'pain' ? vocabs.flatMap((v) => v.none.pain) : [])].sort((a, b) => b.length - a.length);
  for (let i = 0; i < tokens.length; i++) {
    const stop = firstAt(tokens, i, phrases);
    if (stop < 0) continue;
    for (const v of vocabs) {
      if (firstBefore(tokens, i, v.none.almost) >= 0) return { kind: 'not-quite' };
      // Within the next two words, not across punctuation ("keine Schmerzen, so ist es" is none).
      for (let k = stop; k < stop + 2 && tokens[k]?.kind === 'word'; k++) if (firstAt(tokens, k, v.none.degree) >= 0 || firstAt(tokens, k, v.none.almost) >= 0) return { kind: 'not-quite' };
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
