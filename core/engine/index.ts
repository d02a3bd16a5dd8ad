/** Public API of the conversation engine. */
export { initialState, step } from './step.ts';
/** The patient's earlier values for trend rules, built from stored answer rows. */
export { HISTORY_LIMIT, historyFromRows, trendQuestionIds } from './history.ts';
/** Short answer rendering and question labels, e.g. for clinician alerts. */
export { formatAnswer, questionLabel } from './render.ts';
export type {
  AnsweredItem,
  AnswerValue,
  BotMessage,
  ConversationState,
  EngineEvent,
  EscalationEvent,
  Expects,
  History,
  HistoryPoint,
  Input,
  ItemOutcome,
  MessageKind,
  MessageOption,
  StepOptions,
  StepResult,
  StoredAnswer,
} from './types.ts';
