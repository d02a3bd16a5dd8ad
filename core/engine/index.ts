/** Public API of the conversation engine. */
export { initialState, step } from './step.ts';
export { detectRedFlag, RED_FLAG_RULES, type RedFlag } from './redflags.ts';
export type {
  AnsweredItem,
  AnswerValue,
  BotMessage,
  ConversationState,
  EngineEvent,
  EscalationEvent,
  Expects,
  Input,
  ItemOutcome,
  MessageKind,
  MessageOption,
  StepResult,
  StoredAnswer,
} from './types.ts';
