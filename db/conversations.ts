import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { TurnResult } from '../core/conversation/turn.ts';
import type { Db } from './database.ts';
import { answers, attachments, checkins, escalations, outbox, patients } from './schema.ts';

/** A transaction handle: the same query API as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export type PatientRow = typeof patients.$inferSelect;
export type CheckinRow = typeof checkins.$inferSelect;

/**
 * Locks the patient's row for this transaction (one turn per patient at a
 * time, across instances) and reads their open check-in in the same round trip.
 */
export async function lockPatientByRoom(tx: Tx, roomId: string, matrixUserId: string): Promise<{ patient: PatientRow; checkin: CheckinRow | undefined } | undefined> {
  const [row] = await tx
    .select({ patient: patients, checkin: checkins })
    .from(patients)
    .leftJoin(checkins, and(eq(checkins.patientId, patients.id), inArray(checkins.status, ['pending', 'active'])))
    .where(and(eq(patients.roomId, roomId), eq(patients.matrixUserId, matrixUserId)))
    .for('update', { of: patients });
  return row ? { patient: row.patient, checkin: row.checkin ?? undefined } : undefined;
}

export async function lockPatientById(tx: Tx, patientId: string): Promise<PatientRow | undefined> {
  const [row] = await tx.select().from(patients).where(eq(patients.id, patientId)).for('update');
  return row;
}


export interface StoredFile {
  mxcUrl: string;
  contentType: string;
  data: Uint8Array;
  questionId?: string;
}

export interface ApplyTurn {
  patient: PatientRow;
  checkin: CheckinRow | undefined;
  result: TurnResult;
  /** The Matrix event that caused the turn (null for scheduler/API starts). */
  sourceEventId: string | null;
  now: Date;
  file?: StoredFile;
  /** The turn's replies as Matrix content, in order. */
  outgoing: OutgoingMessage[];
}

/**
 * Writes everything a turn decided, inside the caller's transaction: patient
 * and check-in state, answers (one row per question, corrections bump the
 * revision), escalation events, a kept file, and the replies into the outbox.
 */
export async function applyTurn(tx: Tx, { patient, checkin, result, sourceEventId, now, file, outgoing }: ApplyTurn): Promise<void> {
  const next = result.patient;
  if (next.language !== patient.language || next.consent !== patient.consent || next.monitoring !== patient.monitoring) {
    await tx
      .update(patients)
      .set({
        language: next.language,
        consent: next.consent,
        monitoring: next.monitoring,
        ...(next.consent !== patient.consent ? { consentAt: now } : {}),
        updatedAt: now,
      })
      .where(eq(patients.id, patient.id));
  }

  if (checkin && result.checkin) {
    const ended = result.checkin.status === 'completed' || result.checkin.status === 'cancelled';
    await tx
      .update(checkins)
      .set({
        status: result.checkin.status,
        state: result.checkin.state,
        updatedAt: now,
        ...(checkin.startedAt === null && result.checkin.state ? { startedAt: now } : {}),
        ...(ended ? { endedAt: now } : {}),
        ...(result.answers.length > 0 && sourceEventId ? { lastAnswerEventId: sourceEventId } : {}),
      })
      .where(eq(checkins.id, checkin.id));

    for (const answer of result.answers) {
      await tx
        .insert(answers)
        .values({ checkinId: checkin.id, questionId: answer.questionId, value: answer.value, answeredAt: new Date(answer.at), sourceEventId: sourceEventId ?? 'system' })
        .onConflictDoUpdate({
          target: [answers.checkinId, answers.questionId],
          set: {
            value: answer.value,
            answeredAt: new Date(answer.at),
            sourceEventId: sourceEventId ?? 'system',
            revision: sql`${answers.revision} + 1`,
            status: 'current',
          },
        });
    }
    const retracted = result.events.flatMap((e) => (e.type === 'engine' && e.event.type === 'retracted' ? [e.event.questionId] : []));
    if (retracted.length > 0) {
      await tx
        .update(answers)
        .set({ status: 'retracted' })
        .where(and(eq(answers.checkinId, checkin.id), inArray(answers.questionId, retracted)));
    }
  }

  const escalationRows = toEscalations(result, patient.id, checkin?.id ?? null, sourceEventId);
  if (escalationRows.length > 0) await tx.insert(escalations).values(escalationRows);

  if (file && result.attachment !== 'discard') {
    await tx
      .insert(attachments)
      .values({
        patientId: patient.id,
        checkinId: result.attachment === 'patient' ? null : (checkin?.id ?? null),
        questionId: result.attachment === 'answer' ? (file.questionId ?? null) : null,
        mxcUrl: file.mxcUrl,
        contentType: file.contentType,
        size: file.data.byteLength,
        data: file.data,
        sourceEventId: sourceEventId ?? randomUUID(),
      })
      .onConflictDoNothing({ target: attachments.sourceEventId });
  }

  if (patient.roomId) await enqueue(tx, patient.roomId, outgoing);
}

type EscalationInsert = typeof escalations.$inferInsert;

function toEscalations(result: TurnResult, patientId: string, checkinId: string | null, sourceEventId: string | null): EscalationInsert[] {
  const base = { patientId, checkinId, sourceEventId };
  return result.events.flatMap((e): EscalationInsert[] => {
    switch (e.type) {
      case 'red_flag':
        // A negated mention ("keine Atemnot") still reaches the team, one tier lower.
        return [{ ...base, kind: 'red_flag' as const, severity: e.negated ? ('warning' as const) : ('urgent' as const), details: { category: e.category, language: e.language, negated: e.negated } }];
      case 'monitoring_stopped':
        return [{ ...base, kind: 'monitoring_stopped' as const, severity: 'info' as const, details: {} }];
      case 'consent_refused':
        return [{ ...base, kind: 'consent_refused' as const, severity: 'info' as const, details: {} }];
      case 'engine':
        if (e.event.type === 'escalation') {
          const { ruleId, severity, itemId, values, message, trend } = e.event;
          return [{ ...base, kind: 'rule' as const, severity, ruleId, details: { itemId: itemId ?? null, values, message, ...(trend ? { trend } : {}) } }];
        }
        if (e.event.type === 'unanswered') {
          return [{ ...base, kind: 'unanswered' as const, severity: 'info' as const, details: { questionId: e.event.questionId, attempts: e.event.attempts } }];
        }
        return [];
      default:
        return [];
    }
  });
}

/** A Matrix event to send, already rendered by the bot layer. */
export interface OutgoingMessage {
  eventType?: string;
  content: Record<string, unknown>;
}

export async function enqueue(tx: Tx, roomId: string, messages: OutgoingMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.insert(outbox).values(
    messages.map((m) => ({ roomId, txnId: `visite-${randomUUID()}`, eventType: m.eventType ?? 'm.room.message', content: m.content })),
  );
}

