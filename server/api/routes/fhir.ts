import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { searchResources } from '../../../db/fhir.ts';
import { patientResource } from '../../../core/fhir/patient.ts';
import { patients } from '../../../db/schema.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { type DateRange, FHIR_DATE_HELP, parseFhirDate } from '../fhir-date.ts';
import { findOwned } from '../owned.ts';
import { commonErrors, notFound, security } from '../schemas.ts';

/**
 * The FHIR R4 read surface: Observations and QuestionnaireResponses of the
 * caller's organisation, and a patient's `$everything` (the GDPR export).
 * Same authentication and tenant scoping as /v1; errors as OperationOutcome.
 */
export const FHIR_JSON = 'application/fhir+json';

export const FhirResource = z.record(z.string(), z.unknown()).openapi('FhirResource', { description: 'A FHIR R4 resource' });
export const Bundle = z
  .object({
    resourceType: z.literal('Bundle'),
    type: z.string(),
    total: z.number().int().optional(),
    entry: z.array(z.object({ fullUrl: z.string(), resource: FhirResource })),
  })
  .openapi('Bundle');
export const fhir = (schema: z.ZodType, description: string) => ({ content: { [FHIR_JSON]: { schema } }, description });

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const PatientRef = z
  .string()
  .regex(new RegExp(`^(Patient/)?${UUID}$`, 'i'), { error: 'expected Patient/<id> or <id>, the id a UUID' })
  .transform((v) => v.replace(/^Patient\//, '').toLowerCase());

/** FHIR's `_format`: only JSON is served (`+` may arrive as a space when not percent-encoded). */
const FORMATS = ['json', 'application/json', 'application/fhir+json'];
export const FormatQuery = z.object({
  _format: z
    .string()
    .refine((v) => FORMATS.includes(v.replace(/ /g, '+')), { error: `only JSON is served: ${FORMATS.join(', ')}` })
    .optional()
    .openapi({ description: `Response format; only JSON: ${FORMATS.join(', ')}` }),
});

/** Repeatable `date` values, each a range (see fhir-date.ts). */
const DateParam = z.union([z.string(), z.array(z.string())]).transform((value, ctx) => {
  const ranges: DateRange[] = [];
  for (const item of Array.isArray(value) ? value : [value]) {
    const parsed = parseFhirDate(item);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    else ranges.push(parsed);
  }
  return ranges;
});

export function bundle(c: Context<ApiEnv>, type: 'searchset' | 'collection', resources: unknown[]) {
  const base = `${c.get('deps').publicUrl}/fhir/R4`;
  return {
    resourceType: 'Bundle' as const,
    type,
    ...(type === 'searchset' ? { total: resources.length } : {}),
    entry: resources.map((resource) => {
      const r = resource as { resourceType: string; id: string };
      return { fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: resource as Record<string, unknown> };
    }),
  };
}

export function fhirRoutes(api: OpenAPIHono<ApiEnv>): void {
  const readers = requireRole('org_admin', 'integration', 'clinician');
  const searchQuery = FormatQuery.extend({
    patient: PatientRef.optional().openapi({ description: 'Patient/<id> or <id>' }),
    _count: z.coerce.number().int().min(1).max(1000).default(100),
  });

  api.openapi(
    createRoute({
      method: 'get',
      path: '/fhir/R4/metadata',
      tags: ['FHIR'],
      summary: 'CapabilityStatement of the FHIR read API',
      request: { query: FormatQuery },
      responses: { 200: fhir(FhirResource, 'CapabilityStatement') },
    }),
    (c) =>
      c.json(
        {
          resourceType: 'CapabilityStatement',
          status: 'active',
          date: '2026-11-28',
          kind: 'instance',
          fhirVersion: '4.0.1',
          format: ['application/fhir+json'],
          rest: [
            {
              mode: 'server',
              security: { description: 'Bearer API key or OIDC access token; results are limited to your organisation' },
              resource: [
                {
                  type: 'Observation',
                  interaction: [{ code: 'search-type' }],
                  searchParam: ['patient', 'code', 'date'].map((name) => ({ name, type: name === 'date' ? 'date' : name === 'code' ? 'token' : 'reference' })),
                },
                { type: 'QuestionnaireResponse', interaction: [{ code: 'search-type' }], searchParam: [{ name: 'patient', type: 'reference' }] },
                { type: 'Patient', operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] },
                {
                  type: 'Questionnaire',
                  interaction: [{ code: 'read' }, { code: 'search-type' }],
                  searchParam: [
                    { name: 'url', type: 'uri' },
                    { name: 'version', type: 'token' },
                  ],
                },
              ],
            },
          ],
        },
        200,
        { 'content-type': FHIR_JSON },
      ),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/fhir/R4/Observation',
      tags: ['FHIR'],
      summary: 'Search Observations (patient, code, date)',
      security,
      middleware: readers,
      request: {
        query: searchQuery.extend({
          code: z.string().min(1).max(500).optional().openapi({ description: 'system|code or code, e.g. http://loinc.org|8310-5' }),
          date: DateParam.optional().openapi({ description: `Repeatable, e.g. date=ge2026-01-01&date=lt2026-02-01; ${FHIR_DATE_HELP}` }),
        }),
      },
      responses: { 200: fhir(Bundle, 'A searchset Bundle'), ...commonErrors },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const dates = query.date ?? [];
      const found = await searchResources(c.get('deps').db, {
        orgId: c.get('principal').orgId,
        resourceType: 'Observation',
        limit: query._count,
        dates,
        ...(query.patient ? { patientId: query.patient } : {}),
        ...(query.code ? { code: query.code } : {}),
      });
      await audit(c, 'fhir.Observation.search', { type: 'Patient', id: query.patient ?? null });
      return c.json(bundle(c, 'searchset', found), 200, { 'content-type': FHIR_JSON });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/fhir/R4/QuestionnaireResponse',
      tags: ['FHIR'],
      summary: 'Search QuestionnaireResponses (patient)',
      security,
      middleware: readers,
      request: { query: searchQuery },
      responses: { 200: fhir(Bundle, 'A searchset Bundle'), ...commonErrors },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const found = await searchResources(c.get('deps').db, {
        orgId: c.get('principal').orgId,
        resourceType: 'QuestionnaireResponse',
        limit: query._count,
        ...(query.patient ? { patientId: query.patient } : {}),
      });
      await audit(c, 'fhir.QuestionnaireResponse.search', { type: 'Patient', id: query.patient ?? null });
      return c.json(bundle(c, 'searchset', found), 200, { 'content-type': FHIR_JSON });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/fhir/R4/Patient/{id}/$everything',
      tags: ['FHIR'],
      summary: 'Everything about one patient as a Bundle (GDPR Art. 15/20 export)',
      security,
      middleware: readers,
      request: { params: z.object({ id: z.uuid({ error: 'expected a patient id' }).openapi({ param: { name: 'id', in: 'path' } }) }), query: FormatQuery },
      responses: { 200: fhir(Bundle, 'A collection Bundle: the Patient, QuestionnaireResponses, Observations and alert Flags'), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(await patientEverything(c, c.req.valid('param').id), 200, { 'content-type': FHIR_JSON }),
  );
}

/**
 * A patient's `$everything` Bundle (audited; 404 for a patient of another organisation). The FHIR
 * route and the web app's chart download both call this.
 */
export async function patientEverything(c: Context<ApiEnv>, id: string) {
  const patient = await findOwned(c, { table: patients, id, notFound: 'no such patient', action: 'fhir.Patient.everything', type: 'Patient' });
  const { db } = c.get('deps');
  const orgId = c.get('principal').orgId;
  // Built from the current patient row, so the export shows today's name and language.
  const resource = patientResource(patient);
  const responses = await searchResources(db, { orgId, resourceType: 'QuestionnaireResponse', patientId: id, limit: 10_000 });
  const observations = await searchResources(db, { orgId, resourceType: 'Observation', patientId: id, limit: 100_000 });
  const flags = await searchResources(db, { orgId, resourceType: 'Flag', patientId: id, limit: 10_000 });
  const provenance = await searchResources(db, { orgId, resourceType: 'Provenance', patientId: id, limit: 10_000 });
  return bundle(c, 'collection', [resource, ...responses, ...observations, ...provenance, ...flags]);
}
