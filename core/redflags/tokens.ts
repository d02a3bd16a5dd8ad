import { arabicVariants, foldWord, type Script, scriptOf } from './normalise.ts';

/**
 * The patient's text cut into words, numbers and emoji, each with its exact
 * place in the original text and the strength of the break before it. A
 * hand-written scanner over UTF-16 code units (classes cached per code unit):
 * any input is cut in time proportional to its length.
 */
export interface Token {
  /** As written. */
  text: string;
  start: number;
  end: number;
  /** Folded for matching (core/redflags/normalise.ts). */
  norm: string;
  /** Plain ASCII letters (only such words may be transliterated Russian/Ukrainian). */
  ascii: boolean;
  /** Words: the shared folding of this spelling. */
  folded: Folded | undefined;
  kind: 'word' | 'number' | 'emoji';
  script: Script;
  /** Numbers: the value ("39,8" → 39.8). */
  value: number | undefined;
  /** Break before this token: 0 none, 1 clause (comma, colon, dash…), 2 sentence (. ! ? ; new line). */
  brk: 0 | 1 | 2;
  /** The gap before this token holds a question mark ("luftnot? nein"). */
  question: boolean;
  /** The gap before this token holds a dash or colon: an answer may follow ("одышка - нет", "Gedanken: nein"). */
  answer: boolean;
  /** The gap before is a slash with nothing else ("134/82"). */
  slash: boolean;
  /** The gap after this token holds a percent sign ("86%"). */
  percent: boolean;
  /** The gap after this token holds a degree sign ("39,8°"). */
  degree: boolean;
}

/** Longest text scanned: a Matrix event holds at most 64 KiB; beyond it the text goes to a human anyway. */
export const MAX_SCAN = 65_536;

const SENTENCE = /[.!?;\n…؟؛।]/;
const CLAUSE = /[,:()[\]"«»„“”–—|/،]|\s-|-\s/;

function digitsToAscii(s: string): string {
  return s.replace(/[\u0660-\u0669\u06F0-\u06F9]/g, (ch) => {
    const code = ch.charCodeAt(0);
    return String(code >= 0x06f0 ? code - 0x06f0 : code - 0x0660);
  });
}

const ASCII_WORD = /^[A-Za-z']+$/;

/** One spelling, folded once; what it matched in a word list is kept beside it (core/redflags/match.ts). */
export interface Folded {
  norm: string;
  script: Script;
  ascii: boolean;
  lookup?: { lexicon: object; found: unknown };
  /** Arabic: the word and its forms without clitics ("والدم" → "الدم", "دم"). */
  variants?: string[];
}
/** Folded spellings, remembered (bounded): most words of a message were seen before. */
const FOLDED = new Map<string, Folded>();
function folded(raw: string): Folded {
  let f = FOLDED.get(raw);
  if (f === undefined) {
    const norm = foldWord(raw);
    const script = scriptOf(norm);
    f = { norm, script, ascii: ASCII_WORD.test(raw) };
    if (script === 'arabic') f.variants = [norm, ...arabicVariants(norm)];
    if (FOLDED.size >= 50_000) FOLDED.clear();
    FOLDED.set(raw, f);
  }
  return f;
}

// Character classes, looked up per UTF-16 code unit (computed once each).
const OTHER = 1;
const LETTER = 2;
const MARK = 3;
const DIGIT = 4;
const NUMERIC = 5; // other numbers (² ½): inside words only
const APOSTROPHE = 6;
const CLASSES = new Uint8Array(65_536);
function classOf(code: number): number {
  let c = CLASSES[code]!;
  if (c === 0) {
    const ch = String.fromCharCode(code);
    c = /\p{L}/u.test(ch)
      ? LETTER
      : /\p{M}/u.test(ch)
        ? MARK
        : /\p{Nd}/u.test(ch)
          ? DIGIT
          : /\p{N}/u.test(ch)
            ? NUMERIC
            : "'’ʼ".includes(ch)
              ? APOSTROPHE
              : OTHER;
    CLASSES[code] = c;
  }
  return c;
}
const PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;
const EMOJI = new Map<string, boolean>();
function isEmoji(ch: string): boolean {
  let e = EMOJI.get(ch);
  if (e === undefined) {
    e = PICTOGRAPHIC.test(ch);
    if (EMOJI.size >= 10_000) EMOJI.clear();
    EMOJI.set(ch, e);
  }
  return e;
}
const isDecimalPoint = (code: number) => code === 46 || code === 44 || code === 0x066b;

const SYMBOLS = new Map<string, Folded>();
function symbol(raw: string): Folded {
  let f = SYMBOLS.get(raw);
  if (f === undefined) {
    f = { norm: raw, script: 'other', ascii: false };
    if (SYMBOLS.size >= 10_000) SYMBOLS.clear();
    SYMBOLS.set(raw, f);
  }
  return f;
}

/** Units and endings after a number ("3am", "5mg", "2nd"): a number, not Arabizi. */
const NOT_ARABIZI = /^(am|pm|mg|ml|kg|km|cm|mm|mal|min|std|h|x|st|nd|rd|th|er|te|ten|bpm|mmhg|uhr|tage|tagen|days|hrs|mins|jahre|lat|dni|dnia|gun|saat|kez)$/i;
const LATIN_RUN = /^[A-Za-z]{2,}/;
/** A single digit 2, 3, 5, 6, 7, 8 or 9 that begins a Latin word: Arabizi, unless a unit follows ("2der", not "5mg"). */
function arabiziLetterAt(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code < 50 || code > 57 || code === 52) return false; // 2 3 5 6 7 8 9
  if (i > 0 && classOf(text.charCodeAt(i - 1)) === DIGIT) return false;
  const run = LATIN_RUN.exec(text.slice(i + 1, i + 16));
  return run !== null && !NOT_ARABIZI.test(run[0]);
}

/**
 * Words (a letter, then letters, marks and digits, apostrophes inside:
 * "can't", "п'ять"), numbers ("39,8") and emoji, scanned in one pass.
 */
export function tokenise(input: string): Token[] {
  const text = input.length > MAX_SCAN ? input.slice(0, MAX_SCAN) : input;
  const tokens: Token[] = [];
  let last = 0;
  let previous: Token | undefined;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const code = text.charCodeAt(i);
    let kind: Token['kind'];
    let end: number;
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < n) {
      // A character outside the BMP: an emoji, or a letter of a rare script.
      const pair = text.slice(i, i + 2);
      if (isEmoji(pair)) {
        kind = 'emoji';
        end = i + 2;
      } else {
        i += 2;
        continue;
      }
    } else {
      const c = classOf(code);
      if (c === LETTER) {
        kind = 'word';
        end = i + 1;
        for (;;) {
          if (end >= n) break;
          const k = classOf(text.charCodeAt(end));
          if (k === LETTER || k === MARK || k === DIGIT || k === NUMERIC) end++;
          else if (k === APOSTROPHE && end + 1 < n && (classOf(text.charCodeAt(end + 1)) === LETTER || classOf(text.charCodeAt(end + 1)) === MARK)) end += 2;
          else break;
        }
      } else if (c === DIGIT && arabiziLetterAt(text, i)) {
        // Arabic in Latin letters writes some letters as digits: "2der" (قادر), "7abb", "3am".
        kind = 'word';
        end = i + 1;
        while (end < n && (classOf(text.charCodeAt(end)) === LETTER || classOf(text.charCodeAt(end)) === DIGIT)) end++;
      } else if (c === DIGIT) {
        kind = 'number';
        end = i + 1;
        while (end < n && classOf(text.charCodeAt(end)) === DIGIT) end++;
        if (end + 1 < n && isDecimalPoint(text.charCodeAt(end)) && classOf(text.charCodeAt(end + 1)) === DIGIT) {
          end += 2;
          while (end < n && classOf(text.charCodeAt(end)) === DIGIT) end++;
        }
      } else if (code > 0x2000 && isEmoji(text[i]!)) {
        kind = 'emoji';
        end = i + 1;
      } else {
        i++;
        continue;
      }
    }
    const start = i;
    i = end;
    let brk: 0 | 1 | 2 = 0;
    let question = false;
    let answer = false;
    let slash = false;
    // Most gaps are one space: nothing to learn from them.
    if (!(start === last + 1 && text.charCodeAt(last) === 32) && start !== last) {
      const gap = text.slice(last, start);
      if (!/^\s+$/.test(gap)) {
        if (SENTENCE.test(gap)) brk = 2;
        else if (CLAUSE.test(gap) || (gap.includes('-') && gap !== '-')) brk = 1;
        question = gap.includes('?') || gap.includes('؟');
        answer = /[-–—:]/.test(gap);
        slash = gap.trim() === '/';
        if (previous) {
          if (gap.includes('%')) previous.percent = true;
          if (gap.includes('°') || gap.includes('℃')) previous.degree = true;
        }
      }
    }
    if (previous?.kind === 'emoji' && brk === 0) brk = 1;
    const raw = text.slice(start, end);
    let norm = raw;
    let script: Script = 'other';
    let ascii = false;
    let f: Folded | undefined;
    if (kind === 'word') ({ norm, script, ascii } = f = folded(raw));
    else if (kind === 'number') norm = digitsToAscii(raw).replace('٫', '.').replace(',', '.');
    else f = symbol(raw); // emoji: cached like words, so their lookups are too
    // One object shape for every token (fast property access).
    const token: Token = {
      text: raw,
      start,
      end,
      norm,
      ascii,
      kind,
      script,
      brk: tokens.length === 0 ? 2 : brk,
      question,
      answer,
      slash,
      percent: false,
      degree: false,
      value: kind === 'number' ? Number(norm) : undefined,
      folded: f,
    };
    tokens.push(token);
    previous = token;
    last = end;
  }
  if (previous) {
    const tail = text.slice(last, last + 4);
    if (tail.includes('%')) previous.percent = true;
    if (tail.includes('°') || tail.includes('℃')) previous.degree = true;
  }
  return tokens;
}
