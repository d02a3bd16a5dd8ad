import type { FlowIssue, IssuePath } from './errors.ts';

/**
 * Which texts a flow still lacks, per language: what an author hands to a
 * translator, and why publishing refuses a draft. Keys name list entries by
 * their id (options by their code) instead of their position, so
 * `questions.pain.text` stays the same when questions are reordered.
 */
export interface MissingTexts {
  language: string;
  /** E.g. `questions.pain.text`, `questions.wound.options.redness.text`, `title`. */
  keys: string[];
}

/** The missing-translation issues, grouped by language (in the order languages first appear). */
export function missingTexts(issues: readonly FlowIssue[], source: unknown): MissingTexts[] {
  const byLanguage = new Map<string, string[]>();
  for (const i of issues) {
    if (i.code !== 'missing-translation') continue;
    for (const language of i.languages ?? []) {
      const keys = byLanguage.get(language) ?? [];
      keys.push(textKey(i.path, source));
      byLanguage.set(language, keys);
    }
  }
  return [...byLanguage].map(([language, keys]) => ({ language, keys }));
}

/** A path into the flow document with list positions replaced by the entries' ids. */
export function textKey(path: IssuePath, source: unknown): string {
  const parts: string[] = [];
  let node: unknown = source;
  for (const segment of path) {
    const next = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[segment] : undefined;
    if (typeof segment === 'number') {
      const entry = next as { id?: unknown; code?: unknown } | undefined;
      const name = typeof entry?.id === 'string' ? entry.id : typeof entry?.code === 'string' ? entry.code : undefined;
      parts.push(name ?? String(segment));
    } else parts.push(segment);
    node = next;
  }
  return parts.join('.');
}
