/**
 * Red-flag detection for patient messages: explainable per-language rules
 * built on concepts (symptom × body site × qualifier), normalisation, typo
 * tolerance and negation — see docs/safety.md. Pure and deterministic.
 */
export { detectRedFlags, type DetectOptions, isDeniedRedFlag } from './detect.ts';
export { isSmallTalk } from './smalltalk.ts';
export { buildLexicon, lexicon, LexiconError } from './lexicon.ts';
export { CATEGORIES, CRISIS_CATEGORIES, type RedFlagCategory, type RedFlagFinding, type RedFlagHit, type Severity } from './types.ts';
