/**
 * Text normalisation for matching patient replies against word lists and
 * option labels: case-, accent- and punctuation-insensitive, so "Überspringen!",
 * "uberspringen" and "ÜBERSPRINGEN" are the same word. The same function is
 * applied to both sides, which keeps non-Latin scripts consistent too.
 */
const CONTROL = /[\p{Cc}\p{Cf}]/gu;
const MARKS = /\p{M}/gu;
const PUNCT = /[\p{P}\p{S}]/gu;
const SPACES = /\s+/gu;
// Apostrophes join a word ("п'ять", "don't"), they do not split it.
const APOSTROPHES = /['’ʼ`]/g;

const PLAIN_ASCII = /^[\x20-\x7e]*$/;
const ASCII_NOISE = /[^a-z0-9 ]+/g;

export function normalizeWords(text: string): string {
  // Fast path for plain ASCII (digits, most German/English replies): same result, no Unicode passes.
  if (PLAIN_ASCII.test(text)) return text.toLowerCase().replace(APOSTROPHES, '').replace(ASCII_NOISE, ' ').replace(SPACES, ' ').trim();
  return text
    .normalize('NFKD')
    .replace(CONTROL, ' ')
    .replace(MARKS, '')
    .toLowerCase()
    .replace(/ı/g, 'i')
    .replace(/ß/g, 'ss')
    .replace(APOSTROPHES, '')
    .replace(PUNCT, ' ')
    .replace(SPACES, ' ')
    .trim();
}

/** Removes invisible controls (bidi marks, zero-width, C0/C1) but keeps line breaks. */
export function stripControls(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/[\p{Cf}]|[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/gu, '')
    .trim();
}

/** Arabic-Indic and Eastern Arabic-Indic digits → ASCII; Arabic decimal separator → point. */
export function asciiDigits(text: string): string {
  return text.replace(/[\u0660-\u0669\u06F0-\u06F9\u066B]/g, (ch) => {
    const code = ch.charCodeAt(0);
    if (code === 0x066b) return '.';
    return String(code >= 0x06f0 ? code - 0x06f0 : code - 0x0660);
  });
}

/** Emoji without variation selectors / skin tones, for comparing reactions with option emoji. */
export function normalizeEmoji(text: string): string {
  return text.replace(/[\uFE0E\uFE0F\u{1F3FB}-\u{1F3FF}\u200D]/gu, '').trim();
}
