import { describe, expect, it } from 'vitest';
import { fold } from '../../../core/engine/numbers/fold.ts';
import { readNumbers, tokenize } from '../../../core/engine/numbers/index.ts';
import { NUMBER_LANGUAGES } from '../../../core/engine/numbers/vocabulary.ts';
import { parseAnswer } from '../../../core/engine/parse.ts';
import type { Question } from '../../../core/flow/model.ts';
import { parseFlow } from '../../../core/flow/load.ts';
import { type Language, LANGUAGES } from '../../../core/language.ts';
import { converse, flowFrom, HEADER, lastResult, NOW } from '../helpers.ts';

const flow = flowFrom(`${HEADER}questions:
  - id: pain
    type: scale
    min: 0
    max: 10
    none: pain
    minLabel: { de: keine Schmerzen, en: no pain }
    text: { de: Schmerzen?, en: Pain? }
  - id: nausea
    type: scale
    min: 0
    max: 10
    none: general
    minLabel: { de: keine Übelkeit, en: no nausea }
    text: { de: Übelkeit?, en: Nausea? }
  - id: plain
    type: scale
    min: 1
    max: 5
    text: { de: Wie geht es?, en: How are you? }
  - id: temperature
    type: quantity
    unit: Cel
    unitDisplay: °C
    min: 34
    max: 43
    text: { de: Temperatur?, en: Temperature? }
  - id: weight
    type: quantity
    unit: kg
    min: 20
    max: 300
    text: { de: Gewicht?, en: Weight? }
  - id: pulse
    type: quantity
    unit: /min
    min: 30
    max: 250
    decimals: 0
    text: { de: Puls?, en: Pulse? }
  - id: glucose
    type: quantity
    unit: mg/dL
    min: 20
    max: 600
    decimals: 0
    text: { de: Zucker?, en: Sugar? }
  - id: count
    type: quantity
    min: 0
    max: 20
    decimals: 0
    text: { de: Wie oft?, en: How often? }
`);
const question = (id: string) => flow.questions[flow.questionIndex.get(id) ?? -1] as Question;
function answer(id: string, text: string, lang: Language): number | string {
  const r = parseAnswer(question(id), text, lang, NOW, 'Europe/Berlin');
  if (!r.ok) return r.reason;
  return r.value.type === 'number' ? r.value.value : JSON.stringify(r.value);
}

describe('numbers in words, decimals and units, per language', () => {
  const cases: [Language, string, string, number | string][] = [
    // The examples: a fragment of a longer number is never the answer.
    ['ru', 'pain', 'двадцать пять', 'out-of-range'],
    ['uk', 'temperature', 'тридцять вісім', 38],
    ['de', 'temperature', 'achtunddreißig komma fünf', 38.5],
    ['de', 'pain', 'fünfzehn', 'out-of-range'],
    ['en', 'pain', 'fifteen', 'out-of-range'],
    ['de', 'pain', 'keine Schmerzen', 0],
    ['en', 'temperature', '101 °F', 38.3],
    // German compounds and colloquial forms.
    ['de', 'glucose', 'hundertfünfzehn', 115],
    ['de', 'glucose', 'einhundert', 100],
    ['de', 'glucose', 'zweihundertfünfzig', 250],
    ['de', 'weight', 'achtzig Kilo', 80],
    ['de', 'weight', 'sechsundsiebzig einhalb', 76.5],
    ['de', 'temperature', 'achtunddreißig fünf', 38.5],
    ['de', 'temperature', 'achtunddreisig komma fünf', 38.5],
    ['de', 'pulse', 'so achtzig rum', 80],
    ['de', 'pain', 'halb acht', 'not-understood'],
    ['de', 'pain', 'zwischen 5 und 6', 'not-exact'],
    ['de', 'temperature', 'über 38', 'not-exact'],
    ['de', 'temperature', '38 und ein bisschen', 'not-exact'],
    // English.
    ['en', 'glucose', 'a hundred and five', 105],
    ['en', 'temperature', 'thirty-eight point five', 38.5],
    ['en', 'temperature', 'thirty eight and a half', 38.5],
    ['en', 'weight', 'one fifty four pounds', 69.9],
    ['en', 'weight', '180 lbs', 81.6],
    ['en', 'weight', '12 stone', 76.2],
    ['en', 'pain', '7/10', 7],
    ['en', 'pain', 'seven out of ten', 7],
    ['en', 'pain', 'one or two', 'ambiguous'],
    ['en', 'pulse', 'high 90s', 'not-exact'],
    ['en', 'pain', 'sevn', 7],
    ['en', 'pain', 'fine', 'not-understood'],
    // Turkish.
    ['tr', 'glucose', 'yüz on beş', 115],
    ['tr', 'temperature', 'otuz sekiz buçuk', 38.5],
    ['tr', 'temperature', 'otuzsekiz virgül iki', 38.2],
    ['tr', 'temperature', "38'di", 38],
    ['tr', 'pain', 'on üzerinden yedi', 7],
    ['tr', 'temperature', '38 küsur', 'not-exact'],
    ['tr', 'pain', 'ağrım yok', 0],
    ['tr', 'pain', 'agrim yok', 0],
    // Arabic: و joins, duals, Arabic-Indic digits, letter variants.
    ['ar', 'temperature', 'ثمانية وثلاثون ونصف', 38.5],
    ['ar', 'temperature', 'تسعه و ثلاثين فاصله اتنين', 39.2],
    ['ar', 'glucose', 'مئتان وخمسون', 250],
    ['ar', 'glucose', 'ميتين', 200],
    ['ar', 'glucose', 'مائة وخمسة عشر', 115],
    ['ar', 'temperature', '٣٨٫٥', 38.5],
    ['ar', 'weight', '٧٥ ونص', 75.5],
    ['ar', 'pain', 'لا يوجد ألم', 0],
    ['ar', 'pain', 'خمسة وعشرون', 'out-of-range'],
    // Russian: case forms, ё/е, decimals with "и", "целых", "с половиной".
    ['ru', 'temperature', 'тридцать семь и восемь десятых', 37.8],
    ['ru', 'weight', 'восемьдесят целых три десятых', 80.3],
    ['ru', 'temperature', 'около тридцати восьми', 38],
    ['ru', 'weight', '75 с половиной', 75.5],
    ['ru', 'pain', 'на семёрку', 7],
    ['ru', 'pain', 'на семерку', 7],
    ['ru', 'glucose', 'под сотню', 'not-exact'],
    ['ru', 'pain', 'не болит', 0],
    ['ru', 'pain', 'почти не болит', 'not-exact'],
    ['ru', 'pulse', '80 и 5', 'ambiguous'],
    // Ukrainian: apostrophe variants, Latin look-alike letters.
    ['uk', 'weight', "шістдесят п'ять", 65],
    ['uk', 'weight', 'шістдесят пʼять', 65],
    ['uk', 'weight', 'шістдесят пять', 65],
    ['uk', 'pain', 'сiм', 7],
    ['uk', 'temperature', 'тридцять вісім з половиною', 38.5],
    ['uk', 'pain', 'болі немає', 0],
    // Polish: case forms, without Polish letters, "i pół", number nouns.
    ['pl', 'temperature', 'trzydzieści osiem i pół', 38.5],
    ['pl', 'temperature', 'trzydziesci dziewiec i dwie dziesiate', 39.2],
    ['pl', 'pulse', 'stówa', 100],
    ['pl', 'glucose', 'dwie stówy', 200],
    ['pl', 'temperature', 'trzydzieści osiem z hakiem', 'not-exact'],
    ['pl', 'pain', 'nie boli', 0],
    // German and English number words in another language, as a whole answer.
    ['tr', 'pain', 'seven', 7],
  ];
  it.each(cases)('%s %s «%s» → %s', (lang, id, text, expected) => {
    const got = answer(id, text, lang);
    if (typeof expected === 'number' && typeof got === 'number') expect(got).toBeCloseTo(expected, 9);
    else expect(got).toBe(expected);
  });
});

describe('units', () => {
  it('converts °F and lb exactly where the question has a unit', () => {
    expect(answer('temperature', '101 F', 'de')).toBe(38.3);
    expect(answer('temperature', '102 degrees F', 'en')).toBe(38.9);
    expect(answer('weight', '154 lbs', 'ru')).toBe(69.9);
    expect(answer('weight', '180 фунтов', 'ru')).toBe(81.6);
    expect(answer('temperature', '38,5 Grad', 'de')).toBe(38.5);
    expect(answer('pulse', '85 ударов в минуту', 'ru')).toBe(85);
    expect(answer('glucose', '110 mg/dl', 'de')).toBe(110);
  });

  it('asks again when a unit does not fit, or a number fits only another unit', () => {
    const parse = (id: string, text: string, lang: Language = 'de') => parseAnswer(question(id), text, lang, NOW, 'Europe/Berlin');
    expect(parse('temperature', '38 kg')).toEqual({ ok: false, reason: 'unit-mismatch', detail: { value: '38 kg', unit: '°C' } });
    expect(parse('temperature', '101')).toEqual({ ok: false, reason: 'unit-mismatch', detail: { value: '101', unit: '°C' } });
    expect(parse('temperature', '101 Grad')).toMatchObject({ ok: false, reason: 'unit-mismatch' });
    expect(parse('temperature', '38 F', 'en')).toEqual({ ok: false, reason: 'unit-mismatch', detail: { value: '38 F', unit: '°C' } });
    expect(parse('glucose', '6,5')).toMatchObject({ ok: false, reason: 'unit-mismatch', detail: { unit: 'mg/dL' } });
    expect(parse('glucose', '6,5 mmol')).toMatchObject({ ok: false, reason: 'unit-mismatch' });
    expect(parse('weight', '80 Pfund')).toMatchObject({ ok: false, reason: 'unit-mismatch' });
    expect(parse('temperature', '45')).toEqual({ ok: false, reason: 'out-of-range', detail: { value: '45' } });
    expect(parse('pain', '7 kg')).toEqual({ ok: false, reason: 'unit-mismatch', detail: { value: '7 kg' } });
    expect(parse('count', '3 kg')).toEqual({ ok: false, reason: 'unit-mismatch', detail: { value: '3 kg' } });
  });

  it('says what is wrong in the patient language', () => {
    const { results } = converse(flow, 'de', ['3', '0', '3', '38 kg']);
    expect(lastResult(results).messages[0]?.text).toContain('38 kg passt nicht zu einer Angabe in °C.');
    const scale = converse(flow, 'en', ['7 kg']);
    expect(lastResult(scale.results).messages[0]?.text).toContain('Please send just the number, without a unit.');
    const range = converse(flow, 'ru', ['больше 5']);
    expect(lastResult(range.results).messages[0]?.text).toContain('укажите одно точное значение');
  });
});

describe('"none" answers', () => {
  it('count as the minimum only on scales that say so', () => {
    expect(answer('pain', 'no pain at all', 'en')).toBe(0);
    expect(answer('pain', 'nothing, feels fine', 'en')).toBe(0);
    expect(answer('pain', 'keine', 'de')).toBe(0);
    expect(answer('pain', 'tut nicht weh', 'de')).toBe(0);
    expect(answer('pain', 'keine Ahnung', 'de')).toBe('not-understood');
    expect(answer('pain', 'fast keine Schmerzen', 'de')).toBe('not-exact');
    expect(answer('pain', "doesn't hurt that much", 'en')).toBe('not-exact');
    expect(answer('pain', 'keine Schmerzen, nur beim Husten 3', 'de')).toBe('ambiguous');
    expect(answer('pain', 'keine Schmerzen, 0', 'de')).toBe(0);
    expect(answer('pain', 'no pain', 'ru')).toBe(0);
    // `general`: general words and the scale's own minLabel, no pain phrases.
    expect(answer('nausea', 'keine Übelkeit', 'de')).toBe(0);
    expect(answer('nausea', 'nichts', 'de')).toBe(0);
    expect(answer('nausea', 'keine Schmerzen', 'de')).toBe('not-understood');
    // Without `none:` and on quantities they are no answer.
    expect(answer('plain', 'keine', 'de')).toBe('not-understood');
    expect(answer('temperature', 'kein Fieber', 'de')).toBe('not-understood');
    expect(answer('pulse', 'no pain', 'en')).toBe('not-understood');
  });

  it('is checked by the flow schema', () => {
    const r = parseFlow(`${HEADER}questions:\n  - { id: p, type: scale, min: 0, max: 10, none: yes, text: { de: P, en: P } }\n`, 't.yaml');
    expect(r.ok).toBe(false);
    const q = parseFlow(`${HEADER}questions:\n  - { id: t, type: quantity, none: pain, text: { de: T, en: T } }\n`, 't.yaml');
    expect(q.ok).toBe(false);
  });
});

describe('rest: the text beside the answer', () => {
  const rest = (id: string, text: string, lang: Language = 'de') => {
    const r = parseAnswer(question(id), text, lang, NOW, 'Europe/Berlin');
    return r.ok ? r.rest : `(${r.reason})`;
  };

  it('is what the number did not use, lightly normalised', () => {
    expect(rest('pain', '7, und ich blute stark aus der wunde')).toBe('und ich blute stark aus der wunde');
    expect(rest('pain', '7')).toBe('');
    expect(rest('pain', 'ich würde sagen so sieben')).toBe('ich würde sagen');
    expect(rest('temperature', 'Hab 38,5 Grad gemessen,   mir ist kalt')).toBe('Hab gemessen, mir ist kalt');
    expect(rest('temperature', 'ca. 38,5 °C!')).toBe('');
    expect(rest('pain', 'keine Schmerzen, aber die Wunde nässt')).toBe('aber die Wunde nässt');
    expect(rest('pain', '7 von 10 – heute Nacht Fieber')).toBe('heute Nacht Fieber');
    expect(rest('glucose', 'mein zucker war vorhin bei 135')).toBe('mein zucker war vorhin');
    expect(rest('pain', 'seven, and I feel dizzy', 'en')).toBe('and I feel dizzy');
  });

  it('is given for every kind of answer', () => {
    const f = flowFrom(`${HEADER}questions:
  - { id: yn, type: boolean, text: { de: Y, en: Y } }
  - id: c
    type: choice
    text: { de: C, en: C }
    options:
      - { code: green, text: { de: grün, en: green } }
      - { code: red, text: { de: rot, en: red } }
  - { id: note, type: text, text: { de: N, en: N } }
`);
    const q = (id: string) => f.questions[f.questionIndex.get(id) ?? -1] as Question;
    const r = (id: string, text: string) => {
      const p = parseAnswer(q(id), text, 'de', NOW, 'Europe/Berlin');
      return p.ok ? p.rest : `(${p.reason})`;
    };
    expect(r('yn', 'ja')).toBe('');
    expect(r('yn', 'ja, seit gestern Atemnot')).toBe('seit gestern Atemnot');
    expect(r('c', '2')).toBe('');
    expect(r('c', '2 und es blutet')).toBe('und es blutet');
    expect(r('c', 'rot')).toBe('');
    expect(r('c', 'sie ist rot und heiß')).toBe('sie ist und heiß');
    expect(r('note', 'Die Wunde tut weh')).toBe('');
  });

  it('comes out of step() on the turn that recorded the answer', () => {
    const { results } = converse(flow, 'de', ['sieben, und ich blute stark aus der wunde']);
    expect(lastResult(results).answers).toMatchObject([{ questionId: 'pain', value: { type: 'number', value: 7 } }]);
    expect(lastResult(results).rest).toBe('und ich blute stark aus der wunde');
    const reask = converse(flow, 'de', ['zwanzig, und ich blute']);
    expect(lastResult(reask.results).answers).toEqual([]);
    expect(lastResult(reask.results).rest).toBeUndefined();
    const exact = converse(flow, 'de', ['7']);
    expect(lastResult(exact.results).rest).toBe('');
    const corrected = converse(flow, 'de', ['7', { type: 'correction', text: '8, blutet wieder' }]);
    expect(lastResult(corrected.results).rest).toBe('blutet wieder');
  });
});

describe('the reader is safe on any input', () => {
  it('answers long and hostile messages quickly', () => {
    const hostile = [
      'zwei und '.repeat(5000),
      '1,'.repeat(5000),
      'و'.repeat(10_000),
      'ا'.repeat(10_000),
      'achtundachtzig'.repeat(500),
      'seven '.repeat(3000),
      '- '.repeat(5000),
      "'".repeat(5000),
      `${'a'.repeat(5000)}'`,
      'двадцать '.repeat(3000),
      '9'.repeat(10_000),
    ];
    for (const text of hostile) {
      for (const lang of LANGUAGES) {
        const start = performance.now();
        const r = readNumbers(text, tokenize(text), lang, { decimals: true, outOf: 10 });
        expect(['none', 'one', 'many', 'unclear']).toContain(r.kind);
        expect(performance.now() - start, `${lang} ${text.slice(0, 20)}…`).toBeLessThan(1500);
      }
    }
  });

  it('keeps each language’s words in its own script', () => {
    const script: Record<Language, RegExp> = {
      de: /^[a-zäöüß' ]+$/,
      en: /^[a-z' -]+$/,
      tr: /^[a-zçğıöşü' ]+$/,
      pl: /^[a-ząćęłńóśźż' ]+$/,
      ru: /^[а-яё' -]+$/,
      uk: /^[а-щьюяєіїґ'ʼ -]+$/,
      ar: /^[\u0621-\u064A ]+$/,
    };
    for (const lang of LANGUAGES) {
      const spec = NUMBER_LANGUAGES[lang];
      const words = [...Object.keys(spec.words).flatMap((k) => k.split('|')), ...spec.weak, ...spec.none.pain, ...spec.none.general].filter((w) => w !== '½');
      expect(
        words.filter((w) => !script[lang].test(w)),
        lang,
      ).toEqual([]);
      // Folding is stable: what the lists hold is what patients' words fold to.
      for (const w of words) expect(fold(fold(w))).toBe(fold(w));
    }
  });
});
