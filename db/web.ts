import { and, asc, desc, eq, ilike, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './database.ts';
import { answers, attachments, careTeams, checkins, enrollments, escalations, patients, scheduledCheckins } from './schema.ts';

/**
 * The web app's reads: one query per page section, every one scoped by the
 * organisation (rows of other organisations are never selected). Pages
 * render what these return; nothing here knows HTML.
 */

/** The care team of a patient: the one of their newest active enrollment (as alerts are routed). */
/** The patient's id, always qualified (drizzle leaves columns unqualified in single-table selects). */
const PID = sql.raw('"patients"."id"');
const teamOfPatientSql = sql<
  string | null
>`(select en.care_team_id from ${enrollments} en where en.patient_id = ${PID} and en.status = 'active' order by en.created_at desc limit 1)`;

export interface WorklistFilter {
  teamId?: string | undefined;
  severity?: 'info' | 'warning' | 'urgent' | undefined;
  kind?: string | undefined;
}

export interface WorklistRow {
  id: string;
  patientId: string;
  patientName: string | null;
  checkinId: string | null;
  kind: string;
  severity: 'info' | 'warning' | 'urgent';
  ruleId: string | null;
  details: Record<string, unknown>;
  summary: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  teamId: string | null;
  flowId: string | null;
  flowVersion: string | null;
  flowVersionId: string | null;
  repeats: number;
}

/** A row of the open-alerts query, as the driver answers it. */
type OpenAlertRow = {
  id: string;
  patient_id: string;
  patient_name: string | null;
  checkin_id: string | null;
  kind: string;
  severity: WorklistRow['severity'];
  rule_id: string | null;
  details: Record<string, unknown> | null;
  summary: string | null;
  created_at: string | Date;
  delivered_at: string | Date | null;
  team_id: string | null;
  flow_id: string | null;
  flow_version: string | null;
  flow_version_id: string | null;
  repeats: number;
};

/** The organisation's open alerts (repeats folded into their first), urgent first, then the oldest first. */
export async function openAlerts(db: Db, orgId: string, filter: WorklistFilter = {}, limit = 1000): Promise<WorklistRow[]> {
  // One pass: the patient's team and the check-in's flow by join, repeats counted once per group.
  const result = await db.execute<OpenAlertRow>(sql`
    select e.id, e.patient_id, p.display_name as patient_name, e.checkin_id, e.kind, e.severity, e.rule_id, e.details, e.summary,
           e.created_at, e.delivered_at, t.care_team_id as team_id, c.flow_id, c.flow_version, c.flow_version_id, coalesce(r.n, 0)::int as repeats
    from ${escalations} e
    join ${patients} p on p.id = e.patient_id
    left join ${checkins} c on c.id = e.checkin_id
    left join lateral (select en.care_team_id from ${enrollments} en where en.patient_id = p.id and en.status = 'active' order by en.created_at desc limit 1) t on true
    left join (select dedupe_of, count(*) as n from ${escalations} where dedupe_of is not null and acknowledged_at is null group by dedupe_of) r on r.dedupe_of = e.id
    where p.org_id = ${orgId} and e.acknowledged_at is null and e.dedupe_of is null
      ${filter.severity ? sql`and e.severity = ${filter.severity}` : sql``}
      ${filter.kind ? sql`and e.kind = ${filter.kind}` : sql``}
      ${filter.teamId ? sql`and t.care_team_id = ${filter.teamId}` : sql``}
    order by case e.severity when 'urgent' then 0 when 'warning' then 1 else 2 end, e.created_at, e.id
    limit ${limit}`);
  // postgres.js answers an array, PGlite an object with rows.
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as OpenAlertRow[];
  return rows.map((r) => ({
    id: r.id,
    patientId: r.patient_id,
    patientName: r.patient_name,
    checkinId: r.checkin_id,
    kind: r.kind,
    severity: r.severity,
    ruleId: r.rule_id,
    details: r.details ?? {},
    summary: r.summary,
    createdAt: new Date(r.created_at),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
    teamId: r.team_id,
    flowId: r.flow_id,
    flowVersion: r.flow_version,
    flowVersionId: r.flow_version_id,
    repeats: Number(r.repeats),
  }));
}

/**
 * A fingerprint of the organisation's alerts: it changes when an alert is
 * raised or acknowledged. Any instance can compute it, so a browser connected
 * to one instance sees alerts raised through another.
 */
export async function alertsFingerprint(db: Db, orgId: string): Promise<string> {
  const [row] = await db
    .select({
      n: sql<number>`count(*)::int`,
      open: sql<number>`count(*) filter (where ${escalations.acknowledgedAt} is null)::int`,
      last: sql<string>`coalesce(max(greatest(${escalations.createdAt}, ${escalations.acknowledgedAt}))::text, '')`,
    })
    .from(escalations)
    .innerJoin(patients, eq(patients.id, escalations.patientId))
    .where(eq(patients.orgId, orgId));
  return `${row?.n ?? 0}:${row?.open ?? 0}:${row?.last ?? ''}`;
}

/** Which of these alert ids are open alerts of the organisation (for batch acknowledgement). */
export async function ownedOpenAlertIds(db: Db, orgId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: escalations.id })
    .from(escalations)
    .innerJoin(patients, eq(patients.id, escalations.patientId))
    .where(and(eq(patients.orgId, orgId), inArray(escalations.id, [...ids])));
  return rows.map((r) => r.id);
}

export interface PatientOverview {
  id: string;
  displayName: string | null;
  matrixUserId: string;
  language: string;
  consent: string;
  monitoring: string;
  flows: string[];
  teamId: string | null;
  lastCheckinAt: Date | null;
  missed: number;
  openAlerts: number;
  urgentAlerts: number;
}

/** Patients with their status: enrolled flows, last check-in, missed check-ins, open alerts. */
export async function patientsOverview(
  db: Db,
  orgId: string,
  options: { search?: string | undefined; teamId?: string | undefined; limit?: number } = {},
): Promise<PatientOverview[]> {
  const search = options.search?.trim();
  const where: Array<SQL | undefined> = [
    eq(patients.orgId, orgId),
    search
      ? or(
          ilike(patients.displayName, `%${search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`),
          ilike(patients.matrixUserId, `%${search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`),
          sql`${PID}::text like ${`${search.toLowerCase().replace(/[^0-9a-f-]/g, '')}%`}`,
        )
      : undefined,
    options.teamId ? sql`${teamOfPatientSql} = ${options.teamId}` : undefined,
  ];
  const rows = await db
    .select({
      id: patients.id,
      displayName: patients.displayName,
      matrixUserId: patients.matrixUserId,
      language: patients.language,
      consent: patients.consent,
      monitoring: patients.monitoring,
      teamId: teamOfPatientSql,
      flows: sql<
        string[]
      >`coalesce((select array_agg(distinct en.flow_id) from ${enrollments} en where en.patient_id = ${PID} and en.status = 'active'), '{}')`,
      lastCheckinAt: sql<Date | null>`(select max(coalesce(c.ended_at, c.started_at)) from ${checkins} c where c.patient_id = ${PID} and c.status = 'completed')`,
      missed: sql<number>`(select count(*)::int from ${checkins} c where c.patient_id = ${PID} and c.status = 'expired') + (select count(*)::int from ${scheduledCheckins} s join ${enrollments} e on e.id = s.enrollment_id where e.patient_id = ${PID} and s.status = 'skipped')`,
      openAlerts: sql<number>`(select count(*)::int from ${escalations} x where x.patient_id = ${PID} and x.acknowledged_at is null and x.dedupe_of is null)`,
      urgentAlerts: sql<number>`(select count(*)::int from ${escalations} x where x.patient_id = ${PID} and x.acknowledged_at is null and x.dedupe_of is null and x.severity = 'urgent')`,
    })
    .from(patients)
    .where(and(...where))
    .orderBy(
      desc(sql`(select count(*) from ${escalations} x where x.patient_id = ${PID} and x.acknowledged_at is null and x.severity = 'urgent')`),
      asc(patients.displayName),
      asc(patients.id),
    )
    .limit(options.limit ?? 500);
  return rows.map((r) => ({ ...r, lastCheckinAt: r.lastCheckinAt ? new Date(r.lastCheckinAt) : null }));
}

export async function teamsOf(db: Db, orgId: string) {
  return db
    .select({ id: careTeams.id, name: careTeams.name, thresholds: careTeams.thresholds })
    .from(careTeams)
    .where(eq(careTeams.orgId, orgId))
    .orderBy(asc(careTeams.name));
}

/** Everything the patient chart shows, of one patient of the organisation (undefined: no such patient there). */
export async function chartData(db: Db, orgId: string, patientId: string) {
  const [patient] = await db
    .select()
    .from(patients)
    .where(and(eq(patients.orgId, orgId), eq(patients.id, patientId)));
  if (!patient) return undefined;
  const [enrolled, runs, given, alerts, photos] = await Promise.all([
    db
      .select({ enrollment: enrollments, teamName: careTeams.name, thresholds: careTeams.thresholds })
      .from(enrollments)
      .innerJoin(careTeams, eq(careTeams.id, enrollments.careTeamId))
      .where(eq(enrollments.patientId, patientId))
      .orderBy(desc(enrollments.createdAt)),
    db.select().from(checkins).where(eq(checkins.patientId, patientId)).orderBy(asc(checkins.createdAt)),
    db
      .select({
        checkinId: answers.checkinId,
        questionId: answers.questionId,
        value: answers.value,
        answeredAt: answers.answeredAt,
        revision: answers.revision,
      })
      .from(answers)
      .innerJoin(checkins, eq(checkins.id, answers.checkinId))
      .where(and(eq(checkins.patientId, patientId), eq(answers.status, 'current')))
      .orderBy(asc(answers.answeredAt)),
    db.select().from(escalations).where(eq(escalations.patientId, patientId)).orderBy(asc(escalations.createdAt)),
    db
      .select({
        id: attachments.id,
        checkinId: attachments.checkinId,
        questionId: attachments.questionId,
        contentType: attachments.contentType,
        size: attachments.size,
        createdAt: attachments.createdAt,
      })
      .from(attachments)
      .where(eq(attachments.patientId, patientId))
      .orderBy(asc(attachments.createdAt)),
  ]);
  return { patient, enrollments: enrolled, checkins: runs, answers: given, alerts, photos };
}

export type ChartData = NonNullable<Awaited<ReturnType<typeof chartData>>>;

/** One photo of a patient of the organisation. */
export async function photoOf(db: Db, orgId: string, patientId: string, photoId: string) {
  const [row] = await db
    .select({ data: attachments.data, contentType: attachments.contentType })
    .from(attachments)
    .innerJoin(patients, eq(patients.id, attachments.patientId))
    .where(and(eq(patients.orgId, orgId), eq(attachments.patientId, patientId), eq(attachments.id, photoId)));
  return row;
}
