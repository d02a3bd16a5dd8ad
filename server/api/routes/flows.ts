import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Flow } from '../../../core/flow/model.ts';
import { deployedVersions, ownVersions, releasedVersion, type FlowVersionRow } from '../../../db/flows.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { actorOf, asDocument, asYaml, audited, FHIR_JSON, FlowIdParam, flowTextOf, invalidFlowResponse, VersionParam, YAML_TYPES } from '../flow-http.ts';
import { DraftView, draftView, FlowVersion, keepRawText, questionnaireOf, versionView } from '../flow-views.ts';
import { commonErrors, conflict, json, notFound, security } from '../schemas.ts';

/**
 * The organisation's flow catalog: what flows it has (its own and the
 * deployed ones), their versions, the templates to start from; reading one
 * version as YAML, JSON or FHIR Questionnaire, and retiring one. Drafts and
 * publishing are in flow-drafts.ts.
 */
const Schedule = z
  .object({ anchor: z.string(), days: z.array(z.number().int()), time: z.string(), timezone: z.string() })
  .nullable()
  .openapi({ description: 'Check-ins relative to the enrollment anchor date, at local time' });

const VersionSummary = z
  .object({
    version: z.string(),
    status: z.enum(['published', 'retired']),
    publishedAt: z.iso.datetime().nullable(),
    retiredAt: z.iso.datetime().nullable(),
    current: z.boolean().openapi({ description: 'New check-ins start on this version' }),
    questionnaireId: z.uuid().openapi({ description: 'This version as FHIR: GET /fhir/R4/Questionnaire/{questionnaireId}' }),
  })
  .openapi('FlowVersionSummary');

const FlowSummary = z
  .object({
    id: z.string(),
    origin: z
      .enum(['organisation', 'deployed'])
      .openapi({ description: "organisation: your own catalog's flow; deployed: a flow file of this installation, used while you have no flow of this id" }),
    version: z.string().nullable().openapi({ description: 'The version new check-ins start on; null when none is published' }),
    url: z.string().nullable().openapi({ description: 'Canonical URL of the Questionnaire (with `version`, what QuestionnaireResponses point at)' }),
    title: z.record(z.string(), z.string()).openapi({ description: 'Title per language' }),
    languages: z.array(z.string()),
    questions: z.number().int(),
    schedule: Schedule,
    versions: z.array(VersionSummary).openapi({ description: 'Published and retired versions, oldest first' }),
    draft: z.object({ version: z.string(), status: z.enum(['draft', 'in_review']), updatedAt: z.iso.datetime() }).nullable(),
  })
  .openapi('Flow');

const Template = z
  .object({
    id: z.string(),
    version: z.string(),
    title: z.record(z.string(), z.string()),
    languages: z.array(z.string()),
    questions: z.number().int(),
    transcripts: z.boolean(),
  })
  .openapi('FlowTemplate');

const FromTemplate = z
  .strictObject({ fromTemplate: z.string().min(1).max(64).openapi({ example: 'post-op', description: 'A template id (`GET /v1/flow-templates`)' }) })
  .openapi('CreateFlowFromTemplate');

const Format = z
  .enum(['json', 'yaml', 'fhir'])
  .default('json')
  .openapi({ description: 'json (default): the version with its flow document; yaml: the flow text; fhir: the FHIR R4 Questionnaire' });

const iso = (d: Date | null) => d?.toISOString() ?? null;
const titleOf = (flow: Flow) => flow.title as Record<string, string>;
const scheduleOf = (flow: Flow) =>
  flow.schedule ? { anchor: flow.schedule.anchor, days: flow.schedule.days, time: flow.schedule.time, timezone: flow.schedule.timezone } : null;

type Summary = z.infer<typeof FlowSummary>;

/** The catalog as the organisation sees it: one entry per flow id. */
async function summaries(c: Context<ApiEnv>, onlyFlowId?: string): Promise<Summary[]> {
  const { db, flows } = c.get('deps');
  const orgId = c.get('principal').orgId;
  const own = await ownVersions(db, orgId, onlyFlowId);
  const deployed = await deployedVersions(db, onlyFlowId);
  const ids = [...new Set([...own.map((r) => r.flowId), ...[...flows.deployed.keys()].filter((id) => onlyFlowId === undefined || id === onlyFlowId)])].sort();
  const out: Summary[] = [];
  for (const flowId of ids) {
    const mine = own.filter((r) => r.flowId === flowId);
    const released = mine.filter((r) => r.status === 'published' || r.status === 'retired');
    const draft = mine.find((r) => r.status === 'draft' || r.status === 'in_review');
    const current = await flows.find(orgId, flowId);
    const origin = released.length > 0 || !flows.deployed.has(flowId) ? 'organisation' : 'deployed';
    const versions = origin === 'organisation' ? released : deployed.filter((r) => r.flowId === flowId);
    // What the entry shows: the current version, else the draft (a flow still being written).
    const shown: Flow | undefined =
      current ?? (draft ? draftFlow(c, draft) : undefined) ?? (released.length > 0 ? flows.compile(released[released.length - 1]!) : undefined);
    out.push({
      id: flowId,
      origin,
      version: current?.version ?? null,
      url: current?.url ?? null,
      title: shown ? titleOf(shown) : {},
      languages: shown?.languages ?? [],
      questions: shown?.questions.length ?? 0,
      schedule: shown ? scheduleOf(shown) : null,
      versions: versions.map((r) => ({
        version: r.version,
        status: r.status as 'published' | 'retired',
        publishedAt: iso(r.publishedAt),
        retiredAt: iso(r.retiredAt),
        current: current?.catalog.versionId === r.id,
        questionnaireId: r.id,
      })),
      draft: draft ? { version: draft.version, status: draft.status as 'draft' | 'in_review', updatedAt: draft.updatedAt.toISOString() } : null,
    });
  }
  return out;
}

function draftFlow(c: Context<ApiEnv>, row: FlowVersionRow): Flow | undefined {
  const compiled = c.get('deps').flows.compileText(row.source, row.flowRef, { incompleteTexts: true });
  return compiled.ok ? compiled.flow : undefined;
}

export function flowRoutes(api: OpenAPIHono<ApiEnv>): void {
  const readers = requireRole('org_admin', 'clinician', 'integration', 'flow_author', 'flow_reviewer');
  const authors = requireRole('org_admin', 'flow_author');
  const reviewers = requireRole('org_admin', 'flow_reviewer');

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows',
      tags: ['Flows'],
      summary: 'List your flows: your own catalog and the deployed flows, with their versions',
      security,
      middleware: readers,
      responses: { 200: json(z.object({ flows: z.array(FlowSummary) }), 'The flows by id'), ...commonErrors },
    }),
    async (c) => c.json({ flows: await summaries(c) }, 200),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows/{id}',
      tags: ['Flows'],
      summary: 'One flow with its versions and draft',
      security,
      middleware: readers,
      request: { params: z.object({ id: FlowIdParam }) },
      responses: { 200: json(FlowSummary, 'The flow'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const [found] = await summaries(c, c.req.valid('param').id);
      if (!found) throw new ApiError('not_found', 'no such flow');
      return c.json(found, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flow-templates',
      tags: ['Flows'],
      summary: 'The templates (the flows shipped with Visite) to start your own flow from',
      security,
      middleware: readers,
      responses: { 200: json(z.object({ templates: z.array(Template) }), 'Templates by id'), ...commonErrors },
    }),
    (c) => {
      const templates = [...c.get('deps').templates.values()].map(({ flow, transcripts }) => ({
        id: flow.id,
        version: flow.version,
        title: titleOf(flow),
        languages: flow.languages,
        questions: flow.questions.length,
        transcripts: transcripts !== undefined,
      }));
      return c.json({ templates: templates.sort((a, b) => a.id.localeCompare(b.id)) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows',
      tags: ['Flows'],
      summary: 'Start a new flow of your organisation: from a template, or from a flow text',
      description:
        'JSON `{"fromTemplate": "post-op"}` copies a template (its text and golden transcripts) into your catalog as a draft; a YAML body (`Content-Type: application/yaml`, the format of the flow files) starts a draft from that text. Nothing reaches patients until the draft is submitted and published by a second person.',
      security,
      middleware: [authors, keepRawText],
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: FromTemplate },
            'application/yaml': { schema: { type: 'string', description: 'A flow in the format of the flow files (docs/flows.md)' } },
          },
        },
      },
      responses: {
        201: json(DraftView, "The new flow's draft"),
        ...commonErrors,
        ...conflict('Your organisation already has a flow with this id'),
        ...invalidFlowResponse,
      },
    }),
    async (c) => {
      const { authoring } = c.get('deps');
      const orgId = c.get('principal').orgId;
      if (!(c.req.header('content-type') ?? '').toLowerCase().includes('yaml')) {
        // Validated by the route's JSON schema (the YAML alternative has none, so the type is not inferred).
        const { fromTemplate } = c.req.valid('json' as never) as z.infer<typeof FromTemplate>;
        if (!c.get('deps').templates.has(fromTemplate))
          throw new ApiError('bad_request', 'invalid request: fromTemplate', {
            fields: [{ path: 'fromTemplate', message: 'no such template (GET /v1/flow-templates)' }],
          });
        const saved = await audited(
          c,
          'flow.create',
          fromTemplate,
          () => authoring.fromTemplate(orgId, fromTemplate, actorOf(c)),
          (s) => s.row.version,
        );
        return c.json(draftView(c, saved.row, saved), 201);
      }
      const { text } = await flowTextOf(c, undefined, async () => undefined);
      const flowId = idOf(text);
      const saved = await audited(
        c,
        'flow.create',
        flowId ?? '(unknown)',
        () => authoring.saveDraft(orgId, flowId ?? '', text, actorOf(c), { create: true }),
        (s) => s.row.version,
      );
      return c.json(draftView(c, saved.row, saved), 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows/{id}/versions/{version}',
      tags: ['Flows'],
      summary: 'One published or retired version: as JSON, as the YAML flow text, or as FHIR Questionnaire',
      security,
      middleware: readers,
      request: { params: z.object({ id: FlowIdParam, version: VersionParam }), query: z.object({ format: Format }) },
      responses: {
        200: {
          content: {
            'application/json': { schema: FlowVersion },
            'application/yaml': { schema: { type: 'string' } },
            [FHIR_JSON]: { schema: { type: 'object', description: 'A FHIR R4 Questionnaire (SDC)' } },
          },
          description: 'The version',
        },
        ...commonErrors,
        ...notFound,
      },
    }),
    async (c) => {
      const { id, version } = c.req.valid('param');
      const { format } = c.req.valid('query');
      const { db, flows } = c.get('deps');
      const row = await releasedVersion(db, { orgId: c.get('principal').orgId, flowId: id, version });
      await audit(c, 'flow.read', { type: 'Flow', id: `${id}|${version}` }, row ? 'ok' : 'not_found');
      if (!row) throw new ApiError('not_found', 'no such flow version');
      const flow = flows.compile(row);
      if (format === 'yaml') return c.body(asYaml(row.source), 200, { 'content-type': `${YAML_TYPES[0]}; charset=utf-8` });
      if (format === 'fhir') return c.body(JSON.stringify(questionnaireOf(flow, row)), 200, { 'content-type': FHIR_JSON });
      return c.json(versionView(flow, row), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows/{id}/versions/{version}/retire',
      tags: ['Flows'],
      summary: 'Retire a published version of your flow',
      description:
        'New check-ins no longer start on it: they take the latest published version that is left (none left: the flow takes no new check-ins). Check-ins running on it finish on it, and its Questionnaire stays readable (status `retired`). An enrollment pinned to it follows the latest published version.',
      security,
      middleware: reviewers,
      request: { params: z.object({ id: FlowIdParam, version: VersionParam }) },
      responses: {
        200: json(
          FlowVersion.extend({ openCheckins: z.number().int().openapi({ description: 'Check-ins still running on this version; they finish on it' }) }),
          'Retired',
        ),
        ...commonErrors,
        ...notFound,
        ...conflict('The version is already retired'),
      },
    }),
    async (c) => {
      const { id, version } = c.req.valid('param');
      const { authoring, flows } = c.get('deps');
      const retired = await audited(
        c,
        'flow.retire',
        id,
        () => authoring.retire(c.get('principal').orgId, id, version, actorOf(c)),
        (r) => r.row.version,
      );
      return c.json({ ...versionView(flows.compile(retired.row), retired.row), openCheckins: retired.openCheckins }, 200);
    },
  );
}

/** The `id:` of a flow text, to address its draft (the catalog checks the text itself). */
function idOf(text: string): string | undefined {
  try {
    const id = (asDocument(text) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
