/**
 * Folding of one word for matching against word lists: the same function runs
 * over the lists (once, at build time) and over the patient's words, so what
 * it merges is merged on both sides.
 *
 * Beyond case and accents ("fünf" = "funf", "ağrı" = "agri", "ё" = "е") it
 * merges what patients mix up when they type fast:
 * - Arabic letter variants: أ/إ/آ → ا, ة → ه, ى → ي, ث → ت (colloquial "تمانية"), tatweel;
 * - the Cyrillic soft/hard sign, often left out ("сем", "пят");
 * - Latin look-alike letters inside a Cyrillic word ("сiм" with a Latin i);
 * - apostrophes inside a word ("п'ять" = "пять" = "пʼять").
 */
const MARKS = /\p{M}/gu;
const APOSTROPHES = /['’ʼ`´]/g;
const CYRILLIC = /\p{Script=Cyrillic}/u;
const LATIN = /[a-z]/;
const LOOKALIKE: Readonly<Record<string, string>> = { a: 'а', c: 'с', e: 'е', i: 'і', o: 'о', p: 'р', x: 'х', y: 'у', k: 'к', m: 'м', t: 'т', h: 'н', b: 'в' };
const PLAIN = /^[a-z0-9]*$/;

export function fold(word: string): string {
  const lower = word.toLowerCase();
  if (PLAIN.test(lower)) return lower;
  let s = lower
    .replace(/ß/g, 'ss')
    .replace(/ı/g, 'i')
    .replace(/ł/g, 'l')
    .replace(/ة/g, 'ه')
    .replace(/ى/g, 'ي')
    .replace(/ث/g, 'ت')
    .replace(/ـ/g, '')
    .normalize('NFKD')
    .replace(MARKS, '')
    .replace(APOSTROPHES, '')
    .replace(/[ьъ]/g, '');
  if (CYRILLIC.test(s) && LATIN.test(s)) s = [...s].map((ch) => LOOKALIKE[ch] ?? ch).join('');
  return s;
}
