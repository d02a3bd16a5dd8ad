import type { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { Role } from '../../db/schema.ts';
import { createSession } from '../../db/web-sessions.ts';
import { createApi } from '../../server/api/app.ts';
import { createApp } from '../../server/app.ts';
import { createLogger } from '../../server/logger.ts';
import { createWebApp, SESSION_COOKIE, type WebOptions } from '../../server/web/app.ts';
import { recordingContact } from './api.ts';
import { openTestCatalog, SHIPPED, testAuthoring, TEST_PUBLIC_URL } from './catalog.ts';

export interface TestWeb {
  app: Hono;
  logs: string[];
  /** A signed-in session: the cookie header and the CSRF token of its pages. */
  signIn(orgId: string, roles: Role[], name?: string): Promise<WebUser>;
}

export interface WebUser {
  cookie: string;
  csrf: string;
  subject: string;
}

/** The web app and the API as Visite mounts them, without a socket or a homeserver. */
export async function testWeb(db: Db, options: Partial<WebOptions> = {}): Promise<TestWeb> {
  const logs: string[] = [];
  const logger = createLogger('debug', (line) => logs.push(line));
  const flows = await openTestCatalog(db);
  const deps = {
    db,
    flows,
    authoring: testAuthoring(db, flows),
    templates: SHIPPED,
    logger,
    verifyToken: null,
    contact: recordingContact(),
    publicUrl: TEST_PUBLIC_URL,
  };
  const api = createApi(deps, { maxBodyBytes: 64 * 1024 });
  const web = createWebApp(deps, { idleMs: 30 * 60_000, lifetimeMs: 12 * 3_600_000, secureCookies: false, livePollMs: 100, ...options });
  const app = createApp({ logger, api, web, readiness: [] });
  return {
    app,
    logs,
    async signIn(orgId, roles, name = 'Dr. Test') {
      const subject = `test-${Math.random().toString(36).slice(2)}`;
      const { token, row } = await createSession(db, { orgId, subject, displayName: name, roles, method: 'oidc', lifetimeMs: 3_600_000 });
      return { cookie: `${SESSION_COOKIE}=${token}`, csrf: row.csrfToken, subject };
    },
  };
}

/** A page as the browser asks for it. */
export async function get(app: Hono, path: string, user?: WebUser) {
  const res = await app.request(path, { headers: { accept: 'text/html', ...(user ? { cookie: user.cookie } : {}) } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** A form post; `csrf: false` leaves the token out. */
export async function post(
  app: Hono,
  path: string,
  user: WebUser | undefined,
  fields: Record<string, string | string[]> = {},
  options: { csrf?: boolean; origin?: string } = {},
) {
  const body = new URLSearchParams();
  if (user && options.csrf !== false) body.append('_csrf', user.csrf);
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  const res = await app.request(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html',
      ...(user ? { cookie: user.cookie } : {}),
      ...(options.origin ? { origin: options.origin } : {}),
    },
    body: body.toString(),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
