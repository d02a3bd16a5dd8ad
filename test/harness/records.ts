import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { answers, attachments, checkins, escalations, inboundEvents, outbox, patients } from '../../db/schema.ts';

/** What Visite stored about one patient, read straight from the database. */
export async function recordsOf(db: Db, matrixUserId: string) {
  const [patient] = await db.select().from(patients).where(eq(patients.matrixUserId, matrixUserId));
  if (!patient) throw new Error(`no patient ${matrixUserId}`);
  const checkinRows = await db.select().from(checkins).where(eq(checkins.patientId, patient.id)).orderBy(asc(checkins.createdAt));
  const answerRows = [];
  for (const c of checkinRows) answerRows.push(...(await db.select().from(answers).where(eq(answers.checkinId, c.id))));
  const escalationRows = await db.select().from(escalations).where(eq(escalations.patientId, patient.id)).orderBy(asc(escalations.createdAt));
  const attachmentRows = await db.select().from(attachments).where(eq(attachments.patientId, patient.id));
  const outboxRows = patient.roomId ? await db.select().from(outbox).where(eq(outbox.roomId, patient.roomId)).orderBy(asc(outbox.id)) : [];
  const inbound = patient.roomId ? await db.select().from(inboundEvents).where(eq(inboundEvents.roomId, patient.roomId)) : [];
  const current = answerRows.filter((a) => a.status === 'current');
  return {
    patient,
    checkins: checkinRows,
    answers: current,
    answer: (questionId: string) => current.find((a) => a.questionId === questionId),
    escalations: escalationRows,
    attachments: attachmentRows,
    outbox: outboxRows,
    inbound,
  };
}
