import { fold } from './fold.ts';

/**
 * A patient message as tokens that remember where they came from, so the
 * parts an answer used can be cut out again (`restOf`): "7, und ich blute"
 * → value 7, rest "und ich blute". One pass, no backtracking regexes.
 */
export interface Token {
  kind: 'digits' | 'word' | 'symbol';
  /** Position in the message (UTF-16 offsets), end exclusive. */
  start: number;
  end: number;
  /** Folded word (see fold.ts), the symbol itself, or the digits in ASCII. */
  key: string;
  /** Whitespace before this token. */
  space: boolean;
  /** digits: the number ("38,5" → 38.5), its decimals as written, and whether it had more than one separator (a date, "1.000,5"). */
  value: number;
  decimals: number;
  malformed: boolean;
}

const LETTER = /[\p{L}\p{M}]/u;
const SPACE = /\s/u;
const APOSTROPHE = /['’ʼ`´]/;

function digitOf(ch: string): string | undefined {
  const c = ch.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) return ch;
  if (c >= 0x660 && c <= 0x669) return String(c - 0x660);
  if (c >= 0x6f0 && c <= 0x6f9) return String(c - 0x6f0);
  return undefined;
}
/** Decimal separators between digits: point, comma, Arabic decimal and thousands separators. */
const SEPARATOR = new Set(['.', ',', '٫', '٬']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  // Positions are UTF-16 offsets into `text`; a character is one code point (1 or 2 units).
  const charAt = (i: number): string => {
    const c = text.codePointAt(i);
    return c === undefined ? '' : String.fromCodePoint(c);
  };
  const isLetter = (ch: string): boolean => {
    const c = ch.charCodeAt(0);
    if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    // "º" (ordinal indicator) is a letter to Unicode but a degree sign to patients: "38º".
    return ch !== '' && ch !== 'º' && LETTER.test(ch);
  };
  const isSpace = (ch: string): boolean => {
    if (ch === '') return false;
    const c = ch.charCodeAt(0);
    if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
    return SPACE.test(ch);
  };
  let i = 0;
  let space = true;
  const push = (kind: Token['kind'], from: number, to: number, key: string, value = 0, decimals = 0, malformed = false) => {
    tokens.push({ kind, start: from, end: to, key, space, value, decimals, malformed });
    space = false;
  };
  while (i < text.length) {
    const ch = charAt(i);
    if (isSpace(ch)) {
      space = true;
      i += ch.length;
      continue;
    }
    const minus = (ch === '-' || ch === '−') && space && digitOf(charAt(i + 1)) !== undefined;
    if (digitOf(ch) !== undefined || minus) {
      const from = i;
      if (minus) i++;
      let ascii = '';
      let separators = 0;
      let lastSeparator = -1;
      while (i < text.length) {
        const c = text[i] ?? '';
        const d = digitOf(c);
        if (d !== undefined) {
          ascii += d;
          i++;
        } else if (SEPARATOR.has(c) && digitOf(text[i + 1] ?? '') !== undefined) {
          separators++;
          lastSeparator = ascii.length;
          ascii += '.';
          i++;
        } else break;
      }
      const decimals = separators === 1 ? ascii.length - lastSeparator - 1 : 0;
      const value = (minus ? -1 : 1) * Number(separators <= 1 ? ascii : ascii.replace(/\./g, ''));
      push('digits', from, i, ascii, value, decimals, separators > 1);
      continue;
    }
    if (isLetter(ch)) {
      const from = i;
      while (i < text.length) {
        const c = charAt(i);
        if (isLetter(c)) i += c.length;
        // Apostrophes inside a word belong to it: п'ять, don't (also a doubled one typed by mistake).
        else if (APOSTROPHE.test(c) && i > from) {
          let k = i;
          while (APOSTROPHE.test(text[k] ?? '')) k++;
          if (!isLetter(charAt(k))) break;
          i = k;
        } else break;
      }
      push('word', from, i, fold(text.slice(from, i)));
      continue;
    }
    push('symbol', i, i + ch.length, ch);
    i += ch.length;
  }
  return tokens;
}

/**
 * The message without the tokens the answer used, lightly normalised:
 * whitespace collapsed, no dangling separators at either end, "" when nothing
 * but punctuation is left.
 */
export function restOf(text: string, tokens: readonly Token[], used: ReadonlySet<number>): string {
  if (used.size === 0) return tidyRest(text);
  let out = '';
  let at = 0;
  tokens.forEach((t, i) => {
    if (!used.has(i)) return;
    out += `${text.slice(at, t.start)} `;
    at = t.end;
  });
  out += text.slice(at);
  return tidyRest(out);
}

const MEANINGFUL = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;
const LEADING = new Set([...' \n,;:.-–—/']);
const TRAILING = new Set([...' \n,;:-–—/']);

/** Light normalisation of a rest: spaces collapsed, no separators dangling at either end, "" if nothing meaningful is left. */
export function tidyRest(s: string): string {
  const t = s
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/ ([,;:.!?])/g, '$1')
    .replace(/([,;:])(?: ?[,;:])+/g, '$1');
  // Trimmed by hand: an anchored `[…]+$` regex is quadratic on long runs.
  let from = 0;
  let to = t.length;
  while (from < to && LEADING.has(t[from] ?? '')) from++;
  while (to > from && TRAILING.has(t[to - 1] ?? '')) to--;
  const out = t.slice(from, to);
  return MEANINGFUL.test(out) ? out : '';
}
