import type { Atom, Grammar } from './language.ts';

/**
 * Cardinal numbers from a run of pieces (number words split into atoms, and
 * digits): "acht und dreißig komma fünf", "a hundred and five", "тридцать
 * семь и восемь десятых", "38 buçuk". A run may hold several numbers ("sieben
 * acht"); each is read whole — the longest reading wins, and a piece that
 * cannot continue a number starts the next one. Nothing here guesses: pieces
 * that belong to no number ("komma" with no digits after it) make the run
 * malformed, and the caller re-asks.
 */
export type Piece = Atom | { kind: 'digits'; value: number; decimals: number; text: string };

export interface ReadNumber {
  value: number;
  decimals: number;
  /** Pieces used: [from, to). */
  from: number;
  to: number;
}

export interface RunReading {
  numbers: ReadNumber[];
  /** A decimal word, half or fraction that belongs to no number. */
  malformed: boolean;
}

export interface RunOptions {
  /**
   * The question takes decimals: "тридцать семь и два" is 37.2 and the spoken
   * "achtunddreißig fünf" is 38.5. To a question of whole numbers both stay
   * two numbers (and are re-asked), so "80 и 5" never becomes 80.5 → 81.
   */
  decimals: boolean;
  /** Pieces written right after a hyphen ("thirty-eight"). */
  hyphenBefore?: ReadonlySet<number>;
}

type Step = { value: number; decimals: number; next: number };

export function readRun(pieces: readonly Piece[], g: Grammar, options: RunOptions): RunReading {
  const r = new Reader(pieces, g);
  const numbers: ReadNumber[] = [];
  let i = 0;
  while (i < pieces.length) {
    const n = r.number(i, options.decimals);
    if (n) {
      numbers.push({ value: n.value, decimals: n.decimals, from: i, to: n.next });
      i = n.next;
      continue;
    }
    const p = pieces[i];
    // Joining words between two numbers ("5 und 6", "7 з 10") separate them.
    if (p && (p.kind === 'and' || p.kind === 'with' || p.kind === 'article')) {
      i++;
      continue;
    }
    return { numbers, malformed: true };
  }
  // Spoken decimals: "achtunddreißig fünf" (38,5) — a two-digit number in words,
  // then one digit word (not joined by a hyphen: "eighty-one" misspelt "eight-one"
  // is no decimal), and nothing else in the run.
  if (options.decimals && numbers.length === 2) {
    const [a, b] = numbers as [ReadNumber, ReadNumber];
    const digit = pieces[b.from];
    if (
      a.decimals === 0 &&
      a.value >= 10 &&
      a.value < 100 &&
      b.to - b.from === 1 &&
      b.from === a.to &&
      b.to === pieces.length &&
      !options.hyphenBefore?.has(b.from) &&
      digit?.kind === 'unit' &&
      digit.value > 0 &&
      wordsOnly(pieces, a.from, a.to)
    ) {
      return { numbers: [{ value: a.value + digit.value / 10, decimals: 1, from: a.from, to: b.to }], malformed: false };
    }
  }
  return { numbers, malformed: false };
}

function wordsOnly(pieces: readonly Piece[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (pieces[i]?.kind === 'digits') return false;
  return true;
}

class Reader {
  private readonly p: readonly Piece[];
  private readonly g: Grammar;
  constructor(pieces: readonly Piece[], g: Grammar) {
    this.p = pieces;
    this.g = g;
  }

  private kind(i: number): Piece['kind'] | undefined {
    return this.p[i]?.kind;
  }
  private unitValue(i: number, min = 0): number | undefined {
    const x = this.p[i];
    return x?.kind === 'unit' && x.value >= min ? x.value : undefined;
  }
  /** "ein halb" / "a half" starts at i: after "und"/"and" it is a half, not "and one". */
  private halfAt(i: number): boolean {
    return this.isOne(i) && this.kind(i + 1) === 'half';
  }
  /** "a"/"ein"/"one" before hundred, thousand or half. */
  private isOne(i: number): boolean {
    return this.kind(i) === 'article' || this.unitValue(i) === 1;
  }

  /** An integer, then its decimal part if any. */
  number(i: number, decimals: boolean): Step | undefined {
    const int = this.integer(i);
    if (!int) return undefined;
    if (int.decimals > 0 || !Number.isInteger(int.value)) return int;
    const frac = this.decimal(int.next, int.value, decimals);
    return frac ? { value: int.value + frac.value, decimals: frac.decimals, next: frac.next } : int;
  }

  integer(i: number): Step | undefined {
    const x = this.p[i];
    if (!x) return undefined;
    if (x.kind === 'digits') return { value: x.value, decimals: x.decimals, next: i + 1 };
    if (x.kind === 'whole') return { value: x.value, decimals: Number.isInteger(x.value) ? 0 : 1, next: i + 1 };
    let value: number;
    let j: number;
    const below = this.below1000(i);
    if (below && this.kind(below.next) === 'thousand') {
      value = below.value * 1000;
      j = below.next + 1;
    } else if (!below && this.kind(i) === 'thousand') {
      value = 1000;
      j = i + 1;
    } else if (this.kind(i) === 'article' && this.kind(i + 1) === 'thousand') {
      value = 1000;
      j = i + 2;
    } else return below;
    const rest = this.g.andAfterHundreds && this.kind(j) === 'and' && !this.halfAt(j + 1) ? this.below1000(j + 1) : undefined;
    const tail = rest ?? this.below1000(j);
    if (tail && tail.value > 0) return { value: value + tail.value, decimals: 0, next: tail.next };
    return { value, decimals: 0, next: j };
  }

  private below1000(i: number): Step | undefined {
    let h: number | undefined;
    let j = i;
    let spoken = false;
    const x = this.p[i];
    if (x?.kind === 'hundreds') {
      h = x.value;
      j = i + 1;
    } else if ((this.unitValue(i, 1) !== undefined || this.kind(i) === 'article') && this.kind(i + 1) === 'hundred') {
      h = (this.unitValue(i, 1) ?? 1) * 100;
      j = i + 2;
    } else if (x?.kind === 'hundred') {
      h = 100;
      j = i + 1;
    } else if (this.g.colloquialHundreds && this.unitValue(i, 1) !== undefined && (this.kind(i + 1) === 'teen' || this.kind(i + 1) === 'tens')) {
      // "one fifty" = 150, "two twenty" = 220
      h = (this.unitValue(i, 1) ?? 0) * 100;
      j = i + 1;
      spoken = true;
    }
    if (h === undefined) return this.below100(i);
    const joined = this.g.andAfterHundreds && this.kind(j) === 'and' && !this.halfAt(j + 1) ? this.below100(j + 1, true) : undefined;
    const rest = joined ?? this.below100(j, true);
    if (rest) return { value: h + rest.value, decimals: 0, next: rest.next };
    return spoken ? this.below100(i) : { value: h, decimals: 0, next: j };
  }

  private below100(i: number, afterHundreds = false): Step | undefined {
    const x = this.p[i];
    if (!x) return undefined;
    const g = this.g;
    const u = this.unitValue(i, 1);
    if (g.unitsBeforeTens && u !== undefined && this.kind(i + 1) === 'and' && this.kind(i + 2) === 'tens') {
      return { value: u + (this.p[i + 2] as { value: number }).value, decimals: 0, next: i + 3 };
    }
    const ten = this.p[i + 1];
    if (g.unitThenTenIsTeen && u !== undefined && ten?.kind === 'teen' && ten.value === 10) return { value: 10 + u, decimals: 0, next: i + 2 };
    if (x.kind === 'teen') return { value: x.value, decimals: 0, next: i + 1 };
    if (x.kind === 'tens') {
      const after = this.unitValue(i + 1, 1);
      if (!g.unitsBeforeTens && after !== undefined) return { value: x.value + after, decimals: 0, next: i + 2 };
      return { value: x.value, decimals: 0, next: i + 1 };
    }
    if (x.kind === 'unit' && !(afterHundreds && x.value === 0)) return { value: x.value, decimals: 0, next: i + 1 };
    return undefined;
  }

  /** The decimal part after an integer, as a value below 1. */
  private decimal(j: number, int: number, decimals: boolean): Step | undefined {
    const x = this.p[j];
    if (!x) return undefined;
    const HALF = { value: 0.5, decimals: 1 };
    switch (x.kind) {
      case 'point': {
        const digits = this.fractionDigits(j + 1);
        if (!digits) return undefined;
        return { value: Number(`0.${digits.text}`), decimals: digits.text.length, next: digits.next };
      }
      case 'plusHalf':
        return { ...HALF, next: j + 1 };
      case 'with':
        return this.kind(j + 1) === 'half' ? { ...HALF, next: j + 2 } : undefined;
      case 'article':
      case 'unit':
        // "ein halb", "one half" without "and"
        return this.isOne(j) && this.kind(j + 1) === 'half' ? { ...HALF, next: j + 2 } : undefined;
      case 'wholes': {
        // "восемьдесят целых три десятых", "80 целых 3"
        const f = this.integer(j + 1);
        if (!f || f.decimals > 0) return undefined;
        const over = this.p[f.next];
        if (over?.kind === 'fraction') return fraction(f.value, over.divisor, f.next + 1);
        return { value: Number(`0.${f.value}`), decimals: String(f.value).length, next: f.next };
      }
      case 'and': {
        if (this.kind(j + 1) === 'half') return { ...HALF, next: j + 2 };
        if (this.isOne(j + 1) && this.kind(j + 2) === 'half') return { ...HALF, next: j + 3 };
        if (!this.g.andDecimal) return undefined;
        const f = this.integer(j + 1);
        if (!f || f.decimals > 0) return undefined;
        const over = this.p[f.next];
        // "и восемь десятых" is a decimal whatever the question; "и два" only where decimals are expected.
        if (over?.kind === 'fraction') return fraction(f.value, over.divisor, f.next + 1);
        if (decimals && int >= 10 && f.value >= 1 && f.value <= 9 && f.next === j + 2) return { value: f.value / 10, decimals: 1, next: f.next };
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** Digits after "komma": "5", "fünf", "null fünf", "fünfundzwanzig", "25". */
  private fractionDigits(i: number): { text: string; next: number } | undefined {
    const x = this.p[i];
    if (x?.kind === 'digits') return x.decimals === 0 && x.value >= 0 && /^\d+$/.test(x.text) ? { text: x.text, next: i + 1 } : undefined;
    if (x?.kind === 'unit') {
      let text = '';
      let k = i;
      while (this.kind(k) === 'unit') {
        text += String(this.unitValue(k));
        k++;
      }
      // One unit then "und zwanzig" etc. is a two-digit number, not digit by digit.
      if (text.length === 1) {
        const n = this.below100(i);
        if (n && n.next > k) return { text: String(n.value), next: n.next };
      }
      return { text, next: k };
    }
    const n = this.below100(i);
    return n ? { text: String(n.value), next: n.next } : undefined;
  }
}

function fraction(numerator: number, divisor: number, next: number): Step | undefined {
  if (numerator >= divisor) return undefined;
  return { value: numerator / divisor, decimals: String(divisor).length - 1, next };
}
