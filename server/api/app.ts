import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors.ts';
import { authenticate, FailureLimiter } from './auth.ts';
import { DOCS_CSP, DOCS_CSS, docsPage } from './docs.ts';
import type { ApiDeps, ApiEnv } from './env.ts';
import { badRequest, strictQueries, textProblems } from './input.ts';
import { alertRoutes } from './routes/alerts.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { auditRoutes } from './routes/audit.ts';
import { botAccountRoutes } from './routes/bot-accounts.ts';
import { careTeamRoutes } from './routes/care-teams.ts';
import { checkinRoutes } from './routes/checkins.ts';
import { clinicianRoutes } from './routes/clinicians.ts';
import { enrollmentRoutes } from './routes/enrollments.ts';
import { fhirQuestionnaireRoutes } from './routes/fhir-questionnaires.ts';
import { fhirRoutes } from './routes/fhir.ts';
import { flowDraftRoutes } from './routes/flow-drafts.ts';
import { flowRoutes } from './routes/flows.ts';
import { FHIR_JSON, isYaml, takesFlowText } from './flow-http.ts';
import { organisationRoutes } from './routes/organisation.ts';
import { patientRoutes } from './routes/patients.ts';
import { SECURITY_SCHEMES } from './schemas.ts';

export const API_VERSION = '1.0.0';

function bodyLimitOf(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError('payload_too_large', `request body larger than ${maxSize} bytes`);
    },
  });
}

/**
 * zod failures become one error shape: 400 with the failing fields by path.
 * Valid input is checked once more for strings Postgres cannot store (NUL,
 * unpaired surrogates), so no route can pass one to the database.
 */
export const validationHook: Hook<unknown, ApiEnv, string, unknown> = (result) => {
  const fields = validationProblems(result);
  if (fields.length > 0) throw badRequest(fields);
};

/** The failing fields of a zod result by path, as the API names them (empty: valid). Also used by the web app's forms. */
export function validationProblems(
  result:
    | { success: true; data: unknown }
    | { success: false; error: { issues: ReadonlyArray<{ code: string; path: PropertyKey[]; message: string; keys?: string[] }> } },
): Array<{ path: string; message: string }> {
  if (result.success) return textProblems(result.data);
  return result.error.issues.flatMap((issue) =>
    // Unknown keys are named one by one: "orgId: unknown field" says what to remove.
    issue.code === 'unrecognized_keys'
      ? (issue.keys ?? []).map((key) => ({ path: [...issue.path, key].join('.'), message: 'unknown field' }))
      : [{ path: issue.path.join('.') || '(body)', message: issue.message }],
  );
}

export interface ApiOptions {
  maxBodyBytes: number;
  /** Largest flow or transcripts text (flow authoring routes); default the larger of 512 KiB and `maxBodyBytes`. */
  maxFlowBytes?: number;
  /** Failed authentications per client address (and per API key prefix) and minute before 429. */
  authFailureLimit?: number;
}

/**
 * The REST API v1 for integrators (PVS/KIS) and the organisation's staff.
 * Every route is declared with its zod schemas, so validation and the OpenAPI
 * document come from one source; nothing reachable is undocumented.
 */
export function createApi(deps: ApiDeps, options: ApiOptions): OpenAPIHono<ApiEnv> {
  const api = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  const limiter = new FailureLimiter({ limit: options.authFailureLimit ?? 20 });

  // Every route registered below rejects query parameters it does not declare.
  strictQueries(api);

  api.use('*', async (c, next) => {
    // No CORS: preflights get an empty answer; they are neither authenticated nor counted as failures.
    if (c.req.method === 'OPTIONS') return c.body(null, 204, { allow: 'GET, POST, PUT, PATCH, DELETE' });
    c.set('deps', deps);
    let ip = 'unknown';
    try {
      ip = getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      // app.request() in tests has no socket
    }
    c.set('clientIp', ip);
    await next();
  });
  // Flows in seven languages outgrow the limit meant for records; the flow text routes have their own.
  const maxFlowBytes = options.maxFlowBytes ?? Math.max(512 * 1024, options.maxBodyBytes);
  const limits = [bodyLimitOf(options.maxBodyBytes), bodyLimitOf(maxFlowBytes)] as const;
  api.use('/v1/*', (c, next) => limits[takesFlowText(c.req.path) ? 1 : 0](c, next));
  api.use('/v1/*', async (c, next) => {
    const type = c.req.header('content-type');
    // Flow texts may also come as YAML (the format of the flow files) or as a FHIR Questionnaire.
    const text = takesFlowText(c.req.path) && (isYaml(type) || type?.toLowerCase().startsWith(FHIR_JSON));
    if (
      ['POST', 'PUT', 'PATCH'].includes(c.req.method) &&
      c.req.header('content-length') !== '0' &&
      type !== undefined &&
      !text &&
      !/^application\/json\b/i.test(type)
    ) {
      throw new ApiError('unsupported_media_type', 'send JSON with content-type: application/json');
    }
    await next();
  });
  api.use('/v1/*', authenticate(limiter));
  api.use('/fhir/R4/*', async (c, next) => (c.req.path === '/fhir/R4/metadata' ? next() : authenticate(limiter)(c, next)));
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', SECURITY_SCHEMES.bearer);

  organisationRoutes(api);
  apiKeyRoutes(api);
  flowRoutes(api);
  flowDraftRoutes(api);
  patientRoutes(api);
  enrollmentRoutes(api);
  fhirRoutes(api);
  fhirQuestionnaireRoutes(api);
  careTeamRoutes(api);
  clinicianRoutes(api);
  checkinRoutes(api);
  alertRoutes(api);
  auditRoutes(api);
  botAccountRoutes(api);

  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Visite API',
      version: API_VERSION,
      description:
        'Enroll patients into check-in flows and read their results. Authenticate with an organisation API key (`Authorization: Bearer vk_…`) or an OIDC access token. Every object belongs to one organisation; objects of other organisations answer 404.',
    },
    servers: [{ url: deps.publicUrl }],
  });
  api.get('/docs', (c) => {
    c.header('content-security-policy', DOCS_CSP);
    return c.html(
      docsPage(api.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Visite API', version: API_VERSION } }) as unknown as Record<string, unknown>),
    );
  });
  api.get('/docs.css', (c) => c.body(DOCS_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));
  return api;
}
