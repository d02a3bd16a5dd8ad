import type { ChoiceOption, ChoiceQuestion, Question, TextQuestion } from '../flow/model.ts';
import type { Language } from '../language.ts';
import { type Lexicon, lexicon } from './lexicon.ts';
import { asciiDigits, normalizeEmoji, normalizeWords, stripControls } from './normalize.ts';
import { readNumbers, restOf, tidyRest, tokenize } from './numbers/index.ts';
import { parseQuantity, parseScale } from './numeric.ts';
import type { AnswerValue, ParseResult } from './types.ts';

/**
 * Patient text → typed answer for one question, per language. Pure and total:
 * any string yields either a value or a failure reason the engine turns into
 * a friendly re-ask. Nothing here throws. A value comes with `rest`, the part
 * of the message the answer did not use ("7, und ich blute" → "und ich blute").
 */
export function parseAnswer(question: Question, raw: string, lang: Language, now: Date, timeZone: string): ParseResult {
  const lex = lexicon(lang);
  const text = stripControls(raw);
  switch (question.type) {
    case 'quantity':
      return parseQuantity(question, text, lang);
    case 'scale':
      return parseScale(question, text, lang);
    case 'boolean':
      return parseBoolean(text, lex);
    case 'choice':
    case 'multi-choice':
      return parseChoice(question, text, lex);
    case 'text':
      return parseText(question, text);
    case 'date':
      return parseDate(text, lex, now, timeZone);
    case 'photo':
      return { ok: false, reason: 'need-photo' };
    case 'info':
      return { ok: false, reason: 'not-understood' };
  }
}

// ---------------------------------------------------------------- numbers

export type NumberScan = { kind: 'none' } | { kind: 'one'; value: number; decimals: number } | { kind: 'many' };

/**
 * The one number in a message, read as in numeric.ts ("38,5", "achtunddreißig
 * komma fünf", "7/10" against a maximum). Anything unclear counts as "many".
 */
export function scanNumber(text: string, lex: Lexicon, outOf?: number): NumberScan {
  const t = stripControls(text);
  const scan = readNumbers(t, tokenize(t), lex.lang, outOf === undefined ? { decimals: true } : { decimals: true, outOf });
  if (scan.kind === 'one') return { kind: 'one', value: scan.reading.value, decimals: scan.reading.decimals };
  return scan.kind === 'none' ? scan : { kind: 'many' };
}

// ---------------------------------------------------------------- yes / no

const YES_EMOJI = new Set(['👍', '✅', '✔', '☑', '🙂', '😊']);
const NO_EMOJI = new Set(['👎', '❌', '✖', '🚫', '❎']);

export function parseBoolean(text: string, lex: Lexicon): ParseResult {
  const emoji = normalizeEmoji(text);
  if (YES_EMOJI.has(emoji)) return { ok: true, value: { type: 'boolean', value: true }, rest: '' };
  if (NO_EMOJI.has(emoji)) return { ok: true, value: { type: 'boolean', value: false }, rest: '' };
  const norm = normalizeWords(text);
  if (!norm) return { ok: false, reason: 'not-understood' };
  const decide = (yes: ReadonlySet<string>, no: ReadonlySet<string>): boolean | 'ambiguous' | undefined => {
    if (yes.has(norm)) return true;
    if (no.has(norm)) return false;
    let y = false;
    let n = false;
    const tokens = norm.split(' ');
    for (let i = 0; i < tokens.length; i++) {
      const one = tokens[i] ?? '';
      const two = i + 1 < tokens.length ? `${one} ${tokens[i + 1]}` : '';
      if (yes.has(one) || (two && yes.has(two))) y = true;
      if (no.has(one) || (two && no.has(two))) n = true;
    }
    if (y && n) return 'ambiguous';
    return y ? true : n ? false : undefined;
  };
  // The patient's own language decides first; German/English words only if it says nothing.
  const own = decide(lex.ownWords.yes, lex.ownWords.no);
  const words = own === undefined ? lex.words : lex.ownWords;
  const result = own ?? decide(lex.words.yes, lex.words.no);
  if (result === 'ambiguous') return { ok: false, reason: 'ambiguous' };
  if (result === undefined) return { ok: false, reason: 'not-understood' };
  const rest = words.yes.has(norm) || words.no.has(norm) ? '' : restWithoutWords(text, result ? words.yes : words.no);
  return { ok: true, value: { type: 'boolean', value: result }, rest };
}

/**
 * The message without the words (one or two in a row, as normalizeWords sees
 * them) that are in `set`: what is left beside a "ja" or an option label.
 */
function restWithoutWords(text: string, set: ReadonlySet<string>): string {
  const tokens = tokenize(text);
  const words = tokens.flatMap((t, i) => (t.kind === 'word' ? [{ i, w: normalizeWords(text.slice(t.start, t.end)) }] : []));
  const used = new Set<number>();
  for (let k = 0; k < words.length; k++) {
    const one = words[k] as { i: number; w: string };
    const next = words[k + 1];
    if (next && set.has(`${one.w} ${next.w}`)) {
      used.add(one.i).add(next.i);
      k++;
    } else if (set.has(one.w)) used.add(one.i);
  }
  return restOf(text, tokens, used);
}

// ---------------------------------------------------------------- choices

const SEPARATORS = /[,;/+&\n]|\s-\s/;

export function parseChoice(q: ChoiceQuestion, text: string, lex: Lexicon): ParseResult {
  const multiple = q.type === 'multi-choice';
  const picked = multiple ? pickMany(q, text, lex) : pickOne(q, text, lex);
  if (!picked.ok) return picked;
  const { codes, rest } = picked;
  if (!multiple) return { ok: true, value: { type: 'choice', code: codes[0] ?? '' }, rest };
  const exclusive = q.options.find((o) => o.exclusive && codes.includes(o.code));
  if (exclusive && codes.length > 1) return { ok: false, reason: 'exclusive', detail: { option: label(exclusive.text, lex.lang) } };
  // Keep the flow's option order, whatever order the patient typed.
  const ordered = q.options.filter((o) => codes.includes(o.code)).map((o) => o.code);
  return { ok: true, value: { type: 'choices', codes: ordered }, rest };
}

type Picked =
  | { ok: true; codes: string[]; rest: string }
  | { ok: false; reason: 'not-understood' | 'ambiguous' | 'out-of-range'; detail?: Record<string, string> };

function pickOne(q: ChoiceQuestion, text: string, lex: Lexicon): Picked {
  const t = asciiDigits(text).trim();
  const numbers = [...t.matchAll(/\d+/g)].map((m) => Number(m[0]));
  const unique = [...new Set(numbers)];
  const numeric = /^[\s\d.,)(#-]*$/.test(t);
  const leading = /^\s*\d+\s*[.)]?(\s|$)/.exec(t);
  if (unique.length === 1 && (numeric || leading)) {
    const n = unique[0] ?? 0;
    const option = q.options[n - 1];
    if (!option) return { ok: false, reason: 'out-of-range', detail: { value: String(n) } };
    return { ok: true, codes: [option.code], rest: numeric ? '' : tidyRest(t.slice(leading?.[0].length ?? 0)) };
  }
  if (unique.length > 1 && numeric) return { ok: false, reason: 'ambiguous' };
  const byEmoji = matchEmoji(q, t);
  if (byEmoji.length === 1) return { ok: true, codes: byEmoji, rest: restWithoutEmoji(q, t) };
  const input = normalizeWords(t);
  const byLabel = matchLabel(q, input, lex);
  if (byLabel.length === 1) return { ok: true, codes: byLabel, rest: restWithoutLabel(q, byLabel[0] ?? '', t, input, lex) };
  if (byLabel.length > 1 || byEmoji.length > 1) return { ok: false, reason: 'ambiguous' };
  if (unique.length === 1) {
    const option = q.options[(unique[0] ?? 0) - 1];
    if (option) return { ok: true, codes: [option.code], rest: tidyRest(t.replace(/\d+/, ' ')) };
  }
  const bool = numbers.length === 0 ? yesNoOption(q, t, lex) : undefined;
  if (bool) return { ok: true, codes: [bool.code], rest: bool.rest };
  return { ok: false, reason: 'not-understood' };
}

function pickMany(q: ChoiceQuestion, text: string, lex: Lexicon): Picked {
  const t = asciiDigits(text).trim();
  const andWords = [...lex.words.and];
  // "1, 3", "1 3", "1 und 3": only numbers and separators.
  const stripped = normalizeWords(t)
    .split(' ')
    .filter((w) => !andWords.includes(w))
    .join(' ');
  if (/^[\d\s]+$/.test(stripped) && stripped.trim()) {
    const codes: string[] = [];
    for (const n of stripped.trim().split(/\s+/).map(Number)) {
      const option = q.options[n - 1];
      if (!option) return { ok: false, reason: 'out-of-range', detail: { value: String(n) } };
      if (!codes.includes(option.code)) codes.push(option.code);
    }
    return { ok: true, codes, rest: '' };
  }
  const byEmoji = matchEmoji(q, t);
  if (byEmoji.length > 0 && normalizeWords(t) === '') return { ok: true, codes: byEmoji, rest: '' };
  // Labels separated by commas or "and".
  const andPattern = andWords.length > 0 ? new RegExp(`\\s(?:${andWords.map(escapeRegExp).join('|')})\\s`, 'u') : undefined;
  const parts = t
    .split(SEPARATORS)
    .flatMap((p) => (andPattern ? normalizeWords(p).split(andPattern) : [p]))
    .filter((p) => normalizeWords(p) !== '');
  const codes: string[] = [];
  const rests: string[] = [];
  for (const part of parts) {
    const one = pickOne(q, part, lex);
    if (!one.ok) return one;
    for (const c of one.codes) if (!codes.includes(c)) codes.push(c);
    if (one.rest) rests.push(one.rest);
  }
  return codes.length > 0 ? { ok: true, codes, rest: rests.join(', ') } : { ok: false, reason: 'not-understood' };
}

function restWithoutEmoji(q: ChoiceQuestion, text: string): string {
  let out = text.replace(/[\uFE0E\uFE0F\u{1F3FB}-\u{1F3FF}\u200D]/gu, '');
  for (const o of q.options) if (o.emoji) out = out.split(normalizeEmoji(o.emoji)).join(' ');
  return tidyRest(out);
}

/** A label typed in full or started ("leicht") is the whole answer; one inside a sentence is cut out. */
function restWithoutLabel(q: ChoiceQuestion, code: string, text: string, input: string, lex: Lexicon): string {
  const option = q.options.find((o) => o.code === code);
  if (!option) return '';
  const candidates = labelCandidates(option, lex.lang);
  if (candidates.some((c) => c === input || c.startsWith(input))) return '';
  const inside = candidates.filter((c) => ` ${input} `.includes(` ${c} `)).sort((a, b) => b.length - a.length)[0];
  if (!inside) return '';
  const tokens = tokenize(text);
  const words = tokens.flatMap((t, i) => (t.kind === 'word' || t.kind === 'digits' ? [{ i, w: normalizeWords(text.slice(t.start, t.end)) }] : []));
  const want = inside.split(' ');
  for (let k = 0; k + want.length <= words.length; k++) {
    if (want.every((w, j) => words[k + j]?.w === w)) return restOf(text, tokens, new Set(words.slice(k, k + want.length).map((x) => x.i)));
  }
  return '';
}

function matchEmoji(q: ChoiceQuestion, text: string): string[] {
  const t = normalizeEmoji(text);
  if (!t) return [];
  return q.options.filter((o) => o.emoji && t.includes(normalizeEmoji(o.emoji))).map((o) => o.code);
}

/** Option labels in the patient's language and in German/English, accent- and case-insensitive (`input` is normalizeWords of the answer). */
function matchLabel(q: ChoiceQuestion, input: string, lex: Lexicon): string[] {
  if (!input) return [];
  const candidates = (o: ChoiceQuestion['options'][number]) => labelCandidates(o, lex.lang);
  const exact = q.options.filter((o) => candidates(o).includes(input));
  if (exact.length > 0) return exact.map((o) => o.code);
  // A prefix of a label ("leicht" for "leicht gerötet"), or a label inside a sentence.
  const prefix = input.length >= 3 ? q.options.filter((o) => candidates(o).some((c) => c.startsWith(input))) : [];
  if (prefix.length > 0) return prefix.map((o) => o.code);
  const padded = ` ${input} `;
  return q.options.filter((o) => candidates(o).some((c) => c.length >= 3 && padded.includes(` ${c} `))).map((o) => o.code);
}

/** Normalised labels of an option (patient language, German, English, code), computed once per option. */
const labelCache = new WeakMap<ChoiceOption, Map<Language, string[]>>();
function labelCandidates(o: ChoiceOption, lang: Language): string[] {
  let byLang = labelCache.get(o);
  if (!byLang) {
    byLang = new Map();
    labelCache.set(o, byLang);
  }
  let list = byLang.get(lang);
  if (!list) {
    list = [...new Set([o.text[lang], o.text.de, o.text.en, o.code].filter((s): s is string => !!s).map(normalizeWords))];
    byLang.set(lang, list);
  }
  return list;
}

/** The whole message is exactly an option's label or code (not just a part of a sentence). */
export function isExactOption(q: ChoiceQuestion, text: string, lang: Language): boolean {
  const input = normalizeWords(text);
  return q.options.some((o) => labelCandidates(o, lang).includes(input));
}

/** "ja"/"nein" to a two-option question whose options are yes/no-like codes. */
function yesNoOption(q: ChoiceQuestion, text: string, lex: Lexicon): { code: string; rest: string } | undefined {
  if (q.options.length !== 2) return undefined;
  const b = parseBoolean(text, lex);
  if (!b.ok || b.value.type !== 'boolean') return undefined;
  const want = b.value.value ? ['yes', 'y', 'true', 'ja'] : ['no', 'n', 'false', 'nein'];
  const code = q.options.find((o) => want.includes(o.code.toLowerCase()))?.code;
  return code === undefined ? undefined : { code, rest: b.rest };
}

function label(t: Partial<Record<Language, string>>, lang: Language): string {
  return t[lang] ?? t.de ?? t.en ?? '';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------- text, date

function parseText(q: TextQuestion, text: string): ParseResult {
  if (!text || (normalizeWords(text) === '' && !/\p{Extended_Pictographic}/u.test(text))) return { ok: false, reason: 'need-text' };
  if (text.length > q.maxLength) return { ok: false, reason: 'too-long', detail: { max: String(q.maxLength) } };
  return { ok: true, value: { type: 'text', value: text }, rest: '' };
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** The calendar date of `now` in the flow's time zone, as YYYY-MM-DD. */
export function localDate(now: Date, timeZone: string, minusDays = 0): string {
  let f = dayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, f);
  }
  const today = f.format(now);
  if (minusDays === 0) return today;
  const d = new Date(`${today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - minusDays);
  return d.toISOString().slice(0, 10);
}

/** Accepts 28.11.2026, 28.11.26, 28.11., 28/11/2026, 2026-11-28, today/yesterday words. */
export function parseDate(text: string, lex: Lexicon, now: Date, timeZone: string): ParseResult {
  const norm = normalizeWords(text);
  if (lex.words.today.has(norm)) return { ok: true, value: { type: 'date', value: localDate(now, timeZone) }, rest: '' };
  if (lex.words.yesterday.has(norm)) return { ok: true, value: { type: 'date', value: localDate(now, timeZone, 1) }, rest: '' };
  if (lex.words.dayBeforeYesterday.has(norm)) return { ok: true, value: { type: 'date', value: localDate(now, timeZone, 2) }, rest: '' };
  const t = asciiDigits(text).trim();
  let y: number;
  let m: number;
  let d: number;
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  const dmy = /^(\d{1,2})[./-](\d{1,2})[./-]?(\d{2}|\d{4})?\.?$/.exec(t);
  if (iso) {
    y = Number(iso[1]);
    m = Number(iso[2]);
    d = Number(iso[3]);
  } else if (dmy) {
    d = Number(dmy[1]);
    m = Number(dmy[2]);
    const year = dmy[3];
    const current = Number(localDate(now, timeZone).slice(0, 4));
    y = year === undefined ? current : year.length === 2 ? 2000 + Number(year) : Number(year);
  } else return { ok: false, reason: 'not-understood' };
  const date = new Date(Date.UTC(y, m - 1, d));
  if (m < 1 || m > 12 || d < 1 || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || y < 1900 || y > 2200) {
    return { ok: false, reason: 'invalid-date' };
  }
  return { ok: true, value: { type: 'date', value: date.toISOString().slice(0, 10) }, rest: '' };
}

/** Answer for an attachment input (photo questions only). */
export function attachmentAnswer(question: Question, input: { url: string; contentType: string; title?: string; size?: number }): ParseResult {
  if (question.type !== 'photo') return { ok: false, reason: 'need-text' };
  if (!/^image\//i.test(input.contentType) || !input.url) return { ok: false, reason: 'need-photo' };
  const value: AnswerValue = { type: 'attachment', url: input.url, contentType: input.contentType };
  if (input.title) value.title = input.title;
  if (input.size !== undefined) value.size = input.size;
  return { ok: true, value, rest: '' };
}
