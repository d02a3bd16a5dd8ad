import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '../core/flow/errors.ts';
import { loadFlowFile } from '../core/flow/load.ts';
import type { Flow } from '../core/flow/model.ts';

export class FlowLoadError extends Error {
  override name = 'FlowLoadError';
}

/**
 * Loads every flow file (`*.yaml`, not transcripts) of the flows folder at
 * start. A broken flow stops the start with its located errors: running with a
 * silently missing questionnaire would be worse.
 */
export function loadFlows(dir: string): Map<string, Flow> {
  const flows = new Map<string, Flow>();
  const problems: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.yaml') || name.includes('.transcripts.')) continue;
    const result = loadFlowFile(join(dir, name));
    if (!result.ok) {
      problems.push(...result.issues.map(formatIssue));
      continue;
    }
    if (flows.has(result.flow.id)) problems.push(`${join(dir, name)}: flow id "${result.flow.id}" is used by another file too`);
    flows.set(result.flow.id, result.flow);
  }
  if (problems.length > 0) throw new FlowLoadError(`invalid flows in ${dir}:\n${problems.join('\n')}`);
  return flows;
}
