import { existsSync } from 'node:fs';
import { findTranscriptFiles, runTranscriptFile, transcriptFileFor } from '../transcripts.ts';
import { CliError, out } from '../output.ts';

/** `visite flows test [FILE…]` — runs golden transcripts (default: all in flows/). */
export function testCommand(files: string[]): number {
  const targets = files.length > 0 ? files.map(transcriptFileFor) : findTranscriptFiles('flows');
  if (targets.length === 0) throw new CliError('visite flows test: no transcripts found (expected flows/<name>.transcripts.yaml)');
  let failed = 0;
  let passed = 0;
  for (const file of targets) {
    if (!existsSync(file)) throw new CliError(`${file}: no transcripts file next to this flow`);
    for (const r of runTranscriptFile(file)) {
      if (r.ok) {
        passed++;
        out(`✓ ${file} › ${r.name} [${r.lang}]`);
      } else {
        failed++;
        out(`✗ ${file} › ${r.name} [${r.lang}]`);
        for (const f of r.failures) out(`    ${f}`);
      }
    }
  }
  out(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
