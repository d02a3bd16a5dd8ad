import { DEFAULT_QUIET_HOURS, type QuietHours } from '../../core/scheduling.ts';
import type { Db } from '../../db/database.ts';
import { patientsWithoutRoomDue } from '../../db/schedule.ts';
import { errorFields, type Logger } from '../../core/logging.ts';
import type { Conversations } from '../conversations.ts';
import type { FlowCatalog } from '../flows.ts';
import type { Wake } from '../signal.ts';
import { dueBatch, type DueContext } from './due.ts';
import { expireBatch, remindBatch } from './follow-ups.ts';
import { addResult, emptyResult, type PassResult } from './result.ts';

/**
 * One scheduler pass (docs/scheduling.md), four steps, each in small batches,
 * each batch one transaction: due check-ins start (or are skipped, cancelled,
 * postponed), reminders go out, unanswered check-ins expire, and forms nobody
 * answered in time give way to the chat (docs/tim.md). A row is locked by
 * one transaction at a time and its new status is written in that transaction,
 * so with any number of instances each step happens exactly once per row; a
 * crash rolls the batch back and the next pass redoes it.
 */
export interface SchedulerPassOptions {
  db: Db;
  conversations: Conversations;
  flows: FlowCatalog;
  logger: Logger;
  wake: Wake;
  /** Rows per transaction (default 50). */
  batchSize?: number;
  /** Batches in flight at once in this instance (default 2). */
  concurrency?: number;
  quietHours?: QuietHours;
  /**
   * Opens the direct room of a patient who has none yet (Matrix I/O, before the claims); resolves
   * without waiting when another instance is opening it. With it, a due check-in waits for its room
   * while it is valid; without it such rows are skipped.
   */
  ensureRoom?: (patientId: string) => Promise<unknown>;
  /** Rooms opened at once by one pass (each bot account limits its own further; default 8). */
  roomConcurrency?: number;
}

export type SchedulerPass = (now: Date, isStopped: () => boolean) => Promise<PassResult>;

export function schedulerPass(options: SchedulerPassOptions): SchedulerPass {
  const { db } = options;
  const batchSize = options.batchSize ?? 50;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const log = options.logger.child({ component: 'scheduler' });
  const ctx: DueContext = { conversations: options.conversations, flows: options.flows, quiet: options.quietHours ?? DEFAULT_QUIET_HOURS, log };

  /** Runs `batch` until it claims less than a full batch, on `concurrency` lanes. */
  async function drain(batch: () => Promise<number>, isStopped: () => boolean): Promise<void> {
    const lane = async () => {
      while (!isStopped() && (await batch()) >= batchSize);
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  }

  async function due(now: Date, result: PassResult, filter: { exclude?: readonly string[]; only?: readonly string[] }, claimed: string[]): Promise<number> {
    const batch = await db.transaction((tx) =>
      dueBatch(tx, ctx, now, filter.only ? filter.only.length : batchSize, { ...filter, waitForRoom: options.ensureRoom !== undefined }, claimed),
    );
    addResult(result, batch.result);
    if (batch.started) options.wake.outgoing.notify();
    return batch.claimed.length;
  }

  /**
   * Every patient with a due check-in and no room gets one, a few at a time: a morning burst of a
   * thousand new patients is opened in this pass, not fifty per minute. A room that cannot be opened
   * now is tried again by the next pass; its check-in waits meanwhile.
   */
  async function openRooms(ensureRoom: (patientId: string) => Promise<unknown>, now: Date, isStopped: () => boolean): Promise<void> {
    const tried: string[] = [];
    for (;;) {
      const batch = await patientsWithoutRoomDue(db, now, 200, tried);
      if (batch.length === 0 || isStopped()) return;
      tried.push(...batch);
      let next = 0;
      const lane = async () => {
        while (next < batch.length && !isStopped()) {
          const patientId = batch[next++]!;
          await ensureRoom(patientId).catch((error: unknown) => log.warn('could not open a patient room', { patientId, ...errorFields(error) }));
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, options.roomConcurrency ?? 8) }, lane));
    }
  }

  return async (now, isStopped) => {
    const result = emptyResult();
    const failed = new Set<string>();
    const startDue = () =>
      drain(async () => {
        const ids: string[] = [];
        try {
          return await due(now, result, { exclude: [...failed] }, ids);
        } catch (error) {
          log.error('scheduler batch failed; retrying its rows one by one', errorFields(error));
          if (ids.length === 0) {
            result.failed += 1;
            throw new Error('scheduler batch failed before claiming');
          }
          for (const id of ids) {
            try {
              await due(now, result, { only: [id] }, []);
            } catch (single) {
              failed.add(id);
              result.failed += 1;
              log.error('scheduled check-in failed', { scheduledCheckinId: id, ...errorFields(single) });
            }
          }
          return batchSize;
        }
      }, isStopped);
    if (options.ensureRoom) {
      // Check-ins start as their rooms open, not after the last room of a burst.
      let opened = false;
      const opening = openRooms(options.ensureRoom, now, isStopped).finally(() => {
        opened = true;
      });
      opening.catch(() => {});
      while (!opened && !isStopped()) {
        await startDue();
        await Promise.race([opening, new Promise((resolve) => setTimeout(resolve, 250))]);
      }
      await opening;
    }
    await startDue();
    const followUp = (step: string) => (error: unknown) => {
      log.error(`scheduler ${step} batch failed`, errorFields(error));
      result.failed += 1;
      return 0; // ends this step for the pass; the next pass tries again
    };
    await drain(
      () =>
        db
          .transaction((tx) => remindBatch(tx, log, now, batchSize))
          .then(({ claimed, sent }) => {
            result.reminded += sent;
            if (sent > 0) options.wake.outgoing.notify();
            return claimed;
          })
          .catch(followUp('reminder')),
      isStopped,
    );
    await drain(
      () =>
        db
          .transaction((tx) => expireBatch(tx, log, now, batchSize))
          .then(({ claimed, expired }) => {
            result.expired += expired;
            if (expired > 0) options.wake.escalations.notify();
            return claimed;
          })
          .catch(followUp('no-response')),
      isStopped,
    );
    // Forms nobody answered in time: the chat takes over (each in its own transaction, patient first).
    try {
      while (!isStopped()) {
        const fell = await options.conversations.fallBackDue(now, batchSize);
        result.formsFellBack += fell;
        if (fell < batchSize) break;
      }
    } catch (error) {
      followUp('form fallback')(error);
    }
    if (result.started + result.skipped + result.cancelled + result.postponed + result.reminded + result.expired + result.formsFellBack + result.failed > 0)
      log.info('scheduler pass', { ...result });
    return result;
  };
}
