import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '../core/flow/errors.ts';
import { parseFlow } from '../core/flow/load.ts';
import type { FlowFile } from '../services/flows.ts';

export class FlowLoadError extends Error {
  override name = 'FlowLoadError';
}

/**
 * Loads every flow file (`*.yaml`, not transcripts) of a folder at start, with
 * its text and the golden transcripts next to it: the deployed flows
 * (VISITE_FLOWS_DIR) and the templates organisations copy (the shipped
 * `flows/`). A broken flow stops the start with its located errors: running
 * with a silently missing questionnaire would be worse.
 */
export function loadFlows(dir: string): Map<string, FlowFile> {
  const flows = new Map<string, FlowFile>();
  const problems: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.yaml') || name.includes('.transcripts.')) continue;
    const file = join(dir, name);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${file}: cannot read flow: ${(error as Error).message}`);
      continue;
    }
    const result = parseFlow(source, file);
    if (!result.ok) {
      problems.push(...result.issues.map(formatIssue));
      continue;
    }
    if (flows.has(result.flow.id)) problems.push(`${file}: flow id "${result.flow.id}" is used by another file too`);
    const transcriptsFile = join(dir, name.replace(/\.yaml$/, '.transcripts.yaml'));
    const transcripts = existsSync(transcriptsFile) ? readFileSync(transcriptsFile, 'utf8') : undefined;
    flows.set(result.flow.id, { flow: result.flow, source, file, ...(transcripts !== undefined ? { transcripts } : {}) });
  }
  if (problems.length > 0) throw new FlowLoadError(`invalid flows in ${dir}:\n${problems.join('\n')}`);
  return flows;
}
