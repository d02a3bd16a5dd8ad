import { and, eq, inArray, isNull, lte } from 'drizzle-orm';
import cron, { type ScheduledTask } from 'node-cron';
import type { Conversations } from '../bots/conversations.ts';
import { renderMessage } from '../bots/render.ts';
import type { Flow } from '../core/flow/model.ts';
import { translator } from '../core/i18n.ts';
import { isLanguage, isRightToLeft } from '../core/language.ts';
import { decideDue, DEFAULT_QUIET_HOURS, type QuietHours } from '../core/scheduling.ts';
import { enqueue, lockPatientById, type Tx } from '../db/conversations.ts';
import type { Db } from '../db/database.ts';
import {
  claimDue,
  claimExpiries,
  claimReminders,
  dueSiblings,
  markExpiryChecked,
  markNotStarted,
  markReminderChecked,
  markStarted,
  postpone,
  type ClaimedDue,
  type ClaimedFollowUp,
} from '../db/schedule.ts';
import { checkins, enrollments, escalations, patients, scheduledCheckins } from '../db/schema.ts';
import { errorFields, type Logger } from './logger.ts';

/**
 * The scheduler (imperative shell; decisions in core/scheduling.ts, queries in
 * db/schedule.ts; docs/scheduling.md). Every tick runs one pass of three
 * steps, each in small batches, each batch one transaction:
 *
 * 1. due: claim due pending rows (`FOR UPDATE SKIP LOCKED`), decide, and in the
 *    same transaction start the check-in / skip / cancel / postpone the row;
 * 2. reminders: at `remind_at`, one reminder for a check-in that is still open;
 * 3. no response: at `expires_at`, an open check-in ends as `expired` and a
 *    `no_response` escalation is written.
 *
 * A row is locked by one transaction at a time and its new status is written
 * in that transaction, so with any number of instances each step happens
 * exactly once per row; a crash rolls the batch back and the next pass redoes it.
 */

export const DEFAULT_SCHEDULER_CRON = '* * * * *';

export interface SchedulerOptions {
  db: Db;
  conversations: Conversations;
  flows: ReadonlyMap<string, Flow>;
  logger: Logger;
  /** node-cron expression (VISITE_SCHEDULER_CRON); false: no ticks, only `runOnce` (tests, bench). */
  cron: string | false;
  /** Rows per transaction (default 50). */
  batchSize?: number;
  /** Batches in flight at once in this instance (default 2). */
  concurrency?: number;
  quietHours?: QuietHours;
  /** Run one pass right away (default true). */
  runAtStart?: boolean;
  /** Called after each pass (metrics). */
  onPass?: (result: PassResult) => void;
  /**
   * Opens the direct room of a patient who has none yet (Matrix I/O, so it
   * runs before the claiming transactions). Without it such rows are skipped.
   */
  ensureRoom?: (patientId: string) => Promise<void>;
}

export interface PassResult {
  started: number;
  skipped: number;
  cancelled: number;
  postponed: number;
  reminded: number;
  expired: number;
  /** Failed attempts in this pass (the rows stay as they were and are retried by the next pass). */
  failed: number;
  /** Largest delay between a started row's due time and its start, in ms. */
  maxLagMs: number;
}

export interface Scheduler {
  /** One full pass at `now` (default: the current time). Safe to run on several instances at once. */
  runOnce(now?: Date): Promise<PassResult>;
  /** Stops ticking and waits for running passes. */
  stop(): Promise<void>;
}

const emptyResult = (): PassResult => ({ started: 0, skipped: 0, cancelled: 0, postponed: 0, reminded: 0, expired: 0, failed: 0, maxLagMs: 0 });

const OPEN = ['pending', 'active'] as const;

export function startScheduler(options: SchedulerOptions): Scheduler {
  const { db, conversations, flows, logger } = options;
  const batchSize = options.batchSize ?? 50;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const quiet = options.quietHours ?? DEFAULT_QUIET_HOURS;
  const log = logger.child({ component: 'scheduler' });
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  /** Decides and applies one claimed due row inside the batch's transaction. */
  async function handleDue(tx: Tx, row: ClaimedDue, siblings: Parameters<typeof decideDue>[1], now: Date, result: PassResult, startedQueued: { any: boolean }) {
    const decision = decideDue(row, siblings, {
      now,
      enrollmentActive: row.enrollmentStatus === 'active',
      monitoring: row.monitoring,
      consent: row.consent,
      hasRoom: row.roomId !== null,
      flowDeployed: flows.has(row.flowId),
      timeZone: row.timeZone,
      quiet,
    });
    switch (decision.action) {
      case 'start': {
        const started = await conversations.startCheckinInTx(tx, row.patientId, row.flowId, now, { enrollmentId: row.enrollmentId });
        await markStarted(tx, row.id, started.checkinId, now);
        result.started += 1;
        result.maxLagMs = Math.max(result.maxLagMs, Date.now() - row.dueAt.getTime());
        startedQueued.any = true;
        log.debug('scheduled check-in started', { scheduledCheckinId: row.id, checkinId: started.checkinId, day: row.day });
        return;
      }
      case 'postpone':
        await postpone(tx, row.id, decision.dueAt, decision.remindAt);
        result.postponed += 1;
        log.debug('scheduled check-in postponed (quiet hours)', { scheduledCheckinId: row.id });
        return;
      case 'skip':
      case 'cancel':
        await markNotStarted(tx, [row.id], decision.action === 'skip' ? 'skipped' : 'cancelled', decision.reason);
        if (decision.action === 'skip') result.skipped += 1;
        else result.cancelled += 1;
        if (decision.reason === 'no_room' || decision.reason === 'unknown_flow') {
          log.warn('scheduled check-in skipped', { scheduledCheckinId: row.id, reason: decision.reason });
        } else {
          log.debug(`scheduled check-in ${decision.action === 'skip' ? 'skipped' : 'cancelled'}`, { scheduledCheckinId: row.id, reason: decision.reason });
        }
        return;
    }
  }

  /** Claims one batch of due rows and handles it; returns how many rows it claimed. */
  async function dueBatch(now: Date, result: PassResult, failed: Set<string>, ids: string[], only?: string[]): Promise<number> {
    const queued = { any: false };
    const local = emptyResult();
    const claimed = await db.transaction(async (tx) => {
      const rows = await claimDue(tx, now, only ? only.length : batchSize, only ? { only } : { exclude: [...failed] });
      ids.push(...rows.map((r) => r.id));
      if (rows.length === 0) return 0;
      const siblings = await dueSiblings(
        tx,
        rows.map((r) => r.enrollmentId),
        now,
      );
      // Patients are locked in one global order, so batches of two instances cannot deadlock.
      rows.sort((a, b) => (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : a.dueAt.getTime() - b.dueAt.getTime()));
      for (const row of rows) await handleDue(tx, row, siblings.get(row.enrollmentId) ?? [], now, local, queued);
      return rows.length;
    });
    add(result, local);
    if (queued.any) conversations.outgoingQueued();
    return claimed;
  }

  async function remindBatch(now: Date, result: PassResult): Promise<number> {
    let sent = 0;
    const claimed = await db.transaction(async (tx) => {
      const rows = sortByPatient(await claimReminders(tx, now, batchSize));
      for (const row of rows) {
        const send = await stillOpen(tx, row);
        if (send) {
          const lang = isLanguage(send.language) ? send.language : 'de';
          const text = translator(lang)('reminder.text');
          await enqueue(tx, send.roomId, [{ content: renderMessage({ kind: 'question', text, lang, rtl: isRightToLeft(lang) }) }]);
          sent += 1;
          log.debug('reminder queued', { scheduledCheckinId: row.id, checkinId: row.checkinId });
        }
        await markReminderChecked(tx, row.id, now, send !== undefined);
      }
      return rows.length;
    });
    result.reminded += sent;
    if (sent > 0) conversations.outgoingQueued();
    return claimed;
  }

  /** The patient (locked) when the row's check-in is still open and a message can reach them. */
  async function stillOpen(tx: Tx, row: ClaimedFollowUp) {
    if (!row.checkinId) return undefined;
    const patient = await lockPatientById(tx, row.patientId);
    if (!patient || patient.monitoring !== 'active' || !patient.roomId) return undefined;
    const [open] = await tx
      .select({ id: checkins.id })
      .from(checkins)
      .where(and(eq(checkins.id, row.checkinId), inArray(checkins.status, [...OPEN])));
    return open ? { roomId: patient.roomId, language: patient.language } : undefined;
  }

  async function expireBatch(now: Date, result: PassResult): Promise<number> {
    let expired = 0;
    const claimed = await db.transaction(async (tx) => {
      const rows = sortByPatient(await claimExpiries(tx, now, batchSize));
      for (const row of rows) {
        if (row.checkinId) {
          // Lock the patient first (as a conversation turn does), then end the check-in only if still open.
          await lockPatientById(tx, row.patientId);
          const ended = await tx
            .update(checkins)
            .set({ status: 'expired', endedAt: now, updatedAt: now })
            .where(and(eq(checkins.id, row.checkinId), inArray(checkins.status, [...OPEN])))
            .returning({ id: checkins.id });
          if (ended.length > 0) {
            await tx.insert(escalations).values({
              patientId: row.patientId,
              checkinId: row.checkinId,
              kind: 'no_response',
              severity: 'warning',
              details: { scheduledCheckinId: row.id, flowId: row.flowId, day: row.day, status: row.checkinStatus },
            });
            expired += 1;
            log.info('check-in expired without response', { scheduledCheckinId: row.id, checkinId: row.checkinId });
          }
        }
        await markExpiryChecked(tx, row.id, now);
      }
      return rows.length;
    });
    result.expired += expired;
    return claimed;
  }

  /** Runs `batch` until it claims less than a full batch, on `concurrency` lanes. */
  async function drain(batch: () => Promise<number>): Promise<void> {
    const lane = async () => {
      while (!stopped && (await batch()) >= batchSize);
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  }

  /** Patients with a due check-in but no room yet get one first (best effort; the claim re-checks). */
  async function prepareRooms(now: Date, ensureRoom: (patientId: string) => Promise<void>): Promise<void> {
    const rows = await db
      .selectDistinct({ patientId: patients.id })
      .from(scheduledCheckins)
      .innerJoin(enrollments, eq(enrollments.id, scheduledCheckins.enrollmentId))
      .innerJoin(patients, eq(patients.id, enrollments.patientId))
      .where(and(eq(scheduledCheckins.status, 'pending'), lte(scheduledCheckins.dueAt, now), isNull(patients.roomId)))
      .limit(50);
    for (const { patientId } of rows) {
      await ensureRoom(patientId).catch((error: unknown) => log.warn('could not open a patient room', { patientId, ...errorFields(error) }));
    }
  }

  async function pass(now: Date): Promise<PassResult> {
    const result = emptyResult();
    const failed = new Set<string>();
    if (options.ensureRoom) await prepareRooms(now, options.ensureRoom);
    await drain(async () => {
      const ids: string[] = [];
      try {
        return await dueBatch(now, result, failed, ids);
      } catch (error) {
        log.error('scheduler batch failed; retrying its rows one by one', errorFields(error));
        // The batch rolled back. Find the row that fails and leave only it for the next pass.
        await retrySingly(now, result, failed, ids);
        return batchSize;
      }
    });
    await drain(() => remindBatch(now, result).catch((error: unknown) => failedStep('reminder', error, result)));
    await drain(() => expireBatch(now, result).catch((error: unknown) => failedStep('no-response', error, result)));
    if (result.started + result.skipped + result.cancelled + result.postponed + result.reminded + result.expired + result.failed > 0) {
      log.info('scheduler pass', { ...result });
    }
    options.onPass?.(result);
    return result;
  }

  function failedStep(step: string, error: unknown, result: PassResult): number {
    log.error(`scheduler ${step} batch failed`, errorFields(error));
    result.failed += 1;
    return 0; // ends this step for the pass; the next pass tries again
  }

  async function retrySingly(now: Date, result: PassResult, failed: Set<string>, ids: string[]) {
    if (ids.length === 0) {
      // The failure came before the claim (e.g. the database is away): give up for this pass.
      result.failed += 1;
      throw new Error('scheduler batch failed before claiming');
    }
    for (const id of ids) {
      try {
        await dueBatch(now, result, failed, [], [id]);
      } catch (error) {
        failed.add(id);
        result.failed += 1;
        log.error('scheduled check-in failed', { scheduledCheckinId: id, ...errorFields(error) });
      }
    }
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    running.add(promise);
    void promise.finally(() => running.delete(promise)).catch(() => {});
    return promise;
  }

  const runOnce = (now: Date = new Date()) => track(pass(now));

  let task: ScheduledTask | undefined;
  if (options.cron !== false) {
    if (!cron.validate(options.cron)) throw new Error(`invalid scheduler cron expression "${options.cron}"`);
    task = cron.schedule(
      options.cron,
      async () => {
        try {
          await runOnce();
        } catch (error) {
          log.error('scheduler pass failed', errorFields(error));
        }
      },
      {
        name: 'visite-scheduler',
        noOverlap: true,
        // node-cron's own notices (missed or overlapping ticks) go to the app log, without error texts.
        logger: {
          info: () => {},
          debug: () => {},
          warn: (message) => log.warn('scheduler tick', { notice: message.startsWith('task still running') ? 'overlap' : message.startsWith('missed execution') ? 'missed' : 'other' }),
          error: (message) => log.error('scheduler tick failed', message instanceof Error ? errorFields(message) : {}),
        },
      },
    );
  }
  if (options.runAtStart ?? true) {
    runOnce().catch((error: unknown) => log.error('scheduler pass failed', errorFields(error)));
  }

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (task) await task.destroy();
      await Promise.allSettled([...running]);
    },
  };
}

function add(into: PassResult, from: PassResult) {
  into.started += from.started;
  into.skipped += from.skipped;
  into.cancelled += from.cancelled;
  into.postponed += from.postponed;
  into.reminded += from.reminded;
  into.expired += from.expired;
  into.failed += from.failed;
  into.maxLagMs = Math.max(into.maxLagMs, from.maxLagMs);
}

function sortByPatient<T extends { patientId: string }>(rows: T[]): T[] {
  return rows.sort((a, b) => (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0));
}
