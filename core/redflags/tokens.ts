import { foldWord, type Script, scriptOf } from './normalise.ts';

/**
 * The patient's text cut into words, numbers and emoji, each with its exact
 * place in the original text and the strength of the break before it. One
 * linear regular expression (no nested quantifiers over the same characters),
 * so any input is cut in time proportional to its length.
 */
export interface Token {
  /** As written. */
  text: string;
  start: number;
  end: number;
  /** Folded for matching (core/redflags/normalise.ts). */
  norm: string;
  kind: 'word' | 'number' | 'emoji';
  script: Script;
  /** Numbers: the value ("39,8" → 39.8). */
  value?: number;
  /** Break before this token: 0 none, 1 clause (comma, colon, dash…), 2 sentence (. ! ? ; new line). */
  brk: 0 | 1 | 2;
  /** The gap before this token holds a question mark ("luftnot? nein"). */
  question: boolean;
  /** The gap before is a slash with nothing else ("134/82"). */
  slash: boolean;
  /** The gap after this token holds a percent sign ("86%"). */
  percent: boolean;
  /** The gap after this token holds a degree sign ("39,8°"). */
  degree: boolean;
}

/** Longest text scanned: a Matrix event holds at most 64 KiB; beyond it the text goes to a human anyway. */
export const MAX_SCAN = 65_536;

const TOKEN = /(\p{L}[\p{L}\p{M}\p{N}]*(?:['’ʼ][\p{L}\p{M}]+)*)|(\p{Nd}+(?:[.,٫]\p{Nd}+)?)|(\p{Extended_Pictographic})/gu;
const SENTENCE = /[.!?;\n…؟؛।]/;
const CLAUSE = /[,:()[\]"«»„“”–—|/،]|\s-|-\s/;

function digitsToAscii(s: string): string {
  return s.replace(/[\u0660-\u0669\u06F0-\u06F9]/g, (ch) => {
    const code = ch.charCodeAt(0);
    return String(code >= 0x06f0 ? code - 0x06f0 : code - 0x0660);
  });
}

export function tokenise(input: string): Token[] {
  const text = input.length > MAX_SCAN ? input.slice(0, MAX_SCAN) : input;
  const tokens: Token[] = [];
  let last = 0;
  let previous: Token | undefined;
  for (const m of text.matchAll(TOKEN)) {
    const start = m.index;
    const gap = text.slice(last, start);
    let brk: 0 | 1 | 2 = 0;
    if (gap.length > 0 && !/^\s+$/.test(gap)) {
      if (SENTENCE.test(gap)) brk = 2;
      else if (CLAUSE.test(gap) || (gap.includes('-') && gap !== '-')) brk = 1;
    }
    if (previous?.kind === 'emoji' && brk === 0) brk = 1;
    if (previous) {
      if (gap.includes('%')) previous.percent = true;
      if (gap.includes('°') || gap.includes('℃')) previous.degree = true;
    }
    const raw = m[0];
    const kind = m[1] !== undefined ? 'word' : m[2] !== undefined ? 'number' : 'emoji';
    const norm = kind === 'word' ? foldWord(raw) : kind === 'number' ? digitsToAscii(raw).replace('٫', '.').replace(',', '.') : raw;
    const token: Token = {
      text: raw,
      start,
      end: start + raw.length,
      norm,
      kind,
      script: kind === 'word' ? scriptOf(norm) : 'other',
      brk: tokens.length === 0 ? 2 : brk,
      question: gap.includes('?') || gap.includes('؟'),
      slash: gap.trim() === '/',
      percent: false,
      degree: false,
    };
    if (kind === 'number') token.value = Number(norm);
    tokens.push(token);
    previous = token;
    last = token.end;
  }
  if (previous) {
    const tail = text.slice(last, last + 4);
    if (tail.includes('%')) previous.percent = true;
    if (tail.includes('°') || tail.includes('℃')) previous.degree = true;
  }
  return tokens;
}
