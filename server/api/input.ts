import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';
import type { ApiEnv } from './env.ts';

/**
 * Input rules every route gets without asking (issue #16, "fail closed"):
 *
 * - A query parameter the route does not declare is a 400 naming it. A misspelt
 *   filter (`?patient_id=`, FHIR `?subject=`) must not silently return every
 *   record. FHIR searches sent with `Prefer: handling=lenient` may have unknown
 *   parameters ignored instead, as the FHIR search specification allows.
 * - No string may carry a NUL character (Postgres text and jsonb cannot hold it)
 *   or an unpaired UTF-16 surrogate (not Unicode text; it would be stored as
 *   U+FFFD): a 400 naming the field, in bodies and query values alike.
 */

export interface FieldProblem {
  path: string;
  message: string;
}

export const badRequest = (fields: FieldProblem[]) => new ApiError('bad_request', `invalid request: ${fields.map((f) => f.path).join(', ')}`, { fields });

/** Why this string cannot be stored, or undefined. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (!value.isWellFormed()) return 'must be well-formed Unicode text (an unpaired surrogate was found)';
  return undefined;
}

/** Every string (keys included) in a parsed request value that cannot be stored, by path. */
export function textProblems(value: unknown, path: string[] = []): FieldProblem[] {
  const at = (p: string[]) => p.join('.') || '(body)';
  if (typeof value === 'string') {
    const message = textProblem(value);
    return message ? [{ path: at(path), message }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => textProblems(item, [...path, String(i)]));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.entries(value).flatMap(([key, item]) => {
      const message = textProblem(key);
      return [...(message ? [{ path: at([...path, key]), message: `field name ${message}` }] : []), ...textProblems(item, [...path, key])];
    });
  }
  return [];
}

/** FHIR: `Prefer: handling=lenient` asks the server to ignore search parameters it does not know. */
const lenient = (prefer: string | undefined) => /(^|[;,\s])handling\s*=\s*"?lenient"?/i.test(prefer ?? '');

function declaredQuery(route: RouteConfig): ReadonlySet<string> {
  const schema = route.request?.query as { shape?: Record<string, unknown> } | undefined;
  return new Set(Object.keys(schema?.shape ?? {}));
}

/** 400 for query parameters the route does not declare (and for unstorable query values). */
export function rejectUnknownQuery(route: RouteConfig): MiddlewareHandler<ApiEnv> {
  const known = declaredQuery(route);
  return async (c, next) => {
    const ignoreUnknown = c.req.path.startsWith('/fhir/') && lenient(c.req.header('prefer'));
    const fields: FieldProblem[] = [];
    for (const [name, values] of Object.entries(c.req.queries())) {
      const label = name === '' ? '(empty name)' : name;
      const nameProblem = textProblem(name);
      if (nameProblem) fields.push({ path: label, message: `parameter name ${nameProblem}` });
      else if (!known.has(name)) {
        if (!ignoreUnknown)
          fields.push({
            path: label,
            message: known.size > 0 ? `unknown query parameter; this route takes ${[...known].join(', ')}` : 'unknown query parameter; this route takes none',
          });
      } else {
        const problem = values.map(textProblem).find(Boolean);
        if (problem) fields.push({ path: label, message: problem });
      }
    }
    if (fields.length > 0) throw badRequest(fields);
    await next();
  };
}

/**
 * Makes every route registered on `api` from now on reject undeclared query
 * parameters: a new route gets the rule by being declared, not by remembering it.
 */
export function strictQueries(api: OpenAPIHono<ApiEnv>): void {
  const register = api.openapi;
  api.openapi = ((route: RouteConfig, handler: never, hook?: never) => {
    const own = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
    return register({ ...route, middleware: [...own, rejectUnknownQuery(route)] } as never, handler, hook);
  }) as typeof api.openapi;
}
