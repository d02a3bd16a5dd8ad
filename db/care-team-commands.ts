import { and, desc, eq, isNull, like, or, sql } from 'drizzle-orm';
import type { Db, Tx } from './database.ts';
import { auditLog, checkins, enrollments, escalations, patients } from './schema.ts';

/**
 * The patient a care-team command names: by short id (#1a2b3c4d) or Matrix id,
 * and only among the patients enrolled with that team.
 */
export async function teamPatientByRef(tx: Tx | Db, team: { id: string; orgId: string }, ref: string) {
  const [found] = await tx
    .select({ patient: patients, flowId: enrollments.flowId })
    .from(patients)
    .innerJoin(enrollments, and(eq(enrollments.patientId, patients.id), eq(enrollments.careTeamId, team.id)))
    .where(and(eq(patients.orgId, team.orgId), ref.startsWith('@') ? eq(patients.matrixUserId, ref) : like(sql`${patients.id}::text`, `${ref.toLowerCase()}%`)))
    .orderBy(desc(enrollments.createdAt))
    .limit(1);
  return found;
}

export async function lastCompletedCheckin(tx: Tx, patientId: string) {
  const [last] = await tx
    .select()
    .from(checkins)
    .where(and(eq(checkins.patientId, patientId), eq(checkins.status, 'completed')))
    .orderBy(desc(checkins.endedAt))
    .limit(1);
  return last;
}

export async function openAlertCount(tx: Tx, patientId: string): Promise<number> {
  const [row] = await tx
    .select({ open: sql<number>`count(*)::int` })
    .from(escalations)
    .where(
      and(
        eq(escalations.patientId, patientId),
        isNull(escalations.acknowledgedAt),
        isNull(escalations.dedupeOf),
        or(eq(escalations.severity, 'urgent'), eq(escalations.severity, 'warning')),
      ),
    );
  return row?.open ?? 0;
}

export async function setMonitoring(tx: Tx, patientId: string, monitoring: 'active' | 'paused', now: Date): Promise<void> {
  await tx.update(patients).set({ monitoring, updatedAt: now }).where(eq(patients.id, patientId));
}

/** An audit entry for something a clinician did from the care-team room (ids only). */
export async function auditMatrixAction(tx: Tx, entry: { orgId: string; sender: string; action: string; patientId: string }): Promise<void> {
  await tx.insert(auditLog).values({
    orgId: entry.orgId,
    actorType: 'matrix',
    actorId: entry.sender,
    action: entry.action,
    resourceType: 'Patient',
    resourceId: entry.patientId,
    outcome: 'ok',
  });
}
