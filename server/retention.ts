import { sql } from 'drizzle-orm';
import cron, { type ScheduledTask } from 'node-cron';
import type { Db } from '../db/database.ts';
import { erasePatient } from '../db/erasure.ts';
import { answers, checkins, enrollments, escalations, organisations, patients, scheduledCheckins } from '../db/schema.ts';
import { writeAudit } from './api/audit.ts';
import type { PatientContact } from './api/env.ts';
import { errorFields, type Logger } from './logger.ts';

/**
 * Storage limitation (GDPR Art. 5(1)(e), BSI TR-03161 O.Data_7): a patient
 * whose last activity is older than their organisation's `retention_days` is
 * erased exactly as by `DELETE /v1/patients/{id}` — everything about them
 * except audit entries (ids only) — and the bot leaves and forgets their room.
 *
 * Last activity is the latest of: the patient row's update (registration,
 * consent, language, stop), any check-in's update, any answer, any alert, any
 * enrollment, and any scheduled check-in still to come — so a patient with a
 * future check-in is never erased.
 *
 * Safe on several instances at once: `erasePatient` locks the row, and a
 * patient another instance erased first is skipped without an audit entry.
 */

export const DEFAULT_RETENTION_CRON = '17 3 * * *';

export interface RetentionResult {
  erased: number;
  /** Patients whose erasure failed (left for the next run). */
  failed: number;
}

const BATCH = 200;

/** Patients past their organisation's retention at `now`, oldest activity first. */
async function expired(db: Db, now: Date, limit: number, skip: string[]): Promise<Array<{ id: string; orgId: string }>> {
  const lastActivity = sql`greatest(
    ${patients.updatedAt},
    (select max(${checkins.updatedAt}) from ${checkins} where ${checkins.patientId} = ${patients.id}),
    (select max(${answers.answeredAt}) from ${answers} join ${checkins} on ${checkins.id} = ${answers.checkinId} where ${checkins.patientId} = ${patients.id}),
    (select max(${escalations.createdAt}) from ${escalations} where ${escalations.patientId} = ${patients.id}),
    (select max(${enrollments.createdAt}) from ${enrollments} where ${enrollments.patientId} = ${patients.id}),
    (select max(${scheduledCheckins.dueAt}) from ${scheduledCheckins} join ${enrollments} on ${enrollments.id} = ${scheduledCheckins.enrollmentId}
       where ${enrollments.patientId} = ${patients.id} and ${scheduledCheckins.status} = 'pending')
  )`;
  const cutoff = sql`${now.toISOString()}::timestamptz - make_interval(days => ${organisations.retentionDays})`;
  const notSkipped =
    skip.length > 0
      ? sql`and ${patients.id} not in (${sql.join(
          skip.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})`
      : sql``;
  return db
    .select({ id: patients.id, orgId: patients.orgId })
    .from(patients)
    .innerJoin(organisations, sql`${organisations.id} = ${patients.orgId}`)
    .where(sql`${lastActivity} < ${cutoff} ${notSkipped}`)
    .orderBy(patients.updatedAt)
    .limit(limit);
}

/** One retention pass at `now`: erases every expired patient of every organisation. */
export async function runRetention(db: Db, contact: PatientContact, now: Date = new Date(), options: { logger?: Logger } = {}): Promise<RetentionResult> {
  const log = options.logger;
  const result: RetentionResult = { erased: 0, failed: 0 };
  const failed: string[] = [];
  for (;;) {
    const batch = await expired(db, now, BATCH, failed);
    if (batch.length === 0) break;
    for (const patient of batch) {
      try {
        const erased = await erasePatient(db, patient.orgId, patient.id);
        if (!erased) continue; // another instance was first
        await writeAudit(db, {
          orgId: patient.orgId,
          actorType: 'system',
          actorId: 'retention',
          action: 'patient.retention_erase',
          resourceType: 'Patient',
          resourceId: patient.id,
          outcome: 'ok',
          ip: null,
        });
        result.erased += 1;
        if (erased.roomId) {
          await contact.forgetRoom(erased.roomId).catch((error: unknown) => {
            // The data is gone either way; the bot may stay in the room until an operator removes it.
            log?.warn('retention: leaving the patient room failed', { patientId: patient.id, ...errorFields(error) });
          });
        }
      } catch (error) {
        failed.push(patient.id);
        result.failed += 1;
        log?.error('retention: erasing a patient failed', { patientId: patient.id, ...errorFields(error) });
      }
    }
  }
  if (result.erased + result.failed > 0) log?.info('retention pass', { ...result });
  return result;
}

export interface RetentionOptions {
  db: Db;
  contact: PatientContact;
  logger: Logger;
  /** node-cron expression (default daily at 03:17); false: no schedule, only `runOnce`. */
  cron?: string | false;
}

export interface Retention {
  runOnce(now?: Date): Promise<RetentionResult>;
  /** Stops the schedule and waits for a running pass. */
  stop(): Promise<void>;
}

/** Schedules `runRetention` daily with node-cron. */
export function startRetention(options: RetentionOptions): Retention {
  const log = options.logger.child({ component: 'retention' });
  const running = new Set<Promise<RetentionResult>>();
  const runOnce = (now: Date = new Date()) => {
    const pass = runRetention(options.db, options.contact, now, { logger: log });
    running.add(pass);
    void pass.finally(() => running.delete(pass)).catch(() => {});
    return pass;
  };
  const expression = options.cron ?? DEFAULT_RETENTION_CRON;
  let task: ScheduledTask | undefined;
  if (expression !== false) {
    if (!cron.validate(expression)) throw new Error(`invalid retention cron expression "${expression}"`);
    task = cron.schedule(
      expression,
      async () => {
        try {
          await runOnce();
        } catch (error) {
          log.error('retention pass failed', errorFields(error));
        }
      },
      { name: 'visite-retention', noOverlap: true },
    );
  }
  return {
    runOnce,
    async stop() {
      if (task) await task.destroy();
      await Promise.allSettled([...running]);
    },
  };
}
