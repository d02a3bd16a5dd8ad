/** Public API of the conversation engine. */
export { initialState, step } from './step.ts';
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
