import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseTranscripts, runTranscripts, type TranscriptResult } from '../core/conversation/transcripts.ts';
import { formatIssue } from '../core/flow/errors.ts';
import { loadFlowFile } from '../core/flow/load.ts';

/**
 * Golden transcripts as files: `<flow>.transcripts.yaml` next to the flow it
 * names with `flow:`. Reading and locating the files is here; checking and
 * replaying them is core/conversation/transcripts.ts (shared with the catalog).
 */
export function transcriptFileFor(path: string): string {
  if (path.endsWith('.transcripts.yaml')) return path;
  return join(dirname(path), `${basename(path).replace(/\.ya?ml$/, '')}.transcripts.yaml`);
}

export function findTranscriptFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.transcripts.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Problems with the file itself are results named `(file)`. */
export function runTranscriptFile(file: string): TranscriptResult[] {
  const fail = (...messages: string[]): TranscriptResult[] => messages.map((message) => ({ file, name: '(file)', lang: '-', ok: false, failures: [message] }));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read transcripts: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const parsed = parseTranscripts(text);
  if (!parsed.ok) return fail(...parsed.problems.map((p) => `${p.line}:${p.col}: ${p.message}`));
  if (!parsed.file.flow) return fail('1:1: "flow" is required: the flow file these transcripts belong to, e.g. flow: post-op.yaml');
  const loaded = loadFlowFile(resolve(dirname(file), parsed.file.flow));
  if (!loaded.ok) return fail(`flow does not compile:\n${loaded.issues.map(formatIssue).join('\n')}`);
  return runTranscripts(loaded.flow, parsed.file, file);
}
