import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { exportQuestionnaire } from '../../core/fhir/export.ts';
import type { Flow } from '../../core/flow/model.ts';
import type { FlowVersionRow } from '../../db/flows.ts';
import { describeIssue, type SavedDraft } from '../../services/flow-authoring.ts';
import type { CatalogFlow } from '../../services/flows.ts';
import type { ApiEnv } from './env.ts';
import { asDocument } from './flow-http.ts';

/** How flow versions and drafts look in API answers (shared by the catalog and the authoring routes). */
const iso = (d: Date | null) => d?.toISOString() ?? null;

export const FlowIssueSchema = z
  .object({
    code: z.string().openapi({ description: 'As `visite flows validate` reports it, e.g. `missing-translation`, `unknown-key`' }),
    message: z.string(),
    hint: z.string().optional(),
    path: z.string().openapi({ description: 'Where in the flow document, e.g. `questions.2.text`' }),
    line: z.number().int().optional().openapi({ description: '1-based line in the submitted text' }),
    column: z.number().int().optional(),
    languages: z.array(z.string()).optional().openapi({ description: 'missing-translation: the languages missing' }),
  })
  .openapi('FlowIssue');

const MissingTexts = z
  .array(
    z.object({
      language: z.string(),
      keys: z.array(z.string()).openapi({ description: 'E.g. `questions.pain.text`, `questions.wound.options.redness.text`' }),
    }),
  )
  .openapi({ description: 'Texts still missing, per language (publishing refuses the draft until they are there)' });

export const DraftView = z
  .object({
    flowId: z.string(),
    version: z.string(),
    status: z.enum(['draft', 'in_review']),
    url: z.string().openapi({ description: 'The canonical URL its Questionnaire will have' }),
    authors: z.array(z.string()).openapi({ description: 'Who wrote it: none of them may publish it' }),
    submittedBy: z.string().nullable(),
    submittedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    transcripts: z.boolean().openapi({ description: 'Whether golden transcripts are stored with it' }),
    warnings: z.array(FlowIssueSchema).openapi({ description: 'Missing texts, located (the draft is kept; publishing refuses them)' }),
    missingTexts: MissingTexts,
    importWarnings: z.array(z.string()).optional().openapi({ description: 'What an imported Questionnaire lost or had changed' }),
  })
  .openapi('FlowDraft');

export const FlowVersion = z
  .object({
    flowId: z.string(),
    version: z.string(),
    status: z.enum(['published', 'retired']),
    origin: z.enum(['organisation', 'deployed']),
    url: z.string().openapi({ description: 'Canonical URL of the Questionnaire' }),
    questionnaireId: z.uuid(),
    authors: z.array(z.string()).openapi({ description: 'Who wrote it (`api_key:<id>`, `user:<subject>`)' }),
    submittedBy: z.string().nullable(),
    publishedBy: z.string().nullable().openapi({ description: 'Who published it (`deployment` for deployed files)' }),
    publishedAt: z.iso.datetime().nullable(),
    retiredBy: z.string().nullable(),
    retiredAt: z.iso.datetime().nullable(),
    transcripts: z.boolean().openapi({ description: 'Whether golden transcripts are stored with it' }),
    document: z.record(z.string(), z.unknown()).openapi({ description: 'The flow document (the YAML file as JSON; docs/flows.md)' }),
  })
  .openapi('FlowVersion');

/**
 * Reads the body as text before any validator parses it: JSON parsed first
 * would come back re-serialised on one line, and the lines and columns of
 * errors must be the sender's own.
 */
export const keepRawText: MiddlewareHandler<ApiEnv> = async (c, next) => {
  await c.req.text();
  await next();
};

export function draftView(
  c: Context<ApiEnv>,
  row: FlowVersionRow,
  saved?: Pick<SavedDraft, 'warnings' | 'missingTexts'>,
  importWarnings?: string[],
): z.infer<typeof DraftView> {
  return {
    flowId: row.flowId,
    version: row.version,
    status: row.status as 'draft' | 'in_review',
    url: c.get('deps').flows.canonicalUrl(row.flowRef),
    authors: row.authors,
    submittedBy: row.submittedBy,
    submittedAt: row.submittedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    transcripts: row.transcripts !== null,
    warnings: (saved?.warnings ?? []).map(describeIssue) as Array<z.infer<typeof FlowIssueSchema>>,
    missingTexts: saved?.missingTexts ?? [],
    ...(importWarnings && importWarnings.length > 0 ? { importWarnings } : {}),
  };
}

/** A released version as the API shows it. */
export function versionView(flow: CatalogFlow, row: FlowVersionRow): z.infer<typeof FlowVersion> {
  return {
    flowId: row.flowId,
    version: row.version,
    status: flow.catalog.status,
    origin: flow.catalog.origin,
    url: flow.url,
    questionnaireId: row.id,
    authors: row.authors,
    submittedBy: row.submittedBy,
    publishedBy: row.publishedBy,
    publishedAt: iso(row.publishedAt),
    retiredBy: row.retiredBy,
    retiredAt: iso(row.retiredAt),
    transcripts: row.transcripts !== null,
    document: asDocument(row.source),
  };
}

/** The FHIR Questionnaire of a stored version: its id is the version's id, its status follows the version's. */
export function questionnaireOf(flow: Flow, row: FlowVersionRow) {
  const status = row.status === 'published' ? 'active' : row.status === 'retired' ? 'retired' : 'draft';
  return { ...exportQuestionnaire(flow), id: row.id, status, ...(row.publishedAt ? { date: row.publishedAt.toISOString() } : {}) };
}
