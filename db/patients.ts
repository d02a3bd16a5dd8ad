import { and, eq, isNull } from 'drizzle-orm';
import type { Language } from '../core/language.ts';
import type { Db } from './database.ts';
import { patients } from './schema.ts';

export type Patient = typeof patients.$inferSelect;

export interface Enrollment {
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
      matrixUserId: enrollment.matrixUserId,
      language: enrollment.language,
      displayName: enrollment.displayName ?? null,
      ...(enrollment.timeZone ? { timeZone: enrollment.timeZone } : {}),
    })
    .onConflictDoNothing({ target: patients.matrixUserId })
    .returning();
  if (created) return created;
  const [existing] = await db.select().from(patients).where(eq(patients.matrixUserId, enrollment.matrixUserId));
  return existing!;
}

export async function findPatientByMatrixId(db: Db, matrixUserId: string): Promise<Patient | undefined> {
  const [row] = await db.select().from(patients).where(eq(patients.matrixUserId, matrixUserId));
  return row;
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
