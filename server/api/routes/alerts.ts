import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { and, desc, eq, isNotNull, isNull } from 'drizzle-orm';
import type { Db } from '../../../db/database.ts';
import { apiKeys, clinicians, escalations } from '../../../db/schema.ts';
import { acknowledgeByStaff } from '../../../services/alerts/acknowledge.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv, Principal } from '../env.ts';
import { findOwned, listOwned } from '../owned.ts';
import { commonErrors, conflict, IdParam, json, notFound, pageQuery, security } from '../schemas.ts';

const SEVERITIES = ['info', 'warning', 'urgent'] as const;
const KINDS = escalations.kind.enumValues;

const Alert = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    checkinId: z.uuid().nullable(),
    kind: z.enum(KINDS).openapi({
      description:
        'red_flag: emergency words; rule: a flow threshold; unanswered; monitoring_stopped; consent_refused; no_response; patient_message: words of the patient the bot did not take as an answer',
    }),
    severity: z.enum(SEVERITIES),
    ruleId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).openapi({ description: 'What triggered it: rule values, red-flag category, question id' }),
    createdAt: z.iso.datetime(),
    deliveredAt: z.iso.datetime().nullable().openapi({ description: 'When it was posted to the care-team room' }),
    acknowledgedAt: z.iso.datetime().nullable(),
    acknowledgedBy: z.string().nullable().openapi({ description: "`api_key:<id>`, `user:<OIDC subject>` or a clinician's Matrix id" }),
  })
  .openapi('Alert');

type Row = typeof escalations.$inferSelect;

/** How the care-team room names who acknowledged: the clinician signed in with this subject, the API key's name, or the id. */
export async function actorName(db: Db, principal: Principal & { displayName?: string }): Promise<string> {
  if (principal.kind === 'user') {
    const [person] = await db
      .select({ name: clinicians.displayName })
      .from(clinicians)
      .where(and(eq(clinicians.orgId, principal.orgId), eq(clinicians.oidcSubject, principal.id)))
      .limit(1);
    return person?.name ?? principal.displayName ?? principal.id;
  }
  const [key] = await db.select({ name: apiKeys.name }).from(apiKeys).where(eq(apiKeys.id, principal.id));
  return key?.name ?? principal.id;
}
const view = (row: Row): z.infer<typeof Alert> => ({
  id: row.id,
  patientId: row.patientId,
  checkinId: row.checkinId,
  kind: row.kind,
  severity: row.severity,
  ruleId: row.ruleId,
  details: (row.details ?? {}) as Record<string, unknown>,
  createdAt: row.createdAt.toISOString(),
  deliveredAt: row.deliveredAt?.toISOString() ?? null,
  acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
  acknowledgedBy: row.acknowledgedBy ?? null,
});

export function alertRoutes(api: OpenAPIHono<ApiEnv>): void {
  const readers = requireRole('org_admin', 'clinician', 'integration');
  const acknowledgers = requireRole('org_admin', 'clinician');

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/alerts',
      tags: ['Alerts'],
      summary: "List alerts about your organisation's patients (newest first)",
      security,
      middleware: readers,
      request: {
        query: z.object({
          patientId: z.uuid({ error: 'expected a UUID' }).optional(),
          severity: z.enum(SEVERITIES).optional(),
          open: z
            .enum(['true', 'false'], { error: 'expected true or false' })
            .optional()
            .openapi({ description: 'true: only alerts nobody acknowledged yet; false: only acknowledged ones' }),
          ...pageQuery(),
        }),
      },
      responses: { 200: json(z.object({ alerts: z.array(Alert) }), 'Alerts'), ...commonErrors },
    }),
    async (c) => {
      const { patientId, severity, open, limit, offset } = c.req.valid('query');
      const rows = await listOwned(c, {
        table: escalations,
        where: [
          patientId ? eq(escalations.patientId, patientId) : undefined,
          severity ? eq(escalations.severity, severity) : undefined,
          open === 'true' ? isNull(escalations.acknowledgedAt) : open === 'false' ? isNotNull(escalations.acknowledgedAt) : undefined,
        ],
        orderBy: [desc(escalations.createdAt), desc(escalations.id)],
        limit,
        offset,
        action: 'alert.list',
        type: 'Alert',
      });
      return c.json({ alerts: rows.map(view) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/alerts/{id}/acknowledge',
      tags: ['Alerts'],
      summary: 'Acknowledge an alert: someone takes care of it, escalation stops',
      security,
      middleware: acknowledgers,
      request: { params: IdParam },
      responses: { 200: json(Alert, 'Acknowledged'), ...commonErrors, ...notFound, ...conflict('Already acknowledged (the body names who and when)') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const principal = c.get('principal');
      await findOwned(c, { table: escalations, id, notFound: 'no such alert', action: 'alert.acknowledge', type: 'Alert', auditFound: false });
      const db = c.get('deps').db;
      const displayName = await actorName(db, principal);
      // The same acknowledgement as a ✅ in the room: the room's alert message is edited to say who took it.
      const row = await db.transaction((tx) => acknowledgeByStaff(tx, id, { by: `${principal.kind}:${principal.id}`, displayName }, new Date()));
      await audit(c, 'alert.acknowledge', { type: 'Alert', id }, row ? 'ok' : 'invalid');
      if (!row) {
        const [current] = await db.select().from(escalations).where(eq(escalations.id, id));
        throw new ApiError('conflict', 'the alert is already acknowledged', {
          acknowledgedAt: current?.acknowledgedAt?.toISOString() ?? null,
          acknowledgedBy: current?.acknowledgedBy ?? null,
        });
      }
      return c.json(view(row), 200);
    },
  );
}
