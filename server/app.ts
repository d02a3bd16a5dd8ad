import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, ERROR_STATUS, errorBody } from './errors.ts';
import type { Logger } from './logger.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';

export interface AppDeps {
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  /** Added to /readyz: what this instance runs (bot accounts, leases, outbox depth). */
  readinessDetails?: () => Promise<Record<string, unknown>>;
  /** The REST API (mounted at the root: /v1/…, /fhir/R4/…, /openapi.json, /docs). */
  api?: Hono<any>;
  /** Prometheus metrics at /metrics. */
  metrics?: Hono;
  /** The care team's web app under /app. */
  web?: Hono<any>;
}

/** The HTTP surface, built from its dependencies so tests can call `app.request()` without a socket. */
const FHIR_ISSUE_CODE: Partial<Record<keyof typeof ERROR_STATUS, string>> = {
  bad_request: 'invalid',
  unauthorized: 'login',
  forbidden: 'forbidden',
  not_found: 'not-found',
  payload_too_large: 'too-costly',
  rate_limited: 'throttled',
};

/** Statuses Hono and its validators raise as HTTPException, in our vocabulary; any other 4xx is a bad request. */
const HTTP_EXCEPTION_CODE: Partial<Record<number, keyof typeof ERROR_STATUS>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** An error we can name to the client, or undefined for a bug (500). */
function knownError(error: Error): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException && error.status < 500) {
    const code = HTTP_EXCEPTION_CODE[error.status] ?? 'bad_request';
    return new ApiError(code, code === 'unsupported_media_type' ? 'send JSON with content-type: application/json' : error.message || 'bad request');
  }
  return undefined;
}

interface FieldProblem {
  path: string;
  message: string;
}

function operationOutcome(c: Context, error: Error, logger: Logger) {
  const known = knownError(error);
  if (!known) logger.error('fhir request failed', { path: c.req.path, error: error.name });
  const code = known?.code ?? 'internal';
  const issueCode = FHIR_ISSUE_CODE[code] ?? 'exception';
  const fields = (known?.details?.['fields'] as FieldProblem[] | undefined) ?? [];
  // One issue per failing parameter, named in `expression` as FHIR clients expect.
  const issue =
    fields.length > 0
      ? fields.map((f) => ({ severity: 'error', code: issueCode, details: { text: `${f.path}: ${f.message}` }, expression: [f.path], diagnostics: code }))
      : [{ severity: 'error', code: issueCode, details: { text: known?.message ?? 'internal error' }, diagnostics: code }];
  return c.json({ resourceType: 'OperationOutcome', issue }, ERROR_STATUS[code], { 'content-type': 'application/fhir+json' });
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  // Nothing Visite answers may be cached or content-sniffed: it is patient data or about it.
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('cache-control', 'no-store');
    c.res.headers.set('x-content-type-options', 'nosniff');
  });
  app.route('/', healthRoutes(deps.readiness, deps.readinessDetails));
  if (deps.metrics) app.route('/', deps.metrics);
  if (deps.web) app.route('/', deps.web);
  if (deps.api) app.route('/', deps.api);
  app.notFound((c) => {
    const error = new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`);
    return c.req.path.startsWith('/fhir/') ? operationOutcome(c, error, deps.logger) : c.json(errorBody(error.code, error.message), ERROR_STATUS.not_found);
  });
  app.onError((error, c) => {
    // The FHIR surface speaks FHIR errors: the same codes, rendered as an OperationOutcome.
    if (c.req.path.startsWith('/fhir/')) return operationOutcome(c, error, deps.logger);
    const known = knownError(error);
    if (known) return c.json(errorBody(known.code, known.message, known.details), ERROR_STATUS[known.code]);
    deps.logger.error('http request failed', { path: c.req.path, method: c.req.method, error: error.name });
    return c.json(errorBody('internal', 'internal error'), ERROR_STATUS.internal);
  });
  return app;
}
