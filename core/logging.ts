/**
 * The logging contract every layer writes to (the JSON-lines writer is
 * server/logger.ts). Fields carry ids and machine codes only: never message
 * contents, answers or names (BRIEF §9, privacy).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** The error's class and code, never its message: messages from libraries may quote user data. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown; errcode?: unknown }).errcode ?? (error as { code?: unknown }).code;
    return { error: error.name, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
  }
  return { error: typeof error };
}
