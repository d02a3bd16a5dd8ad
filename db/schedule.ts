import { and, asc, eq, gt, inArray, isNull, lte, notInArray, or, sql } from 'drizzle-orm';
import type { Schedule } from '../core/flow/model.ts';
import { planCheckins, type QuietHours, type SiblingRow } from '../core/scheduling.ts';
import type { Db, Tx } from './database.ts';
import { checkins, enrollments, escalations, patients, scheduledCheckins } from './schema.ts';

/**
 * The scheduled check-ins of enrollments (docs/scheduling.md): materialised
 * once from the flow's schedule, then claimed by the scheduler with
 * `FOR UPDATE SKIP LOCKED` so several instances share the work and none
 * handles a row twice. Decisions are in core/scheduling.ts.
 */

type Queryable = Db | Tx;

export type ScheduledRow = typeof scheduledCheckins.$inferSelect;

export interface ScheduleEnrollment {
  enrollmentId: string;
  orgId: string;
  anchorDate: string;
  /** The flow's schedule template. */
  schedule: Schedule;
  /** The patient's own time zone; it wins over the flow's. */
  timeZone: string;
  quietHours?: QuietHours;
}

/**
 * Writes the enrollment's check-ins (one per schedule day). Idempotent: a day
 * that already has a row keeps it. Rows in the past are written too; the
 * scheduler starts the newest still valid one and skips the rest.
 */
export async function scheduleEnrollment(db: Queryable, input: ScheduleEnrollment): Promise<number> {
  const planned = planCheckins(input.schedule, input.anchorDate, input.timeZone, input.quietHours);
  if (planned.length === 0) return 0;
  const inserted = await db
    .insert(scheduledCheckins)
    .values(
      planned.map((p) => ({ orgId: input.orgId, enrollmentId: input.enrollmentId, day: p.day, dueAt: p.dueAt, remindAt: p.remindAt, expiresAt: p.expiresAt })),
    )
    .onConflictDoNothing({ target: [scheduledCheckins.enrollmentId, scheduledCheckins.day] })
    .returning({ id: scheduledCheckins.id });
  return inserted.length;
}

export type CancelReason = 'enrollment_ended' | 'monitoring_stopped' | 'consent_refused' | 'consent_withdrawn' | 'erased' | 'cancelled';

/**
 * Cancels the pending (not yet started) check-ins of one enrollment or of all
 * enrollments of a patient: on stop, end of enrollment or erasure. Started
 * check-ins are the conversation's business (stop cancels the open one).
 */
export async function cancelPendingCheckins(
  db: Queryable,
  target: { enrollmentId: string } | { patientId: string },
  reason: CancelReason = 'cancelled',
): Promise<number> {
  const which =
    'enrollmentId' in target
      ? eq(scheduledCheckins.enrollmentId, target.enrollmentId)
      : inArray(scheduledCheckins.enrollmentId, db.select({ id: enrollments.id }).from(enrollments).where(eq(enrollments.patientId, target.patientId)));
  const rows = await db
    .update(scheduledCheckins)
    .set({ status: 'cancelled', reason })
    .where(and(which, eq(scheduledCheckins.status, 'pending')))
    .returning({ id: scheduledCheckins.id });
  return rows.length;
}

export interface ClaimedDue {
  id: string;
  enrollmentId: string;
  day: number;
  dueAt: Date;
  remindAt: Date | null;
  expiresAt: Date | null;
  orgId: string;
  patientId: string;
  flowId: string;
  /** The enrollment's pinned flow version, if any. */
  flowVersion: string | null;
  enrollmentStatus: 'active' | 'ended';
  monitoring: 'active' | 'paused' | 'stopped';
  consent: 'none' | 'asked' | 'given' | 'refused' | 'withdrawn';
  timeZone: string;
  roomId: string | null;
}

/**
 * Locks up to `limit` due pending rows that no other transaction holds
 * (`FOR UPDATE OF scheduled_checkins SKIP LOCKED`), oldest first, with what the
 * decision needs about enrollment and patient. The locks last until the
 * caller's transaction ends, in which it also records the outcome.
 */
/** Which due rows a batch claims; `waitForRoom`: a patient's row waits for their room while it is still valid. */
export interface DueFilter {
  exclude?: readonly string[];
  only?: readonly string[];
  waitForRoom?: boolean;
}

/** How long a due check-in of a patient without a room waits for it when the row has no expiry of its own. */
const ROOM_WAIT = sql`interval '6 hours'`;

export async function claimDue(tx: Tx, now: Date, limit: number, filter: DueFilter = {}): Promise<ClaimedDue[]> {
  const rows = await tx
    .select({
      id: scheduledCheckins.id,
      enrollmentId: scheduledCheckins.enrollmentId,
      day: scheduledCheckins.day,
      dueAt: scheduledCheckins.dueAt,
      remindAt: scheduledCheckins.remindAt,
      expiresAt: scheduledCheckins.expiresAt,
      orgId: scheduledCheckins.orgId,
      patientId: enrollments.patientId,
      flowId: enrollments.flowId,
      flowVersion: enrollments.flowVersion,
      enrollmentStatus: enrollments.status,
      monitoring: patients.monitoring,
      consent: patients.consent,
      timeZone: patients.timeZone,
      roomId: patients.roomId,
    })
    .from(scheduledCheckins)
    .innerJoin(enrollments, eq(enrollments.id, scheduledCheckins.enrollmentId))
    .innerJoin(patients, eq(patients.id, enrollments.patientId))
    .where(
      and(
        eq(scheduledCheckins.status, 'pending'),
        lte(scheduledCheckins.dueAt, now),
        filter.exclude && filter.exclude.length > 0 ? notInArray(scheduledCheckins.id, [...filter.exclude]) : undefined,
        filter.only ? inArray(scheduledCheckins.id, [...filter.only]) : undefined,
        // Its room is being opened (by this pass or another instance): not skipped as "no room" meanwhile.
        filter.waitForRoom
          ? sql`(${patients.roomId} is not null or coalesce(${scheduledCheckins.expiresAt}, ${scheduledCheckins.dueAt} + ${ROOM_WAIT}) <= ${now.toISOString()}::timestamptz)`
          : undefined,
      ),
    )
    .orderBy(asc(scheduledCheckins.dueAt))
    .limit(limit)
    .for('update', { of: scheduledCheckins, skipLocked: true });
  return rows;
}

/** All rows of these enrollments that are due by `now` (plain read, no locks), for the overdue decision. */
export async function dueSiblings(tx: Tx, enrollmentIds: readonly string[], now: Date): Promise<Map<string, SiblingRow[]>> {
  const bySibling = new Map<string, SiblingRow[]>();
  if (enrollmentIds.length === 0) return bySibling;
  const rows = await tx
    .select({
      id: scheduledCheckins.id,
      enrollmentId: scheduledCheckins.enrollmentId,
      dueAt: scheduledCheckins.dueAt,
      expiresAt: scheduledCheckins.expiresAt,
      status: scheduledCheckins.status,
    })
    .from(scheduledCheckins)
    .where(and(inArray(scheduledCheckins.enrollmentId, [...new Set(enrollmentIds)]), lte(scheduledCheckins.dueAt, now)));
  for (const { enrollmentId, ...row } of rows) {
    const list = bySibling.get(enrollmentId) ?? [];
    list.push(row);
    bySibling.set(enrollmentId, list);
  }
  return bySibling;
}

export async function markStarted(tx: Tx, id: string, checkinId: string, now: Date): Promise<void> {
  await tx.update(scheduledCheckins).set({ status: 'started', checkinId, startedAt: now }).where(eq(scheduledCheckins.id, id));
}

export async function markNotStarted(tx: Tx, ids: readonly string[], status: 'skipped' | 'cancelled', reason: string): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .update(scheduledCheckins)
    .set({ status, reason })
    .where(inArray(scheduledCheckins.id, [...ids]));
}

export async function postpone(tx: Tx, id: string, dueAt: Date, remindAt: Date | null): Promise<void> {
  await tx.update(scheduledCheckins).set({ dueAt, remindAt }).where(eq(scheduledCheckins.id, id));
}

export interface ClaimedFollowUp {
  id: string;
  day: number;
  patientId: string;
  checkinId: string | null;
  flowId: string;
  /** Status of the check-in the row started (null if it is gone). */
  checkinStatus: (typeof checkins.$inferSelect)['status'] | null;
}

function followUpSelect(tx: Tx) {
  return tx
    .select({
      id: scheduledCheckins.id,
      day: scheduledCheckins.day,
      patientId: enrollments.patientId,
      checkinId: scheduledCheckins.checkinId,
      flowId: enrollments.flowId,
      checkinStatus: checkins.status,
    })
    .from(scheduledCheckins)
    .innerJoin(enrollments, eq(enrollments.id, scheduledCheckins.enrollmentId))
    .leftJoin(checkins, eq(checkins.id, scheduledCheckins.checkinId));
}

/**
 * Started rows whose reminder time has come and whose reminder step has not
 * run, while the check-in has not expired yet; locked like `claimDue`.
 */
export async function claimReminders(tx: Tx, now: Date, limit: number): Promise<ClaimedFollowUp[]> {
  return followUpSelect(tx)
    .where(
      and(
        eq(scheduledCheckins.status, 'started'),
        isNull(scheduledCheckins.reminderCheckedAt),
        lte(scheduledCheckins.remindAt, now),
        or(isNull(scheduledCheckins.expiresAt), gt(scheduledCheckins.expiresAt, now)),
      ),
    )
    .orderBy(asc(scheduledCheckins.remindAt))
    .limit(limit)
    .for('update', { of: scheduledCheckins, skipLocked: true });
}

/** Started rows past their expiry whose no-response step has not run; locked like `claimDue`. */
export async function claimExpiries(tx: Tx, now: Date, limit: number): Promise<ClaimedFollowUp[]> {
  return followUpSelect(tx)
    .where(and(eq(scheduledCheckins.status, 'started'), isNull(scheduledCheckins.expiryCheckedAt), lte(scheduledCheckins.expiresAt, now)))
    .orderBy(asc(scheduledCheckins.expiresAt))
    .limit(limit)
    .for('update', { of: scheduledCheckins, skipLocked: true });
}

export async function markReminderChecked(tx: Tx, id: string, now: Date, sent: boolean): Promise<void> {
  await tx
    .update(scheduledCheckins)
    .set({ reminderCheckedAt: now, ...(sent ? { remindedAt: now } : {}) })
    .where(eq(scheduledCheckins.id, id));
}

export async function markExpiryChecked(tx: Tx, id: string, now: Date): Promise<void> {
  await tx
    .update(scheduledCheckins)
    .set({ expiryCheckedAt: now, reminderCheckedAt: sql`coalesce(${scheduledCheckins.reminderCheckedAt}, ${now.toISOString()}::timestamptz)` })
    .where(eq(scheduledCheckins.id, id));
}

/** The patient's room and language when the row's check-in is still open and monitoring is active (patient row locked). */
export async function openCheckinContact(tx: Tx, row: ClaimedFollowUp): Promise<{ roomId: string; language: string } | undefined> {
  if (!row.checkinId) return undefined;
  const [patient] = await tx.select().from(patients).where(eq(patients.id, row.patientId)).for('update');
  if (!patient || patient.monitoring !== 'active' || !patient.roomId) return undefined;
  const [open] = await tx
    .select({ id: checkins.id })
    .from(checkins)
    .where(and(eq(checkins.id, row.checkinId), inArray(checkins.status, ['pending', 'active'])));
  return open ? { roomId: patient.roomId, language: patient.language } : undefined;
}

/**
 * Ends a check-in still open at its `expires_at` as `expired` and records a
 * `no_response` escalation; the patient row is locked first, as a turn does.
 * Returns false when the check-in had ended already.
 */
export async function expireCheckin(tx: Tx, row: ClaimedFollowUp, now: Date): Promise<boolean> {
  if (!row.checkinId) return false;
  await tx.select({ id: patients.id }).from(patients).where(eq(patients.id, row.patientId)).for('update');
  const ended = await tx
    .update(checkins)
    .set({ status: 'expired', endedAt: now, updatedAt: now })
    .where(and(eq(checkins.id, row.checkinId), inArray(checkins.status, ['pending', 'active'])))
    .returning({ id: checkins.id });
  if (ended.length === 0) return false;
  await tx.insert(escalations).values({
    patientId: row.patientId,
    checkinId: row.checkinId,
    kind: 'no_response',
    severity: 'warning',
    details: { scheduledCheckinId: row.id, flowId: row.flowId, day: row.day, status: row.checkinStatus },
  });
  return true;
}

/** Patients with a due check-in but no room yet (they get one before the claim). */
export async function patientsWithoutRoomDue(db: Db, now: Date, limit: number, exclude: readonly string[] = []): Promise<string[]> {
  const rows = await db
    .selectDistinct({ patientId: patients.id })
    .from(scheduledCheckins)
    .innerJoin(enrollments, eq(enrollments.id, scheduledCheckins.enrollmentId))
    .innerJoin(patients, eq(patients.id, enrollments.patientId))
    .where(
      and(
        eq(scheduledCheckins.status, 'pending'),
        lte(scheduledCheckins.dueAt, now),
        isNull(patients.roomId),
        exclude.length > 0 ? notInArray(patients.id, [...exclude]) : undefined,
      ),
    )
    .limit(limit);
  return rows.map((r) => r.patientId);
}
