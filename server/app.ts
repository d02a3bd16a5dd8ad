import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, ERROR_STATUS, errorBody } from './errors.ts';
import type { Logger } from './logger.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';

export interface AppDeps {
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  /** The REST API (mounted at the root: /v1/…, /fhir/R4/…, /openapi.json, /docs). */
  api?: Hono<any>;
  /** Prometheus metrics at /metrics. */
  metrics?: Hono;
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

function operationOutcome(c: Context, error: Error, logger: Logger) {
  const known = error instanceof ApiError ? error : error instanceof HTTPException && error.status < 500 ? new ApiError('bad_request', error.message || 'bad request') : undefined;
  if (!known) logger.error('fhir request failed', { path: c.req.path, error: error.name });
  const code = known?.code ?? 'internal';
  const body = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: FHIR_ISSUE_CODE[code] ?? 'exception', details: { text: known?.message ?? 'internal error' }, diagnostics: code }],
  };
  return c.json(body, ERROR_STATUS[code], { 'content-type': 'application/fhir+json' });
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route('/', healthRoutes(deps.readiness));
  if (deps.metrics) app.route('/', deps.metrics);
  if (deps.api) app.route('/', deps.api);
  app.notFound((c) => {
    const error = new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`);
    return c.req.path.startsWith('/fhir/') ? operationOutcome(c, error, deps.logger) : c.json(errorBody(error.code, error.message), ERROR_STATUS.not_found);
  });
  app.onError((error, c) => {
    // The FHIR surface speaks FHIR errors: the same codes, rendered as an OperationOutcome.
    if (c.req.path.startsWith('/fhir/')) return operationOutcome(c, error, deps.logger);
    if (error instanceof ApiError) return c.json(errorBody(error.code, error.message, error.details), ERROR_STATUS[error.code]);
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(errorBody('bad_request', error.message || 'bad request'), ERROR_STATUS.bad_request);
    }
    deps.logger.error('http request failed', { path: c.req.path, method: c.req.method, error: error.name });
    return c.json(errorBody('internal', 'internal error'), ERROR_STATUS.internal);
  });
  return app;
}
