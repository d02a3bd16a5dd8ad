import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Language } from '../core/language.ts';
import type { Db } from './database.ts';
import { patients } from './schema.ts';

export type Patient = typeof patients.$inferSelect;

export interface Enrollment {
  orgId: string;
  matrixUserId: string;
  language: Language;
  displayName?: string;
  timeZone?: string;
}

/** Creates the patient, or returns the existing one for that Matrix id (enrolling twice is harmless). */
export async function enrollPatient(db: Db, enrollment: Enrollment): Promise<Patient> {
  const [created] = await db
    .insert(patients)
    .values({
      orgId: enrollment.orgId,
      matrixUserId: enrollment.matrixUserId,
      language: enrollment.language,
      displayName: enrollment.displayName ?? null,
      ...(enrollment.timeZone ? { timeZone: enrollment.timeZone } : {}),
    })
    .onConflictDoNothing({ target: [patients.orgId, patients.matrixUserId] })
    .returning();
  if (created) return created;
  const [existing] = await db
    .select()
    .from(patients)
    .where(and(eq(patients.orgId, enrollment.orgId), eq(patients.matrixUserId, enrollment.matrixUserId)));
  return existing!;
}

export async function findPatient(db: Db, orgId: string, matrixUserId: string): Promise<Patient | undefined> {
  const [row] = await db
    .select()
    .from(patients)
    .where(and(eq(patients.orgId, orgId), eq(patients.matrixUserId, matrixUserId)));
  return row;
}

/** Is this Matrix user enrolled anywhere? (The bot's invite policy; reveals nothing to the inviter.) */
export async function isEnrolledAnywhere(db: Db, matrixUserId: string): Promise<boolean> {
  const [row] = await db.select({ id: patients.id }).from(patients).where(eq(patients.matrixUserId, matrixUserId)).limit(1);
  return row !== undefined;
}

/**
 * A patient invited the bot into a room: it becomes their direct room in the
 * first enrollment that has none yet (a patient of two organisations gets one
 * room per organisation; the bot opens the others itself).
 */
export async function adoptRoom(db: Db, matrixUserId: string, roomId: string): Promise<void> {
  const [candidate] = await db
    .select({ id: patients.id })
    .from(patients)
    .where(and(eq(patients.matrixUserId, matrixUserId), isNull(patients.roomId)))
    .orderBy(patients.createdAt)
    .limit(1);
  if (candidate) await setPatientRoom(db, candidate.id, roomId);
}

/** Records the patient's direct room unless one is already recorded; returns the room in force. */
export async function setPatientRoom(db: Db, patientId: string, roomId: string): Promise<string> {
  const [updated] = await db
    .update(patients)
    .set({ roomId, updatedAt: new Date() })
    .where(and(eq(patients.id, patientId), isNull(patients.roomId)))
    .returning({ roomId: patients.roomId });
  if (updated?.roomId) return updated.roomId;
  const [row] = await db.select({ roomId: patients.roomId }).from(patients).where(eq(patients.id, patientId));
  return row?.roomId ?? roomId;
}

/** Is this Matrix user a patient of this organisation? (an organisation's own bot account follows only their invites) */
export async function isEnrolledIn(db: Db, orgId: string, matrixUserId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: patients.id })
    .from(patients)
    .where(and(eq(patients.orgId, orgId), eq(patients.matrixUserId, matrixUserId)))
    .limit(1);
  return row !== undefined;
}

/**
 * Claims the opening of a patient's direct room for this caller: true when
 * nobody opens it now (or an earlier opener gave no sign of life for
 * `staleMs`). Two instances (or the API and the scheduler) never open two
 * rooms for one patient.
 */
export async function claimRoomOpening(db: Db, patientId: string, staleMs: number): Promise<boolean> {
  const claimed = await db
    .update(patients)
    .set({ roomRequestedAt: sql`now()` })
    .where(
      and(
        eq(patients.id, patientId),
        isNull(patients.roomId),
        or(isNull(patients.roomRequestedAt), lt(patients.roomRequestedAt, sql`now() - make_interval(secs => ${staleMs / 1000})`)),
      ),
    )
    .returning({ id: patients.id });
  return claimed.length > 0;
}

/** Gives a claim up after the room could not be opened, so the next attempt may try at once. */
export async function releaseRoomOpening(db: Db, patientId: string): Promise<void> {
  await db
    .update(patients)
    .set({ roomRequestedAt: null })
    .where(and(eq(patients.id, patientId), isNull(patients.roomId)));
}
