import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, ERROR_STATUS, errorBody } from './errors.ts';
import type { Logger } from './logger.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';

export interface AppDeps {
  logger: Logger;
  readiness: readonly ReadinessCheck[];
  /** The REST API (mounted at the root: /v1/…, /openapi.json, /docs). */
  api?: Hono<any>;
}

/** The HTTP surface, built from its dependencies so tests can call `app.request()` without a socket. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route('/', healthRoutes(deps.readiness));
  if (deps.api) app.route('/', deps.api);
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), ERROR_STATUS.not_found));
  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(errorBody(error.code, error.message, error.details), ERROR_STATUS[error.code]);
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(errorBody('bad_request', error.message || 'bad request'), ERROR_STATUS.bad_request);
    }
    deps.logger.error('http request failed', { path: c.req.path, method: c.req.method, error: error.name });
    return c.json(errorBody('internal', 'internal error'), ERROR_STATUS.internal);
  });
  return app;
}
