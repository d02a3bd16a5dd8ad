import { LogLevel, LogService } from 'matrix-bot-sdk';
import type { Logger } from '../core/logging.ts';

/**
 * matrix-bot-sdk logs through a global LogService. We route its warnings and
 * errors into our JSON log (as module + a capped text) and drop its chatter:
 * its debug output can include event bodies, which must never reach our logs.
 */
/** Strings pass; errors and HTTP failures are reduced to their name and Matrix errcode. */
function describe(part: unknown): string {
  if (typeof part === 'string') return part;
  if (part instanceof Error) return part.name;
  const body = (part as { body?: { errcode?: unknown } } | null)?.body;
  const errcode = (part as { errcode?: unknown } | null)?.errcode ?? body?.errcode;
  return typeof errcode === 'string' ? errcode : typeof part;
}

export function routeSdkLogs(logger: Logger): { mute(): void } {
  let muted = false;
  const sdk = logger.child({ component: 'matrix-bot-sdk' });
  const text = (module: string, parts: unknown[]) => `${module}: ${parts.map(describe).join(' ')}`.slice(0, 300);
  LogService.setLevel(LogLevel.WARN);
  LogService.setLogger({
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (module: string, ...parts: unknown[]) => muted || sdk.warn(text(module, parts)),
    // A missing account-data entry (m.direct on a fresh account) is an expected 404, not an error.
    error: (module: string, ...parts: unknown[]) => {
      if (muted) return;
      const line = text(module, parts);
      if (line.endsWith('M_NOT_FOUND')) sdk.debug(line);
      else sdk.error(line);
    },
  });
  // After stop, the aborted long-poll /sync fails by design; that is not worth an error line.
  return { mute: () => void (muted = true) };
}
