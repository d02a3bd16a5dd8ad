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
/** Over an inverted subject or thoughts: "Blut im Urin hab ich nicht gesehen", "… gibi bi düşüncem yok". */
const AFTER_LONG = 6;

/**
 * Circumstances are not denied with the symptom: in "haven't passed urine for
 * 12 hours" the hours are not negated, the urine is.
 */
const CIRCUMSTANCES: ReadonlySet<Concept> = new Set<Concept>([
  'duration',
  'hours',
  'sudden',
  'at_rest',
  'everything',
  'new_drug',
  'after_surgery',
  'anticoag',
  'inhale',
  'one_side',
  'whole_body',
  'language_name',
  'very',
  'mild',
  'call',
  'please',
  'quick',
  'come',
  'emergency_number',
]);

/** Symptoms that are a "cannot" or "not" themselves: a post-negation after them repeats them, it does not deny them. */
const NEGATIVE_BY_NATURE: ReadonlySet<Concept> = new Set<Concept>([
  'no_air',
  'cant_pee',
  'nothing_out',
  'unresponsive',
  'no_stool',
  'vomit_all',
  'cant_move',
  'cant_see',
  'cant_walk',
  'wont_stop',
]);

const NEG = 1;
const NEG_AFTER = 2;
const NO_ANSWER = 4;
const STOP = 8;
const THOUGHTS = 16;
const ALSO = 32;
const PRONOUN = 64;
const NEITHER = 128;
const BIT: Partial<Record<Concept, number>> = {
  neg: NEG,
  neg_after: NEG_AFTER,
  no_answer: NO_ANSWER,
  contrast: STOP,
  and: STOP,
  pronoun: STOP | PRONOUN,
  thoughts: THOUGHTS,
  also: ALSO,
  neither: NEITHER,
};

export function markNegations(tokens: Token[], occurrences: Occurrence[]): void {
  // One byte of flags per word: what grammar stands there.
  const at = new Uint8Array(tokens.length);
  for (const o of occurrences) {
    const bit = BIT[o.concept];
    if (bit === undefined) continue;
    if (o.tokens.length === 1) at[o.first]! |= bit;
    // A negation of several words ("ما عندي", "nie ma") counts from its last
    // word when it stands before, from its first when it stands after.
    else if (bit === NEG) at[o.last]! |= bit;
    else if (bit === NEG_AFTER || bit === NO_ANSWER) at[o.first]! |= bit;
    else for (const t of o.tokens) at[t]! |= bit;
  }
  // "ne ateşim var ne titremem": a pair of "ne" within a few words negates like "weder … noch".
  for (let i = 0; i < at.length; i++) {
    if (!(at[i]! & NEITHER)) continue;
    for (let j = i + 1; j < at.length && j <= i + 6; j++)
      if (at[j]! & NEITHER) {
        at[i]! |= NEG;
        at[j]! |= NEG;
        break;
      }
  }
  const answeredNo = questionsAnsweredNo(tokens, at, occurrences);
  for (const o of occurrences) {
    if (FUNCTION_CONCEPTS.has(o.concept) || CIRCUMSTANCES.has(o.concept)) continue;
    if (answeredNo(o)) {
      o.negated = true;
      continue;
    }
    if (o.negatedInside) {
      o.negated = true;
      continue;
    }
    // A negation between the words of a gapped phrase ("свідомість не втрачала").
    for (let i = o.first + 1; i < o.last && !o.negated; i++) if (!o.tokens.includes(i) && at[i]! & NEG) o.negated = true;
    if (o.negated) continue;
    for (let i = o.first - 1, n = 0; i >= 0 && n <= BEFORE; i--, n++) {
      // "keine Gedanken, mir etwas anzutun": the clause after the comma belongs to the thoughts.
      if (tokens[i + 1]!.brk === 1 && at[i]! & THOUGHTS) continue;
      if (tokens[i + 1]!.brk > 0 || at[i]! & STOP) break;
      if (at[i]! & NEG) {
        o.negated = true;
        break;
      }
    }
    if (o.negated) continue;
    for (let i = o.last + 1, n = 0, reach = AFTER; i < tokens.length && n < AFTER_LONG; i++, n++) {
      const t = tokens[i]!;
      if (t.brk > 0) {
        // "Luftnot? Nein" — the answer right after the question.
        if (n === 0 && (t.question || (t.answer && t.brk === 1)) && at[i]! & (NO_ANSWER | NEG_AFTER)) o.negated = true;
        break;
      }
      // "nefes alamıyorum, yatınca hiç olmuyor": a negation after a symptom that is itself a "cannot" repeats it.
      if (NEGATIVE_BY_NATURE.has(o.concept)) break;
      // "Brustschmerzen hab ich keine": the subject after the verb starts no new clause.
      if (n > 0 && (at[i]! & (STOP | PRONOUN)) === (STOP | PRONOUN)) {
        reach = AFTER_LONG;
        continue;
      }
      // "kendime zarar vermek gibi bi düşüncem yok": the thoughts carry the denial back to what they are about.
      if (at[i]! & THOUGHTS) reach = AFTER_LONG;
      if (n >= reach || at[i]! & STOP) break;
      if (at[i]! & NEG_AFTER) {
        o.negated = true;
        break;
      }
    }
    if (!o.negated && deniedToo(tokens, at, o)) o.negated = true;
  }
}

/**
 * "Болю в грудях нема, задишки теж": a short clause that ends in "too"
 * ("тоже", "też", "auch") right after a denied one is denied with it.
 */
function deniedToo(tokens: Token[], at: Uint8Array, o: Occurrence): boolean {
  let also = -1;
  for (let i = o.last + 1; i < tokens.length && i <= o.last + 2; i++) {
    if (tokens[i]!.brk > 0) break;
    if (at[i]! & ALSO) {
      also = i;
      break;
    }
  }
  if (also < 0 || (also + 1 < tokens.length && tokens[also + 1]!.brk === 0)) return false;
  // The clause of the finding: short, no "but" or subject of its own.
  let start = o.first;
  while (start > 0 && tokens[start]!.brk === 0) {
    start--;
    if (at[start]! & STOP || o.first - start > 3) return false;
  }
  if (tokens[start]!.brk !== 1) return false;
  // The clause right before it, in the same sentence, holds a denial.
  for (let j = start - 1; j >= 0; j--) {
    if (at[j]! & (NEG | NEG_AFTER)) return true;
    if (tokens[j]!.brk > 0) break;
  }
  return false;
}

/**
 * "Fainted or blacked out since I got home? Not once." — a question that opens with the symptoms
 * (the nurse's question, repeated) and is answered "no" in the next sentence denies all of them.
 * Only such topic questions: "ich blute stark, soll ich kommen? nein …" stays a statement.
 */
function questionsAnsweredNo(tokens: Token[], at: Uint8Array, occurrences: Occurrence[]): (o: Occurrence) => boolean {
  // Each sentence's first token, and whether the sentence is a short question answered "no".
  const startOf = new Int32Array(tokens.length);
  const answered = new Set<number>();
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i === tokens.length || (i > 0 && tokens[i]!.brk === 2)) {
      const next = tokens[i];
      if (next?.question && at[i]! & (NO_ANSWER | NEG_AFTER) && i - start <= 10) answered.add(start);
      start = i;
    }
    if (i < tokens.length) startOf[i] = start;
  }
  if (answered.size === 0) return () => false;
  const symptom = (o: Occurrence) => !FUNCTION_CONCEPTS.has(o.concept) && !CIRCUMSTANCES.has(o.concept);
  // Only questions that open with a symptom.
  const opens = new Set<number>();
  for (const o of occurrences) if (symptom(o) && answered.has(o.first) && startOf[o.first] === o.first) opens.add(o.first);
  return (o) => symptom(o) && opens.has(startOf[o.first]!) && startOf[o.last] === startOf[o.first];
}
