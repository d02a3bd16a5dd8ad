import type { FlowIssue } from '../flow/errors.ts';
import { missingTexts, type MissingTexts } from '../flow/completeness.ts';
import type { LoadResult } from '../flow/load.ts';
import type { Flow } from '../flow/model.ts';
import { parseTranscripts, runTranscripts, type TranscriptProblem, type TranscriptResult } from './transcripts.ts';

/**
 * What must hold before a version reaches patients: the flow compiles with
 * every text in every language it lists, and its golden transcripts (if it
 * has any) replay as recorded. Pure: the caller compiles (with its canonical
 * URL) and hands in the result. A failed check says what to fix: the issues
 * with line and column, the missing texts per language by key, the failing
 * transcripts with their differences.
 */
export type PublishCheck =
  | { ok: true; flow: Flow; transcripts: { passed: number } }
  | {
      ok: false;
      /** Everything wrong with the flow text, located (missing translations included). */
      issues: FlowIssue[];
      /** The missing-translation issues grouped by language, with the texts' keys. */
      missingTexts: MissingTexts[];
      /** The transcripts text itself is malformed. */
      transcriptProblems: TranscriptProblem[];
      /** Transcripts that replay differently. */
      transcriptFailures: Array<Pick<TranscriptResult, 'name' | 'lang' | 'failures'>>;
    };

export function checkPublishable(compiled: LoadResult, source: unknown, transcriptsText: string | null): PublishCheck {
  const failed = (parts: Partial<Extract<PublishCheck, { ok: false }>>): PublishCheck => ({
    ok: false,
    issues: [],
    missingTexts: [],
    transcriptProblems: [],
    transcriptFailures: [],
    ...parts,
  });
  if (!compiled.ok) return failed({ issues: compiled.issues, missingTexts: missingTexts(compiled.issues, source) });
  if (transcriptsText === null || transcriptsText.trim() === '') return { ok: true, flow: compiled.flow, transcripts: { passed: 0 } };
  const parsed = parseTranscripts(transcriptsText);
  if (!parsed.ok) return failed({ transcriptProblems: parsed.problems });
  const results = runTranscripts(compiled.flow, parsed.file);
  const failures = results.filter((r) => !r.ok).map(({ name, lang, failures: f }) => ({ name, lang, failures: f }));
  return failures.length > 0 ? failed({ transcriptFailures: failures }) : { ok: true, flow: compiled.flow, transcripts: { passed: results.length } };
}
