import { type FlowIssue, formatIssue } from '../core/flow/errors.ts';

/** User-facing output: one clear line per problem, no stack traces. */
export class CliError extends Error {
  readonly lines: string[];
  constructor(...lines: string[]) {
    super(lines.join('\n'));
    this.name = 'CliError';
    this.lines = lines;
  }
}

export function printIssues(issues: readonly FlowIssue[], file?: string): void {
  for (const i of issues) process.stderr.write(`${formatIssue(file && !i.file ? { ...i, file } : i)}\n`);
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
