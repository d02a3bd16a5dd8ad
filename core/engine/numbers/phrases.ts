import type { Token } from './tokens.ts';

/** A phrase as folded token keys ("ca." → ["ca"]; full stops are skipped when matching). */
export type Phrase = readonly string[];

/**
 * Matching word lists against tokens. Full stops in between are skipped
 * ("ca. 38", "мм рт. ст."); every other token must match in order.
 */
function isStop(t: Token | undefined): boolean {
  return t?.kind === 'symbol' && t.key === '.';
}

/** tokens[i], also for i < 0: a negative index on an array is a slow property lookup in V8. */
export function tokenAt(tokens: readonly Token[], i: number): Token | undefined {
  return i >= 0 ? tokens[i] : undefined;
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

/** Start of `phrase` ending right before token `end` (full stops before `end` skipped), or -1. */
export function matchBefore(tokens: readonly Token[], end: number, phrase: Phrase): number {
  let i = end - 1;
  while (isStop(tokenAt(tokens, i))) i--;
  for (let k = phrase.length - 1; k >= 0; k--) {
    if (k < phrase.length - 1) while (isStop(tokenAt(tokens, i))) i--;
    if (i < 0 || tokens[i]?.key !== phrase[k]) return -1;
    i--;
  }
  return i + 1;
}

/**
 * A word list indexed by first and last word, so matching at a position looks
 * only at the phrases that can match there (the engine's hot path matches
 * units, "about" words and bounds around every number). Longest phrases first.
 */
export class PhraseList<T = true> {
  private readonly byFirst = new Map<string, { phrase: Phrase; value: T }[]>();
  private readonly byLast = new Map<string, { phrase: Phrase; value: T }[]>();
  readonly size: number;

  constructor(entries: Iterable<readonly [Phrase, T]>) {
    const list = [...entries].filter(([p]) => p.length > 0).sort((a, b) => b[0].length - a[0].length);
    for (const [phrase, value] of list) {
      push(this.byFirst, phrase[0] ?? '', { phrase, value });
      push(this.byLast, phrase[phrase.length - 1] ?? '', { phrase, value });
    }
    this.size = list.length;
  }

  static of(phrases: Iterable<Phrase>): PhraseList {
    return new PhraseList([...phrases].map((p) => [p, true] as const));
  }

  /** The longest phrase starting at token `from`. */
  at(tokens: readonly Token[], from: number): { end: number; value: T } | undefined {
    for (const e of this.byFirst.get(tokens[from]?.key ?? '') ?? []) {
      const end = matchAt(tokens, from, e.phrase);
      if (end >= 0) return { end, value: e.value };
    }
    return undefined;
  }

  /** The longest phrase ending right before token `end`. */
  before(tokens: readonly Token[], end: number): { start: number; value: T } | undefined {
    let last = end - 1;
    while (isStop(tokenAt(tokens, last))) last--;
    if (last < 0) return undefined;
    for (const e of this.byLast.get(tokens[last]?.key ?? '') ?? []) {
      const start = matchBefore(tokens, end, e.phrase);
      if (start >= 0) return { start, value: e.value };
    }
    return undefined;
  }

  /** Whether the tokens [from, to) are exactly one of the phrases. */
  exactly(tokens: readonly Token[], from: number, to: number): boolean {
    for (const e of this.byFirst.get(tokens[from]?.key ?? '') ?? []) if (matchAt(tokens, from, e.phrase) === to) return true;
    return false;
  }
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
