import { randomUUID } from 'node:crypto';
import { and, desc, eq, gt, inArray, isNull, lte, ne, sql } from 'drizzle-orm';
import { turnEscalations, type EscalationDraft } from '../core/conversation/escalations.ts';
import type { TurnResult } from '../core/conversation/turn.ts';
import { enqueue } from './outbox.ts';
import type { Db, Tx } from './database.ts';
import { answers, attachments, careTeams, checkins, enrollments, escalations, patients } from './schema.ts';

export type PatientRow = typeof patients.$inferSelect;
export type CheckinRow = typeof checkins.$inferSelect;

/**
 * Locks the patient's row for this transaction (one turn per patient at a
 * time, across instances) and reads their open check-in in the same round trip.
 */
export async function lockPatientByRoom(
  tx: Tx,
  roomId: string,
  matrixUserId: string,
): Promise<{ patient: PatientRow; checkin: CheckinRow | undefined } | undefined> {
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
}

/**
 * Writes everything a turn decided, inside the caller's transaction: patient
 * and check-in state, answers (one row per question, corrections bump the
 * revision), escalation events, a kept file, and the replies into the outbox
 * (as data: the Matrix adapter renders them when it sends).
 */
export async function applyTurn(tx: Tx, { patient, checkin, result, sourceEventId, now, file }: ApplyTurn): Promise<void> {
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
        ...(result.answers.some((a) => a.channel === 'chat') && sourceEventId ? { lastAnswerEventId: sourceEventId } : {}),
      })
      .where(eq(checkins.id, checkin.id));

    for (const answer of result.answers) {
      await tx
        .insert(answers)
        .values({
          checkinId: checkin.id,
          questionId: answer.questionId,
          value: answer.value,
          answeredAt: new Date(answer.at),
          sourceEventId: sourceEventId ?? 'system',
          channel: answer.channel,
        })
        .onConflictDoUpdate({
          target: [answers.checkinId, answers.questionId],
          set: {
            value: answer.value,
            answeredAt: new Date(answer.at),
            sourceEventId: sourceEventId ?? 'system',
            revision: sql`${answers.revision} + 1`,
            status: 'current',
            channel: answer.channel,
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

  const drafts = turnEscalations(result);
  const plain = drafts.filter((d) => d.kind !== 'patient_message');
  if (plain.length > 0) {
    await tx.insert(escalations).values(plain.map((d) => ({ ...d, patientId: patient.id, checkinId: checkin?.id ?? null, sourceEventId })));
  }
  for (const draft of drafts.filter((d) => d.kind === 'patient_message')) {
    await addPatientMessage(tx, { ...draft, patientId: patient.id, checkinId: checkin?.id ?? null, sourceEventId, now });
  }

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

  if (patient.roomId)
    await enqueue(
      tx,
      patient.roomId,
      result.replies.map((message) => ({ type: 'bot' as const, message })),
    );
}

/** Is this the direct room of this patient? (The bot routes most traffic by this.) */
export async function isPatientRoom(db: Db, roomId: string, matrixUserId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: patients.id })
    .from(patients)
    .where(and(eq(patients.roomId, roomId), eq(patients.matrixUserId, matrixUserId)));
  return row !== undefined;
}

/** The alert thresholds of the care team an enrollment belongs to (`care_teams.thresholds`). */
export async function enrollmentTeamThresholds(tx: Tx, enrollmentId: string): Promise<unknown> {
  const [row] = await tx
    .select({ thresholds: careTeams.thresholds })
    .from(enrollments)
    .innerJoin(careTeams, eq(careTeams.id, enrollments.careTeamId))
    .where(eq(enrollments.id, enrollmentId));
  return row?.thresholds;
}

/** Check-ins whose answers count as the patient's history for trend rules: finished ones, not open or cancelled. */
const HISTORY_STATUSES = ['completed', 'expired', 'superseded'] as const;

/**
 * The patient's earlier values of some questions: current answers of earlier
 * finished check-ins of the same flow, newest first, at most `perQuestion` each.
 */
export async function earlierAnswers(
  tx: Tx,
  query: { patientId: string; flowId: string; questionIds: readonly string[]; excludeCheckinId: string; perQuestion: number },
): Promise<Array<{ questionId: string; value: unknown; at: Date }>> {
  const ranked = tx
    .select({
      questionId: answers.questionId,
      value: answers.value,
      at: answers.answeredAt,
      n: sql<number>`row_number() over (partition by ${answers.questionId} order by ${answers.answeredAt} desc)`.as('n'),
    })
    .from(answers)
    .innerJoin(checkins, eq(checkins.id, answers.checkinId))
    .where(
      and(
        eq(checkins.patientId, query.patientId),
        eq(checkins.flowId, query.flowId),
        ne(checkins.id, query.excludeCheckinId),
        inArray(checkins.status, [...HISTORY_STATUSES]),
        eq(answers.status, 'current'),
        inArray(answers.questionId, [...query.questionIds]),
      ),
    )
    .as('ranked');
  return tx
    .select({ questionId: ranked.questionId, value: ranked.value, at: ranked.at })
    .from(ranked)
    .where(lte(ranked.n, query.perQuestion))
    .orderBy(desc(ranked.at));
}

/**
 * A new check-in for the patient. One open check-in per patient: an open one
 * is superseded first (its answers stay stored).
 */
export async function openCheckin(
  tx: Tx,
  input: { patientId: string; enrollmentId: string | null; flowId: string; flowVersion: string; flowVersionId: string | null; now: Date },
): Promise<CheckinRow> {
  await tx
    .update(checkins)
    .set({ status: 'superseded', endedAt: input.now, updatedAt: input.now })
    .where(and(eq(checkins.patientId, input.patientId), inArray(checkins.status, ['pending', 'active'])));
  const [row] = await tx
    .insert(checkins)
    .values({
      patientId: input.patientId,
      enrollmentId: input.enrollmentId,
      flowId: input.flowId,
      flowVersion: input.flowVersion,
      flowVersionId: input.flowVersionId,
      status: 'pending',
    })
    .returning();
  return row!;
}

export async function checkinById(tx: Tx | Db, checkinId: string): Promise<CheckinRow | undefined> {
  const [row] = await tx.select().from(checkins).where(eq(checkins.id, checkinId));
  return row;
}

export async function patientById(tx: Tx | Db, patientId: string): Promise<PatientRow | undefined> {
  const [row] = await tx.select().from(patients).where(eq(patients.id, patientId));
  return row;
}

/** Patient messages within this window are one alert: five lines typed in a row make one alert, not five. */
export const PATIENT_MESSAGE_BATCH_MS = 30 * 60_000;
const MAX_BATCHED_MESSAGES = 20;

type PatientMessageDraft = EscalationDraft & { patientId: string; checkinId: string | null; sourceEventId: string | null; now: Date };
type BatchedMessage = { text: string; at: string };

/**
 * Adds words a patient wrote for the team to the open `patient_message` alert
 * of the last half hour: still waiting to be posted, it just grows; already
 * posted, a new escalation carries every message of the batch and is delivered
 * as an edit of the posted alert (the dedupe in services/alerts). The more
 * serious severity wins.
 */
export async function addPatientMessage(tx: Tx, draft: PatientMessageDraft): Promise<void> {
  const text = ((draft.details['values'] as { patientMessage?: { value?: string } } | undefined)?.patientMessage?.value ?? '').slice(0, 2_000);
  const message: BatchedMessage = { text, at: draft.now.toISOString() };
  const [open] = await tx
    .select()
    .from(escalations)
    .where(
      and(
        eq(escalations.patientId, draft.patientId),
        eq(escalations.kind, 'patient_message'),
        isNull(escalations.acknowledgedAt),
        gt(escalations.createdAt, new Date(draft.now.getTime() - PATIENT_MESSAGE_BATCH_MS)),
      ),
    )
    .orderBy(desc(escalations.createdAt))
    .limit(1)
    .for('update');
  const earlier = ((open?.details as { messages?: BatchedMessage[] } | undefined)?.messages ?? []).slice(-(MAX_BATCHED_MESSAGES - 1));
  const severity = open?.severity === 'warning' || draft.severity === 'warning' ? ('warning' as const) : ('info' as const);
  const details = { ...draft.details, messages: [...earlier, message] };
  if (open && open.queuedAt === null) {
    await tx.update(escalations).set({ details, severity }).where(eq(escalations.id, open.id));
    return;
  }
  await tx.insert(escalations).values({
    kind: 'patient_message',
    severity,
    ruleId: draft.ruleId,
    details,
    patientId: draft.patientId,
    checkinId: draft.checkinId,
    sourceEventId: draft.sourceEventId,
  });
}
