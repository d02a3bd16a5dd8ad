/**
 * Damerau–Levenshtein distance ≤ 1 (optimal string alignment): one insertion,
 * deletion, substitution or swap of neighbours, or none. Typo tolerance for
 * red-flag words and number words shares it. Linear, no matrix allocated.
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // transposition
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** Exactly one edit apart (not equal). */
export function oneEdit(a: string, b: string): boolean {
  return a !== b && withinOneEdit(a, b);
}
