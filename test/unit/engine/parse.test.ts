import { describe, expect, it } from 'vitest';
import { lexicon } from '../../../core/engine/lexicon.ts';
import { localDate, parseAnswer, parseBoolean, scanNumber } from '../../../core/engine/parse.ts';
import type { Question } from '../../../core/flow/model.ts';
import { type Language, LANGUAGES } from '../../../core/language.ts';
import { flowFrom, HEADER, NOW, shippedFlow } from '../helpers.ts';

const flow = flowFrom(`${HEADER}questions:
  - id: temp
    type: quantity
    unit: Cel
    unitDisplay: °C
    min: 34
    max: 43
    text: { de: T, en: T }
  - id: sys
    type: quantity
    unit: mm[Hg]
    decimals: 0
    text: { de: S, en: S }
  - id: pain
    type: scale
    min: 0
    max: 10
    text: { de: P, en: P }
  - id: yn
    type: boolean
    text: { de: Y, en: Y }
  - id: color
    type: choice
    text: { de: C, en: C }
    options:
      - { code: green, emoji: "🟢", text: { de: Grün, en: green } }
      - { code: red, emoji: "🔴", text: { de: Rot gefärbt, en: red } }
      - { code: yellow, text: { de: Gelb, en: yellow } }
  - id: multi
    type: multi-choice
    text: { de: M, en: M }
    options:
      - { code: none, exclusive: true, text: { de: keine, en: none } }
      - { code: headache, text: { de: Kopfschmerzen, en: headache } }
      - { code: cough, text: { de: Husten, en: cough } }
      - { code: rash, text: { de: Ausschlag, en: rash } }
  - id: when
    type: date
    text: { de: D, en: D }
  - id: note
    type: text
    maxLength: 20
    text: { de: N, en: N }
  - id: pic
    type: photo
    text: { de: F, en: F }
`);
const q = (id: string): Question => flow.questions[flow.questionIndex.get(id) ?? -1] as Question;
const parse = (id: string, text: string, lang: Language = 'de') => parseAnswer(q(id), text, lang, NOW, 'Europe/Berlin');
const value = (id: string, text: string, lang: Language = 'de') => {
  const r = parse(id, text, lang);
  return r.ok ? r.value : r.reason;
};

describe('numbers', () => {
  it.each([
    ['38,5', 38.5],
    ['38.5', 38.5],
    ['38.5 °C', 38.5],
    ['38,5 Grad', 38.5],
    ['ca. 38,5°', 38.5],
    ['Fieber: 39', 39],
    ['37,25', 37.3],
    ['٣٨٫٥', 38.5],
    ['۳۸٫۵', 38.5],
    ['38,5 градусов', 38.5],
  ])('quantity %s → %d', (text, expected) => {
    expect(value('temp', text)).toEqual({ type: 'number', value: expected, unit: 'Cel' });
  });

  it('re-asks out-of-range, ambiguous and missing numbers with a reason', () => {
    expect(parse('temp', '385')).toEqual({ ok: false, reason: 'out-of-range', detail: { value: '385' } });
    expect(value('temp', '38 oder 39')).toBe('ambiguous');
    expect(value('temp', 'heiß')).toBe('not-understood');
    expect(value('temp', '')).toBe('not-understood');
  });

  it('rounds to the declared decimals and keeps negative numbers', () => {
    expect(value('sys', '135,6')).toEqual({ type: 'number', value: 136, unit: 'mm[Hg]' });
    expect(scanNumber('-3', lexicon('en'))).toEqual({ kind: 'one', value: -3, decimals: 0 });
  });

  it('takes "7/10" and "7 von 10" as a score out of the maximum', () => {
    expect(value('pain', '7/10')).toEqual({ type: 'number', value: 7 });
    expect(value('pain', '7 von 10')).toEqual({ type: 'number', value: 7 });
    expect(value('pain', '7 of 10', 'en')).toEqual({ type: 'number', value: 7 });
  });

  it('scale: whole numbers within range only', () => {
    expect(value('pain', '7,5')).toBe('not-whole');
    expect(value('pain', '11')).toBe('out-of-range');
    expect(value('pain', '0')).toEqual({ type: 'number', value: 0 });
  });

  const words: Record<Language, [string, number][]> = {
    de: [
      ['null', 0],
      ['fünf', 5],
      ['Sieben', 7],
      ['zehn', 10],
    ],
    en: [
      ['zero', 0],
      ['five', 5],
      ['Seven', 7],
      ['ten', 10],
    ],
    tr: [
      ['sıfır', 0],
      ['beş', 5],
      ['yedi', 7],
      ['on', 10],
    ],
    ar: [
      ['صفر', 0],
      ['خمسة', 5],
      ['سبعة', 7],
      ['اثنين', 2],
    ],
    uk: [
      ['нуль', 0],
      ["п'ять", 5],
      ['сім', 7],
      ['дві', 2],
    ],
    ru: [
      ['ноль', 0],
      ['пять', 5],
      ['семь', 7],
      ['две', 2],
    ],
    pl: [
      ['zero', 0],
      ['pięć', 5],
      ['siedem', 7],
      ['dwie', 2],
    ],
  };
  for (const lang of LANGUAGES) {
    it(`number words in ${lang}`, () => {
      for (const [word, n] of words[lang]) expect(value('pain', word, lang), word).toEqual({ type: 'number', value: n });
    });
  }
});

describe('yes / no in every language', () => {
  const cases: Record<Language, { yes: string[]; no: string[] }> = {
    de: { yes: ['ja', 'Ja!', 'jo', 'genau'], no: ['nein', 'Nein.', 'nee', 'nö', 'gar nicht'] },
    en: { yes: ['yes', 'Yeah', 'yep', 'sure'], no: ['no', 'Nope', 'not at all'] },
    tr: { yes: ['evet', 'Evet', 'var'], no: ['hayır', 'HAYIR', 'hayir', 'yok'] },
    ar: { yes: ['نعم', 'أجل', 'ايوه'], no: ['لا', 'كلا'] },
    uk: { yes: ['так', 'Так', 'ага'], no: ['ні', 'немає'] },
    ru: { yes: ['да', 'Да', 'конечно'], no: ['нет', 'Нет', 'неа'] },
    pl: { yes: ['tak', 'Tak', 'jasne'], no: ['nie', 'Nie', 'brak'] },
  };
  for (const lang of LANGUAGES) {
    it(lang, () => {
      for (const w of cases[lang].yes) expect(value('yn', w, lang), w).toEqual({ type: 'boolean', value: true });
      for (const w of cases[lang].no) expect(value('yn', w, lang), w).toEqual({ type: 'boolean', value: false });
    });
  }

  it('understands German and English words in any language, emoji, and sentences', () => {
    expect(value('yn', 'ja', 'tr')).toEqual({ type: 'boolean', value: true });
    expect(value('yn', 'no', 'ru')).toEqual({ type: 'boolean', value: false });
    expect(value('yn', '👍', 'ar')).toEqual({ type: 'boolean', value: true });
    expect(value('yn', '👎🏽', 'pl')).toEqual({ type: 'boolean', value: false });
    expect(value('yn', 'ja, seit gestern')).toEqual({ type: 'boolean', value: true });
  });

  it('re-asks on contradictions and unknown words', () => {
    expect(value('yn', 'ja nein')).toBe('ambiguous');
    expect(value('yn', 'vielleicht')).toBe('not-understood');
    expect(parseBoolean('', lexicon('de'))).toEqual({ ok: false, reason: 'not-understood' });
  });
});

describe('choices', () => {
  it('by number, text (case/accent-insensitive), prefix and emoji', () => {
    expect(value('color', '2')).toEqual({ type: 'choice', code: 'red' });
    expect(value('color', '2.')).toEqual({ type: 'choice', code: 'red' });
    expect(value('color', 'GRUEN'.replace('UE', 'Ü'))).toEqual({ type: 'choice', code: 'green' });
    expect(value('color', 'grun')).toEqual({ type: 'choice', code: 'green' });
    expect(value('color', 'rot')).toEqual({ type: 'choice', code: 'red' });
    expect(value('color', 'yellow', 'de')).toEqual({ type: 'choice', code: 'yellow' });
    expect(value('color', '🔴')).toEqual({ type: 'choice', code: 'red' });
    expect(value('color', 'Nummer 3')).toEqual({ type: 'choice', code: 'yellow' });
  });

  it('re-asks unknown numbers, several numbers and unknown text', () => {
    expect(value('color', '4')).toBe('out-of-range');
    expect(value('color', '1 2')).toBe('ambiguous');
    expect(value('color', 'lila')).toBe('not-understood');
  });

  it('multi-choice by numbers with separators, words and "and"', () => {
    expect(value('multi', '2, 4')).toEqual({ type: 'choices', codes: ['headache', 'rash'] });
    expect(value('multi', '4 2')).toEqual({ type: 'choices', codes: ['headache', 'rash'] });
    expect(value('multi', '2 und 3')).toEqual({ type: 'choices', codes: ['headache', 'cough'] });
    expect(value('multi', 'headache and cough', 'en')).toEqual({ type: 'choices', codes: ['headache', 'cough'] });
    expect(value('multi', 'Husten, Ausschlag')).toEqual({ type: 'choices', codes: ['cough', 'rash'] });
    expect(value('multi', 'keine')).toEqual({ type: 'choices', codes: ['none'] });
  });

  it('refuses an exclusive option combined with others', () => {
    expect(parse('multi', '1, 2')).toEqual({ ok: false, reason: 'exclusive', detail: { option: 'keine' } });
    expect(value('multi', '9')).toBe('out-of-range');
  });
});

describe('dates', () => {
  it('accepts German and ISO formats', () => {
    expect(value('when', '14.01.2026')).toEqual({ type: 'date', value: '2026-01-14' });
    expect(value('when', '3.1.26')).toEqual({ type: 'date', value: '2026-01-03' });
    expect(value('when', '14.01.')).toEqual({ type: 'date', value: '2026-01-14' });
    expect(value('when', '14/01/2026')).toEqual({ type: 'date', value: '2026-01-14' });
    expect(value('when', '2026-01-14')).toEqual({ type: 'date', value: '2026-01-14' });
  });

  it('understands today/yesterday relative to now in the flow time zone, per language', () => {
    const cases: [Language, string, string][] = [
      ['de', 'heute', '2026-01-15'],
      ['de', 'gestern', '2026-01-14'],
      ['de', 'vorgestern', '2026-01-13'],
      ['en', 'Today', '2026-01-15'],
      ['tr', 'dün', '2026-01-14'],
      ['ar', 'اليوم', '2026-01-15'],
      ['uk', 'вчора', '2026-01-14'],
      ['ru', 'сегодня', '2026-01-15'],
      ['pl', 'wczoraj', '2026-01-14'],
    ];
    for (const [lang, word, date] of cases) expect(value('when', word, lang), `${lang} ${word}`).toEqual({ type: 'date', value: date });
    // 23:30 UTC on 14 Jan is already 15 Jan in Berlin.
    expect(localDate(new Date('2026-01-14T23:30:00Z'), 'Europe/Berlin')).toBe('2026-01-15');
  });

  it('rejects impossible dates', () => {
    expect(value('when', '31.02.2026')).toBe('invalid-date');
    expect(value('when', '2026-13-01')).toBe('invalid-date');
    expect(value('when', 'neulich')).toBe('not-understood');
  });
});

describe('text and photo', () => {
  it('keeps text, strips control characters, enforces maxLength', () => {
    expect(value('note', 'Alles gut\u0000\u200f')).toEqual({ type: 'text', value: 'Alles gut' });
    expect(value('note', 'x'.repeat(21))).toBe('too-long');
    expect(value('note', '   ')).toBe('need-text');
  });

  it('photo questions need an attachment', () => {
    expect(value('pic', 'hier ist es')).toBe('need-photo');
  });
});

describe('choices by label in every language (shipped flow texts)', () => {
  const postOp = shippedFlow('post-op');
  const question = (id: string) => postOp.questions[postOp.questionIndex.get(id) ?? -1] as Question;
  const pick = (id: string, text: string, lang: Language) => {
    const r = parseAnswer(question(id), text, lang, NOW, 'Europe/Berlin');
    return r.ok ? r.value : r.reason;
  };

  it('single choice by (partial, accent-free) label', () => {
    const cases: [Language, string, string][] = [
      ['de', 'nur mit hilfe', 'with-help'],
      ['en', 'As Usual', 'as-usual'],
      ['tr', 'her zamanki gibi', 'as-usual'],
      ['tr', 'sadece yardimla', 'with-help'],
      ['ar', 'كالمعتاد', 'as-usual'],
      ['uk', 'лише з допомогою', 'with-help'],
      ['ru', 'как обычно', 'as-usual'],
      ['pl', 'tylko z pomoca', 'with-help'],
    ];
    for (const [lang, text, code] of cases) expect(pick('mobility', text, lang), `${lang} ${text}`).toEqual({ type: 'choice', code });
  });

  it('multi-choice joined by "and" in every language', () => {
    const cases: [Language, string][] = [
      ['de', '2 und 3'],
      ['en', '2 and 3'],
      ['tr', '2 ve 3'],
      ['ar', '2 و 3'],
      ['uk', '2 і 3'],
      ['ru', '2 и 3'],
      ['pl', '2 i 3'],
    ];
    for (const [lang, text] of cases) expect(pick('wound', text, lang), `${lang} ${text}`).toEqual({ type: 'choices', codes: ['redness', 'swelling'] });
  });

  it('multi-choice by labels in Cyrillic and Arabic', () => {
    expect(pick('wound', 'почервоніла, набрякла', 'uk')).toEqual({ type: 'choices', codes: ['redness', 'swelling'] });
    expect(pick('wound', 'опухла', 'ru')).toEqual({ type: 'choices', codes: ['swelling'] });
    expect(pick('wound', 'تبدو طبيعية', 'ar')).toEqual({ type: 'choices', codes: ['unremarkable'] });
  });
});
