/** Public API of the conversation engine. */
export { initialState, step } from './step.ts';
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
  Input,
  ItemOutcome,
  MessageKind,
  MessageOption,
  StepResult,
  StoredAnswer,
} from './types.ts';
