import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { organisations } from '../../../db/schema.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound } from '../owned.ts';
import { commonErrors, json, jsonBody, security } from '../schemas.ts';
import { checkAlertRoom } from '../team-rooms.ts';
import { MatrixRoomId } from './care-teams.ts';

const Organisation = z
  .object({
    id: z.uuid(),
    name: z.string(),
    retentionDays: z.number().int().openapi({ description: 'Patient data is deleted this many days after the last activity' }),
    fallbackRoomId: z.string().nullable().openapi({ description: "Where alerts go when a care team's room refuses them" }),
    createdAt: z.iso.datetime(),
  })
  .openapi('Organisation');

const UpdateOrganisation = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    retentionDays: z.number().int().min(1).max(3650).optional(),
    fallbackRoomId: MatrixRoomId.nullable()
      .optional()
      .openapi({ description: "A room (the bot in it, allowed to post) for alerts a care team's room refuses; null removes it" }),
  })
  .openapi('UpdateOrganisation');

const view = (row: typeof organisations.$inferSelect) => ({
  id: row.id,
  name: row.name,
  retentionDays: row.retentionDays,
  fallbackRoomId: row.fallbackRoomId,
  createdAt: row.createdAt.toISOString(),
});

export function organisationRoutes(api: OpenAPIHono<ApiEnv>): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/organisation',
      tags: ['Organisation'],
      summary: "The caller's organisation",
      security,
      responses: { 200: json(Organisation, 'Your organisation'), ...commonErrors },
    }),
    async (c) => {
      const orgId = c.get('principal').orgId;
      const [row] = await c.get('deps').db.select().from(organisations).where(eq(organisations.id, orgId));
      return c.json(view(await ensureFound(c, row, { id: orgId, notFound: 'organisation not found' })), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/organisation',
      tags: ['Organisation'],
      summary: 'Rename the organisation, change its data retention or its fallback room for alerts',
      security,
      middleware: requireRole('org_admin'),
      request: jsonBody(UpdateOrganisation),
      responses: { 200: json(Organisation, 'Updated'), ...commonErrors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const orgId = c.get('principal').orgId;
      if (body.fallbackRoomId) await checkAlertRoom(c, body.fallbackRoomId, 'fallbackRoomId', { needClinician: true });
      const [row] = await c.get('deps').db.update(organisations).set(body).where(eq(organisations.id, orgId)).returning();
      return c.json(
        view(await ensureFound(c, row, { action: 'organisation.update', type: 'Organisation', id: orgId, notFound: 'organisation not found' })),
        200,
      );
    },
  );
}
