import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNumbers, tokenize } from '../../../core/engine/numbers/index.ts';
import type { Language } from '../../../core/language.ts';

/**
 * Property tests: numbers written out in words by generators written here,
 * independently of the reader's word lists (core/engine/numbers/<lang>.ts),
 * are read back exactly, in every language, 0–999 and with decimals; and a
 * number with one of its words broken is never read as a different value.
 */

/** A spelling choice per call; the generators below pick forms with it. */
type Pick = (options: readonly string[]) => string;

interface Writer {
  /** n in 0–999 in words. */
  integer(n: number, pick: Pick): string;
  /** int + d/10 (d 1–9) in words; the forms patients use for temperatures and weights. */
  decimal(int: number, d: number, pick: Pick): string;
  /** int + 0.5 in words. */
  half(int: number, pick: Pick): string;
}

const de: Writer = (() => {
  const ones = ['null', 'eins', 'zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun'];
  const teens = ['zehn', 'elf', 'zwölf', 'dreizehn', 'vierzehn', 'fünfzehn', 'sechzehn', 'siebzehn', 'achtzehn', 'neunzehn'];
  const tens = ['', '', 'zwanzig', 'dreißig', 'vierzig', 'fünfzig', 'sechzig', 'siebzig', 'achtzig', 'neunzig'];
  const below100 = (n: number, pick: Pick): string[] => {
    if (n < 10) return [ones[n] as string];
    if (n < 20) return [teens[n - 10] as string];
    const u = n % 10;
    const t = tens[Math.floor(n / 10)] as string;
    return u === 0 ? [t] : [u === 1 ? 'ein' : (ones[u] as string), 'und', t];
  };
  const parts = (n: number, pick: Pick): string[] => {
    if (n < 100) return below100(n, pick);
    const h = Math.floor(n / 100);
    const rest = n % 100;
    const head = h === 1 ? (pick(['hundert', 'einhundert']) === 'hundert' ? ['hundert'] : ['ein', 'hundert']) : [ones[h] as string, 'hundert'];
    return rest === 0 ? head : [...head, ...(rest === 1 ? ['eins'] : below100(rest, pick))];
  };
  // Written as one word ("achtunddreißig") or, as some patients do, in pieces.
  const join = (p: string[], pick: Pick) => p.join(pick(['', ' ']));
  const ascii = (s: string, pick: Pick) => (pick(['ß', 'ss']) === 'ss' ? s.replace(/ß/g, 'ss') : s);
  return {
    integer: (n, pick) => ascii(join(parts(n, pick), pick), pick),
    decimal: (int, d, pick) => `${ascii(join(parts(int, pick), pick), pick)} ${pick(['komma', 'Komma'])} ${ones[d]}`,
    half: (int, pick) => `${join(parts(int, pick), pick)}${pick(['einhalb', ' einhalb', ' und ein halb'])}`,
  };
})();

const en: Writer = (() => {
  const ones = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  const teens = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
  const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
  const below100 = (n: number, pick: Pick): string => {
    if (n < 10) return ones[n] as string;
    if (n < 20) return teens[n - 10] as string;
    const u = n % 10;
    return `${tens[Math.floor(n / 10)]}${u ? `${pick(['-', ' '])}${ones[u]}` : ''}`;
  };
  const integer = (n: number, pick: Pick): string => {
    if (n < 100) return below100(n, pick);
    const h = Math.floor(n / 100);
    const rest = n % 100;
    const head = `${h === 1 ? pick(['one', 'a']) : ones[h]} hundred`;
    return rest === 0 ? head : `${head}${pick([' and ', ' '])}${below100(rest, pick)}`;
  };
  return {
    integer,
    decimal: (int, d, pick) => `${integer(int, pick)} ${pick(['point', 'dot'])} ${ones[d]}`,
    half: (int, pick) => `${integer(int, pick)} and a half`,
  };
})();

const tr: Writer = (() => {
  const ones = ['sıfır', 'bir', 'iki', 'üç', 'dört', 'beş', 'altı', 'yedi', 'sekiz', 'dokuz'];
  const tens = ['', 'on', 'yirmi', 'otuz', 'kırk', 'elli', 'altmış', 'yetmiş', 'seksen', 'doksan'];
  const parts = (n: number): string[] => {
    const out: string[] = [];
    const h = Math.floor(n / 100);
    if (h > 1) out.push(ones[h] as string);
    if (h > 0) out.push('yüz');
    const t = Math.floor((n % 100) / 10);
    if (t > 0) out.push(tens[t] as string);
    const u = n % 10;
    if (u > 0 || n === 0) out.push(ones[u] as string);
    return out;
  };
  // Separate words or one word ("otuzsekiz"), with or without Turkish letters.
  const write = (n: number, pick: Pick) => {
    const s = parts(n).join(pick([' ', '']));
    return pick(['tr', 'ascii']) === 'ascii'
      ? s.replace(/ı/g, 'i').replace(/ş/g, 's').replace(/ç/g, 'c').replace(/ö/g, 'o').replace(/ü/g, 'u').replace(/ğ/g, 'g')
      : s;
  };
  return {
    integer: write,
    decimal: (int, d, pick) => `${write(int, pick)} ${pick(['virgül', 'nokta', 'virgul'])} ${ones[d]}`,
    half: (int, pick) => `${write(int, pick)} buçuk`,
  };
})();

const ar: Writer = (() => {
  const ones = ['صفر', 'واحد', 'اثنان', 'ثلاثة', 'أربعة', 'خمسة', 'ستة', 'سبعة', 'ثمانية', 'تسعة'];
  const onesAlt = ['صفر', 'واحد', 'اثنين', 'ثلاث', 'اربعة', 'خمس', 'ست', 'سبع', 'ثماني', 'تسع'];
  const tens = ['', '', 'عشرون', 'ثلاثون', 'أربعون', 'خمسون', 'ستون', 'سبعون', 'ثمانون', 'تسعون'];
  const tensAlt = ['', '', 'عشرين', 'ثلاثين', 'اربعين', 'خمسين', 'ستين', 'سبعين', 'ثمانين', 'تسعين'];
  const stems = ['', '', '', 'ثلاث', 'أربع', 'خمس', 'ست', 'سبع', 'ثمان', 'تسع'];
  const and = (pick: Pick) => pick([' و', ' و ']);
  const below100 = (n: number, pick: Pick): string => {
    const o = pick(['msa', 'spoken']) === 'msa' ? ones : onesAlt;
    if (n < 10) return o[n] as string;
    if (n === 10) return 'عشرة';
    if (n === 11) return 'أحد عشر';
    if (n === 12) return pick(['اثنا عشر', 'اثني عشر']);
    if (n < 20) return `${o[n - 10]} ${pick(['عشر', 'عشرة'])}`;
    const u = n % 10;
    const t = (pick(['msa', 'spoken']) === 'msa' ? tens : tensAlt)[Math.floor(n / 10)] as string;
    return u === 0 ? t : `${o[u]}${and(pick)}${t}`;
  };
  const integer = (n: number, pick: Pick): string => {
    if (n < 100) return below100(n, pick);
    const h = Math.floor(n / 100);
    const rest = n % 100;
    const hundred = pick(['مائة', 'مئة']);
    const head = h === 1 ? hundred : h === 2 ? pick(['مئتان', 'مئتين', 'مائتين']) : `${stems[h]}${pick(['', ' '])}${hundred}`;
    return rest === 0 ? head : `${head}${and(pick)}${below100(rest, pick)}`;
  };
  return {
    integer,
    decimal: (int, d, pick) => `${integer(int, pick)} ${pick(['فاصلة', 'فاصل'])} ${ones[d]}`,
    half: (int, pick) => `${integer(int, pick)}${and(pick)}${pick(['نصف', 'نص'])}`,
  };
})();

function slavic(
  words: { ones: string[]; teens: string[]; tens: string[]; hundreds: string[] },
  decimals: (int: string, d: number, pick: Pick) => string,
  half: readonly string[],
): Writer {
  const integer = (n: number): string => {
    const out: string[] = [];
    const h = Math.floor(n / 100);
    if (h > 0) out.push(words.hundreds[h] as string);
    const r = n % 100;
    if (r >= 10 && r < 20) out.push(words.teens[r - 10] as string);
    else {
      if (r >= 20) out.push(words.tens[Math.floor(r / 10)] as string);
      if (r % 10 > 0 || n === 0) out.push(words.ones[r % 10] as string);
    }
    return out.join(' ');
  };
  return {
    integer: (n) => integer(n),
    decimal: (int, d, pick) => decimals(integer(int), d, pick),
    half: (int, pick) => `${integer(int)} ${pick(half)}`,
  };
}

const ruOnes = ['ноль', 'один', 'два', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'];
const ru = slavic(
  {
    ones: ruOnes,
    teens: ['десять', 'одиннадцать', 'двенадцать', 'тринадцать', 'четырнадцать', 'пятнадцать', 'шестнадцать', 'семнадцать', 'восемнадцать', 'девятнадцать'],
    tens: ['', '', 'двадцать', 'тридцать', 'сорок', 'пятьдесят', 'шестьдесят', 'семьдесят', 'восемьдесят', 'девяносто'],
    hundreds: ['', 'сто', 'двести', 'триста', 'четыреста', 'пятьсот', 'шестьсот', 'семьсот', 'восемьсот', 'девятьсот'],
  },
  (int, d, pick) => {
    const fem = ['', 'одна', 'две', 'три', 'четыре', 'пять', 'шесть', 'семь', 'восемь', 'девять'][d];
    return pick(['comma', 'tenths']) === 'comma'
      ? `${int} ${pick(['запятая', 'точка'])} ${ruOnes[d]}`
      : `${int} ${pick(['и', 'целых'])} ${fem} ${d === 1 ? 'десятая' : 'десятых'}`;
  },
  ['с половиной'],
);

const ukOnes = ['нуль', 'один', 'два', 'три', 'чотири', "п'ять", 'шість', 'сім', 'вісім', "дев'ять"];
const ukWriter = slavic(
  {
    ones: ukOnes,
    teens: ['десять', 'одинадцять', 'дванадцять', 'тринадцять', 'чотирнадцять', "п'ятнадцять", 'шістнадцять', 'сімнадцять', 'вісімнадцять', "дев'ятнадцять"],
    tens: ['', '', 'двадцять', 'тридцять', 'сорок', "п'ятдесят", 'шістдесят', 'сімдесят', 'вісімдесят', "дев'яносто"],
    hundreds: ['', 'сто', 'двісті', 'триста', 'чотириста', "п'ятсот", 'шістсот', 'сімсот', 'вісімсот', "дев'ятсот"],
  },
  (int, d, pick) => `${int} ${pick(['кома', 'крапка'])} ${ukOnes[d]}`,
  ['з половиною'],
);
// The apostrophe as typed: ' ’ ʼ or left out.
const uk: Writer = {
  integer: (n, pick) => ukWriter.integer(n, pick).replace(/'/g, pick(["'", '’', 'ʼ', ''])),
  decimal: (i, d, pick) => ukWriter.decimal(i, d, pick).replace(/'/g, pick(["'", '’', 'ʼ', ''])),
  half: (i, pick) => ukWriter.half(i, pick),
};

const plOnes = ['zero', 'jeden', 'dwa', 'trzy', 'cztery', 'pięć', 'sześć', 'siedem', 'osiem', 'dziewięć'];
const plWriter = slavic(
  {
    ones: plOnes,
    teens: ['dziesięć', 'jedenaście', 'dwanaście', 'trzynaście', 'czternaście', 'piętnaście', 'szesnaście', 'siedemnaście', 'osiemnaście', 'dziewiętnaście'],
    tens: ['', '', 'dwadzieścia', 'trzydzieści', 'czterdzieści', 'pięćdziesiąt', 'sześćdziesiąt', 'siedemdziesiąt', 'osiemdziesiąt', 'dziewięćdziesiąt'],
    hundreds: ['', 'sto', 'dwieście', 'trzysta', 'czterysta', 'pięćset', 'sześćset', 'siedemset', 'osiemset', 'dziewięćset'],
  },
  (int, d, pick) => `${int} ${pick(['przecinek', 'kropka'])} ${plOnes[d]}`,
  ['i pół'],
);
// Typed without Polish letters or with them.
const plain = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').replace(/ł/g, 'l');
const pl: Writer = {
  integer: (n, pick) => (pick(['pl', 'ascii']) === 'ascii' ? plain(plWriter.integer(n, pick)) : plWriter.integer(n, pick)),
  decimal: (i, d, pick) => (pick(['pl', 'ascii']) === 'ascii' ? plain(plWriter.decimal(i, d, pick)) : plWriter.decimal(i, d, pick)),
  half: (i, pick) => plWriter.half(i, pick),
};

const WRITERS: Record<Language, Writer> = { de, en, tr, ar, ru, uk, pl };

function read(text: string, lang: Language): number | string {
  const scan = readNumbers(text, tokenize(text), lang, { decimals: true });
  return scan.kind === 'one' ? scan.reading.value : scan.kind;
}

/** A Pick driven by fast-check: a list of choices consumed in order. */
const picks = fc.array(fc.nat(), { minLength: 12, maxLength: 12 });
function picker(choices: number[]): Pick {
  let i = 0;
  return (options) => options[(choices[i++ % choices.length] ?? 0) % options.length] as string;
}

// PROPERTY_RUNS=20000 for a longer search on a developer machine.
const RUNS = { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 400) };

describe('numbers written in words are read back exactly (property)', () => {
  for (const lang of Object.keys(WRITERS) as Language[]) {
    const w = WRITERS[lang];
    it(`${lang}: 0–999`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 999 }), picks, (n, choices) => {
          const text = w.integer(n, picker(choices));
          expect(read(text, lang), text).toBe(n);
        }),
        RUNS,
      );
    });
    it(`${lang}: decimals and halves`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 10, max: 999 }), fc.integer({ min: 1, max: 9 }), picks, (int, d, choices) => {
          const decimal = w.decimal(int, d, picker(choices));
          expect(read(decimal, lang), decimal).toBeCloseTo(int + d / 10, 9);
          const half = w.half(int, picker(choices));
          expect(read(half, lang), half).toBeCloseTo(int + 0.5, 9);
        }),
        RUNS,
      );
    });
  }
});

describe('digits in every script are read back exactly (property)', () => {
  const scripts = [
    (s: string) => s,
    (s: string) => s.replace(/\d/g, (d) => String.fromCharCode(0x660 + Number(d))),
    (s: string) => s.replace(/\d/g, (d) => String.fromCharCode(0x6f0 + Number(d))),
  ];
  it('0–999.9 with point, comma or Arabic decimal separator', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.constantFrom('.', ',', '٫'),
        fc.constantFrom(0, 1, 2),
        fc.constantFrom(...(Object.keys(WRITERS) as Language[])),
        (tenths, sep, script, lang) => {
          const int = Math.floor(tenths / 10);
          const text = (scripts[script] as (s: string) => string)(tenths % 10 === 0 ? String(int) : `${int}${sep}${tenths % 10}`);
          expect(read(text, lang), text).toBeCloseTo(tenths / 10, 9);
        },
      ),
      RUNS,
    );
  });
});

describe('a number with a broken word is never read as another value (property)', () => {
  // One typo (a letter added, dropped, changed or two swapped) in one word of a
  // number written with several words. The reader may correct it, or ask again;
  // it must never return a different number — e.g. the last word on its own.
  const alphabet: Record<Language, string> = {
    de: 'abcdefghijklmnopqrstuvwxyzäöü',
    en: 'abcdefghijklmnopqrstuvwxyz',
    tr: 'abcçdefgğhıijklmnoöprsştuüvyz',
    ar: 'ابتثجحخدذرزسشصضطظعغفقكلمنهوية',
    ru: 'абвгдеёжзийклмнопрстуфхцчшщъыьэюя',
    uk: "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'",
    pl: 'aąbcćdeęfghijklłmnńoóprsśtuwyzźż',
  };
  // Spoken forms the writers above do not produce, which a typo can turn a written form into
  // ("ثمانية" + م = "ثمانمية", 800).
  const spoken: Partial<Record<Language, string[]>> = {
    ar: [
      'ثمانمية',
      'ثلاثمية',
      'أربعمية',
      'خمسمية',
      'ستمية',
      'سبعمية',
      'تسعمية',
      'مية',
      'ميتين',
      'متين',
      'ثمان',
      'ثماني',
      'تسع',
      'سبع',
      'ست',
      'خمس',
      'أربع',
      'ثلاث',
      'اتنين',
      'عشرين',
      'ثلاثين',
      'اربعين',
      'خمسين',
      'ستين',
      'سبعين',
      'ثمانين',
      'تسعين',
    ],
  };
  // Every word each writer can produce, to skip typos that make another real number word.
  const vocabulary = (lang: Language): Set<string> => {
    const all = new Set<string>(spoken[lang] ?? []);
    const w = WRITERS[lang];
    for (let n = 0; n <= 999; n++)
      for (let c = 0; c < 6; c++) for (const word of w.integer(n, picker([c, c + 1, c + 2, c, c + 1, c + 2])).split(/[\s-]+/)) all.add(word.toLowerCase());
    return new Set([...all].map(variant));
  };
  // Spellings the reader takes as one word (documented in core/engine/numbers/fold.ts):
  // apostrophes, Arabic letter variants, soft signs. A typo that lands on a variant of
  // another number word makes that number word, not a broken one.
  const variant = (w: string) =>
    w
      .toLowerCase()
      .replace(/['’ʼ]/g, '')
      .replace(/[أإآ]/g, 'ا')
      .replace(/ة/g, 'ه')
      .replace(/ى/g, 'ي')
      .replace(/ئ/g, 'ي')
      .replace(/ؤ/g, 'و')
      .replace(/ث/g, 'ت')
      .replace(/ё/g, 'е')
      .replace(/[ьъ]/g, '');
  for (const lang of Object.keys(WRITERS) as Language[]) {
    const known = vocabulary(lang);
    it(lang, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 21, max: 999 }),
          picks,
          fc.nat(),
          fc.nat(),
          fc.constantFrom('insert', 'delete', 'substitute', 'swap'),
          fc.nat(),
          (n, choices, wordAt, charAt, edit, letter) => {
            const text = WRITERS[lang].integer(n, picker(choices));
            const words = text.split(' ');
            fc.pre(words.length >= 2);
            const k = wordAt % words.length;
            const word = words[k] as string;
            fc.pre(word.length >= 4);
            const i = 1 + (charAt % (word.length - 1));
            const ch = alphabet[lang][letter % alphabet[lang].length] as string;
            const broken =
              edit === 'insert'
                ? word.slice(0, i) + ch + word.slice(i)
                : edit === 'delete'
                  ? word.slice(0, i) + word.slice(i + 1)
                  : edit === 'substitute'
                    ? word.slice(0, i) + ch + word.slice(i + 1)
                    : word.slice(0, i - 1) + (word[i] ?? '') + (word[i - 1] ?? '') + word.slice(i + 1);
            fc.pre(broken !== word && !known.has(variant(broken)));
            const typed = [...words.slice(0, k), broken, ...words.slice(k + 1)].join(' ');
            const got = read(typed, lang);
            expect(typeof got === 'number' ? got : n, typed).toBe(n);
          },
        ),
        { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 600) },
      );
    });
  }
});
