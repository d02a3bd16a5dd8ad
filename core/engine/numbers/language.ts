/**
 * What one language contributes to reading numbers: its number words, how it
 * joins them, the words patients put around a number (units, "about", "more
 * than"), and what "none" sounds like. One file per language fills this in;
 * the shared driver (`read.ts`) does the rest, so every language is read with
 * the same rules about fragments, ambiguity and units.
 *
 * All word lists are written the way patients write them; they are folded
 * (case, accents, letter variants) at build time with the same function that
 * folds the patient's message, so "fünf", "funf" and "FÜNF" are one word.
 */

/** One piece of a number word. */
export type Atom =
  /** 0–9. */
  | { kind: 'unit'; value: number }
  /** 10–19. */
  | { kind: 'teen'; value: number }
  /** 20, 30 … 90. */
  | { kind: 'tens'; value: number }
  /** A complete hundreds word: двести, pięćset, ثلاثمائة (200 … 900, also 100 where it cannot multiply). */
  | { kind: 'hundreds'; value: number }
  /** ×100, and 100 on its own: hundert, hundred, yüz, مائة. */
  | { kind: 'hundred' }
  /** ×1000, and 1000 on its own. */
  | { kind: 'thousand' }
  /** A number noun that stands alone and never combines: семёрка (7), stówa (100). */
  | { kind: 'whole'; value: number }
  /** und, and, و, и/і/i: joins parts ("acht-und-dreißig") or, in ru/uk/pl, starts a decimal. */
  | { kind: 'and' }
  /** a/an: only before hundred, thousand or half ("a hundred", "and a half"). */
  | { kind: 'article' }
  /** komma, point, virgül, запятая, فاصلة: the decimal separator as a word. */
  | { kind: 'point' }
  /** half after "and"/"with": "and a half", "i pół", "с половиной", "و نص". */
  | { kind: 'half' }
  /** A half glued to the number before it: buçuk, einhalb, ½. */
  | { kind: 'plusHalf' }
  /** с/со/з: only before "half" (с половиной). */
  | { kind: 'with' }
  /** целых/цілих/całych: "80 целых 3 десятых". */
  | { kind: 'wholes' }
  /** десятых/dziesiątych/tenths: the fraction before it is divided by `divisor`. */
  | { kind: 'fraction'; divisor: number };

export type AtomKind = Atom['kind'];

export const unit = (value: number): Atom => ({ kind: 'unit', value });
export const teen = (value: number): Atom => ({ kind: 'teen', value });
export const tens = (value: number): Atom => ({ kind: 'tens', value });
export const hundreds = (value: number): Atom => ({ kind: 'hundreds', value });
export const whole = (value: number): Atom => ({ kind: 'whole', value });
export const HUNDRED: Atom = { kind: 'hundred' };
export const THOUSAND: Atom = { kind: 'thousand' };
export const AND: Atom = { kind: 'and' };
export const ARTICLE: Atom = { kind: 'article' };
export const POINT: Atom = { kind: 'point' };
export const HALF: Atom = { kind: 'half' };
export const PLUS_HALF: Atom = { kind: 'plusHalf' };
export const WITH: Atom = { kind: 'with' };
export const WHOLES: Atom = { kind: 'wholes' };
export const TENTHS: Atom = { kind: 'fraction', divisor: 10 };
export const HUNDREDTHS: Atom = { kind: 'fraction', divisor: 100 };

/** How a language puts number words together. */
export interface Grammar {
  /** Units before tens, joined by "and": German "acht-und-dreißig", Arabic "ثمانية وثلاثون". */
  unitsBeforeTens?: boolean;
  /** "and" may join hundreds/thousands to the rest: "a hundred and five", "hundertundeins", "مائة وخمسة". */
  andAfterHundreds?: boolean;
  /** A unit followed by the word for ten makes a teen: Arabic "خمسة عشر" (15). */
  unitThenTenIsTeen?: boolean;
  /** "one fifty" = 150: a unit directly before tens/teens counts hundreds (English, weights and sugar). */
  colloquialHundreds?: boolean;
  /** "and" + one digit after a number ≥ 10 is its decimal: "тридцать семь и два" = 37.2 (ru, uk, pl). */
  andDecimal?: boolean;
}

/** Units patients write, by what they measure. `degree` is a degree of the question's own scale ("Grad"). */
export type UnitWord = 'Cel' | '[degF]' | 'degree' | 'kg' | '[lb_av]' | '[stone_av]' | 'pound?' | '/min' | 'mg/dL' | 'mmol/L' | 'mm[Hg]' | '%';

export interface NumberLanguage {
  /** Number words → meaning. A key may list spellings separated by "|". */
  words: Readonly<Record<string, Atom>>;
  grammar: Grammar;
  /**
   * Number words that are also everyday words ("one", "bir" = a, "on" = front
   * without accents, "مية" = water): they count only when they are the whole
   * answer, or stand right before a unit or "of 10".
   */
  weak: readonly string[];
  /** A one-letter "and" written glued to the next word (Arabic "و": "وثلاثون"). */
  gluedAnd?: string;
  /** Endings glued to a number word (Turkish "sekiz-di", "otuz-da"). */
  suffixes?: readonly string[];
  /** "About" next to a number: the number still counts ("so 7", "около 90", "90 civarı"). */
  about: readonly string[];
  /** Before a number, these make it a bound, a range or a time, not a value: "mehr als", "fast", "halb", "zwischen". */
  inexactBefore: readonly string[];
  /** After a number: "und mehr", "z hakiem", "с хвостиком", "küsur". */
  inexactAfter: readonly string[];
  /** Endings glued to a number that make it a decade or a plural: "90s", "80er", "80'ler", "80-х", "80-tych". */
  decades?: readonly string[];
  /** Endings glued to a number that make it an ordinal (a date, a position): "7th", "7-й", "7-go". */
  ordinals?: readonly string[];
  /** The word between a score and its maximum: "7 von 10". */
  outOf: readonly string[];
  /** The same with the maximum first: Turkish "10 üzerinden 7". */
  outOfMaxFirst?: readonly string[];
  /** Words joining two numbers into a range or a choice ("bis", "oder"): with a weak word on one side it is still two numbers. */
  rangeWords: readonly string[];
  /** Unit words of this language (international ones like kg, °F, lbs are known everywhere). */
  units: Partial<Record<UnitWord, readonly string[]>>;
  none: NoneWords;
  /** Everyday words one typo away from a number word: never corrected into one ("nice" is not "nine"). */
  notTypos: readonly string[];
  /** Everyday words that look like number words and often stand next to one ("ألم سبعة"): not taken for a broken number word. */
  everyday?: readonly string[];
  /** Number words the grammar does not combine ("trzy dychy" = 30, "десяток"): a number next to them is not trusted. */
  unreadable?: readonly string[];
}

/** "None" answers to a scale whose minimum means none (see `none:` in docs/flows.md). */
export interface NoneWords {
  /** The whole answer (or its first clause) means "none": "keine", "none", "nothing", "yok". */
  general: readonly string[];
  /** Phrases meaning "no pain", anywhere in the message: "keine Schmerzen", "tut nicht weh", "не болит". */
  pain: readonly string[];
  /** Right before a none phrase they make it "almost none": "fast", "almost", "почти". */
  almost: readonly string[];
  /** Within two words after a none phrase they make it a comparison: "nicht so", "not that much", "не так сильно". */
  degree: readonly string[];
}
