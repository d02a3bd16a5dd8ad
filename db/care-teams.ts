import { and, desc, eq } from 'drizzle-orm';
import type { Person } from '../core/alerts/describe.ts';
import type { Db, Tx } from './database.ts';
import { alertSteps, careTeamMembers, careTeams, clinicians, enrollments } from './schema.ts';

export type CareTeamRow = typeof careTeams.$inferSelect;
export type CareTeam = CareTeamRow & { members: Person[] };

/** One step of a care team's escalation chain (`care_teams.escalation_chain`). */
export interface ChainStep {
  afterMinutes: number;
  clinicianIds?: string[];
  roomId?: string;
}

export function chainOf(team: CareTeamRow): ChainStep[] {
  return (team.escalationChain ?? []) as ChainStep[];
}

async function withMembers(tx: Tx | Db, team: CareTeamRow): Promise<CareTeam> {
  const members = await tx
    .select({ userId: clinicians.matrixUserId, displayName: clinicians.displayName })
    .from(careTeamMembers)
    .innerJoin(clinicians, eq(clinicians.id, careTeamMembers.clinicianId))
    .where(eq(careTeamMembers.careTeamId, team.id));
  return { ...team, members };
}

/** The care team responsible for a patient: the one of their newest active enrollment. */
export async function teamOfPatient(tx: Tx | Db, patientId: string): Promise<CareTeam | undefined> {
  const [row] = await tx
    .select({ team: careTeams })
    .from(enrollments)
    .innerJoin(careTeams, eq(careTeams.id, enrollments.careTeamId))
    .where(and(eq(enrollments.patientId, patientId), eq(enrollments.status, 'active')))
    .orderBy(desc(enrollments.createdAt))
    .limit(1);
  return row ? withMembers(tx, row.team) : undefined;
}

/** The care team whose Matrix room this is. */
export async function teamOfRoom(tx: Tx | Db, roomId: string): Promise<CareTeamRow | undefined> {
  const [team] = await tx.select().from(careTeams).where(eq(careTeams.roomId, roomId)).limit(1);
  return team;
}

/** A care team's room, or a room an escalation chain sent an alert to. */
export async function isCareTeamRoom(db: Db, roomId: string): Promise<boolean> {
  if (await teamOfRoom(db, roomId)) return true;
  const [step] = await db.select({ id: alertSteps.id }).from(alertSteps).where(eq(alertSteps.roomId, roomId)).limit(1);
  return step !== undefined;
}

/** The clinician of the organisation with this Matrix id, if any. */
export async function clinicianByMatrixId(tx: Tx | Db, orgId: string, matrixUserId: string): Promise<{ id: string; displayName: string } | undefined> {
  const [person] = await tx
    .select({ id: clinicians.id, displayName: clinicians.displayName })
    .from(clinicians)
    .where(and(eq(clinicians.orgId, orgId), eq(clinicians.matrixUserId, matrixUserId)));
  return person;
}

/** Is this Matrix user a clinician of some organisation? (Their invites open care-team rooms.) */
export async function isClinicianAnywhere(db: Db, matrixUserId: string): Promise<boolean> {
  const [row] = await db.select({ id: clinicians.id }).from(clinicians).where(eq(clinicians.matrixUserId, matrixUserId)).limit(1);
  return row !== undefined;
}

/** Is this Matrix user a member of this team? */
export async function isTeamMember(tx: Tx | Db, teamId: string, matrixUserId: string): Promise<boolean> {
  const [member] = await tx
    .select({ id: clinicians.id })
    .from(careTeamMembers)
    .innerJoin(clinicians, eq(clinicians.id, careTeamMembers.clinicianId))
    .where(and(eq(careTeamMembers.careTeamId, teamId), eq(clinicians.matrixUserId, matrixUserId)));
  return member !== undefined;
}

/** The organisation's care teams that set their own thresholds for a flow: id, name and those thresholds. */
export async function teamThresholdsFor(
  tx: Tx | Db,
  orgId: string,
  flowId: string,
): Promise<Array<{ id: string; name: string; overrides: Record<string, number> }>> {
  const rows = await tx.select({ id: careTeams.id, name: careTeams.name, thresholds: careTeams.thresholds }).from(careTeams).where(eq(careTeams.orgId, orgId));
  return rows.flatMap((row) => {
    const overrides = (row.thresholds as Record<string, Record<string, number>> | null)?.[flowId];
    return overrides && Object.keys(overrides).length > 0 ? [{ id: row.id, name: row.name, overrides }] : [];
  });
}

/** Is this Matrix user a clinician of this organisation? (an organisation's own bot account follows only their invites) */
export async function isClinicianOf(db: Db, orgId: string, matrixUserId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: clinicians.id })
    .from(clinicians)
    .where(and(eq(clinicians.orgId, orgId), eq(clinicians.matrixUserId, matrixUserId)))
    .limit(1);
  return row !== undefined;
}
