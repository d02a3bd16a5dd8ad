import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { desc } from 'drizzle-orm';
import { erasePatient } from '../../../db/erasure.ts';
import { patients } from '../../../db/schema.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { ensureFound, findOwned, listOwned } from '../owned.ts';
import { commonErrors, conflict, IdParam, json, jsonBody, LanguageSchema, MatrixUserId, notFound, pageQuery, security, TimeZoneSchema } from '../schemas.ts';

export const Patient = z
  .object({
    id: z.uuid(),
    matrixUserId: z.string(),
    displayName: z.string().nullable(),
    language: LanguageSchema,
    timeZone: z.string(),
    consent: z.enum(['none', 'asked', 'given', 'refused', 'withdrawn']).openapi({ description: 'Consent state from the conversation with the bot' }),
    monitoring: z
      .enum(['active', 'paused', 'stopped'])
      .openapi({ description: 'paused: a clinician paused scheduled check-ins; stopped: the patient said stop' }),
    createdAt: z.iso.datetime(),
  })
  .openapi('Patient');

export const CreatePatient = z
  .strictObject({
    matrixUserId: MatrixUserId,
    language: LanguageSchema.default('de'),
    timeZone: TimeZoneSchema.default('Europe/Berlin'),
    displayName: z.string().min(1).max(200).optional().openapi({ description: 'Shown to clinicians in alerts; never sent to other organisations' }),
  })
  .openapi('CreatePatient');

type Row = typeof patients.$inferSelect;
export const patientView = (row: Row): z.infer<typeof Patient> => ({
  id: row.id,
  matrixUserId: row.matrixUserId,
  displayName: row.displayName,
  language: row.language as z.infer<typeof LanguageSchema>,
  timeZone: row.timeZone,
  consent: row.consent,
  monitoring: row.monitoring,
  createdAt: row.createdAt.toISOString(),
});

/**
 * Registers a patient of the caller's organisation (audited); 409 for a Matrix id that is one
 * already. The API route and the web app's enrollment form both call this.
 */
export async function registerPatient(c: Context<ApiEnv>, body: z.output<typeof CreatePatient>): Promise<Row> {
  const orgId = c.get('principal').orgId;
  const [row] = await c
    .get('deps')
    .db.insert(patients)
    .values({ orgId, matrixUserId: body.matrixUserId, language: body.language, timeZone: body.timeZone, displayName: body.displayName ?? null })
    .onConflictDoNothing({ target: [patients.orgId, patients.matrixUserId] })
    .returning();
  await audit(c, 'patient.create', { type: 'Patient', id: row?.id ?? null }, row ? 'ok' : 'invalid');
  if (!row) throw new ApiError('conflict', 'this Matrix user is already a patient of your organisation');
  return row;
}

export function patientRoutes(api: OpenAPIHono<ApiEnv>): void {
  const writers = requireRole('org_admin', 'integration');
  const readers = requireRole('org_admin', 'integration', 'clinician');

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/patients',
      tags: ['Patients'],
      summary: 'Register a patient of your organisation',
      security,
      middleware: writers,
      request: jsonBody(CreatePatient),
      responses: { 201: json(Patient, 'Registered'), ...commonErrors, ...conflict('This Matrix user is already a patient of your organisation') },
    }),
    async (c) => c.json(patientView(await registerPatient(c, c.req.valid('json'))), 201),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/patients',
      tags: ['Patients'],
      summary: "List your organisation's patients",
      security,
      middleware: readers,
      request: { query: z.object(pageQuery()) },
      responses: { 200: json(z.object({ patients: z.array(Patient) }), 'Patients, newest first'), ...commonErrors },
    }),
    async (c) => {
      const { limit, offset } = c.req.valid('query');
      const rows = await listOwned(c, {
        table: patients,
        orderBy: [desc(patients.createdAt), desc(patients.id)],
        limit,
        offset,
        action: 'patient.list',
        type: 'Patient',
      });
      return c.json({ patients: rows.map(patientView) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/patients/{id}',
      tags: ['Patients'],
      summary: 'One patient',
      security,
      middleware: readers,
      request: { params: IdParam },
      responses: { 200: json(Patient, 'The patient'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await findOwned(c, { table: patients, id, notFound: 'no such patient', action: 'patient.read', type: 'Patient' });
      return c.json(patientView(row), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/patients/{id}',
      tags: ['Patients'],
      summary: 'Erase a patient and everything about them (GDPR Art. 17)',
      description:
        "Deletes answers, FHIR data, conversation state, files and queued messages at once; the bot leaves the patient's room. Audit entries (ids only) remain.",
      security,
      middleware: writers,
      request: { params: IdParam },
      responses: { 204: { description: 'Erased' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const erased = await ensureFound(c, await erasePatient(c.get('deps').db, c.get('principal').orgId, id), {
        action: 'patient.erase',
        type: 'Patient',
        id,
        notFound: 'no such patient',
      });
      if (erased.roomId)
        await c
          .get('deps')
          .contact.forgetRoom(erased.roomId)
          .catch(() => {});
      return c.body(null, 204);
    },
  );
}
