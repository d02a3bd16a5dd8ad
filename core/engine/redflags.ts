import type { LocalizedText } from '../flow/model.ts';
import type { Lexicon } from './lexicon.ts';
import { normalizeWords } from './normalize.ts';

/**
 * Red flags in free text, independent of the flow and of the current
 * question (BRIEF §8: a texting bot missed 3 of 10 urgent messages). A
 * patient writing "Notfall", "Atemnot" or about suicide gets the emergency
 * numbers at once and the care team gets an urgent alert — in every state,
 * even after the check-in is complete. Word lists live per language in
 * locales/<lng>/engine.json (words.emergency, words.crisis).
 */
export type RedFlag = 'emergency' | 'crisis';

export const RED_FLAG_RULES: Record<RedFlag, { ruleId: string; message: LocalizedText }> = {
  emergency: {
    ruleId: 'patient-emergency',
    message: { de: 'Patient*in meldet einen möglichen Notfall (Nachricht im Wortlaut anbei).', en: 'Patient reports a possible emergency (message attached verbatim).' },
  },
  crisis: {
    ruleId: 'patient-crisis',
    message: { de: 'Patient*in äußert möglicherweise Suizidgedanken (Nachricht im Wortlaut anbei).', en: 'Patient may be expressing suicidal thoughts (message attached verbatim).' },
  },
};

export function detectRedFlag(text: string, lex: Lexicon): RedFlag | undefined {
  if (text.length === 0) return undefined;
  const padded = ` ${normalizeWords(text.length > 4000 ? text.slice(0, 4000) : text)} `;
  if (padded.length <= 2) return undefined;
  // Crisis first: its message also names 112.
  for (const phrase of lex.words.crisis) if (padded.includes(` ${phrase} `)) return 'crisis';
  for (const phrase of lex.words.emergency) if (padded.includes(` ${phrase} `)) return 'emergency';
  return undefined;
}
