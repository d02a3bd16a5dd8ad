import { readFileSync } from 'node:fs';
import { flowSourceToYaml, importQuestionnaire } from '../../core/fhir/import.ts';
import { CliError, printIssues } from '../output.ts';

/** `visite flows import QUESTIONNAIRE.json` — flow YAML on stdout; problems name the linkId, exit 1. */
export function importCommand(files: string[]): number {
  const [file, ...rest] = files;
  if (!file || rest.length > 0)
    throw new CliError('visite flows import: give exactly one Questionnaire JSON file, e.g. visite flows import q.json > flows/new.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: cannot read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = importQuestionnaire(json);
  if (!result.ok) {
    printIssues(result.issues.map((i) => ({ ...i, file })));
    return 1;
  }
  for (const w of result.warnings) process.stderr.write(`${file}: warning: ${w}\n`);
  process.stdout.write(`# Imported from ${file} by \`visite flows import\`. Check texts and codes before use.\n${flowSourceToYaml(result.source)}`);
  return 0;
}
