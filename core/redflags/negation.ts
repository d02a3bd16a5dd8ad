import { type Concept, FUNCTION_CONCEPTS } from './concepts.ts';
import type { Occurrence } from './match.ts';
import type { Token } from './tokens.ts';

/**
 * Which findings the patient denies. A negation word reaches forward a few
 * words within its clause ("keine Brustschmerzen", "no chest pain", "не
 * кровоточит"), a post-negation back a few words ("nefes darlığı yok", "боли
 * нет", "ropy nie ma"), and a "no" right after a question mark answers it
 * ("Luftnot? Nein"). The reach ends at punctuation, at "but"/"and", and at a
 * new subject ("ich", "I", "я"), so a negation in one clause never hides a
 * statement in another ("keine Schmerzen, aber ich krieg keine Luft").
 *
 * Negations that are part of a phrase belong to it and negate nothing:
 * "keine Luft", "can't breathe", "hört nicht auf", "nicht ansprechbar",
 * "ich will nicht mehr leben" (match.ts drops words covered by a phrase).
 */
const BEFORE = 4; // words between negation and finding, at most
const AFTER = 3;

const STOPS: ReadonlySet<Concept> = new Set<Concept>(['contrast', 'and', 'pronoun']);

export function markNegations(tokens: Token[], occurrences: Occurrence[]): void {
  const at = new Map<number, Set<Concept>>();
  const mark = (i: number, c: Concept) => {
    let set = at.get(i);
    if (!set) at.set(i, (set = new Set()));
    set.add(c);
  };
  for (const o of occurrences) {
    if (o.tokens.length === 1) mark(o.first, o.concept);
    // A negation of several words ("ما عندي", "nie ma") counts from its last
    // word when it stands before, from its first when it stands after.
    else if (o.concept === 'neg') mark(o.last, o.concept);
    else if (o.concept === 'neg_after' || o.concept === 'no_answer') mark(o.first, o.concept);
    else if (STOPS.has(o.concept)) for (const t of o.tokens) mark(t, o.concept);
  }
  const has = (i: number, c: Concept) => at.get(i)?.has(c) ?? false;
  const stops = (i: number) => {
    const set = at.get(i);
    if (!set) return false;
    for (const c of STOPS) if (set.has(c)) return true;
    return false;
  };
  for (const o of occurrences) {
    if (FUNCTION_CONCEPTS.has(o.concept)) continue;
    if (o.negatedInside) {
      o.negated = true;
      continue;
    }
    // A negation between the words of a gapped phrase ("свідомість не втрачала").
    for (let i = o.first + 1; i < o.last && !o.negated; i++) if (!o.tokens.includes(i) && has(i, 'neg')) o.negated = true;
    if (o.negated) continue;
    for (let i = o.first - 1, n = 0; i >= 0 && n <= BEFORE; i--, n++) {
      // "keine Gedanken, mir etwas anzutun": the clause after the comma belongs to the thoughts.
      if (tokens[i + 1]!.brk === 1 && has(i, 'thoughts')) continue;
      if (tokens[i + 1]!.brk > 0 || stops(i)) break;
      if (has(i, 'neg')) {
        o.negated = true;
        break;
      }
    }
    if (o.negated) continue;
    for (let i = o.last + 1, n = 0; i < tokens.length && n < AFTER; i++, n++) {
      const t = tokens[i]!;
      if (t.brk > 0) {
        // "Luftnot? Nein" — the answer right after the question.
        if (n === 0 && t.question && (has(i, 'no_answer') || has(i, 'neg_after'))) o.negated = true;
        break;
      }
      if (stops(i)) break;
      if (has(i, 'neg_after')) {
        o.negated = true;
        break;
      }
    }
  }
}
