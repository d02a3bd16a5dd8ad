import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Flow } from '../../core/flow/model.ts';
import { localize } from '../../core/flow/text.ts';
import { ownVersions } from '../../db/flows.ts';
import type { Db } from '../../db/database.ts';
import { careTeams, escalations, organisations, patients, type Role } from '../../db/schema.ts';
import { consumeLoginLink, createSession, deleteSession, findSession, savePendingLogin, takePendingLogin, type WebSession } from '../../db/web-sessions.ts';
import { alertsFingerprint, chartData, openAlerts, ownedOpenAlertIds, patientsOverview, photoOf, teamsOf, type WorklistFilter } from '../../db/web.ts';
import { acknowledgeByStaff } from '../../services/alerts/acknowledge.ts';
import { ApiError } from '../errors.ts';
import { validationProblems } from '../api/app.ts';
import { audit, writeAudit } from '../api/audit.ts';
import type { ApiDeps, ApiEnv, Principal } from '../api/env.ts';
import { ensureFound, findOwned, selectOwned } from '../api/owned.ts';
import { actorName } from '../api/routes/alerts.ts';
import { CreateEnrollment, enroll } from '../api/routes/enrollments.ts';
import { patientEverything } from '../api/routes/fhir.ts';
import { CreatePatient, registerPatient } from '../api/routes/patients.ts';
import { pickLanguage, translatorFor, type T, type TextKey, type UiLanguage } from './i18n.ts';
import { can, messagePage, page, WEB_CSP, type Html, type PageOptions } from './layout.ts';
import type { OidcClient } from './oidc.ts';
import { chartBody } from './pages/chart.ts';
import { ENROLL_FIELDS, enrollBody, type EnrollField } from './pages/enroll.ts';
import { ALERT_KINDS, SEVERITIES, worklistBody, worklistRows, type WorklistView } from './pages/worklist.ts';
import { patientsBody } from './pages/patients.ts';
import { flowsBody, flowTextsBody } from './pages/flows.ts';
import { editorBody, problemsList, type DiffView, type EditorView, type Problem } from './pages/editor.ts';
import type { FlowIssue } from '../../core/flow/errors.ts';
import { isLanguage } from '../../core/language.ts';
import { CatalogError } from '../../services/flow-authoring.ts';
import { audited } from '../api/flow-http.ts';

/**
 * The care team's web app under /app: server-rendered HTML with a small
 * script for live updates, signed in through the organisation's OIDC provider
 * (or a sign-in link), with server-side sessions. Every page reads through the
 * same organisation-scoped queries and audit as the API; handlers the API has
 * (registering, enrolling, the FHIR export, acknowledging) are called, not
 * rewritten.
 */
export interface WebOptions {
  /** OIDC sign-in: the client and the redirect URL registered at the provider. */
  oidc?: { client: OidcClient; redirectUrl: string };
  idleMs: number;
  lifetimeMs: number;
  secureCookies: boolean;
  /** How often the live worklist asks the database for changes. */
  livePollMs?: number;
}

export interface WebEnv {
  Variables: ApiEnv['Variables'] & { session: WebSession; language: UiLanguage; t: T };
}
type WebContext = Context<WebEnv>;

export const SESSION_COOKIE = 'visite_session';
const LOGIN_COOKIE = 'visite_login';
const LANG_COOKIE = 'visite_lang';
const ASSETS_DIR = new URL('./assets/', import.meta.url);
const ASSETS: Record<string, { body: string; type: string }> = {
  'app.js': { body: readFileSync(new URL('app.js', ASSETS_DIR), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'app.css': { body: readFileSync(new URL('app.css', ASSETS_DIR), 'utf8'), type: 'text/css; charset=utf-8' },
  'icon.svg': { body: readFileSync(new URL('icon.svg', ASSETS_DIR), 'utf8'), type: 'image/svg+xml' },
};

const UUID = z.uuid();
/** Only paths of the app itself are places to return to (no open redirect). */
const safeReturn = (value: string | undefined): string => (value && /^\/app(\/[^\s\\]*)?$/.test(value) && !value.startsWith('//') ? value : '/app/');
const api = (c: WebContext) => c as unknown as Context<ApiEnv>;

function pageOptions(c: WebContext, title: string, extra: Partial<PageOptions> = {}): PageOptions {
  const session = c.get('session') as WebSession | undefined;
  return {
    title,
    language: c.get('language'),
    t: c.get('t'),
    path: new URL(c.req.url).pathname + new URL(c.req.url).search,
    ...(session ? { user: { displayName: session.displayName, roles: session.roles as Role[], csrfToken: session.csrfToken } } : {}),
    ...extra,
  };
}

async function render(c: WebContext, body: Html, status: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 500 = 200) {
  return c.html(await body, status);
}

const sameToken = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function createWebApp(deps: ApiDeps, options: WebOptions): Hono<WebEnv> {
  const web = new Hono<WebEnv>();
  const { db } = deps;

  /**
   * The organisation's flows by id, as its catalog gives them: the version new check-ins start on,
   * else the newest version its check-ins ran on (a flow retired since still reads).
   */
  const flowsOf = async (
    orgId: string,
    refs: ReadonlyArray<{ flowId: string; version?: string | null; versionId?: string | null }>,
  ): Promise<Map<string, Flow>> => {
    const out = new Map<string, Flow>();
    for (const ref of refs) {
      if (out.has(ref.flowId)) continue;
      const flow =
        (await deps.flows.find(orgId, ref.flowId)) ??
        (ref.version ? await deps.flows.find(orgId, ref.flowId, { version: ref.version, versionId: ref.versionId ?? null }) : undefined);
      if (flow) out.set(ref.flowId, flow);
    }
    return out;
  };
  /** Every flow the organisation can enroll into or author: its own and the deployed ones. */
  const catalogFlows = async (orgId: string): Promise<Flow[]> => {
    const ids = [...new Set([...(await ownVersions(db, orgId)).map((r) => r.flowId), ...deps.flows.deployed.keys()])].sort();
    return [
      ...(
        await flowsOf(
          orgId,
          ids.map((flowId) => ({ flowId })),
        )
      ).values(),
    ];
  };
  const cookieBase = { path: '/app', httpOnly: true, sameSite: 'Lax' as const, secure: options.secureCookies };

  const context: MiddlewareHandler<WebEnv> = async (c, next) => {
    c.set('deps', deps);
    let ip = 'unknown';
    try {
      ip = getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      // app.request() in tests has no socket
    }
    c.set('clientIp', ip);
    const language = pickLanguage(getCookie(c, LANG_COOKIE), c.req.header('accept-language'));
    c.set('language', language);
    c.set('t', translatorFor(language));
    await next();
    c.res.headers.set('content-security-policy', WEB_CSP);
    // same-origin: no path with a patient id leaves Visite, and our own form posts keep their Origin
    // (with no-referrer Chrome sends `Origin: null`, which the same-origin check refuses).
    c.res.headers.set('referrer-policy', 'same-origin');
    c.res.headers.set('x-frame-options', 'DENY');
    c.res.headers.set('cross-origin-opener-policy', 'same-origin');
    c.res.headers.set('permissions-policy', 'camera=(), microphone=(), geolocation=()');
  };
  const limit = bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.text('request body too large', 413) });

  /** A state change must come from our own pages: same origin (when the browser says) … */
  const sameOrigin: MiddlewareHandler<WebEnv> = async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin');
      if (origin && origin !== new URL(c.req.url).origin && origin !== new URL(deps.publicUrl).origin) {
        return render(c, messagePage(pageOptions(c, c.get('t')('error.forbidden')), c.get('t')('error.forbidden'), c.get('t')('error.csrf')), 403);
      }
    }
    await next();
  };

  /** … and, signed in, carry the session's CSRF token (form field or header). */
  const signedIn =
    (touch = true): MiddlewareHandler<WebEnv> =>
    async (c, next) => {
      const token = getCookie(c, SESSION_COOKIE);
      const session = token ? await findSession(db, token, options.idleMs, new Date(), touch) : undefined;
      if (!session) {
        if (token) deleteCookie(c, SESSION_COOKIE, cookieBase);
        const wantsHtml = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
        if (wantsHtml)
          return c.redirect(`/app/login?next=${encodeURIComponent(new URL(c.req.url).pathname + new URL(c.req.url).search)}${token ? '&expired=1' : ''}`, 303);
        return c.json({ error: { code: 'unauthorized', message: 'sign in first' } }, 401);
      }
      c.set('session', session);
      c.set('principal', { kind: 'user', id: session.subject, orgId: session.orgId, roles: session.roles as Role[] } satisfies Principal);
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        const sent = c.req.header('x-csrf-token') ?? (await formField(c, '_csrf'));
        if (!sent || !sameToken(sent, session.csrfToken)) {
          await audit(api(c), `${c.req.method} ${c.req.routePath}`, { type: 'WebSession' }, 'denied');
          return render(c, messagePage(pageOptions(c, c.get('t')('error.forbidden')), c.get('t')('error.forbidden'), c.get('t')('error.csrf')), 403);
        }
      }
      await next();
    };

  /** The role must allow the page; otherwise 403 (audited as denied, like the API). */
  const allow =
    (check: (roles: readonly Role[]) => boolean): MiddlewareHandler<WebEnv> =>
    async (c, next) => {
      if (!check(c.get('session').roles as Role[])) {
        await audit(api(c), `${c.req.method} ${c.req.routePath}`, { type: 'WebPage' }, 'denied');
        const t = c.get('t');
        return render(c, messagePage(pageOptions(c, t('error.forbidden')), t('error.forbidden'), t('error.forbiddenText')), 403);
      }
      await next();
    };

  // Only the app's own paths: the API mounted beside it keeps its own rules.
  // Pages are compressed (a worklist of 1,000 alerts is ~850 KiB of HTML, ~60 KiB gzip); the event stream is not.
  const squeeze = compress();
  const compressPages: MiddlewareHandler<WebEnv> = (c, next) => (c.req.path === '/app/events' ? next() : squeeze(c, next));
  for (const path of ['/app', '/app/*']) web.use(path, context, limit, sameOrigin, compressPages);

  // ---- assets, language, sign-in ------------------------------------------------------------
  web.get('/app/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.text('not found', 404);
    return c.body(asset.body, 200, { 'content-type': asset.type });
  });

  web.get('/app/lang/:lng', (c) => {
    const lng = c.req.param('lng');
    if (lng === 'de' || lng === 'en') setCookie(c, LANG_COOKIE, lng, { path: '/app', sameSite: 'Lax', secure: options.secureCookies, maxAge: 365 * 86_400 });
    return c.redirect(safeReturn(c.req.query('back')), 303);
  });

  web.get('/app/login', async (c) => {
    const t = c.get('t');
    const next = safeReturn(c.req.query('next'));
    const note = c.req.query('expired')
      ? t('auth.expired')
      : c.req.query('signedOut')
        ? t('auth.signedOut')
        : c.req.query('failed')
          ? t('auth.failed', { reason: c.req.query('failed') ?? '' })
          : '';
    return render(
      c,
      page(
        pageOptions(c, t('auth.title')),
        html`<h1>${t('auth.title')}</h1>${note ? html`<p class="notice" role="status">${note}</p>` : ''}
${options.oidc ? html`<p>${t('auth.intro')}</p><p><a class="button" href="/app/auth/start?next=${encodeURIComponent(next)}">${t('auth.oidc')}</a></p>` : html`<p>${t('auth.noProvider')}</p>`}`,
      ),
    );
  });

  web.get('/app/auth/start', async (c) => {
    if (!options.oidc) return c.redirect('/app/login', 303);
    const started = await options.oidc.client.start(options.oidc.redirectUrl);
    await savePendingLogin(db, { state: started.state, codeVerifier: started.codeVerifier, nonce: started.nonce, returnTo: safeReturn(c.req.query('next')) });
    // The state is bound to this browser too: a callback in another browser (login CSRF) fails.
    setCookie(c, LOGIN_COOKIE, started.state, { ...cookieBase, path: '/app/auth', maxAge: 600 });
    return c.redirect(started.url, 302);
  });

  const failLogin = async (c: WebContext, reason: string, actor: string | null = null) => {
    await writeAudit(db, { orgId: null, actorType: 'anonymous', actorId: actor, action: 'web.sign_in', outcome: 'denied', ip: c.get('clientIp') });
    deps.logger.warn('web sign-in refused', { reason });
    return c.redirect(`/app/login?failed=${encodeURIComponent(reason)}`, 303);
  };

  const startSession = async (
    c: WebContext,
    session: { orgId: string; subject: string; displayName: string; roles: Role[]; method: 'oidc' | 'link' },
    returnTo: string,
  ) => {
    const { token } = await createSession(db, { ...session, lifetimeMs: options.lifetimeMs });
    setCookie(c, SESSION_COOKIE, token, { ...cookieBase, maxAge: Math.floor(options.lifetimeMs / 1000) });
    await writeAudit(db, { orgId: session.orgId, actorType: 'user', actorId: session.subject, action: 'web.sign_in', outcome: 'ok', ip: c.get('clientIp') });
    return c.redirect(safeReturn(returnTo), 303);
  };

  web.get('/app/auth/callback', async (c) => {
    if (!options.oidc || !deps.verifyToken) return c.redirect('/app/login', 303);
    const state = c.req.query('state') ?? '';
    const cookieState = getCookie(c, LOGIN_COOKIE);
    deleteCookie(c, LOGIN_COOKIE, { ...cookieBase, path: '/app/auth' });
    if (c.req.query('error')) return failLogin(c, String(c.req.query('error')).slice(0, 100));
    const code = c.req.query('code');
    if (!code || !state || !cookieState || !sameToken(state, cookieState)) return failLogin(c, 'state');
    const pending = await takePendingLogin(db, state);
    if (!pending) return failLogin(c, 'state');
    let principal: Principal;
    let name: string;
    try {
      const { accessToken, idToken } = await options.oidc.client.finish(code, options.oidc.redirectUrl, pending);
      // The access token is checked exactly as the API checks bearer tokens: issuer, audience, claims.
      principal = await deps.verifyToken(accessToken);
      if (principal.id !== idToken.sub) return failLogin(c, 'subject');
      name =
        typeof idToken['name'] === 'string' && idToken['name']
          ? idToken['name']
          : typeof idToken['preferred_username'] === 'string'
            ? idToken['preferred_username']
            : principal.id;
    } catch (error) {
      deps.logger.warn('oidc code exchange failed', { error: (error as Error).name });
      return failLogin(c, 'token');
    }
    const [org] = await db
      .select({ id: organisations.id })
      .from(organisations)
      .where(z.uuid().safeParse(principal.orgId).success ? eqOrg(principal.orgId) : eqOrg('00000000-0000-0000-0000-000000000000'));
    if (!org) return failLogin(c, 'organisation', principal.id);
    if (principal.roles.length === 0) return failLogin(c, 'roles', principal.id);
    return startSession(c, { orgId: principal.orgId, subject: principal.id, displayName: name, roles: [...principal.roles], method: 'oidc' }, pending.returnTo);
  });

  web.get('/app/auth/link', async (c) => {
    const t = c.get('t');
    const token = c.req.query('token') ?? '';
    // Using the link takes a click (POST): link previews and scanners do not use it up.
    return render(
      c,
      page(
        pageOptions(c, t('auth.link.title')),
        html`<h1>${t('auth.link.title')}</h1><p>${t('auth.link.intro')}</p><form method="post" action="/app/auth/link"><input type="hidden" name="token" value="${token}"><button type="submit">${t('auth.link.button')}</button></form>`,
      ),
    );
  });

  web.post('/app/auth/link', async (c) => {
    const token = (await formField(c, 'token')) ?? '';
    const link = await consumeLoginLink(db, token);
    if (!link) return failLogin(c, 'link');
    return startSession(
      c,
      { orgId: link.orgId, subject: `link:${link.tokenHash.slice(0, 16)}`, displayName: link.name, roles: link.roles as Role[], method: 'link' },
      '/app/',
    );
  });

  // ---- signed in --------------------------------------------------------------------------
  web.use('/app/events', signedIn(false));
  web.use('/app', signedIn());
  web.use('/app/', signedIn());
  for (const path of [
    '/app/logout',
    '/app/worklist',
    '/app/worklist/*',
    '/app/alerts/*',
    '/app/patients',
    '/app/patients/*',
    '/app/enroll',
    '/app/flows',
    '/app/flows/*',
  ])
    web.use(path, signedIn());

  web.post('/app/logout', async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await deleteSession(db, token);
    deleteCookie(c, SESSION_COOKIE, cookieBase);
    await audit(api(c), 'web.sign_out', { type: 'WebSession' });
    return c.redirect('/app/login?signedOut=1', 303);
  });

  const home = (c: WebContext) => {
    const roles = c.get('session').roles as Role[];
    return c.redirect(can.alerts(roles) ? '/app/worklist' : can.flows(roles) ? '/app/flows' : '/app/patients', 303);
  };
  web.get('/app', home);
  web.get('/app/', home);

  // ---- worklist --------------------------------------------------------------------------
  const worklistFilter = (c: WebContext): WorklistFilter => {
    const team = c.req.query('team');
    const severity = c.req.query('severity');
    const kind = c.req.query('kind');
    return {
      teamId: team && UUID.safeParse(team).success ? team : undefined,
      severity: (SEVERITIES as readonly string[]).includes(severity ?? '') ? (severity as WorklistFilter['severity']) : undefined,
      kind: (ALERT_KINDS as readonly string[]).includes(kind ?? '') ? kind : undefined,
    };
  };
  const worklistView = async (c: WebContext, notice?: string): Promise<WorklistView> => {
    const session = c.get('session');
    const filter = worklistFilter(c);
    const [rows, teams] = await Promise.all([openAlerts(db, session.orgId, filter), teamsOf(db, session.orgId)]);
    const flows = await flowsOf(
      session.orgId,
      rows.flatMap((r) => (r.flowId ? [{ flowId: r.flowId, version: r.flowVersion, versionId: r.flowVersionId }] : [])),
    );
    await audit(api(c), 'alert.list', { type: 'Alert', id: filter.teamId ?? null });
    return {
      rows,
      teams,
      filter,
      flows,
      language: c.get('language'),
      t: c.get('t'),
      user: { displayName: session.displayName, roles: session.roles as Role[], csrfToken: session.csrfToken },
      now: new Date(),
      notice,
    };
  };

  web.get('/app/worklist', allow(can.alerts), async (c) => {
    const t = c.get('t');
    const acked = c.req.query('acked');
    const notice =
      acked !== undefined && /^\d+$/.test(acked)
        ? t('worklist.acked', { count: acked })
        : c.req.query('already')
          ? t('worklist.alreadyAcked', { who: c.req.query('already') ?? '' })
          : undefined;
    return render(c, page(pageOptions(c, t('worklist.title'), { current: 'worklist', page: 'worklist' }), worklistBody(await worklistView(c, notice))));
  });

  web.get('/app/worklist/rows', allow(can.alerts), async (c) => {
    const view = await worklistView(c);
    c.header('x-alert-count', String(view.rows.length));
    return c.html(worklistRows(view));
  });

  // Server-sent events: "alerts" whenever the organisation's alerts change. Every instance asks
  // the database, so an alert raised through any instance reaches every open worklist.
  web.get('/app/events', allow(can.alerts), (c) => {
    const session = c.get('session');
    const token = getCookie(c, SESSION_COOKIE) ?? '';
    const pollMs = options.livePollMs ?? 2_000;
    return streamSSE(c, async (stream) => {
      let last = await alertsFingerprint(db, session.orgId);
      let quiet = 0;
      await stream.writeSSE({ event: 'ready', data: last, retry: 3_000 });
      const until = Date.now() + 10 * 60_000;
      while (!stream.aborted && Date.now() < until) {
        await stream.sleep(pollMs);
        if (stream.aborted) break;
        // Signed out or idle past the limit elsewhere: the stream ends (watching is not activity).
        if (!(await findSession(db, token, options.idleMs, new Date(), false))) break;
        const now = await alertsFingerprint(db, session.orgId);
        if (now !== last) {
          last = now;
          quiet = 0;
          await stream.writeSSE({ event: 'alerts', data: now });
        } else if ((quiet += pollMs) >= 15_000) {
          quiet = 0;
          await stream.write(': keep-alive\n\n');
        }
      }
    });
  });

  const acknowledge = async (c: WebContext, ids: readonly string[]) => {
    const session = c.get('session');
    const principal = c.get('principal');
    const displayName = await actorName(db, { ...principal, displayName: session.displayName });
    let done = 0;
    let already: string | undefined;
    for (const id of ids) {
      const row = await db.transaction((tx) => acknowledgeByStaff(tx, id, { by: `user:${principal.id}`, displayName }, new Date()));
      await audit(api(c), 'alert.acknowledge', { type: 'Alert', id }, row ? 'ok' : 'invalid');
      if (row) done += 1;
      else {
        const [current] = await db.select({ by: escalations.acknowledgedBy }).from(escalations).where(eqEsc(id));
        already = current?.by ?? '';
      }
    }
    return { done, already };
  };

  web.post('/app/alerts/:id/acknowledge', allow(can.alerts), async (c) => {
    const id = c.req.param('id');
    if (!UUID.safeParse(id).success) throw new ApiError('not_found', 'no such alert');
    await findOwned(api(c), { table: escalations, id, notFound: 'no such alert', action: 'alert.acknowledge', type: 'Alert', auditFound: false });
    const { done, already } = await acknowledge(c, [id]);
    if ((c.req.header('accept') ?? '').includes('application/json')) return c.json({ acknowledged: done, already: already ?? null }, done ? 200 : 409);
    return c.redirect(done ? `/app/worklist?acked=${done}` : `/app/worklist?already=${encodeURIComponent(already ?? '')}`, 303);
  });

  web.post('/app/alerts/acknowledge', allow(can.alerts), async (c) => {
    const form = await c.req.parseBody({ all: true });
    const raw = form['ids'];
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
      .filter((v): v is string => typeof v === 'string' && UUID.safeParse(v).success)
      .slice(0, 1000);
    // Only the organisation's alerts: ids of others are dropped exactly like unknown ones.
    const owned = await ownedOpenAlertIds(db, c.get('session').orgId, ids);
    const { done } = await acknowledge(c, owned);
    return c.redirect(`/app/worklist?acked=${done}`, 303);
  });

  // ---- patients and chart ----------------------------------------------------------------
  web.get('/app/patients', allow(can.patients), async (c) => {
    const t = c.get('t');
    const session = c.get('session');
    const search = (c.req.query('q') ?? '').slice(0, 200);
    const team = c.req.query('team');
    const teamId = team && UUID.safeParse(team).success ? team : undefined;
    const [rows, teams] = await Promise.all([patientsOverview(db, session.orgId, { search, teamId }), teamsOf(db, session.orgId)]);
    await audit(api(c), 'patient.list', { type: 'Patient' });
    return render(
      c,
      page(pageOptions(c, t('patients.title'), { current: 'patients' }), patientsBody({ rows, search, teams, teamId, t, language: c.get('language') })),
    );
  });

  const patientId = async (c: WebContext, action: string) => {
    const id = c.req.param('id') ?? '';
    if (!UUID.safeParse(id).success) {
      await audit(api(c), action, { type: 'Patient', id: null }, 'not_found');
      throw new ApiError('not_found', 'no such patient');
    }
    return id;
  };

  web.get('/app/patients/:id', allow(can.patients), async (c) => {
    const id = await patientId(c, 'patient.chart.view');
    const data = await ensureFound(api(c), await chartData(db, c.get('session').orgId, id), {
      id,
      action: 'patient.chart.view',
      type: 'Patient',
      notFound: 'no such patient',
    });
    const t = c.get('t');
    const flows = await flowsOf(c.get('session').orgId, [
      ...data.enrollments.map((e) => ({ flowId: e.enrollment.flowId })),
      ...[...data.checkins].reverse().map((x) => ({ flowId: x.flowId, version: x.flowVersion, versionId: x.flowVersionId })),
    ]);
    return render(
      c,
      page(
        pageOptions(c, t('chart.title', { name: data.patient.displayName ?? data.patient.matrixUserId }), { current: 'patients', page: 'chart' }),
        chartBody({ data, flows, t, language: c.get('language'), allTranscripts: c.req.query('transcripts') === 'all' }),
      ),
    );
  });

  web.get('/app/patients/:id/everything', allow(can.patients), async (c) => {
    const id = await patientId(c, 'fhir.Patient.everything');
    const bundle = await patientEverything(api(c), id);
    return c.body(JSON.stringify(bundle, null, 2), 200, {
      'content-type': 'application/fhir+json',
      'content-disposition': `attachment; filename="patient-${id}.fhir.json"`,
    });
  });

  web.get('/app/patients/:id/photos/:photo', allow(can.patients), async (c) => {
    const id = await patientId(c, 'patient.photo.read');
    const photo = c.req.param('photo');
    const row = UUID.safeParse(photo).success ? await photoOf(db, c.get('session').orgId, id, photo) : undefined;
    const found = await ensureFound(api(c), row, { id, action: 'patient.photo.read', type: 'Patient', notFound: 'no such photo' });
    const image = /^image\/(jpeg|png|gif|webp)$/.test(found.contentType);
    return c.body(Buffer.from(found.data), 200, {
      'content-type': image ? found.contentType : 'application/octet-stream',
      ...(image ? {} : { 'content-disposition': 'attachment' }),
    });
  });

  // ---- enroll ----------------------------------------------------------------------------
  const enrollChoices = async (c: WebContext) => ({
    flows: (await catalogFlows(c.get('session').orgId))
      .filter((f) => f.schedule)
      .map((f) => ({ id: f.id, title: `${localize(f.title, c.get('language'))} (${f.id})` })),
    teams: (await teamsOf(db, c.get('session').orgId)).map((team) => ({ id: team.id, name: team.name })),
  });
  const enrollPage = async (
    c: WebContext,
    values: Partial<Record<EnrollField, string>>,
    errors: Partial<Record<EnrollField | 'form', string>>,
    done?: string,
    status: 200 | 400 | 409 = 200,
  ) => {
    const session = c.get('session');
    const t = c.get('t');
    return render(
      c,
      page(
        pageOptions(c, t('enroll.title'), { current: 'enroll' }),
        enrollBody({
          t,
          user: { displayName: session.displayName, roles: session.roles as Role[], csrfToken: session.csrfToken },
          ...(await enrollChoices(c)),
          values,
          errors,
          done,
        }),
      ),
      status,
    );
  };

  web.get('/app/enroll', allow(can.enroll), (c) => enrollPage(c, { language: 'de', timeZone: 'Europe/Berlin' }, {}));

  web.post('/app/enroll', allow(can.enroll), async (c) => {
    const form = await c.req.parseBody();
    const values = Object.fromEntries(ENROLL_FIELDS.map((f) => [f, typeof form[f] === 'string' ? (form[f] as string) : ''])) as Record<EnrollField, string>;
    // The API's own schemas: the same rules and the same messages, next to the field.
    const patientInput = CreatePatient.safeParse({
      matrixUserId: values.matrixUserId,
      language: values.language || undefined,
      timeZone: values.timeZone || undefined,
      ...(values.displayName.trim() ? { displayName: values.displayName.trim() } : {}),
    });
    const enrollmentInput = CreateEnrollment.omit({ patientId: true }).safeParse({
      flowId: values.flowId,
      anchorDate: values.anchorDate,
      careTeamId: values.careTeamId,
    });
    const errors: Partial<Record<EnrollField | 'form', string>> = {};
    for (const problem of [...validationProblems(patientInput), ...validationProblems(enrollmentInput)]) {
      const field = (ENROLL_FIELDS as readonly string[]).includes(problem.path) ? (problem.path as EnrollField) : 'form';
      errors[field] ??= problem.message;
    }
    if (!patientInput.success || !enrollmentInput.success || Object.keys(errors).length > 0) return enrollPage(c, values, errors, undefined, 400);
    const t = c.get('t');
    try {
      const orgId = c.get('session').orgId;
      let patient;
      try {
        patient = await registerPatient(api(c), patientInput.data);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'conflict')) throw error;
        const [existing] = await db.select().from(patients).where(eqPatient(orgId, patientInput.data.matrixUserId));
        if (!existing) throw error;
        patient = existing;
      }
      const { row } = await enroll(api(c), { ...enrollmentInput.data, patientId: patient.id });
      const team = await selectOwned(db, careTeams, orgId, row.careTeamId);
      const flow = await deps.flows.find(orgId, row.flowId);
      return enrollPage(
        c,
        { language: 'de', timeZone: 'Europe/Berlin' },
        {},
        `${t('enroll.done', { name: patient.displayName ?? patient.matrixUserId, flow: flow ? localize(flow.title, c.get('language')) : row.flowId })} ${team ? `(${team.name})` : ''}`,
      );
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const fields = (error.details?.['fields'] as Array<{ path: string; message: string }> | undefined) ?? [];
      for (const f of fields) errors[(ENROLL_FIELDS as readonly string[]).includes(f.path) ? (f.path as EnrollField) : 'form'] ??= f.message;
      if (fields.length === 0) errors[error.code === 'conflict' ? 'flowId' : 'form'] = error.message;
      return enrollPage(c, values, errors, undefined, error.code === 'conflict' ? 409 : 400);
    }
  });

  // ---- flows (read-only until the catalog's authoring API is there) -------------------------
  web.get('/app/flows', allow(can.flows), async (c) => {
    const t = c.get('t');
    await audit(api(c), 'flow.list', { type: 'Flow' });
    return render(
      c,
      page(
        pageOptions(c, t('flows.title'), { current: 'flows' }),
        flowsBody({ flows: await catalogFlows(c.get('session').orgId), t, language: c.get('language') }),
      ),
    );
  });

  web.get('/app/flows/:id', allow(can.flows), async (c) => {
    const t = c.get('t');
    const flow = (await flowsOf(c.get('session').orgId, [{ flowId: c.req.param('id') }])).get(c.req.param('id'));
    if (!flow) throw new ApiError('not_found', 'no such flow');
    await audit(api(c), 'flow.read', { type: 'Flow', id: flow.id });
    return render(
      c,
      page(pageOptions(c, localize(flow.title, c.get('language')), { current: 'flows' }), flowTextsBody({ flow, t, language: c.get('language') })),
    );
  });

  // ---- flow editor: the catalog's authoring service, as the API's draft routes use it ------
  const writers = (roles: readonly Role[]) => roles.includes('org_admin') || roles.includes('flow_author');
  const publishers = (roles: readonly Role[]) => roles.includes('org_admin') || roles.includes('flow_reviewer');
  const FLOW_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
  const flowIdOf = (c: WebContext) => {
    const id = c.req.param('id') ?? '';
    if (!FLOW_ID.test(id)) throw new ApiError('not_found', 'no such flow');
    return id;
  };
  const problemsOf = (issues: readonly FlowIssue[]): Problem[] =>
    issues.map((i) => ({ message: i.message, hint: i.hint, path: i.path.map(String).join('.'), line: i.line, column: i.col }));
  const check = (text: string, flowRef: string) => {
    const result = deps.flows.compileText(text, flowRef, { incompleteTexts: true });
    return result.ok
      ? { flow: result.flow as Flow | undefined, problems: problemsOf(result.warnings) }
      : { flow: undefined, problems: problemsOf(result.issues) };
  };

  const editorPage = async (
    c: WebContext,
    extra: Partial<Pick<EditorView, 'chat' | 'notice' | 'error'>> & { text?: string; problems?: Problem[] } = {},
    status: 200 | 400 | 403 | 404 | 409 | 422 = 200,
  ) => {
    const id = flowIdOf(c);
    const session = c.get('session');
    const orgId = session.orgId;
    const t = c.get('t');
    const draft = await deps.authoring.draft(orgId, id).catch((error: unknown) => {
      if (error instanceof CatalogError && error.reason === 'not_found') return undefined;
      throw error;
    });
    const own = (await ownVersions(db, orgId, id)).filter((r) => r.status === 'published' || r.status === 'retired');
    const source = extra.text ?? draft?.row.source ?? own[own.length - 1]?.source ?? deps.flows.deployed.get(id)?.source;
    if (source === undefined) throw new ApiError('not_found', 'no such flow');
    const checked = check(source, draft?.row.flowRef ?? own[0]?.flowRef ?? id);
    const diff = draft
      ? await deps.authoring
          .diff(orgId, id)
          .then((d) => d.diff as unknown as DiffView)
          .catch(() => undefined)
      : undefined;
    const roles = session.roles as Role[];
    await audit(api(c), 'flow.read', { type: 'Flow', id });
    return render(
      c,
      page(
        pageOptions(c, t('editor.title', { flow: id }), { current: 'flows', page: 'editor' }),
        editorBody({
          t,
          language: c.get('language'),
          user: { displayName: session.displayName, roles, csrfToken: session.csrfToken },
          flowId: id,
          text: source,
          draft: draft ? { version: draft.row.version, status: draft.row.status === 'in_review' ? 'in_review' : 'draft' } : null,
          compiled: checked.flow,
          problems: extra.problems ?? checked.problems,
          diff,
          chat: extra.chat,
          notice: extra.notice,
          error: extra.error,
          canWrite: writers(roles),
          canPublish: publishers(roles),
        }),
      ),
      status,
    );
  };
  /** The API's error of an authoring step, for the page: its message and any located issues. */
  const failed = (error: unknown) => {
    if (!(error instanceof ApiError)) throw error;
    const issues = (error.details?.['issues'] as Array<{ message: string; hint?: string; path?: string; line?: number; column?: number }> | undefined) ?? [];
    return {
      error: error.message,
      problems: issues.length > 0 ? issues.map((i) => ({ message: i.message, hint: i.hint, path: i.path, line: i.line, column: i.column })) : undefined,
      status: (error.code === 'invalid_flow'
        ? 422
        : error.code === 'forbidden'
          ? 403
          : error.code === 'not_found'
            ? 404
            : error.code === 'conflict'
              ? 409
              : 400) as 422 | 403 | 404 | 409 | 400,
    };
  };

  web.get('/app/flows/:id/edit', allow(can.flows), (c) => editorPage(c));

  web.post('/app/flows/:id/validate', allow(can.flows), async (c) => {
    const id = flowIdOf(c);
    const text = (await c.req.text()).slice(0, 200_000);
    return c.html(problemsList(check(text, id).problems, c.get('t')));
  });

  web.post('/app/flows/:id/draft', allow(writers), async (c) => {
    const id = flowIdOf(c);
    const text = (await formField(c, 'yaml')) ?? '';
    try {
      await audited(
        api(c),
        'flow.draft.write',
        id,
        () => deps.authoring.saveDraft(c.get('session').orgId, id, text, `user:${c.get('session').subject}`),
        (saved) => saved.row.version,
      );
      return editorPage(c, { notice: c.get('t')('editor.saved') });
    } catch (error) {
      const f = failed(error);
      return editorPage(c, { text, error: f.error, ...(f.problems ? { problems: f.problems } : {}) }, f.status);
    }
  });

  web.post('/app/flows/:id/try', allow(can.flows), async (c) => {
    const id = flowIdOf(c);
    const form = await c.req.parseBody();
    const lang = isLanguage(form['lang']) ? form['lang'] : 'de';
    const answers = String(form['answers'] ?? '')
      .split(/\r?\n/)
      .map((a) => a.trim())
      .filter(Boolean)
      .slice(0, 200);
    try {
      const { events } = await audited(api(c), 'flow.draft.try', id, () =>
        deps.authoring.tryDraft(c.get('session').orgId, id, answers, { lang, now: new Date(), subject: 'Patient/example' }),
      );
      return editorPage(c, { chat: { lang, answers, events } });
    } catch (error) {
      const f = failed(error);
      return editorPage(c, { error: f.error }, f.status);
    }
  });

  web.post('/app/flows/:id/submit', allow(writers), async (c) => {
    const id = flowIdOf(c);
    try {
      await audited(
        api(c),
        'flow.draft.submit',
        id,
        () => deps.authoring.submit(c.get('session').orgId, id, `user:${c.get('session').subject}`),
        (r) => r.row.version,
      );
      return editorPage(c, { notice: c.get('t')('editor.submitted') });
    } catch (error) {
      const f = failed(error);
      return editorPage(c, { error: f.error, ...(f.problems ? { problems: f.problems } : {}) }, f.status);
    }
  });

  web.post('/app/flows/:id/publish', allow(publishers), async (c) => {
    const id = flowIdOf(c);
    try {
      const published = await audited(
        api(c),
        'flow.publish',
        id,
        () => deps.authoring.publish(c.get('session').orgId, id, `user:${c.get('session').subject}`),
        (r) => r.row.version,
      );
      return editorPage(c, { notice: c.get('t')('editor.published', { version: published.row.version }) });
    } catch (error) {
      const f = failed(error);
      return editorPage(c, { error: f.error, ...(f.problems ? { problems: f.problems } : {}) }, f.status);
    }
  });

  // ---- errors ----------------------------------------------------------------------------
  web.all('/app/*', (c) => {
    const t = c.get('t');
    return render(c, messagePage(pageOptions(c, t('error.notFound')), t('error.notFound'), t('error.notFoundText')), 404);
  });

  web.onError(async (error, c) => {
    const t = c.get('t') ?? translatorFor('de');
    if (error instanceof ApiError && (error.code === 'not_found' || error.code === 'forbidden' || error.code === 'bad_request')) {
      const [title, text, status] =
        error.code === 'not_found'
          ? (['error.notFound', 'error.notFoundText', 404] as const)
          : error.code === 'forbidden'
            ? (['error.forbidden', 'error.forbiddenText', 403] as const)
            : (['error.internal', 'error.internal', 400] as const);
      return render(c, messagePage(pageOptions(c, t(title as TextKey)), t(title as TextKey), t(text as TextKey)), status);
    }
    deps.logger.error('web request failed', { path: c.req.routePath, method: c.req.method, error: error.name });
    return render(c, messagePage(pageOptions(c, t('error.internal')), t('error.internal'), t('error.internal')), 500);
  });

  return web;
}

async function formField(c: Context, name: string): Promise<string | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return undefined;
  const body = await c.req.parseBody();
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}

import { and, eq } from 'drizzle-orm';
const eqOrg = (id: string) => eq(organisations.id, id);
const eqEsc = (id: string) => eq(escalations.id, id);
const eqPatient = (orgId: string, matrixUserId: string) => and(eq(patients.orgId, orgId), eq(patients.matrixUserId, matrixUserId));
export type { Db };
