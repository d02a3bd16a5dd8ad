import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { desc, gte } from 'drizzle-orm';
import { auditLog } from '../../../db/schema.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { listOwned } from '../owned.ts';
import { commonErrors, InstantQuery, json, pageQuery, security } from '../schemas.ts';

const AuditEntry = z
  .object({
    at: z.iso.datetime(),
    actorType: z.string(),
    actorId: z.string().nullable(),
    action: z.string(),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    outcome: z.string(),
    ip: z.string().nullable(),
  })
  .openapi('AuditEntry');

export function auditRoutes(api: OpenAPIHono<ApiEnv>): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit',
      tags: ['Audit'],
      summary: 'Who read or changed what in your organisation (newest first)',
      security,
      middleware: requireRole('org_admin'),
      request: {
        query: z.object({
          since: InstantQuery.optional().openapi({ description: 'Only entries at or after this UTC time' }),
          ...pageQuery(1000),
        }),
      },
      responses: { 200: json(z.object({ entries: z.array(AuditEntry) }), 'Audit entries'), ...commonErrors },
    }),
    async (c) => {
      const { since, limit, offset } = c.req.valid('query');
      const rows = await listOwned(c, {
        table: auditLog,
        where: [since ? gte(auditLog.at, new Date(since)) : undefined],
        orderBy: [desc(auditLog.id)],
        limit,
        offset,
      });
      return c.json(
        {
          entries: rows.map((r) => ({
            at: r.at.toISOString(),
            actorType: r.actorType,
            actorId: r.actorId,
            action: r.action,
            resourceType: r.resourceType,
            resourceId: r.resourceId,
            outcome: r.outcome,
            ip: r.ip,
          })),
        },
        200,
      );
    },
  );
}
