import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deployedVersions, deployedVersion, flowById, newestOwnRelease, ownVersions, releasedById, type FlowVersionRow } from '../../../db/flows.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { questionnaireOf } from '../flow-views.ts';
import { commonErrors, notFound, security } from '../schemas.ts';
import { Bundle, bundle, fhir, FHIR_JSON, FhirResource, FormatQuery } from './fhir.ts';

/**
 * The organisation's flows as FHIR Questionnaires: every published and
 * retired version (drafts never), its own and the deployed ones. Each version
 * is one resource (its id is the version's id) with the flow's canonical URL
 * and its version, so the `questionnaire` of every stored
 * QuestionnaireResponse (`url|version`) resolves here to exactly the version
 * the patient was asked: `GET /fhir/R4/Questionnaire?url=…&version=…`.
 */
const released = (rows: FlowVersionRow[]) => rows.filter((r) => r.status === 'published' || r.status === 'retired');

export function fhirQuestionnaireRoutes(api: OpenAPIHono<ApiEnv>): void {
  const readers = requireRole('org_admin', 'integration', 'clinician', 'flow_author', 'flow_reviewer');

  const resource = (c: Context<ApiEnv>, row: FlowVersionRow) => questionnaireOf(c.get('deps').flows.compile(row), row);

  api.openapi(
    createRoute({
      method: 'get',
      path: '/fhir/R4/Questionnaire',
      tags: ['FHIR'],
      summary: 'Search Questionnaires: the published and retired versions of your flows (url, version)',
      security,
      middleware: readers,
      request: {
        query: FormatQuery.extend({
          url: z
            .string()
            .min(1)
            .max(2000)
            .optional()
            .openapi({ description: "Canonical URL, e.g. the part before `|` of a QuestionnaireResponse's `questionnaire`" }),
          version: z.string().min(1).max(100).optional().openapi({ description: 'Business version, e.g. 1.1.0' }),
        }),
      },
      responses: { 200: fhir(Bundle, 'A searchset Bundle'), ...commonErrors },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const { db } = c.get('deps');
      const orgId = c.get('principal').orgId;
      const rows = [...released(await ownVersions(db, orgId)), ...released(await deployedVersions(db))].filter(
        (r) => query.version === undefined || r.version === query.version,
      );
      const found = rows.map((row) => resource(c, row)).filter((q) => query.url === undefined || q.url === query.url);
      await audit(c, 'fhir.Questionnaire.search', { type: 'Questionnaire', id: null });
      return c.json(bundle(c, 'searchset', found), 200, { 'content-type': FHIR_JSON });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/fhir/R4/Questionnaire/{id}',
      tags: ['FHIR'],
      summary: 'One Questionnaire: a flow version by its id, or by the id in a canonical URL the version new check-ins start on',
      security,
      middleware: readers,
      request: {
        params: z.object({ id: z.uuid({ error: 'expected a Questionnaire id' }).openapi({ param: { name: 'id', in: 'path' } }) }),
        query: FormatQuery,
      },
      responses: { 200: fhir(FhirResource, 'The Questionnaire'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { db, flows } = c.get('deps');
      const orgId = c.get('principal').orgId;
      let row = await releasedById(db, orgId, id);
      if (!row) {
        // The canonical URL's own id: the flow's version that new check-ins start on.
        const flow = await flowById(db, orgId, id);
        if (flow?.orgId) row = await newestOwnRelease(db, orgId, flow.flowId);
        else if (flow) {
          const file = flows.deployed.get(flow.flowId);
          row = file ? await deployedVersion(db, flow.flowId, file.flow.version) : undefined;
        }
      }
      await audit(c, 'fhir.Questionnaire.read', { type: 'Questionnaire', id }, row ? 'ok' : 'not_found');
      if (!row) throw new ApiError('not_found', 'no such Questionnaire');
      return c.json(resource(c, row), 200, { 'content-type': FHIR_JSON });
    },
  );
}
