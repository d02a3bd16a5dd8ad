import type { Token } from './tokens.ts';
import type { Phrase } from './vocabulary.ts';

/**
 * Matching word lists against tokens. Full stops in between are skipped
 * ("ca. 38", "мм рт. ст."); every other token must match in order.
 */
function isStop(t: Token | undefined): boolean {
  return t?.kind === 'symbol' && t.key === '.';
}

/** End (exclusive) of `phrase` starting at token `from`, or -1. */
export function matchAt(tokens: readonly Token[], from: number, phrase: Phrase): number {
  let i = from;
  for (let k = 0; k < phrase.length; k++) {
    if (k > 0) while (isStop(tokens[i])) i++;
    if (tokens[i]?.key !== phrase[k]) return -1;
    i++;
  }
  return i;
}

/** Start of `phrase` ending right before token `end`, or -1. */
export function matchBefore(tokens: readonly Token[], end: number, phrase: Phrase): number {
  let i = end - 1;
  while (isStop(tokens[i])) i--;
  for (let k = phrase.length - 1; k >= 0; k--) {
    if (k < phrase.length - 1) while (isStop(tokens[i])) i--;
    if (i < 0 || tokens[i]?.key !== phrase[k]) return -1;
    i--;
  }
  return i + 1;
}

/** The first (longest, lists are sorted) phrase starting at `from`: its end, or -1. */
export function firstAt(tokens: readonly Token[], from: number, list: readonly Phrase[]): number {
  for (const p of list) {
    const end = matchAt(tokens, from, p);
    if (end >= 0) return end;
  }
  return -1;
}

/** The first phrase ending right before `end`: its start, or -1. */
export function firstBefore(tokens: readonly Token[], end: number, list: readonly Phrase[]): number {
  for (const p of list) {
    const start = matchBefore(tokens, end, p);
    if (start >= 0) return start;
  }
  return -1;
}

/** Whether the tokens [from, to) are exactly one of the phrases (full stops aside). */
export function isExactly(tokens: readonly Token[], from: number, to: number, list: readonly Phrase[]): boolean {
  for (const p of list) if (matchAt(tokens, from, p) === to) return true;
  return false;
}
