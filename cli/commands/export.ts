import { loadFlowFile } from '../../core/flow/load.ts';
import { exportQuestionnaire } from '../../core/fhir/export.ts';
import { validateR4 } from '../../core/fhir/validate.ts';
import { CliError, out, printIssues } from '../output.ts';

/** `visite flows export FILE` — the FHIR R4 Questionnaire as JSON on stdout. */
export function exportCommand(files: string[]): number {
  const [file, ...rest] = files;
  if (!file || rest.length > 0)
    throw new CliError('visite flows export: give exactly one flow file, e.g. visite flows export flows/post-op.yaml > post-op.json');
  const result = loadFlowFile(file);
  if (!result.ok) {
    printIssues(result.issues, file);
    return 1;
  }
  const questionnaire = exportQuestionnaire(result.flow);
  const issues = validateR4(questionnaire);
  if (issues.length > 0) {
    throw new CliError(
      ...issues.map(
        (i) => `${file}: exported Questionnaire is not valid R4: ${i.details?.text ?? i.diagnostics ?? i.code} (${(i.expression ?? []).join(', ')})`,
      ),
    );
  }
  out(JSON.stringify(questionnaire, null, 2));
  return 0;
}
