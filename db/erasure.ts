import { and, eq } from 'drizzle-orm';
import type { Db } from './database.ts';
import { inboundEvents, outbox, patients } from './schema.ts';

/**
 * Erases everything Visite holds about one patient (GDPR Art. 17) in one
 * transaction: the patient row and, by cascade, check-ins, answers, files,
 * escalations, enrollments and scheduled check-ins; plus the rows keyed by
 * the patient's room (outbox, handled-event ids). Audit entries stay: they
 * hold ids only. Returns the room the bot must leave, or null if none.
 */
export async function erasePatient(db: Db, orgId: string, patientId: string): Promise<{ roomId: string | null } | null> {
  return db.transaction(async (tx) => {
    const [patient] = await tx
      .select({ id: patients.id, roomId: patients.roomId })
      .from(patients)
      .where(and(eq(patients.id, patientId), eq(patients.orgId, orgId)))
      .for('update');
    if (!patient) return null;
    if (patient.roomId) {
      await tx.delete(outbox).where(eq(outbox.roomId, patient.roomId));
      await tx.delete(inboundEvents).where(eq(inboundEvents.roomId, patient.roomId));
    }
    await tx.delete(patients).where(eq(patients.id, patient.id));
    return { roomId: patient.roomId };
  });
}
