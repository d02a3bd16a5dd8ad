import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { and, asc, eq, sql } from 'drizzle-orm';
import { careTeams, clinicians, ROLES } from '../../../db/schema.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound, findOwned, listOwned, owned, selectOwned } from '../owned.ts';
import { commonErrors, conflict, IdParam, json, jsonBody, MatrixUserId, notFound, security } from '../schemas.ts';

const Role = z.enum(ROLES);
const Roles = z
  .array(Role)
  .max(ROLES.length)
  .refine((roles) => new Set(roles).size === roles.length, { error: 'roles must not repeat' })
  .openapi({ description: 'What this person may do in Visite: org_admin, flow_author, clinician, integration' });

const Clinician = z
  .object({
    id: z.uuid(),
    matrixUserId: z.string(),
    displayName: z.string(),
    roles: z.array(Role),
    oidcSubject: z.string().nullable().openapi({ description: 'The OIDC subject (`sub`) this person signs in with, if any' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('Clinician');

const CreateClinician = z
  .strictObject({
    matrixUserId: MatrixUserId,
    displayName: z.string().min(1).max(200),
    roles: Roles.default(['clinician']),
    oidcSubject: z.string().min(1).max(255).optional(),
  })
  .openapi('CreateClinician');

const UpdateClinician = z
  .strictObject({
    matrixUserId: MatrixUserId.optional(),
    displayName: z.string().min(1).max(200).optional(),
    roles: Roles.optional(),
    oidcSubject: z.string().min(1).max(255).nullable().optional().openapi({ description: 'null removes the link' }),
  })
  .openapi('UpdateClinician');

type Row = typeof clinicians.$inferSelect;
const view = (row: Row): z.infer<typeof Clinician> => ({
  id: row.id,
  matrixUserId: row.matrixUserId,
  displayName: row.displayName,
  roles: row.roles as Array<(typeof ROLES)[number]>,
  oidcSubject: row.oidcSubject,
  createdAt: row.createdAt.toISOString(),
});

const isUniqueViolation = (error: unknown): boolean => {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
};

const DUPLICATE = 'this Matrix user is already a clinician of your organisation';

export function clinicianRoutes(api: OpenAPIHono<ApiEnv>): void {
  const writers = requireRole('org_admin');
  const readers = requireRole('org_admin', 'clinician', 'integration');

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/clinicians',
      tags: ['Clinicians'],
      summary: 'Register a clinician (Matrix id, roles)',
      security,
      middleware: writers,
      request: jsonBody(CreateClinician),
      responses: { 201: json(Clinician, 'Registered'), ...commonErrors, ...conflict(DUPLICATE) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const [row] = await c
        .get('deps')
        .db.insert(clinicians)
        .values({
          orgId: c.get('principal').orgId,
          matrixUserId: body.matrixUserId,
          displayName: body.displayName,
          roles: body.roles,
          oidcSubject: body.oidcSubject ?? null,
        })
        .onConflictDoNothing({ target: [clinicians.orgId, clinicians.matrixUserId] })
        .returning();
      await audit(c, 'clinician.create', { type: 'Clinician', id: row?.id ?? null }, row ? 'ok' : 'invalid');
      if (!row) throw new ApiError('conflict', DUPLICATE);
      return c.json(view(row), 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/clinicians',
      tags: ['Clinicians'],
      summary: "List your organisation's clinicians",
      security,
      middleware: readers,
      responses: { 200: json(z.object({ clinicians: z.array(Clinician) }), 'Clinicians by name'), ...commonErrors },
    }),
    async (c) => {
      const rows = await listOwned(c, { table: clinicians, orderBy: [asc(clinicians.displayName), asc(clinicians.id)] });
      return c.json({ clinicians: rows.map(view) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/clinicians/{id}',
      tags: ['Clinicians'],
      summary: 'One clinician',
      security,
      middleware: readers,
      request: { params: IdParam },
      responses: { 200: json(Clinician, 'The clinician'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const row = await findOwned(c, { table: clinicians, id: c.req.valid('param').id, notFound: 'no such clinician' });
      return c.json(view(row), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/clinicians/{id}',
      tags: ['Clinicians'],
      summary: 'Change a clinician (fields not sent stay as they are)',
      security,
      middleware: writers,
      request: { params: IdParam, ...jsonBody(UpdateClinician) },
      responses: { 200: json(Clinician, 'Updated'), ...commonErrors, ...notFound, ...conflict(DUPLICATE) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const orgId = c.get('principal').orgId;
      const db = c.get('deps').db;
      const changes = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
      let row: Row | undefined;
      try {
        [row] =
          Object.keys(changes).length > 0
            ? await db
                .update(clinicians)
                .set(changes)
                .where(owned(clinicians, orgId, id))
                .returning()
            : [await selectOwned(db, clinicians, orgId, id)];
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        await audit(c, 'clinician.update', { type: 'Clinician', id }, 'invalid');
        throw new ApiError('conflict', DUPLICATE);
      }
      return c.json(view(await ensureFound(c, row, { action: 'clinician.update', type: 'Clinician', id, notFound: 'no such clinician' })), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/clinicians/{id}',
      tags: ['Clinicians'],
      summary: 'Remove a clinician from the organisation, its care teams and escalation chains',
      security,
      middleware: writers,
      request: { params: IdParam },
      responses: { 204: { description: 'Removed' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const orgId = c.get('principal').orgId;
      const removed = await c.get('deps').db.transaction(async (tx) => {
        const [row] = await tx
          .delete(clinicians)
          .where(owned(clinicians, orgId, id))
          .returning({ id: clinicians.id });
        if (!row) return false;
        // Memberships go by cascade; the escalation chains (JSON) lose the id here.
        const teams = await tx
          .select()
          .from(careTeams)
          .where(and(owned(careTeams, orgId), sql`${careTeams.escalationChain}::text like ${`%${id}%`}`))
          .for('update');
        for (const team of teams) {
          const chain = (team.escalationChain as Array<{ clinicianIds?: string[]; roomId?: string }>)
            .map((step) => (step.clinicianIds ? { ...step, clinicianIds: step.clinicianIds.filter((c) => c !== id) } : step))
            // A step left with nobody to call is dropped.
            .filter((step) => (step.clinicianIds?.length ?? 0) > 0 || step.roomId !== undefined);
          await tx.update(careTeams).set({ escalationChain: chain }).where(eq(careTeams.id, team.id));
        }
        return true;
      });
      await ensureFound(c, removed, { action: 'clinician.delete', type: 'Clinician', id, notFound: 'no such clinician' });
      return c.body(null, 204);
    },
  );
}
