import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { type CompileOptions, compileFlow } from './compile.ts';
import { closest, type FlowIssue, type FlowIssueCode, issue, type IssuePath } from './errors.ts';
import type { Flow } from './model.ts';
import {
  BooleanQuestionSchema,
  ChoiceQuestionSchema,
  CodingSchema,
  ComputedSchema,
  DateQuestionSchema,
  EscalationSchema,
  FlowSchema,
  type FlowSource,
  InfoQuestionSchema,
  LocalizedTextSchema,
  MultiChoiceQuestionSchema,
  OptionSchema,
  PhotoQuestionSchema,
  QUESTION_TYPES,
  QuantityQuestionSchema,
  ScaleQuestionSchema,
  ScheduleSchema,
  TextQuestionSchema,
} from './schema.ts';

/** `warnings`: located problems a draft may still have (CompileOptions.incompleteTexts); empty otherwise. */
export type LoadResult = { ok: true; flow: Flow; source: FlowSource; warnings: FlowIssue[] } | { ok: false; issues: FlowIssue[] };

/** Reads and compiles a flow file; never throws (I/O errors become issues too). */
export function loadFlowFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err);
    return { ok: false, issues: [{ ...issue('io', [], `cannot read flow: ${reason}`, 'check the path'), file }] };
  }
  return parseFlow(text, file);
}

/** YAML (or JSON) text → compiled flow, or issues located as file:line:col. */
export function parseFlow(text: string, file = '<flow>', options: CompileOptions = {}): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const at = (path: IssuePath, onKey = false) => position(doc, lineCounter, path, onKey);

  if (doc.errors.length > 0) {
    return {
      ok: false,
      // The first error is the real one; later ones are usually its echo.
      issues: doc.errors.slice(0, 1).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          ...issue('yaml-syntax', [], `YAML syntax: ${e.message.split('\n')[0]}`, 'check indentation, colons and quotes around this line'),
          file,
          line: pos.line,
          col: pos.col,
        };
      }),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      issues: [
        {
          ...issue('wrong-type', [], 'a flow file is a YAML mapping (id:, version:, questions:, ...)', 'see docs/flows.md for a minimal example'),
          file,
          line: 1,
          col: 1,
        },
      ],
    };
  }
  const parsed = FlowSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((zi) => fromZod(zi, data));
    return { ok: false, issues: dedupe(issues).map((i) => ({ ...i, file, ...at(i.path, i.code === 'unknown-key') })) };
  }
  const compiled = compileFlow(parsed.data, options);
  if (!compiled.ok) return { ok: false, issues: compiled.issues.map((i) => ({ ...i, file, ...at(i.path) })) };
  return { ok: true, flow: compiled.flow, source: parsed.data, warnings: compiled.warnings.map((i) => ({ ...i, file, ...at(i.path) })) };
}

/** Converts a zod issue into our vocabulary with an actionable hint. */
function fromZod(zi: z.core.$ZodIssue, data: unknown): FlowIssue[] {
  const path = zi.path.filter((p): p is string | number => typeof p !== 'symbol');
  const value = valueAt(data, path);
  const field = path.length > 0 ? String(path[path.length - 1]) : 'flow';
  switch (zi.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(data, path);
      return zi.keys.map((key) => {
        const guess = allowed ? closest(key, allowed) : undefined;
        const hint = guess ? `did you mean "${guess}"?` : allowed ? `allowed here: ${allowed.join(', ')}` : 'remove it';
        return issue('unknown-key', [...path, key], `unknown key "${key}"`, hint);
      });
    }
    case 'invalid_type':
      if (value === undefined) return [issue('missing-key', path, `"${field}" is required`, `add \`${field}:\``)];
      return [issue('wrong-type', path, `"${field}" should be ${article(zi.expected)}, not ${describe(value)}`, hintForType(zi.expected, field))];
    case 'invalid_union':
      if ('discriminator' in zi && zi.discriminator === 'type') {
        const guess = typeof value === 'string' ? closest(value, QUESTION_TYPES) : undefined;
        if (value === undefined) return [issue('missing-key', path, 'question needs a `type:`', `one of: ${QUESTION_TYPES.join(', ')}`)];
        return [
          issue(
            'invalid-value',
            path,
            `unknown question type ${JSON.stringify(value)}`,
            guess ? `did you mean "${guess}"? Types: ${QUESTION_TYPES.join(', ')}` : `one of: ${QUESTION_TYPES.join(', ')}`,
          ),
        ];
      }
      return [issue('wrong-type', path, `"${field}" has the wrong form (${describe(value)})`, 'see docs/flows.md for the allowed forms')];
    case 'invalid_value':
      return [issue('invalid-value', path, `"${field}" must be one of ${zi.values.map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}`)];
    case 'too_small':
    case 'too_big':
      return [issue('invalid-value', path, `"${field}": ${zi.message}`)];
    case 'invalid_format':
      return [issue('invalid-value', path, `"${field}": ${zi.message}`)];
    case 'custom': {
      const params = (zi.params ?? {}) as { visite?: FlowIssueCode; hint?: string };
      return [issue(params.visite ?? 'invalid-value', path, zi.message, params.hint)];
    }
    default:
      return [issue('invalid-value', path, `"${field}": ${zi.message}`)];
  }
}

function article(expected: string): string {
  return (
    ({ array: 'a list', object: 'a mapping', string: 'a text', number: 'a number', boolean: 'true or false' } as Record<string, string>)[expected] ?? expected
  );
}
function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'empty';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value === 'string' ? 'the text' : typeof value} ${JSON.stringify(value)}`;
}
function hintForType(expected: string, field: string): string {
  if (expected === 'object' && field === 'label') {
    return 'a label is a short name per language, e.g.\n    label:\n      de: Schmerzen\n      en: Pain';
  }
  if (expected === 'object' && ['text', 'title', 'hint', 'message', 'description', 'intro', 'outro', 'minLabel', 'maxLabel'].includes(field)) {
    return 'texts are per language, e.g.\n    text:\n      de: Wie geht es Ihnen?\n      en: How are you?';
  }
  if (expected === 'array') return `write \`${field}:\` as a list (lines starting with "- ")`;
  if (expected === 'number') return 'write the number without quotes or units, e.g. 38.5';
  if (expected === 'boolean') return 'write true or false';
  return `expected ${article(expected)}`;
}

function valueAt(data: unknown, path: IssuePath): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

const QUESTION_SCHEMAS: Record<string, { shape: object }> = {
  quantity: QuantityQuestionSchema,
  scale: ScaleQuestionSchema,
  boolean: BooleanQuestionSchema,
  choice: ChoiceQuestionSchema,
  'multi-choice': MultiChoiceQuestionSchema,
  text: TextQuestionSchema,
  date: DateQuestionSchema,
  photo: PhotoQuestionSchema,
  info: InfoQuestionSchema,
};
const TEXT_KEYS = new Set(['text', 'title', 'hint', 'message', 'description', 'intro', 'outro', 'minLabel', 'maxLabel', 'label']);
const CONDITION_KEYS = ['answer', 'op', 'value', 'all', 'any', 'not', 'expression', 'trend', 'checkins', 'within', 'rising', 'falling', 'increase', 'decrease'];
const keysOf = (schema: { shape: object }) => Object.keys(schema.shape);

/** Keys allowed at a path, for "did you mean" — read from the schemas, so they never drift. */
function allowedKeys(data: unknown, path: IssuePath): string[] | undefined {
  if (path.length === 0) return keysOf(FlowSchema);
  const last = path[path.length - 1];
  const parent = path.length >= 2 ? path[path.length - 2] : undefined;
  if (parent === 'questions' && typeof last === 'number') {
    const type = (valueAt(data, path) as Record<string, unknown> | undefined)?.['type'];
    const schema = typeof type === 'string' ? QUESTION_SCHEMAS[type] : undefined;
    return schema ? keysOf(schema) : keysOf(ScaleQuestionSchema);
  }
  if (typeof last === 'number') {
    if (parent === 'options') return keysOf(OptionSchema);
    if (parent === 'codes') return keysOf(CodingSchema);
    if (parent === 'escalations') return keysOf(EscalationSchema);
    if (parent === 'computed') return keysOf(ComputedSchema);
    if (parent === 'all' || parent === 'any') return CONDITION_KEYS;
  }
  if (last === 'schedule') return keysOf(ScheduleSchema);
  if (TEXT_KEYS.has(String(last))) return keysOf(LocalizedTextSchema);
  if (['when', 'enableWhen', 'not'].includes(String(last))) return CONDITION_KEYS;
  return undefined;
}

function dedupe(issues: FlowIssue[]): FlowIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.code}|${i.path.join('.')}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * line:col of the node at `path` (or of its key, for unknown keys). When the
 * path does not exist (a missing key), the deepest existing ancestor is used.
 */
function position(doc: Document, lc: LineCounter, path: IssuePath, onKey: boolean): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      if (last && (onKey || !value?.range)) {
        offset = key.range?.[0] ?? offset;
        break;
      }
      node = value;
      offset = value?.range?.[0] ?? key.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else break;
  }
  return lc.linePos(offset);
}

/** line:col of a path in any YAML text (for other YAML files checked against a schema, e.g. transcripts). */
export function positionIn(text: string, path: IssuePath): { line: number; col: number } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return position(doc, lineCounter, path, false);
}

/** Value-or-throw variant for callers that ship flows with the code (tests, bench). */
export function loadFlowOrThrow(file: string): Flow {
  const result = loadFlowFile(file);
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.file}:${i.line}:${i.col}: ${i.message}`).join('\n'));
  return result.flow;
}
