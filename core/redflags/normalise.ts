/**
 * Folding of words for matching: the same function runs over the patient's
 * text and over the word lists, so "Schüttelfrost", "schuttelfrost" and
 * "SCHÜTTELFROST" meet, as do "göğüs"/"gogus", "ёлка"/"елка" and the Arabic
 * letter variants. Works one word at a time, so offsets into the original
 * text stay exact (evidence and spans point at what the patient wrote).
 */

/** Explicit foldings where Unicode decomposition does not help or is wrong for matching. */
const SPECIAL: Record<string, string> = {
  ı: 'i', // Turkish dotless i: patients type either
  ß: 'ss',
  ł: 'l', // Polish ł does not decompose
  đ: 'd',
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  // Russian and Ukrainian spellings meet: patients type Ukrainian on Russian
  // layouts ("иде" for "іде", "зупиняеться") and mix both (surzhyk); soft and
  // hard signs carry no meaning for matching ("кровь" = "кров").
  ґ: 'г',
  і: 'и',
  ї: 'и',
  є: 'е',
  ё: 'е',
  э: 'е',
  ь: '',
  ъ: '',
  // Arabic: hamza carriers and alef variants → bare alef, taa marbuta → haa,
  // alef maqsura → yaa; Persian/Urdu letters some keyboards produce.
  أ: 'ا',
  إ: 'ا',
  آ: 'ا',
  ٱ: 'ا',
  ة: 'ه',
  ى: 'ي',
  ؤ: 'و',
  ئ: 'ي',
  ی: 'ي',
  ک: 'ك',
  // Iraqi/Gulf colloquial writes the g sound with گ (Persian gaf) or ڤ; the
  // word lists hold the standard letter.
  گ: 'ق',
  ڤ: 'ف',
  ـ: '', // tatweel (kashida) only stretches a word
};

const MARKS = /\p{M}/gu;
const cache = new Map<string, string>();

/** One character (code point) folded: lower case, no accents, letter variants merged. */
export function foldChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return code >= 65 && code <= 90 ? String.fromCharCode(code + 32) : ch;
  let folded = cache.get(ch);
  if (folded === undefined) {
    const lower = ch.toLowerCase();
    folded = SPECIAL[lower] ?? SPECIAL[ch];
    if (folded === undefined) {
      // Arabic-Indic digits → ASCII (length-preserving), Arabic harakat are marks.
      if (code >= 0x0660 && code <= 0x0669) folded = String(code - 0x0660);
      else if (code >= 0x06f0 && code <= 0x06f9) folded = String(code - 0x06f0);
      else folded = lower.normalize('NFKD').replace(MARKS, '').toLowerCase();
      // Decomposition may expose a letter that itself needs folding (e.g. "İ" → "i").
      folded = [...folded].map((c) => SPECIAL[c] ?? c).join('');
    }
    cache.set(ch, folded);
  }
  return folded;
}

/**
 * A word folded for matching. Runs of three or more equal letters shrink to
 * one ("hilfeeee", "sooo") — nobody means them, and real words double at most.
 */
export function foldWord(word: string): string {
  let out = '';
  let prev = '';
  let run = 0;
  for (const ch of word) {
    const f = foldChar(ch);
    if (f === '' || f === "'" || f === '’' || f === 'ʼ' || f === '`') continue;
    for (const c of f) {
      if (c === prev && !(c >= '0' && c <= '9')) {
        run++;
        if (run >= 2) {
          // third equal letter: drop it and the second one already written
          if (run === 2) out = out.slice(0, -1);
          continue;
        }
      } else {
        prev = c;
        run = 0;
      }
      out += c;
    }
  }
  return out;
}

export type Script = 'latin' | 'cyrillic' | 'arabic' | 'other';

export function scriptOf(folded: string): Script {
  const code = folded.charCodeAt(0);
  if (code < 0x250) return 'latin';
  if (code >= 0x400 && code < 0x530) return 'cyrillic';
  if (code >= 0x600 && code < 0x700) return 'arabic';
  return 'other';
}

/**
 * Common German spellings without umlauts ("hoert", "ohnmaechtig"): a word-list
 * entry with ä/ö/ü also matches its ae/oe/ue form. Applied to the lists only,
 * so English "blue" or "does" are not bent.
 */
export function umlautVariant(raw: string): string | undefined {
  if (!/[äöüÄÖÜ]/.test(raw)) return undefined;
  return raw.replace(/ä/g, 'ae').replace(/ö/g, 'oe').replace(/ü/g, 'ue').replace(/Ä/g, 'Ae').replace(/Ö/g, 'Oe').replace(/Ü/g, 'Ue');
}

/**
 * Arabic attaches conjunctions, prepositions and the article to the word:
 * "والدم" is "and the blood". The variants without them are tried too
 * (the word lists hold bare words). At least two letters must remain.
 */
const ARABIC_PROCLITICS = ['وال', 'فال', 'بال', 'كال', 'لل', 'ال', 'و', 'ف', 'ب', 'ل', 'ع'];
export function arabicVariants(folded: string): string[] {
  const out: string[] = [];
  for (const p of ARABIC_PROCLITICS) {
    if (folded.startsWith(p) && folded.length - p.length >= 2) {
      const rest = folded.slice(p.length);
      out.push(rest);
      // "وبال…", "وال…" after "و"
      if (p.length === 1 && rest.startsWith('ال') && rest.length > 3) out.push(rest.slice(2));
    }
  }
  return out;
}

/**
 * Russian and Ukrainian typed in Latin letters ("ne mogu dyshat", "krov iz
 * rany") follow no single standard. Both sides are reduced to a coarse
 * skeleton: Cyrillic letter by letter, Latin digraphs first (shch, zh, kh, ya…),
 * vowels y/i/j merged, doubled letters once. Only Latin words are compared this
 * way, and only with Russian/Ukrainian entries.
 */
const CYR_SKELETON: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  є: 'e',
  ж: 'z',
  з: 'z',
  и: 'i',
  і: 'i',
  й: 'i',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'g',
  ц: 'c',
  ч: 'c',
  ш: 's',
  щ: 's',
  ъ: '',
  ы: 'i',
  ь: '',
  э: 'e',
  ю: 'u',
  я: 'a',
};

function squeeze(s: string): string {
  let out = '';
  for (const c of s) if (c !== out[out.length - 1]) out += c;
  return out;
}

/** Shared last step: y/j are i; a glide before a vowel goes ("ya", "ia", "ie" → "a", "e"); doubles once. */
function skeletonTail(s: string): string {
  let t = s.replace(/[yj]/g, 'i');
  let before: string;
  do {
    before = t;
    t = t.replace(/i([aeou])/g, '$1');
  } while (t !== before);
  return squeeze(t.replace(/[^a-z]/g, ''));
}

export function cyrillicSkeleton(folded: string): string {
  let out = '';
  for (const c of folded) out += CYR_SKELETON[c] ?? (c >= 'a' && c <= 'z' ? c : '');
  return skeletonTail(out);
}

export function latinSkeleton(folded: string): string {
  return skeletonTail(
    folded
      .replace(/shch|sch/g, 's')
      .replace(/tch|ch/g, 'c')
      .replace(/sh/g, 's')
      .replace(/zh/g, 'z')
      .replace(/kh/g, 'g')
      .replace(/ts|tz/g, 'c')
      .replace(/h/g, 'g')
      .replace(/w/g, 'v')
      .replace(/q/g, 'k')
      .replace(/x/g, 'ks'),
  );
}
