/** Reading numbers, units and "none" answers as patients write them, in every language Visite speaks. */
export { type NoneFound, findNone } from './none.ts';
export { type NumberReading, type NumberScan, readNumbers, type ReadOptions, readSingleWord } from './read.ts';
export { restOf, tidyRest, type Token, tokenize } from './tokens.ts';
export { fitsAnotherUnit, toQuestionUnit } from './units.ts';
export { phrase } from './vocabulary.ts';
