import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { parseDocument, stringify } from 'yaml';
import { flowSourceToYaml, importQuestionnaire } from '../../core/fhir/import.ts';
import { ID_PATTERN } from '../../core/flow/schema.ts';
import { CatalogError, describeIssue } from '../../services/flow-authoring.ts';
import { codeSystemUrl } from '../../services/flows.ts';
import { ApiError } from '../errors.ts';
import { audit } from './audit.ts';
import type { ApiEnv } from './env.ts';
import type { AuditOutcome } from './audit.ts';
import { ErrorSchema } from './schemas.ts';

/**
 * What the flow routes share: how a flow arrives in a request (YAML, a JSON
 * flow document, or a FHIR Questionnaire), who is acting (four-eyes needs a
 * person, not a role), and how the catalog's refusals become HTTP answers.
 */

/** Media types of a flow's text. YAML is the format of the flow files; JSON is YAML too. */
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;
export const FHIR_JSON = 'application/fhir+json';

/** Routes that take a flow or transcripts as text (the only ones that accept YAML bodies). */
const TEXT_ROUTES = [/^\/v1\/flows$/, /^\/v1\/flows\/[^/]+\/draft$/, /^\/v1\/flows\/[^/]+\/draft\/transcripts$/];
export const takesFlowText = (path: string) => TEXT_ROUTES.some((r) => r.test(path));
export const isYaml = (type: string | undefined) => type !== undefined && YAML_TYPES.some((t) => type.toLowerCase().split(';')[0]!.trim() === t);

export const FlowIdParam = z
  .string()
  .regex(ID_PATTERN, { error: 'expected a flow id: lower-case letters, digits, "_" or "-", starting with a letter (max 64)' })
  .openapi({ param: { name: 'id', in: 'path' }, example: 'post-op', description: 'The flow id (`id:` in the flow)' });
export const VersionParam = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^/]+$/, { error: 'expected a version, e.g. 1.1.0' })
  .openapi({ param: { name: 'version', in: 'path' }, example: '1.1.0' });

/** The acting person or system, as the four-eyes rule and the version's record name them. */
export const actorOf = (c: Context<ApiEnv>) => `${c.get('principal').kind}:${c.get('principal').id}`;

/** 422: the flow or its transcripts are not acceptable; `details` say where and why. */
export const invalidFlowResponse = {
  422: {
    content: { 'application/json': { schema: ErrorSchema } },
    description:
      'The flow (or its transcripts) is not valid, or not ready to publish: `details.issues` lists `{ code, message, hint, path, line, column }` located in the submitted text (the codes and hints of `visite flows validate`), `details.missingTexts` the missing texts per language by key, `details.transcriptFailures` the golden transcripts that replay differently',
  },
} as const;

/** The catalog's refusals as API errors. */
export function apiErrorOf(error: unknown): unknown {
  if (!(error instanceof CatalogError)) return error;
  switch (error.reason) {
    case 'not_found':
      return new ApiError('not_found', error.message);
    case 'conflict':
      return new ApiError('conflict', error.message);
    case 'four_eyes':
      return new ApiError('forbidden', error.message);
    case 'invalid':
      return new ApiError('invalid_flow', error.message, error.details);
  }
}

const AUDIT_OUTCOME: Record<CatalogError['reason'], AuditOutcome> = { not_found: 'not_found', conflict: 'invalid', four_eyes: 'denied', invalid: 'invalid' };

/**
 * Runs a catalog operation and audits it as `action` on the flow version
 * (`<flow id>|<version>` once known): refusals are audited with their outcome.
 */
export async function audited<T>(c: Context<ApiEnv>, action: string, flowId: string, run: () => Promise<T>, version?: (result: T) => string): Promise<T> {
  try {
    const result = await run();
    await audit(c, action, { type: 'Flow', id: version ? `${flowId}|${version(result)}` : flowId });
    return result;
  } catch (error) {
    if (error instanceof CatalogError) await audit(c, action, { type: 'Flow', id: flowId }, AUDIT_OUTCOME[error.reason]);
    throw apiErrorOf(error);
  }
}

/**
 * The flow text of a request. YAML and JSON flow documents are kept as sent,
 * so errors point at the submitter's own lines; a FHIR Questionnaire is
 * imported (errors name the item's linkId) and stored as YAML. An import's
 * canonical URL is replaced by this server's.
 */
export async function flowTextOf(
  c: Context<ApiEnv>,
  flowId: string | undefined,
  flowRef: () => Promise<string | undefined>,
): Promise<{ text: string; warnings: string[] }> {
  const type = c.req.header('content-type') ?? '';
  const text = await c.req.text();
  if (text.trim() === '')
    throw new ApiError('bad_request', 'invalid request: (body)', { fields: [{ path: '(body)', message: 'send the flow as YAML or JSON' }] });
  if (!type.toLowerCase().startsWith(FHIR_JSON)) return { text, warnings: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'invalid request: (body)', { fields: [{ path: '(body)', message: 'malformed JSON' }] });
  }
  const result = importQuestionnaire(json);
  if (!result.ok)
    throw new ApiError('invalid_flow', `the Questionnaire cannot become a flow (${result.issues.length} problem(s))`, {
      issues: result.issues.map(describeIssue),
      missingTexts: [],
    });
  const source = { ...result.source };
  const warnings = [...result.warnings];
  if (flowId !== undefined && source.id !== flowId) {
    warnings.push(`the Questionnaire's id "${source.id}" was replaced by the flow id "${flowId}"`);
    source.id = flowId;
  }
  if (source.url !== undefined) {
    warnings.push(`the Questionnaire's url ${source.url} was replaced by this server's canonical URL`);
    delete source.url;
  }
  // Re-importing an export of this very flow brings back its own code system: that is the default.
  const ref = await flowRef();
  if (ref && source.codeSystem === codeSystemUrl(c.get('deps').publicUrl, ref)) delete source.codeSystem;
  return { text: `# Imported from a FHIR Questionnaire. Check texts and codes before use.\n${flowSourceToYaml(source)}`, warnings };
}

/** A stored flow text as YAML: as written, or (stored as JSON) turned into YAML. */
export function asYaml(text: string): string {
  return text.trimStart().startsWith('{') ? stringify(parseDocument(text).toJS()) : text;
}

/** A stored flow text as its JSON document. */
export function asDocument(text: string): Record<string, unknown> {
  return parseDocument(text).toJS() as Record<string, unknown>;
}
