import { and, eq, isNull } from 'drizzle-orm';
import { alertFlag } from '../core/fhir/flag.ts';
import type { Tx } from './conversations.ts';
import type { Db } from './database.ts';
import { storeResource } from './fhir.ts';
import { escalations, outbox, patients } from './schema.ts';

export type Escalation = typeof escalations.$inferSelect;

/** The alert's FHIR Flag: the posted message's first two lines (severity, patient, what triggered) as the code text. */
export async function writeAlertFlag(tx: Tx | Db, e: Escalation): Promise<void> {
  if (!e.outboxId) return;
  const [posted] = await tx.select({ content: outbox.content }).from(outbox).where(eq(outbox.id, e.outboxId));
  const [patient] = await tx.select({ orgId: patients.orgId }).from(patients).where(eq(patients.id, e.patientId));
  if (!patient) return;
  const body = String((posted?.content as { body?: string } | undefined)?.body ?? '');
  const flag = alertFlag({
    id: e.id,
    patientId: e.patientId,
    severity: e.severity,
    summary: body.split('\n').slice(0, 2).join(' – ') || e.kind,
    raisedAt: e.createdAt,
    acknowledgedAt: e.acknowledgedAt,
    acknowledgedBy: e.acknowledgedBy,
  });
  await storeResource(tx, { orgId: patient.orgId, patientId: e.patientId, checkinId: e.checkinId }, flag, e.createdAt);
}

/**
 * Records that someone took an alert over (and its repeats), and closes its
 * Flag. Returns the updated alert, or null when it was acknowledged already.
 * The same path serves reactions in the care-team room and the REST API.
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

