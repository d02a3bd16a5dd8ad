/**
 * One error vocabulary for everything that reads flows or Questionnaires.
 * Every problem carries a machine code, a human message, a hint on how to fix
 * it, and where it is (a path into the document, resolved to line:col when the
 * source text is known). Nothing here throws at users: the CLI prints issues.
 */
export const FLOW_ISSUE_CODES = [
  'yaml-syntax',
  'unknown-key',
  'missing-key',
  'wrong-type',
  'invalid-value',
  'duplicate-id',
  'unknown-reference',
  'forward-reference',
  'branching-cycle',
  'missing-translation',
  'threshold-out-of-range',
  'invalid-expression',
  'invalid-code',
  'invalid-questionnaire',
  'unsupported-fhir',
  'io',
] as const;
export type FlowIssueCode = (typeof FLOW_ISSUE_CODES)[number];

export type IssuePath = readonly (string | number)[];

export interface FlowIssue {
  code: FlowIssueCode;
  message: string;
  /** What the author should do about it. */
  hint?: string;
  /** Path into the flow document, e.g. ['questions', 2, 'max']. */
  path: IssuePath;
  file?: string;
  /** 1-based. Absent when the source has no positions (e.g. a JSON import). */
  line?: number;
  col?: number;
  /** `missing-translation`: the languages the text lacks. */
  languages?: readonly string[];
}

export function issue(code: FlowIssueCode, path: IssuePath, message: string, hint?: string): FlowIssue {
  return hint === undefined ? { code, path, message } : { code, path, message, hint };
}

/** `file:line:col: message` plus an indented hint line (compiler style). */
export function formatIssue(i: FlowIssue): string {
  const where = [i.file ?? '<flow>', i.line, i.col].filter((part) => part !== undefined).join(':');
  // Without a line, say where in the document — unless the message already names the item.
  const at = i.line === undefined && i.path.length > 0 && i.path[0] !== 'item' ? ` (at ${formatPath(i.path)})` : '';
  const head = `${where}: ${i.message}${at} [${i.code}]`;
  return i.hint ? `${head}\n  hint: ${i.hint}` : head;
}

export function formatPath(path: IssuePath): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${segment}` : segment;
  return out;
}

/** Thrown only inside the core where a caller asked for a value-or-throw API. */
export class FlowError extends Error {
  readonly issues: readonly FlowIssue[];
  constructor(issues: readonly FlowIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'FlowError';
    this.issues = issues;
  }
}

/** Closest candidate by edit distance, for "did you mean" hints. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
