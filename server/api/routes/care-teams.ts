import { checkThresholds } from '../../../core/flow/thresholds.ts';
import { isMatrixRoomId } from '../../../core/matrix-id.ts';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { careTeamMembers, careTeams, clinicians, enrollments } from '../../../db/schema.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound, findOwned, listOwned, owned, selectOwned } from '../owned.ts';
import { commonErrors, conflict, ErrorSchema, IdParam, json, jsonBody, LanguageSchema, notFound, security } from '../schemas.ts';
import { checkAlertRoom, isRoomTaken } from '../team-rooms.ts';

export const MatrixRoomId = z
  .string()
  .refine(isMatrixRoomId, { error: 'expected a Matrix room id (at most 255 bytes, port at most 65535), e.g. !abcdef:klinik.de' })
  .openapi({ example: '!stationsteam:klinik.de' });

const EscalationStep = z
  .strictObject({
    afterMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .openapi({ description: 'Minutes after the alert (without acknowledgement) when this step is taken' }),
    clinicianIds: z
      .array(z.uuid({ error: 'expected a UUID' }))
      .max(50)
      .optional()
      .openapi({ description: 'Clinicians of your organisation to mention' }),
    roomId: MatrixRoomId.optional().openapi({ description: 'Another room to alert, e.g. the on-call room' }),
  })
  .openapi('EscalationStep');

const EscalationChain = z
  .array(EscalationStep)
  .max(20)
  .superRefine((steps, ctx) => {
    steps.forEach((step, i) => {
      if (!step.clinicianIds?.length && !step.roomId) ctx.addIssue({ code: 'custom', path: [i], message: 'a step needs clinicianIds or a roomId' });
      const previous = steps[i - 1];
      if (previous && step.afterMinutes <= previous.afterMinutes)
        ctx.addIssue({ code: 'custom', path: [i, 'afterMinutes'], message: 'steps must be ordered by increasing afterMinutes' });
    });
  })
  .openapi({ description: 'Ordered steps: who is alerted next while nobody acknowledges' });

const Thresholds = z.record(z.string().min(1), z.record(z.string().min(1), z.number())).openapi({
  description:
    'The team\'s own alert thresholds per flow and rule, replacing the flow\'s single numeric threshold of that rule, e.g. { "post-op": { "fever": 38.3 } }',
});

const CareTeam = z
  .object({
    id: z.uuid(),
    name: z.string(),
    roomId: z.string().nullable().openapi({ description: 'The care-team group room that receives alerts' }),
    language: LanguageSchema,
    escalationChain: z.array(EscalationStep),
    thresholds: Thresholds,
    postFhirResponses: z.boolean().openapi({
      description:
        'Also post each completed check-in to the room as a TI-M `de.gematik.fhir` event carrying the ISiKFormularDaten QuestionnaireResponse (with a text fallback), so TI-M Pro clients can show or import it',
    }),
    thresholdProblems: z.array(z.object({ flowId: z.string(), ruleId: z.string(), message: z.string() })).openapi({
      description:
        "Thresholds the flow's current version does not take (e.g. a new version removed the rule): they are not applied to check-ins on that version. Remove or change them.",
    }),
    memberIds: z.array(z.uuid()).openapi({ description: 'Clinicians of this team' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('CareTeam');

const RoomCheck = z
  .object({
    botJoined: z.boolean(),
    botCanPost: z.boolean(),
    clinicians: z.array(z.string()).openapi({ description: "Your organisation's clinicians who are members of the room" }),
  })
  .openapi('RoomCheck', { description: 'What Visite found in the room when it was set: it is in it and may post' });

const CareTeamWithCheck = CareTeam.extend({ roomCheck: RoomCheck.optional() }).openapi('CareTeamWithRoomCheck');

const CreateCareTeam = z
  .strictObject({
    name: z.string().min(1).max(200),
    roomId: MatrixRoomId,
    language: LanguageSchema.default('de'),
    escalationChain: EscalationChain.default([]),
    thresholds: Thresholds.default({}),
    postFhirResponses: z.boolean().default(false).openapi({
      description:
        'Also post each completed check-in to the room as a TI-M `de.gematik.fhir` event carrying the ISiKFormularDaten QuestionnaireResponse (with a text fallback), so TI-M Pro clients can show or import it',
    }),
  })
  .openapi('CreateCareTeam');

const UpdateCareTeam = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    roomId: MatrixRoomId.optional(),
    language: LanguageSchema.optional(),
    escalationChain: EscalationChain.optional(),
    thresholds: Thresholds.optional(),
    postFhirResponses: z.boolean().optional().openapi({
      description:
        'Also post each completed check-in to the room as a TI-M `de.gematik.fhir` event carrying the ISiKFormularDaten QuestionnaireResponse (with a text fallback), so TI-M Pro clients can show or import it',
    }),
  })
  .openapi('UpdateCareTeam');

const MemberParams = z.object({
  id: z.uuid({ error: 'expected a UUID' }).openapi({ param: { name: 'id', in: 'path' }, description: 'Care team id' }),
  clinicianId: z.uuid({ error: 'expected a UUID' }).openapi({ param: { name: 'clinicianId', in: 'path' } }),
});

type Step = z.infer<typeof EscalationStep>;
type Row = typeof careTeams.$inferSelect;
type ThresholdMap = Record<string, Record<string, number>>;

/**
 * The team as the API shows it, with the thresholds that do not fit the
 * version of their flow that new check-ins start on: a new version may have
 * removed or changed a rule, and a threshold dropped silently would be a
 * safety gap nobody sees.
 */
async function view(c: Context<ApiEnv>, row: Row, memberIds: string[]): Promise<z.infer<typeof CareTeam>> {
  const thresholds = row.thresholds as ThresholdMap;
  const { flows } = c.get('deps');
  const thresholdProblems = [];
  for (const [flowId, overrides] of Object.entries(thresholds)) {
    const flow = await flows.find(row.orgId, flowId);
    if (!flow) thresholdProblems.push(...Object.keys(overrides).map((ruleId) => ({ flowId, ruleId, message: `no published flow "${flowId}"` })));
    else
      thresholdProblems.push(...checkThresholds(flow, overrides).map((p) => ({ flowId, ruleId: p.ruleId, message: `${p.message} (version ${flow.version})` })));
  }
  return {
    id: row.id,
    name: row.name,
    roomId: row.roomId,
    language: row.language as z.infer<typeof LanguageSchema>,
    escalationChain: row.escalationChain as Step[],
    thresholds,
    thresholdProblems,
    postFhirResponses: row.postFhirResponses,
    memberIds,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * Every clinician named in the chain must be of the caller's organisation. An
 * unknown id and another organisation's id give the same answer, so nothing is
 * confirmed about other tenants.
 */
async function checkChain(c: Context<ApiEnv>, chain: Step[] | undefined): Promise<void> {
  const ids = [...new Set(chain?.flatMap((step) => step.clinicianIds ?? []) ?? [])];
  if (ids.length === 0) return;
  const found = await c
    .get('deps')
    .db.select({ id: clinicians.id })
    .from(clinicians)
    .where(and(owned(clinicians, c.get('principal').orgId), inArray(clinicians.id, ids)));
  const known = new Set(found.map((r) => r.id));
  const fields = (chain ?? []).flatMap((step, i) =>
    (step.clinicianIds ?? []).flatMap((id, j) =>
      known.has(id) ? [] : [{ path: `escalationChain.${i}.clinicianIds.${j}`, message: 'no such clinician in your organisation' }],
    ),
  );
  if (fields.length > 0) throw new ApiError('bad_request', `invalid request: ${fields.map((f) => f.path).join(', ')}`, { fields });
}

/** New thresholds must name the organisation's published flows and rules with one numeric threshold, within the question's range (of the version new check-ins start on). */
async function checkTeamThresholds(c: Context<ApiEnv>, thresholds: ThresholdMap | undefined): Promise<void> {
  const fields = [];
  for (const [flowId, overrides] of Object.entries(thresholds ?? {})) {
    const flow = await c.get('deps').flows.find(c.get('principal').orgId, flowId);
    if (!flow) fields.push({ path: `thresholds.${flowId}`, message: 'no published flow with this id' });
    else fields.push(...checkThresholds(flow, overrides).map((p) => ({ path: `thresholds.${flowId}.${p.ruleId}`, message: p.message })));
  }
  if (fields.length > 0) throw new ApiError('bad_request', `invalid request: ${fields.map((f) => f.path).join(', ')}`, { fields });
}

/** The rooms of escalation steps receive alerts too: the bot must be in them and may post. */
async function checkStepRooms(c: Context<ApiEnv>, chain: Step[] | undefined): Promise<void> {
  for (const [i, step] of (chain ?? []).entries()) {
    if (step.roomId) await checkAlertRoom(c, step.roomId, `escalationChain.${i}.roomId`, { needClinician: false });
  }
}

async function membersOf(c: Context<ApiEnv>, teamIds: string[]): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>(teamIds.map((id) => [id, []]));
  if (teamIds.length === 0) return members;
  const rows = await c
    .get('deps')
    .db.select()
    .from(careTeamMembers)
    .where(inArray(careTeamMembers.careTeamId, teamIds))
    .orderBy(asc(careTeamMembers.clinicianId));
  for (const row of rows) members.get(row.careTeamId)?.push(row.clinicianId);
  return members;
}

export function careTeamRoutes(api: OpenAPIHono<ApiEnv>): void {
  const writers = requireRole('org_admin');
  const readers = requireRole('org_admin', 'clinician', 'integration');

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/care-teams',
      tags: ['Care teams'],
      summary: 'Create a care team with its alert room and escalation chain',
      security,
      middleware: writers,
      request: jsonBody(CreateCareTeam),
      responses: {
        201: json(CareTeamWithCheck, 'Created; `roomCheck` says what Visite found in the room'),
        ...commonErrors,
        ...conflict('The room is already the alert room of a care team'),
        503: json(ErrorSchema, 'The homeserver cannot be asked about the room right now'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await checkChain(c, body.escalationChain);
      await checkTeamThresholds(c, body.thresholds);
      const roomCheck = await checkAlertRoom(c, body.roomId, 'roomId', { needClinician: true });
      await checkStepRooms(c, body.escalationChain);
      const [row] = await c
        .get('deps')
        .db.insert(careTeams)
        .values({
          orgId: c.get('principal').orgId,
          name: body.name,
          roomId: body.roomId,
          language: body.language,
          escalationChain: body.escalationChain,
          thresholds: body.thresholds,
          postFhirResponses: body.postFhirResponses,
        })
        .returning()
        .catch((error: unknown) => {
          if (isRoomTaken(error)) throw new ApiError('conflict', 'this room is already the alert room of a care team');
          throw error;
        });
      await audit(c, 'care_team.create', { type: 'CareTeam', id: row!.id });
      return c.json({ ...(await view(c, row!, [])), roomCheck }, 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/care-teams',
      tags: ['Care teams'],
      summary: "List your organisation's care teams",
      security,
      middleware: readers,
      responses: { 200: json(z.object({ careTeams: z.array(CareTeam) }), 'Care teams by name'), ...commonErrors },
    }),
    async (c) => {
      const rows = await listOwned(c, { table: careTeams, orderBy: [asc(careTeams.name), asc(careTeams.id)] });
      const members = await membersOf(
        c,
        rows.map((r) => r.id),
      );
      return c.json({ careTeams: await Promise.all(rows.map((row) => view(c, row, members.get(row.id) ?? []))) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/care-teams/{id}',
      tags: ['Care teams'],
      summary: 'One care team',
      security,
      middleware: readers,
      request: { params: IdParam },
      responses: { 200: json(CareTeam, 'The care team'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const row = await findOwned(c, { table: careTeams, id: c.req.valid('param').id, notFound: 'no such care team' });
      return c.json(await view(c, row, (await membersOf(c, [row.id])).get(row.id) ?? []), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/care-teams/{id}',
      tags: ['Care teams'],
      summary: 'Change a care team (fields not sent stay as they are)',
      security,
      middleware: writers,
      request: { params: IdParam, ...jsonBody(UpdateCareTeam) },
      responses: {
        200: json(CareTeamWithCheck, 'Updated; `roomCheck` says what Visite found in a newly set room'),
        ...commonErrors,
        ...notFound,
        ...conflict('The room is already the alert room of a care team'),
        503: json(ErrorSchema, 'The homeserver cannot be asked about the room right now'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const existing = await findOwned(c, {
        table: careTeams,
        id,
        notFound: 'no such care team',
        action: 'care_team.update',
        type: 'CareTeam',
        auditFound: false,
      });
      await checkChain(c, body.escalationChain);
      await checkTeamThresholds(c, body.thresholds);
      const roomCheck =
        body.roomId !== undefined && body.roomId !== existing.roomId ? await checkAlertRoom(c, body.roomId, 'roomId', { needClinician: true }) : undefined;
      await checkStepRooms(c, body.escalationChain);
      const changes = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
      const [row] =
        Object.keys(changes).length > 0
          ? await c
              .get('deps')
              .db.update(careTeams)
              .set(changes)
              .where(owned(careTeams, c.get('principal').orgId, id))
              .returning()
              .catch((error: unknown) => {
                if (isRoomTaken(error)) throw new ApiError('conflict', 'this room is already the alert room of a care team');
                throw error;
              })
          : [existing];
      const updated = await ensureFound(c, row, { action: 'care_team.update', type: 'CareTeam', id, notFound: 'no such care team' });
      return c.json({ ...(await view(c, updated, (await membersOf(c, [updated.id])).get(updated.id) ?? [])), ...(roomCheck ? { roomCheck } : {}) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/care-teams/{id}',
      tags: ['Care teams'],
      summary: 'Delete a care team that no enrollment uses',
      security,
      middleware: writers,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...commonErrors, ...notFound, ...conflict('Enrollments still use this care team; move or end them first') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const orgId = c.get('principal').orgId;
      const outcome = await c
        .get('deps')
        .db.transaction(async (tx) => {
          const team = await selectOwned(tx, careTeams, orgId, id, { lock: true });
          if (!team) return 'not_found' as const;
          const [used] = await tx.select({ id: enrollments.id }).from(enrollments).where(eq(enrollments.careTeamId, id)).limit(1);
          if (used) return 'in_use' as const;
          await tx.delete(careTeams).where(eq(careTeams.id, id));
          return 'ok' as const;
        })
        .catch((error: unknown) => {
          // An enrollment created at the same moment: the foreign key (restrict) refuses the delete.
          for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: unknown }).code === '23503') return 'in_use' as const;
          throw error;
        });
      await audit(c, 'care_team.delete', { type: 'CareTeam', id }, outcome === 'ok' ? 'ok' : outcome === 'not_found' ? 'not_found' : 'invalid');
      if (outcome === 'not_found') throw new ApiError('not_found', 'no such care team');
      if (outcome === 'in_use') throw new ApiError('conflict', 'enrollments still use this care team');
      return c.body(null, 204);
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/v1/care-teams/{id}/members/{clinicianId}',
      tags: ['Care teams'],
      summary: 'Add a clinician to a care team (idempotent)',
      security,
      middleware: writers,
      request: { params: MemberParams },
      responses: { 204: { description: 'The clinician is a member' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id, clinicianId } = c.req.valid('param');
      const notFound = 'no such care team or clinician';
      await findOwned(c, { table: careTeams, id, notFound, action: 'care_team.member_add', type: 'CareTeam', auditFound: false });
      const clinician = await selectOwned(c.get('deps').db, clinicians, c.get('principal').orgId, clinicianId);
      await ensureFound(c, clinician, { action: 'care_team.member_add', type: 'CareTeam', id, notFound });
      await c.get('deps').db.insert(careTeamMembers).values({ careTeamId: id, clinicianId }).onConflictDoNothing();
      return c.body(null, 204);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/care-teams/{id}/members/{clinicianId}',
      tags: ['Care teams'],
      summary: 'Remove a clinician from a care team',
      security,
      middleware: writers,
      request: { params: MemberParams },
      responses: { 204: { description: 'Removed' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id, clinicianId } = c.req.valid('param');
      const notFound = 'no such care team member';
      await findOwned(c, { table: careTeams, id, notFound, action: 'care_team.member_remove', type: 'CareTeam', auditFound: false });
      const [removed] = await c
        .get('deps')
        .db.delete(careTeamMembers)
        .where(and(eq(careTeamMembers.careTeamId, id), eq(careTeamMembers.clinicianId, clinicianId)))
        .returning({ id: careTeamMembers.clinicianId });
      await ensureFound(c, removed, { action: 'care_team.member_remove', type: 'CareTeam', id, notFound });
      return c.body(null, 204);
    },
  );
}
