import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, asc, desc, eq } from 'drizzle-orm';
import { cancelPendingCheckins, scheduleEnrollment } from '../../../db/schedule.ts';
import { careTeams, enrollments, patients, scheduledCheckins } from '../../../db/schema.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound, findOwned, listOwned, owned, selectOwned } from '../owned.ts';
import { commonErrors, conflict, IdParam, json, jsonBody, notFound, pageQuery, security } from '../schemas.ts';

const ScheduledCheckin = z
  .object({
    day: z.number().int().openapi({ description: 'Days after the anchor date' }),
    dueAt: z.iso.datetime(),
    status: z.enum(['pending', 'started', 'skipped', 'cancelled']),
    checkinId: z.uuid().nullable(),
  })
  .openapi('ScheduledCheckin');

const Enrollment = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    flowId: z.string(),
    flowVersion: z.string().nullable().openapi({ description: 'The pinned flow version; null: each check-in starts on the latest published version' }),
    anchorDate: z.iso.date(),
    careTeamId: z.uuid(),
    status: z.enum(['active', 'ended']),
    createdAt: z.iso.datetime(),
    schedule: z.array(ScheduledCheckin).openapi({ description: "The check-ins this enrollment yields, in the patient's time zone" }),
  })
  .openapi('Enrollment');

/** The oldest anchor date accepted; the newest is two years from today (UTC). */
export const EARLIEST_ANCHOR = '2000-01-01';
const latestAnchor = (now = new Date()) => {
  const d = new Date(Date.UTC(now.getUTCFullYear() + 2, now.getUTCMonth(), now.getUTCDate()));
  return d.toISOString().slice(0, 10);
};

const AnchorDate = z.iso
  .date({ error: 'expected a date YYYY-MM-DD, e.g. the day of surgery' })
  .refine((day) => day >= EARLIEST_ANCHOR && day <= latestAnchor(), { error: `expected a date from ${EARLIEST_ANCHOR} to two years from today` })
  .openapi({ example: '2026-12-01', description: `The day the flow's schedule counts from, ${EARLIEST_ANCHOR} to two years ahead` });

export const CreateEnrollment = z
  .strictObject({
    patientId: z.uuid({ error: 'expected the id of one of your patients' }),
    flowId: z.string().min(1).max(200).openapi({ example: 'post-op' }),
    flowVersion: z.string().min(1).max(100).optional().openapi({
      example: '1.0.0',
      description:
        "Pin a published version of the flow (e.g. for a study); without it every check-in starts on the flow's latest published version. A pinned version that is retired later gives way to the latest published one.",
    }),
    anchorDate: AnchorDate,
    careTeamId: z.uuid({ error: 'expected the id of one of your care teams' }),
  })
  .openapi('CreateEnrollment');

type Row = typeof enrollments.$inferSelect;

/**
 * Enrolls a patient of the caller's organisation (audited, idempotent, 409 for another active
 * enrollment in the flow, 400 naming the field for an unknown flow, patient or team). The API
 * route and the web app's enrollment form both call this, so both apply the same rules.
 */
export async function enroll(c: Context<ApiEnv>, body: z.output<typeof CreateEnrollment>): Promise<{ row: Row; created: boolean }> {
  const { orgId } = c.get('principal');
  const { db, flows, contact, logger } = c.get('deps');
  const invalid = (path: string, message: string) => new ApiError('bad_request', `invalid request: ${path}`, { fields: [{ path, message }] });
  const flow = await flows.find(orgId, body.flowId, body.flowVersion);
  if (body.flowVersion !== undefined && flow?.catalog.status !== 'published')
    throw invalid('flowVersion', `no published version "${body.flowVersion}" of flow "${body.flowId}" (GET /v1/flows/${body.flowId} lists them)`);
  if (!flow) throw invalid('flowId', `no published flow "${body.flowId}" (GET /v1/flows lists them)`);
  if (!flow.schedule) throw invalid('flowId', 'this flow has no schedule; start its check-ins with POST /v1/patients/{id}/checkins');
  const schedule = flow.schedule;
  const outcome = await db.transaction(async (tx) => {
    // Objects of other organisations are indistinguishable from missing ones. The patient's
    // row lock serialises enrollments of one patient, so a request sent twice at once
    // cannot create two.
    const patient = await selectOwned(tx, patients, orgId, body.patientId, { lock: true });
    if (!patient) throw invalid('patientId', 'no such patient in your organisation');
    const team = await selectOwned(tx, careTeams, orgId, body.careTeamId);
    if (!team) throw invalid('careTeamId', 'no such care team in your organisation');
    const [active] = await tx
      .select()
      .from(enrollments)
      .where(and(eq(enrollments.patientId, patient.id), eq(enrollments.flowId, flow.id), eq(enrollments.status, 'active')))
      .limit(1);
    if (active)
      return {
        row: active,
        created: false,
        same: active.anchorDate === body.anchorDate && active.careTeamId === team.id && active.flowVersion === (body.flowVersion ?? null),
      };
    const [created] = await tx
      .insert(enrollments)
      .values({ orgId, patientId: patient.id, flowId: flow.id, flowVersion: body.flowVersion ?? null, anchorDate: body.anchorDate, careTeamId: team.id })
      .returning();
    await scheduleEnrollment(tx, { enrollmentId: created!.id, orgId, anchorDate: body.anchorDate, schedule, timeZone: patient.timeZone });
    return { row: created!, created: true, same: true };
  });
  const { row } = outcome;
  await audit(c, 'enrollment.create', { type: 'Enrollment', id: row.id }, outcome.same ? 'ok' : 'invalid');
  if (!outcome.same) {
    throw new ApiError('conflict', 'the patient already has an active enrollment in this flow; end it first (DELETE /v1/enrollments/{id})', {
      enrollmentId: row.id,
    });
  }
  if (!outcome.created) return { row, created: false };
  // The welcome needs the homeserver; if it is down, the first check-in introduces the bot instead.
  await contact
    .welcome(row.patientId)
    .catch((error: unknown) => logger.warn('could not welcome the patient yet', { enrollmentId: row.id, error: (error as Error).name }));
  return { row, created: true };
}

export function enrollmentRoutes(api: OpenAPIHono<ApiEnv>): void {
  const writers = requireRole('org_admin', 'integration');
  const readers = requireRole('org_admin', 'integration', 'clinician');

  async function view(c: { get: (key: 'deps') => ApiEnv['Variables']['deps'] }, row: Row): Promise<z.infer<typeof Enrollment>> {
    const schedule = await c
      .get('deps')
      .db.select()
      .from(scheduledCheckins)
      .where(eq(scheduledCheckins.enrollmentId, row.id))
      .orderBy(asc(scheduledCheckins.day));
    return {
      id: row.id,
      patientId: row.patientId,
      flowId: row.flowId,
      flowVersion: row.flowVersion,
      anchorDate: row.anchorDate,
      careTeamId: row.careTeamId,
      status: row.status,
      createdAt: row.createdAt.toISOString(),
      schedule: schedule.map((s) => ({ day: s.day, dueAt: s.dueAt.toISOString(), status: s.status, checkinId: s.checkinId })),
    };
  }

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/enrollments',
      tags: ['Enrollments'],
      summary: 'Enroll a patient into a flow from an anchor date (e.g. the day of surgery)',
      description:
        "Computes the check-ins from the schedule of the flow's current (or pinned) version at local time in the patient's time zone and has the bot introduce itself to the patient in their direct room (asking for consent) if it has not yet. Idempotent: the same enrollment sent again (same patient, flow, pinned version, anchor date and care team while it is active) answers 200 with the existing one and schedules nothing more; a different active enrollment of the patient in the same flow is a 409 naming it.",
      security,
      middleware: writers,
      request: jsonBody(CreateEnrollment),
      responses: {
        201: json(Enrollment, 'Enrolled'),
        200: json(Enrollment, 'Already enrolled exactly so: the existing enrollment, nothing new scheduled'),
        ...commonErrors,
        ...conflict('The patient has another active enrollment in this flow (`details.enrollmentId`); end it first'),
      },
    }),
    async (c) => {
      const { row, created } = await enroll(c, c.req.valid('json'));
      return c.json(await view(c, row), created ? 201 : 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/enrollments',
      tags: ['Enrollments'],
      summary: 'List enrollments, optionally of one patient',
      security,
      middleware: readers,
      request: { query: z.object({ patientId: z.uuid({ error: 'expected a UUID' }).optional(), ...pageQuery() }) },
      responses: { 200: json(z.object({ enrollments: z.array(Enrollment) }), 'Enrollments, newest first'), ...commonErrors },
    }),
    async (c) => {
      const { patientId, limit, offset } = c.req.valid('query');
      const rows = await listOwned(c, {
        table: enrollments,
        where: [patientId ? eq(enrollments.patientId, patientId) : undefined],
        orderBy: [desc(enrollments.createdAt), desc(enrollments.id)],
        limit,
        offset,
        action: 'enrollment.list',
        type: 'Enrollment',
        auditId: patientId ?? null,
      });
      return c.json({ enrollments: await Promise.all(rows.map((r) => view(c, r))) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/enrollments/{id}',
      tags: ['Enrollments'],
      summary: 'One enrollment with its scheduled check-ins',
      security,
      middleware: readers,
      request: { params: IdParam },
      responses: { 200: json(Enrollment, 'The enrollment'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await findOwned(c, { table: enrollments, id, notFound: 'no such enrollment', action: 'enrollment.read', type: 'Enrollment' });
      return c.json(await view(c, row), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/enrollments/{id}',
      tags: ['Enrollments'],
      summary: 'End an enrollment: its future check-ins are cancelled (answers stay)',
      security,
      middleware: writers,
      request: { params: IdParam },
      responses: { 204: { description: 'Ended' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const ended = await c.get('deps').db.transaction(async (tx) => {
        const [row] = await tx
          .update(enrollments)
          .set({ status: 'ended' })
          .where(owned(enrollments, c.get('principal').orgId, id))
          .returning({ id: enrollments.id });
        if (row) await cancelPendingCheckins(tx, { enrollmentId: row.id }, 'enrollment_ended');
        return row;
      });
      await ensureFound(c, ended, { action: 'enrollment.end', type: 'Enrollment', id, notFound: 'no such enrollment' });
      return c.body(null, 204);
    },
  );
}
