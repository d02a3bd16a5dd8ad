import type { Language } from '../language.ts';

/**
 * The red-flag categories, most serious first: when one message raises
 * several, the finding names the first of this list (crisis wins, then what
 * kills fastest). The ids are shared with the test corpus and the alerts.
 */
export const CATEGORIES = [
  'suicidal',
  'unconscious',
  'breathing',
  'chest_pain',
  'stroke',
  'allergic_reaction',
  'bleeding',
  'sepsis',
  'thrombosis',
  'abdomen',
  'wound',
  'urinary_retention',
  'emergency',
] as const;
export type RedFlagCategory = (typeof CATEGORIES)[number];

/** Categories that get the crisis-line message (Telefonseelsorge) besides 112. */
export const CRISIS_CATEGORIES: ReadonlySet<string> = new Set<RedFlagCategory>(['suicidal']);

export type Severity = 'urgent' | 'warning';

export interface RedFlagHit {
  category: RedFlagCategory;
  severity: Severity;
  /** The red flag was denied ("keine Brustschmerzen"): reported as a warning, never as urgent. */
  negated: boolean;
  /** The language whose word list matched (not necessarily the patient's). */
  language: Language;
  /** The words that matched, from the original text; gaps shown as " … " ("blute stark … wunde"). */
  evidence: string;
  /** [start, end) of the matched words in the original text (UTF-16 offsets). */
  span: [number, number];
  /** Which rule matched (see core/redflags/rules.ts), for explanations and tests. */
  rule: string;
}

export interface RedFlagFinding {
  severity: Severity | 'none';
  category: RedFlagCategory | null;
  negated: boolean;
  /** A suicidal statement: answer with the crisis line too. */
  crisis: boolean;
  evidence: string;
  /** Every hit, most serious first (urgent before warning, crisis first, then CATEGORIES order). */
  hits: RedFlagHit[];
}
