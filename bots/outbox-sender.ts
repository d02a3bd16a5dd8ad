import { referencedRow } from '../core/outgoing.ts';
import type { Db, Tx } from '../db/database.ts';
import { claimForSending, dueHeads, markAttemptFailed, markSent, sentEventIdOf, type OutboxRow } from '../db/outbox.ts';
import { errorFields, type Logger } from '../core/logging.ts';
import type { DeliveryOutcomes } from '../services/alerts/outcome.ts';
import type { Signal } from '../services/signal.ts';
import { renderOutgoing } from './render.ts';

/** Sends one event with a fixed transaction id; resolves to the event id. */
export type SendEvent = (roomId: string, eventType: string, txnId: string, content: Record<string, unknown>) => Promise<string>;

export interface SendFailure {
  /** HTTP status, if the homeserver answered. */
  status?: number;
  errcode?: string;
  retryAfterMs?: number;
}

export interface OutboxSender {
  /** Look for work now (after a transaction that enqueued messages). */
  kick(): void;
  stop(): Promise<void>;
}

export const MAX_BACKOFF_MS = 60_000;
/** A request the homeserver refuses for good (not 429, not 5xx) is retried this often, then marked failed. */
export const MAX_REFUSALS = 3;

/**
 * When to try again after a failure: the homeserver's `retry_after_ms` on 429,
 * otherwise exponential backoff from 1 s up to a minute. Pure, for tests.
 */
export function nextAttemptDelay(failure: SendFailure, attempts: number): number {
  if (failure.status === 429 && failure.retryAfterMs !== undefined) return Math.min(Math.max(failure.retryAfterMs, 0), 10 * MAX_BACKOFF_MS);
  return Math.min(1_000 * 2 ** Math.max(attempts - 1, 0), MAX_BACKOFF_MS);
}

export function isPermanent(failure: SendFailure): boolean {
  return failure.status !== undefined && failure.status >= 400 && failure.status < 500 && failure.status !== 429 && failure.status !== 408;
}

function describe(error: unknown): SendFailure {
  const e = error as { statusCode?: number; errcode?: string; retryAfterMs?: number; body?: { retry_after_ms?: number } };
  const failure: SendFailure = {};
  if (typeof e?.statusCode === 'number') failure.status = e.statusCode;
  if (typeof e?.errcode === 'string') failure.errcode = e.errcode;
  const retry = e?.retryAfterMs ?? e?.body?.retry_after_ms;
  if (typeof retry === 'number') failure.retryAfterMs = retry;
  return failure;
}

/**
 * Delivers the durable outbox. Per room strictly in order: only the oldest
 * pending message of a room is eligible, so a message waiting for a retry holds
 * back the ones after it. Rows are claimed with FOR UPDATE SKIP LOCKED, so
 * several instances share the work without sending anything twice; the row
 * stays locked while it is sent, and the fixed transaction id makes a resend
 * after a crash a no-op on the homeserver. Messages are rendered into Matrix
 * content here, just before sending (bots/render.ts).
 */
export function startOutboxSender(options: { db: Db; send: SendEvent; logger: Logger; wake?: Signal; outcomes?: DeliveryOutcomes; pollMs?: number; batch?: number }): OutboxSender {
  const log = options.logger.child({ component: 'outbox' });
  const pollMs = options.pollMs ?? 500;
  const batch = options.batch ?? 20;
  let running = true;
  let wake: (() => void) | undefined;
  let kicked = false;
  const kick = () => {
    kicked = true;
    wake?.();
  };
  const unsubscribe = options.wake?.subscribe(kick);

  /** The Matrix event of a row: its message rendered now (relations resolved), or content queued by an older version. */
  async function eventOf(tx: Tx, row: OutboxRow): Promise<{ type: string; content: Record<string, unknown> }> {
    if (!row.message) return { type: row.eventType, content: (row.content ?? {}) as Record<string, unknown> };
    const related = referencedRow(row.message);
    return renderOutgoing(row.message, related === undefined ? undefined : await sentEventIdOf(tx, related));
  }

  async function sendOne(id: number): Promise<number> {
    return options.db.transaction(async (tx) => {
      // Re-check under the row lock: another instance may have sent it, or it may no longer be due.
      const row = await claimForSending(tx, id, new Date());
      if (!row) return 0;
      try {
        const event = await eventOf(tx, row);
        const eventId = await options.send(row.roomId, event.type, row.txnId, event.content);
        const now = new Date();
        await markSent(tx, row, eventId, now);
        await options.outcomes?.accepted(tx, row, eventId, now);
      } catch (error) {
        const failure = describe(error);
        const attempts = row.attempts + 1;
        const giveUp = isPermanent(failure) && attempts >= MAX_REFUSALS;
        const delay = nextAttemptDelay(failure, attempts);
        await markAttemptFailed(tx, row, { failed: giveUp, error: failure.errcode ?? (failure.status ? `HTTP ${failure.status}` : 'network'), retryAt: new Date(Date.now() + delay) });
        const fields = { outboxId: row.id, roomId: row.roomId, attempts, ...errorFields(error), ...(failure.status ? { status: failure.status } : {}) };
        if (giveUp) {
          log.error('message refused by the homeserver; giving up', fields);
          await options.outcomes?.refused(tx, row, failure.errcode ?? `HTTP_${failure.status ?? 'ERROR'}`, new Date());
        } else {
          log.warn('send failed; will retry', { ...fields, inMs: delay });
        }
      }
      return 1;
    });
  }

  async function drainOnce(): Promise<number> {
    // Candidates first (no lock), then one short transaction per message: a slow or failing room
    // never holds back the bookkeeping of messages already delivered to other rooms.
    let handled = 0;
    for (const id of await dueHeads(options.db, new Date(), batch)) {
      if (!running) break;
      handled += await sendOne(id);
    }
    return handled;
  }

  const loop = (async () => {
    while (running) {
      let sent = 0;
      try {
        kicked = false;
        sent = await drainOnce();
      } catch (error) {
        log.error('outbox pass failed', errorFields(error));
      }
      if (sent > 0 || kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    kick,
    async stop() {
      running = false;
      unsubscribe?.();
      wake?.();
      await loop;
    },
  };
}
