import type { Language } from '../language.ts';
import { type Concept, FUNCTION_CONCEPTS } from './concepts.ts';
import { type Lexicon, lexicon as sharedLexicon } from './lexicon.ts';
import { findOccurrences, type Occurrence } from './match.ts';
import { markNegations } from './negation.ts';
import { type Rule, RULES, type Slot, WINDOW } from './rules.ts';
import { type Token, tokenise } from './tokens.ts';
import { CATEGORIES, CRISIS_CATEGORIES, type RedFlagFinding, type RedFlagHit, type Severity } from './types.ts';
import { findValues } from './values.ts';

export interface DetectOptions {
  /** The patient's language: preferred when a word belongs to several lists. Every language is checked anyway. */
  language?: Language;
  /** Another compiled word list (tests); default: the shipped one. */
  lexicon?: Lexicon;
}

const NONE: RedFlagFinding = Object.freeze({ severity: 'none', category: null, negated: false, crisis: false, evidence: '', hits: [] }) as RedFlagFinding;

/** Text analysed once: tokens, sentences, concept occurrences. */
export interface Analysis {
  tokens: Token[];
  occurrences: Occurrence[];
  sentence: Int32Array;
  byConcept: Map<Concept, Occurrence[]>;
  /** Sentences that end in a question mark. */
  questions: Set<number>;
}

export function analyse(text: string, lexicon: Lexicon = sharedLexicon(), hint?: Language, smallTalk = false): Analysis {
  const tokens = tokenise(text);
  const occurrences = findOccurrences(tokens, lexicon, hint, smallTalk);
  markNegations(tokens, occurrences);
  occurrences.push(...findValues(tokens, occurrences));
  const sentence = new Int32Array(tokens.length);
  let s = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (i > 0 && tokens[i]!.brk === 2) s++;
    sentence[i] = s;
  }
  const byConcept = new Map<Concept, Occurrence[]>();
  for (const o of occurrences) {
    const list = byConcept.get(o.concept);
    if (list) list.push(o);
    else byConcept.set(o.concept, [o]);
  }
  for (const list of byConcept.values()) list.sort((a, b) => a.first - b.first);
  const questions = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    const next = tokens[i + 1];
    if (next ? next.brk === 2 && next.question : /[?؟]/.test(text.slice(tokens[i]!.end, tokens[i]!.end + 8))) questions.add(sentence[i]!);
  }
  return { tokens, occurrences, sentence, byConcept, questions };
}

interface SlotSpec {
  concepts: readonly Concept[];
  wantNegated: boolean;
}

function specOf(slot: Slot): SlotSpec {
  if (typeof slot === 'string') return { concepts: [slot as Concept], wantNegated: false };
  if (Array.isArray(slot)) return { concepts: slot as readonly Concept[], wantNegated: false };
  const s = slot as { any: readonly Concept[] };
  return { concepts: s.any, wantNegated: true };
}

const SPECS = new Map<Rule, SlotSpec[]>(RULES.map((r) => [r, r.all.map(specOf)]));

function candidates(a: Analysis, spec: SlotSpec): Occurrence[] {
  if (spec.concepts.length === 1 && !spec.wantNegated) return a.byConcept.get(spec.concepts[0]!) ?? [];
  const out: Occurrence[] = [];
  for (const c of spec.concepts) {
    for (const o of a.byConcept.get(c) ?? []) if (!spec.wantNegated || o.negated) out.push(o);
  }
  if (spec.concepts.length > 1) out.sort((x, y) => x.first - y.first);
  return out;
}

/** Anchors examined per rule: bounds the work on adversarial input ("blut blut blut …"). */
const MAX_ANCHORS = 64;

interface Match {
  rule: Rule;
  parts: Occurrence[];
  negated: boolean;
}

function matchRule(a: Analysis, rule: Rule): Match | undefined {
  const specs = SPECS.get(rule)!;
  // Most rules are decided here: one of their concepts is not in the message at all.
  if (!specs.every((s) => s.concepts.some((c) => a.byConcept.has(c)))) return undefined;
  const lists = specs.map((s) => candidates(a, s));
  if (lists.some((l) => l.length === 0)) return undefined;
  const window = rule.window ?? WINDOW;
  const counts = (o: Occurrence, spec: SlotSpec) => !spec.wantNegated && o.negated;
  let negatedMatch: Match | undefined;
  let anchors = 0;
  for (const anchor of lists[0]!) {
    if (++anchors > MAX_ANCHORS) break;
    const parts: Occurrence[] = [anchor];
    let negated = counts(anchor, specs[0]!);
    let complete = true;
    for (let k = 1; k < lists.length; k++) {
      let best: Occurrence | undefined;
      const list = lists[k]!;
      // The list is ordered by position: start at the window (binary search).
      let lo = 0;
      if (!rule.message) {
        let hi = list.length;
        const from = anchor.first - window;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid]!.first < from) lo = mid + 1;
          else hi = mid;
        }
        lo = Math.max(0, lo - 8); // phrases may start before and reach into the window
      }
      for (let x = lo; x < list.length; x++) {
        const o = list[x]!;
        if (!rule.message) {
          if (o.first > anchor.last + window) break;
          if (o.last < anchor.first - window) continue;
          if (a.sentence[o.first] !== a.sentence[anchor.first] && a.sentence[o.last] !== a.sentence[anchor.last]) continue;
        }
        // The same words matched twice (the same phrase in two languages' lists) fill one slot only.
        if (parts.some((q) => q === o || (q.concept === o.concept && q.first === o.first && q.last === o.last))) continue;
        if (!counts(o, specs[k]!)) {
          best = o;
          break;
        }
        best ??= o;
      }
      if (!best) {
        complete = false;
        break;
      }
      if (counts(best, specs[k]!)) negated = true;
      parts.push(best);
    }
    if (!complete) continue;
    if (!negated) return { rule, parts, negated };
    negatedMatch ??= { rule, parts, negated };
  }
  return negatedMatch;
}

function inSentence(a: Analysis, concept: Concept, sentence: number): boolean {
  return (a.byConcept.get(concept) ?? []).some((o) => !o.negated && a.sentence[o.first] === sentence);
}

/** Past and over: "letzte Woche … jetzt alles gut", "geçen ay … şimdi rahatım". */
function pastAndResolved(a: Analysis, m: Match): boolean {
  const sentence = a.sentence[m.parts[0]!.first]!;
  const past = (a.byConcept.get('past') ?? []).some((o) => a.sentence[o.first] === sentence);
  if (!past) return false;
  const start = Math.min(...m.parts.map((p) => p.first));
  return (a.byConcept.get('resolved') ?? []).some((o) => o.first > start);
}

function languageOf(a: Analysis, parts: Occurrence[], hint: Language | undefined): Language {
  for (const p of parts) {
    if (!p.language) continue;
    if (hint && p.language !== hint) {
      // The same word may be in the patient's language's list too.
      const same = (a.byConcept.get(p.concept) ?? []).find((o) => o.first === p.first && o.language === hint);
      if (same) return hint;
    }
    return p.language;
  }
  for (const o of a.occurrences) if (o.language && !FUNCTION_CONCEPTS.has(o.concept) && o.language === hint) return hint;
  return hint ?? parts.find((p) => p.language)?.language ?? 'de';
}

function evidenceOf(a: Analysis, parts: Occurrence[], text: string): { evidence: string; span: [number, number] } {
  const indices = [...new Set(parts.flatMap((p) => (p.tokens.length > 0 ? p.tokens : [p.first])))].sort((x, y) => x - y);
  const groups: [number, number][] = [];
  for (const i of indices) {
    const g = groups[groups.length - 1];
    if (g && i === g[1] + 1) g[1] = i;
    else groups.push([i, i]);
  }
  const pieces = groups.map(([f, l]) => text.slice(a.tokens[f]!.start, a.tokens[l]!.end));
  let evidence = pieces.join(' … ');
  if (evidence.length > 160) evidence = `${evidence.slice(0, 159)}…`;
  const span: [number, number] = [a.tokens[indices[0]!]!.start, a.tokens[indices[indices.length - 1]!]!.end];
  return { evidence, span };
}

const RANK = new Map(CATEGORIES.map((c, i) => [c, i]));

const URGENT_RULES: ReadonlySet<string> = new Set(RULES.filter((r) => r.severity === 'urgent').map((r) => r.id));

/** A red flag the patient denied ("keine Atemnot"): a hit of an urgent rule, negated. */
export function isDeniedRedFlag(hit: RedFlagHit): boolean {
  return hit.negated && URGENT_RULES.has(hit.rule);
}

/** Urgent first; then denied red flags; then symptoms; last, denied symptoms ("kein Fieber"). */
export function compareHits(x: RedFlagHit, y: RedFlagHit): number {
  const sev = (h: RedFlagHit) => (h.severity === 'urgent' ? 0 : isDeniedRedFlag(h) ? 1 : h.negated ? 3 : 2);
  return sev(x) - sev(y) || RANK.get(x.category)! - RANK.get(y.category)! || x.span[0] - y.span[0];
}

export function detectRedFlags(text: string, options: DetectOptions = {}): RedFlagFinding {
  if (typeof text !== 'string' || text.trim() === '') return NONE;
  const a = analyse(text, options.lexicon, options.language);
  if (a.occurrences.length === 0) return NONE;
  // Rule matches first; evidence is only written for the hits that are kept.
  const found: { rule: Rule; match: Match; severity: Severity; negated: boolean }[] = [];
  const seen = new Set<string>();
  for (const rule of RULES) {
    const m = matchRule(a, rule);
    if (!m) continue;
    let severity = rule.severity;
    const negated = m.negated;
    if (negated) severity = 'warning';
    else if (severity === 'urgent' && !CRISIS_CATEGORIES.has(rule.category)) {
      const sentence = a.sentence[m.parts[0]!.first]!;
      if (rule.unless?.some((c) => inSentence(a, c, sentence))) severity = 'warning';
      else if (a.questions.has(sentence) && rule.unlessAsked?.some((c) => inSentence(a, c, sentence))) severity = 'warning';
      // Laughing about it ("bayıldım 😂") or over and done with: a warning, not an alarm.
      else if (inSentence(a, 'joke', sentence) || pastAndResolved(a, m)) severity = 'warning';
    }
    const key = `${rule.category}:${severity}:${negated}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ rule, match: m, severity, negated });
  }
  // A category raised urgently needs no warning of its own beside it.
  const urgentCategories = new Set(found.filter((f) => f.severity === 'urgent').map((f) => f.rule.category));
  const hits: RedFlagHit[] = found
    .filter((f) => f.severity === 'urgent' || !urgentCategories.has(f.rule.category))
    .map(({ rule, match, severity, negated }) => {
      const { evidence, span } = evidenceOf(a, match.parts, text);
      return { category: rule.category, severity, negated, language: languageOf(a, match.parts, options.language), evidence, span, rule: rule.id };
    });
  if (hits.length === 0) return NONE;
  const kept = hits.sort(compareHits);
  const top = kept[0]!;
  return {
    severity: top.severity,
    category: top.category,
    negated: top.negated,
    crisis: kept.some((h) => h.severity === 'urgent' && CRISIS_CATEGORIES.has(h.category)),
    evidence: top.evidence,
    hits: kept,
  };
}
