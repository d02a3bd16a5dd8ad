/** Public API of the flow language (what the bot, server and CLI import). */
export { compileFlow, type CompileResult, isValidLoinc } from './compile.ts';
export { flowToSource } from './decompile.ts';
export { FLOW_ISSUE_CODES, FlowError, type FlowIssue, type FlowIssueCode, formatIssue } from './errors.ts';
export { loadFlowFile, loadFlowOrThrow, type LoadResult, parseFlow } from './load.ts';
export type { ChoiceOption, Coding, ComputedValue, Condition, EscalationRule, Flow, LocalizedText, Question, Schedule } from './model.ts';
export { type Occurrence, occurrences, zonedTimeToUtc } from './schedule.ts';
export type { FlowSource, Severity } from './schema.ts';
export { localize } from './text.ts';
