import { analyse, detectRedFlags } from './detect.ts';
import type { Lexicon } from './lexicon.ts';

/**
 * Thanks, ok, greetings, goodbyes, "alles gut", a lone emoji — in any of the
 * seven languages. The conversation uses it to decide whether words beside an
 * answer ("7, danke 🙂") are worth forwarding to the care team: small talk is
 * not. Anything that mentions a symptom or body concern is never small talk.
 */
const MAX_SMALL_TALK = 200;

export function isSmallTalk(text: string, lexicon?: Lexicon): boolean {
  if (typeof text !== 'string') return false;
  if (text.trim() === '') return true;
  if (text.length > MAX_SMALL_TALK) return false;
  // Symptoms, body concerns, values, calls for help: never small talk.
  if (detectRedFlags(text, lexicon ? { lexicon } : {}).severity !== 'none') return false;
  const a = analyse(text, lexicon, undefined, true);
  const covered = new Set<number>();
  for (const o of a.occurrences) {
    if (o.concept === 'smalltalk' || o.concept === 'filler') for (let i = o.first; i <= o.last; i++) covered.add(i);
  }
  let words = 0;
  for (let i = 0; i < a.tokens.length; i++) {
    const t = a.tokens[i]!;
    if (t.kind === 'emoji') continue;
    if (t.kind === 'number') return false;
    words++;
    if (!covered.has(i)) return false;
  }
  // Only emoji, or only small-talk words: small talk. Fillers alone ("and") are not.
  return words === 0 || a.occurrences.some((o) => o.concept === 'smalltalk');
}
