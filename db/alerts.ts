import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Person } from '../core/alerts/describe.ts';
import type { HistoryPoint } from '../core/engine/types.ts';
import { alertFlag } from '../core/fhir/flag.ts';
import { earlierAnswers } from './conversations.ts';
import type { Db, Tx } from './database.ts';
import { storeResource } from './fhir.ts';
import { alertSteps, attachments, clinicians, escalations, organisations, outbox, patients } from './schema.ts';

export type Escalation = typeof escalations.$inferSelect;

/** The alert's FHIR Flag, from the alert row: its one-line summary as the code text. */
export async function writeAlertFlag(tx: Tx | Db, e: Escalation): Promise<void> {
  const [patient] = await tx.select({ orgId: patients.orgId }).from(patients).where(eq(patients.id, e.patientId));
  if (!patient) return;
  const flag = alertFlag({
    id: e.id,
    patientId: e.patientId,
    severity: e.severity,
    summary: e.summary ?? e.kind,
    raisedAt: e.createdAt,
    acknowledgedAt: e.acknowledgedAt,
    acknowledgedBy: e.acknowledgedBy,
  });
  await storeResource(tx, { orgId: patient.orgId, patientId: e.patientId, checkinId: e.checkinId }, flag, e.createdAt);
}

/**
 * Records that someone took an alert over (and its repeats), and closes its
 * Flag. Returns the updated alert, or null when it was acknowledged already.
 */
export async function acknowledgeAlert(tx: Tx | Db, escalationId: string, by: string, now: Date): Promise<Escalation | null> {
  const [row] = await tx
    .update(escalations)
    .set({ acknowledgedAt: now, acknowledgedBy: by })
    .where(and(eq(escalations.id, escalationId), isNull(escalations.acknowledgedAt)))
    .returning();
  if (!row) return null;
  await tx
    .update(escalations)
    .set({ acknowledgedAt: now, acknowledgedBy: by })
    .where(and(eq(escalations.dedupeOf, escalationId), isNull(escalations.acknowledgedAt)));
  await writeAlertFlag(tx, row);
  return row;
}

/** Escalations whose alert is not queued yet (nor given up), oldest first, locked for this transaction. */
export async function claimUndelivered(tx: Tx, limit: number): Promise<Escalation[]> {
  return tx
    .select()
    .from(escalations)
    .where(and(isNull(escalations.queuedAt), isNull(escalations.deliveryNote)))
    .orderBy(escalations.createdAt)
    .limit(limit)
    .for('update', { skipLocked: true });
}

/** The open, posted alert this escalation repeats (same patient, kind, rule and category within the window). */
export async function openRepeatOf(tx: Tx, e: Escalation, since: Date): Promise<{ first: Escalation; repeats: number } | undefined> {
  const category = (e.details as { category?: string }).category ?? '';
  const [first] = await tx
    .select()
    .from(escalations)
    .where(
      and(
        eq(escalations.patientId, e.patientId),
        eq(escalations.kind, e.kind),
        sql`coalesce(${escalations.ruleId}, '') = ${e.ruleId ?? ''}`,
        sql`coalesce(${escalations.details}->>'category', '') = ${category}`,
        isNull(escalations.acknowledgedAt),
        isNull(escalations.dedupeOf),
        sql`${escalations.outboxId} is not null`,
        gt(escalations.createdAt, since),
      ),
    )
    .orderBy(desc(escalations.createdAt))
    .limit(1);
  if (!first) return undefined;
  const [count] = await tx.select({ n: sql<number>`count(*)::int` }).from(escalations).where(eq(escalations.dedupeOf, first.id));
  return { first, repeats: count?.n ?? 0 };
}

/** The alert message is in the outbox (delivered only once the homeserver accepts it: `markAccepted`). */
export async function markQueued(tx: Tx, id: string, update: { at: Date; outboxId: number; summary: string; dedupeOf?: string }): Promise<Escalation> {
  const [row] = await tx
    .update(escalations)
    .set({ queuedAt: update.at, outboxId: update.outboxId, summary: update.summary, ...(update.dedupeOf ? { dedupeOf: update.dedupeOf } : {}) })
    .where(eq(escalations.id, id))
    .returning();
  return row!;
}

export async function markUndeliverable(tx: Tx, id: string, note: string): Promise<void> {
  await tx.update(escalations).set({ deliveryNote: note }).where(eq(escalations.id, id));
}

/** The question's two values before this check-in (earlier finished check-ins), oldest first (numbers only). */
export async function recentValues(tx: Tx, query: { patientId: string; flowId: string; questionId: string; checkinId: string }): Promise<HistoryPoint[]> {
  const rows = await earlierAnswers(tx, {
    patientId: query.patientId,
    flowId: query.flowId,
    questionIds: [query.questionId],
    excludeCheckinId: query.checkinId,
    perQuestion: 2,
  });
  return rows
    .flatMap((r) =>
      (r.value as { type?: string; value?: unknown }).type === 'number' ? [{ value: (r.value as { value: number }).value, at: r.at.toISOString() }] : [],
    )
    .reverse();
}

/** Urgent alerts nobody acknowledged yet, locked for this transaction. */
export async function claimOpenUrgent(tx: Tx, limit: number): Promise<Escalation[]> {
  return tx
    .select()
    .from(escalations)
    .where(and(eq(escalations.severity, 'urgent'), isNull(escalations.acknowledgedAt), isNull(escalations.dedupeOf), sql`${escalations.outboxId} is not null`))
    .orderBy(escalations.createdAt)
    .limit(limit)
    .for('update', { skipLocked: true });
}

export async function stepsTaken(tx: Tx, escalationId: string): Promise<number> {
  const [row] = await tx.select({ done: sql<number>`count(*)::int` }).from(alertSteps).where(eq(alertSteps.escalationId, escalationId));
  return row?.done ?? 0;
}

export async function recordStep(tx: Tx, step: { escalationId: string; step: number; at: Date; roomId: string; outboxId: number }): Promise<void> {
  await tx.insert(alertSteps).values(step);
}

export async function cliniciansById(tx: Tx, orgId: string, ids: readonly string[]): Promise<Person[]> {
  return tx
    .select({ userId: clinicians.matrixUserId, displayName: clinicians.displayName })
    .from(clinicians)
    .where(and(eq(clinicians.orgId, orgId), inArray(clinicians.id, [...ids])));
}

/** The alert (not a repeat) a message in a room belongs to: the alert itself or one of its re-escalations. */
export async function alertOfPostedEvent(tx: Tx, roomId: string, eventId: string): Promise<Escalation | undefined> {
  const [message] = await tx
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(eq(outbox.sentEventId, eventId), eq(outbox.roomId, roomId)))
    .limit(1);
  if (!message) return undefined;
  const [viaStep] = await tx.select({ escalationId: alertSteps.escalationId }).from(alertSteps).where(eq(alertSteps.outboxId, message.id));
  const [found] = await tx
    .select()
    .from(escalations)
    .where(and(viaStep ? eq(escalations.id, viaStep.escalationId) : eq(escalations.outboxId, message.id), isNull(escalations.dedupeOf)))
    .limit(1)
    .for('update');
  return found;
}

/** Photos of the last day kept with a check-in and not yet shown to the team, locked for this transaction. */
export async function claimUnforwardedPhotos(tx: Tx, since: Date, limit: number) {
  return tx
    .select()
    .from(attachments)
    .where(and(isNull(attachments.forwardedAt), sql`${attachments.checkinId} is not null`, gt(attachments.createdAt, since)))
    .limit(limit)
    .for('update', { skipLocked: true });
}

/** The first posted alert of a check-in: where its photos go. */
export async function firstAlertOfCheckin(tx: Tx, checkinId: string): Promise<{ roomId: string; outboxId: number; patientId: string } | undefined> {
  const [alert] = await tx
    .select({ roomId: outbox.roomId, outboxId: outbox.id, patientId: escalations.patientId })
    .from(escalations)
    .innerJoin(outbox, eq(outbox.id, escalations.outboxId))
    .where(and(eq(escalations.checkinId, checkinId), isNull(escalations.dedupeOf)))
    .orderBy(escalations.createdAt)
    .limit(1);
  return alert;
}

export async function markPhotoForwarded(tx: Tx, id: string, at: Date): Promise<void> {
  await tx.update(attachments).set({ forwardedAt: at }).where(eq(attachments.id, id));
}

/** The homeserver accepted the alert message of these escalations: they are delivered now. */
export async function markAccepted(tx: Tx, outboxId: number, eventId: string, at: Date): Promise<Escalation[]> {
  return tx
    .update(escalations)
    .set({ deliveredAt: at, alertEventId: eventId })
    .where(and(eq(escalations.outboxId, outboxId), isNull(escalations.deliveredAt)))
    .returning();
}

/** The open alerts (not repeats) whose message is this outbox row, locked. */
export async function alertsOfMessage(tx: Tx, outboxId: number): Promise<Escalation[]> {
  return tx
    .select()
    .from(escalations)
    .where(and(eq(escalations.outboxId, outboxId), isNull(escalations.dedupeOf)))
    .for('update');
}

export async function rerouteAlert(tx: Tx, id: string, update: { outboxId: number | null; note: string }): Promise<void> {
  await tx
    .update(escalations)
    .set({ deliveryNote: update.note, ...(update.outboxId !== null ? { outboxId: update.outboxId } : {}) })
    .where(eq(escalations.id, id));
}

/** The organisation's room for alerts that a care team's room refused. */
export async function fallbackRoomOf(tx: Tx, patientId: string): Promise<string | null> {
  const [row] = await tx
    .select({ room: organisations.fallbackRoomId })
    .from(patients)
    .innerJoin(organisations, eq(organisations.id, patients.orgId))
    .where(eq(patients.id, patientId));
  return row?.room ?? null;
}
