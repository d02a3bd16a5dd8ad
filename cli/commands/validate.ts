import { loadFlowFile } from '../../core/flow/load.ts';
import { CliError, out, printIssues } from '../output.ts';
import { runTranscriptFile } from '../transcripts.ts';

/**
 * `visite flows validate FILE…` — exit 0 when all flows are valid, 1 otherwise.
 * Transcript files (`*.transcripts.yaml`, e.g. from `flows/*.yaml`) are checked
 * as transcripts: their format and their flow.
 */
export function validateCommand(files: string[]): number {
  if (files.length === 0) throw new CliError('visite flows validate: give at least one flow file, e.g. visite flows validate flows/post-op.yaml');
  let failed = 0;
  for (const file of files) {
    if (file.endsWith('.transcripts.yaml')) {
      const broken = runTranscriptFile(file).filter((r) => r.name === '(file)');
      if (broken.length === 0) out(`ok ${file}: transcripts`);
      else {
        failed++;
        for (const r of broken) for (const f of r.failures) process.stderr.write(`${file}: ${f}\n`);
      }
      continue;
    }
    const result = loadFlowFile(file);
    if (result.ok) {
      const f = result.flow;
      out(`ok ${file}: ${f.id} ${f.version}, ${f.questions.length} questions, ${f.languages.join('/')}`);
    } else {
      failed++;
      printIssues(result.issues, file);
    }
  }
  if (failed > 0) process.stderr.write(`${failed} of ${files.length} file(s) invalid\n`);
  return failed > 0 ? 1 : 0;
}
