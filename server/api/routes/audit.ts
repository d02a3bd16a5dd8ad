import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { and, desc, eq, gte } from 'drizzle-orm';
import { auditLog } from '../../../db/schema.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { commonErrors, json, security } from '../schemas.ts';

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
          since: z.iso.datetime().optional().openapi({ description: 'Only entries at or after this UTC time' }),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: { 200: json(z.object({ entries: z.array(AuditEntry) }), 'Audit entries'), ...commonErrors },
    }),
    async (c) => {
      const { since, limit } = c.req.valid('query');
      const orgId = c.get('principal').orgId;
      const rows = await c
        .get('deps')
        .db.select()
        .from(auditLog)
        .where(since ? and(eq(auditLog.orgId, orgId), gte(auditLog.at, new Date(since))) : eq(auditLog.orgId, orgId))
        .orderBy(desc(auditLog.id))
        .limit(limit);
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
