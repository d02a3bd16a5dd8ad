import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { missingTexts } from '../../../core/flow/completeness.ts';
import { flowRow } from '../../../db/flows.ts';
import { describeIssue } from '../../../services/flow-authoring.ts';
import { ApiError } from '../../errors.ts';
import { requireRole } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import { actorOf, asDocument, asYaml, audited, FHIR_JSON, FlowIdParam, flowTextOf, invalidFlowResponse, YAML_TYPES } from '../flow-http.ts';
import { DraftView, draftView, keepRawText, questionnaireOf, versionView } from '../flow-views.ts';
import { commonErrors, conflict, json, LanguageSchema, notFound, security } from '../schemas.ts';

/**
 * A flow's draft over the API: written as YAML or JSON (or imported from a
 * FHIR Questionnaire), tried with answers, compared with the published
 * version, submitted for review by its author, and published by another
 * person with the org_admin or flow_reviewer role (four-eyes). Publishing
 * replays the golden transcripts stored with the draft and refuses missing
 * texts; patients only ever get published versions.
 */
const FlowDocument = z.record(z.string(), z.unknown()).openapi('FlowDocument', { description: 'A flow document: the YAML flow file as JSON (docs/flows.md)' });

const flowBody = {
  required: true,
  content: {
    'application/yaml': { schema: { type: 'string' as const, description: 'The flow, in the format of the flow files (docs/flows.md)' } },
    'application/json': { schema: FlowDocument },
    [FHIR_JSON]: { schema: { type: 'object' as const, description: 'A FHIR R4 Questionnaire (SDC), imported as `visite flows import` does' } },
  },
};

const TryRequest = z
  .strictObject({
    lang: LanguageSchema.default('de'),
    answers: z
      .array(z.string().max(2000))
      .max(200)
      .openapi({
        description: 'One patient message each, as lines of `visite flows try --answers` (`/photo`, `/react 👍`, `/edit …` included)',
        example: ['8', '39,7', '1'],
      }),
    now: z.iso
      .datetime({ error: 'expected a UTC time, e.g. 2026-01-15T08:00:00Z' })
      .optional()
      .openapi({ description: 'The clock of the try (relative dates like "heute" use it); default now' }),
  })
  .openapi('TryDraft');

const TryEvent = z.record(z.string(), z.unknown()).openapi('TryEvent', {
  description:
    'As a line of `visite flows try --answers` (docs/flows.md): `bot` (text, kind, lang, questionId), `alert` (ruleId, severity, message, messages, questionId, values, trend, at), `observation` and `questionnaireResponse` (resource)',
});

const Diff = z
  .object({
    from: z.string().nullable().openapi({ description: 'The version patients get now (null: none)' }),
    to: z.string(),
    texts: z.array(z.object({ key: z.string(), language: z.string(), before: z.string().nullable(), after: z.string().nullable() })),
    questions: z
      .array(z.record(z.string(), z.unknown()))
      .openapi({ description: '`{ id, change: added|removed|changed, before?, after?, fields? }`: answer type, range, unit, required, codes, branching' }),
    order: z.object({ before: z.array(z.string()), after: z.array(z.string()) }).nullable(),
    options: z.array(z.record(z.string(), z.unknown())).openapi({ description: '`{ questionId, code, change, fields? }`' }),
    rules: z
      .array(z.record(z.string(), z.unknown()))
      .openapi({ description: 'Alert rules: `{ id, change, before?, after?, fields? }` (a moved threshold is under `thresholds`)' }),
    thresholds: z.array(z.object({ ruleId: z.string(), questionId: z.string(), before: z.number(), after: z.number() })),
    computed: z.array(z.record(z.string(), z.unknown())),
    schedule: z.object({ before: z.unknown(), after: z.unknown() }).nullable(),
    settings: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })),
    thresholdProblems: z.array(z.object({ careTeamId: z.uuid(), careTeamName: z.string(), ruleId: z.string(), message: z.string() })).openapi({
      description: "Your care teams' own thresholds this version would not take (e.g. a rule it removes)",
    }),
  })
  .openapi('FlowDiff');

const ThresholdProblem = z.object({ careTeamId: z.uuid(), careTeamName: z.string(), ruleId: z.string(), message: z.string() }).openapi('ThresholdProblem');

const Format = z
  .enum(['json', 'yaml', 'fhir'])
  .default('json')
  .openapi({ description: 'json (default): the draft with its flow document; yaml: the flow text; fhir: the FHIR R4 Questionnaire (status draft)' });

const Params = z.object({ id: FlowIdParam });

export function flowDraftRoutes(api: OpenAPIHono<ApiEnv>): void {
  const authors = requireRole('org_admin', 'flow_author');
  const reviewers = requireRole('org_admin', 'flow_reviewer');
  const workers = requireRole('org_admin', 'flow_author', 'flow_reviewer');

  /** The draft with its current warnings (the stored text compiled again). */
  async function current(c: Context<ApiEnv>, flowId: string) {
    const { row, compiled } = await c.get('deps').authoring.draft(c.get('principal').orgId, flowId);
    const saved = compiled.ok ? { warnings: compiled.warnings, missingTexts: missingTexts(compiled.warnings, compiled.source) } : undefined;
    return { row, compiled, saved };
  }

  api.openapi(
    createRoute({
      method: 'put',
      path: '/v1/flows/{id}/draft',
      tags: ['Flow authoring'],
      summary: 'Write the draft of a flow (new or next version)',
      description:
        'The flow as YAML (`Content-Type: application/yaml`, the format of the flow files), as a JSON flow document, or as a FHIR Questionnaire (`application/fhir+json`, imported). Replaces the draft if there is one (a draft in review goes back to draft). Errors are 422 with the issues located by line and column in the text you sent, with the codes and hints of `visite flows validate`. Missing translations do not stop a draft: they come back as `warnings`/`missingTexts`, and publishing refuses them. `version:` must be one not yet published; `url:` is set by Visite.',
      security,
      middleware: [authors, keepRawText],
      request: { params: Params, body: flowBody },
      responses: {
        201: json(DraftView, 'A new draft'),
        200: json(DraftView, 'The draft, replaced'),
        ...commonErrors,
        ...invalidFlowResponse,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { authoring, db } = c.get('deps');
      const orgId = c.get('principal').orgId;
      const { text, warnings } = await flowTextOf(c, id, async () => (await flowRow(db, orgId, id))?.id);
      const saved = await audited(
        c,
        'flow.draft.write',
        id,
        () => authoring.saveDraft(orgId, id, text, actorOf(c)),
        (s) => s.row.version,
      );
      return c.json(draftView(c, saved.row, saved, warnings), saved.created ? 201 : 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows/{id}/draft',
      tags: ['Flow authoring'],
      summary: 'The draft: as JSON, as its YAML text, or as FHIR Questionnaire',
      security,
      middleware: workers,
      request: { params: Params, query: z.object({ format: Format }) },
      responses: {
        200: {
          content: {
            'application/json': { schema: DraftView.extend({ document: FlowDocument }) },
            'application/yaml': { schema: { type: 'string' } },
            [FHIR_JSON]: { schema: { type: 'object', description: 'A FHIR R4 Questionnaire (status draft)' } },
          },
          description: 'The draft',
        },
        ...commonErrors,
        ...notFound,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { format } = c.req.valid('query');
      const { row, compiled, saved } = await audited(
        c,
        'flow.draft.read',
        id,
        () => current(c, id),
        (d) => d.row.version,
      );
      if (format === 'yaml') return c.body(asYaml(row.source), 200, { 'content-type': `${YAML_TYPES[0]}; charset=utf-8` });
      if (format === 'fhir') {
        if (!compiled.ok) throw new ApiError('invalid_flow', 'the stored draft does not compile', { issues: compiled.issues.map(describeIssue) });
        return c.body(JSON.stringify(questionnaireOf(compiled.flow, row)), 200, { 'content-type': FHIR_JSON });
      }
      return c.json({ ...draftView(c, row, saved), document: asDocument(row.source) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/flows/{id}/draft',
      tags: ['Flow authoring'],
      summary: 'Discard the draft',
      security,
      middleware: authors,
      request: { params: Params },
      responses: { 204: { description: 'Discarded' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await audited(
        c,
        'flow.draft.discard',
        id,
        () => c.get('deps').authoring.discardDraft(c.get('principal').orgId, id),
        (row) => row.version,
      );
      return c.body(null, 204);
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/v1/flows/{id}/draft/transcripts',
      tags: ['Flow authoring'],
      summary: 'Store the golden transcripts publishing replays',
      description:
        "The format of `<flow>.transcripts.yaml` (docs/flows.md §12), as YAML or JSON; `flow:` may be left out (they belong to this draft). Publishing replays them against the draft and refuses on any difference. A new draft keeps the transcripts of the flow's newest version until you send others.",
      security,
      middleware: [authors, keepRawText],
      request: {
        params: Params,
        body: {
          required: true,
          content: {
            'application/yaml': { schema: { type: 'string', description: 'Golden transcripts (docs/flows.md §12)' } },
            'application/json': { schema: z.record(z.string(), z.unknown()).openapi('Transcripts', { description: 'Golden transcripts as JSON' }) },
          },
        },
      },
      responses: { 200: json(DraftView, 'The draft with its transcripts'), ...commonErrors, ...notFound, ...invalidFlowResponse },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const text = await c.req.text();
      const row = await audited(
        c,
        'flow.transcripts.write',
        id,
        () => c.get('deps').authoring.saveTranscripts(c.get('principal').orgId, id, text, actorOf(c)),
        (r) => r.version,
      );
      return c.json(draftView(c, row, (await current(c, id)).saved), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows/{id}/draft/transcripts',
      tags: ['Flow authoring'],
      summary: "The draft's golden transcripts (YAML)",
      security,
      middleware: workers,
      request: { params: Params },
      responses: { 200: { content: { 'application/yaml': { schema: { type: 'string' } } }, description: 'The transcripts' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { row } = await audited(
        c,
        'flow.transcripts.read',
        id,
        () => current(c, id),
        (d) => d.row.version,
      );
      if (row.transcripts === null) throw new ApiError('not_found', 'the draft has no transcripts');
      return c.body(asYaml(row.transcripts), 200, { 'content-type': `${YAML_TYPES[0]}; charset=utf-8` });
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows/{id}/draft/try',
      tags: ['Flow authoring'],
      summary: 'Try the draft with answers, as `visite flows try --answers` does',
      description:
        'Runs the draft as the bot would (red flags, commands, re-asks, alerts, FHIR records) with one patient message per answer, without a patient and without storing anything, and returns what happened: the same objects `visite flows try --answers` prints, one per event.',
      security,
      middleware: workers,
      request: { params: Params, body: { required: true, content: { 'application/json': { schema: TryRequest } } } },
      responses: { 200: json(z.object({ events: z.array(TryEvent) }), 'What happened, in order'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const tried = await audited(
        c,
        'flow.draft.try',
        id,
        () =>
          c.get('deps').authoring.tryDraft(c.get('principal').orgId, id, body.answers, {
            lang: body.lang,
            now: body.now ? new Date(body.now) : new Date(),
            subject: 'Patient/example',
          }),
        (t) => t.row.version,
      );
      return c.json({ events: tried.events as unknown as Array<Record<string, unknown>> }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/v1/flows/{id}/draft/diff',
      tags: ['Flow authoring'],
      summary: 'What the draft changes compared with the version patients get now',
      description:
        "For the reviewer: texts per language, questions and their answer settings, answer options, alert rules, thresholds, schedule and settings, as structured JSON; and the care teams' thresholds the draft would not take.",
      security,
      middleware: workers,
      request: { params: Params },
      responses: { 200: json(Diff, 'The changes'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await audited(
        c,
        'flow.draft.diff',
        id,
        () => c.get('deps').authoring.diff(c.get('principal').orgId, id),
        (d) => d.row.version,
      );
      return c.json({ ...result.diff, thresholdProblems: result.thresholdProblems } as unknown as z.infer<typeof Diff>, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows/{id}/draft/submit',
      tags: ['Flow authoring'],
      summary: 'Submit the draft for review',
      description: 'Checks it as publishing will (every text in every language, golden transcripts) and marks it `in_review`. Another person publishes it.',
      security,
      middleware: authors,
      request: { params: Params },
      responses: { 200: json(DraftView, 'In review'), ...commonErrors, ...notFound, ...conflict('Already in review'), ...invalidFlowResponse },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { row } = await audited(
        c,
        'flow.submit',
        id,
        () => c.get('deps').authoring.submit(c.get('principal').orgId, id, actorOf(c)),
        (s) => s.row.version,
      );
      return c.json(draftView(c, row), 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/v1/flows/{id}/draft/publish',
      tags: ['Flow authoring'],
      summary: 'Publish the version in review (four-eyes: not by its author)',
      description:
        "Needs the org_admin or flow_reviewer role and a person other than everyone who wrote or submitted the version (403 otherwise). Replays the golden transcripts and checks every text once more (422 on a failure, naming it). From now on new check-ins start on this version; running ones finish on theirs. Care teams' thresholds the version does not take are reported in `thresholdProblems`.",
      security,
      middleware: reviewers,
      request: { params: Params },
      responses: {
        200: json(
          z.object({
            published: z.record(z.string(), z.unknown()).openapi({ description: 'The published version (FlowVersion)' }),
            previous: z.string().nullable().openapi({ description: 'The version new check-ins started on until now (null: none of your own)' }),
            transcripts: z.object({ passed: z.number().int() }),
            thresholdProblems: z.array(ThresholdProblem),
          }),
          'Published',
        ),
        ...commonErrors,
        ...notFound,
        ...conflict('The draft has not been submitted for review'),
        ...invalidFlowResponse,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const published = await audited(
        c,
        'flow.publish',
        id,
        () => c.get('deps').authoring.publish(c.get('principal').orgId, id, actorOf(c)),
        (p) => p.row.version,
      );
      const flow = c.get('deps').flows.compile(published.row);
      return c.json(
        {
          published: versionView(flow, published.row),
          previous: published.previous,
          transcripts: published.transcripts,
          thresholdProblems: published.thresholdProblems,
        },
        200,
      );
    },
  );
}
