import { gzipSync } from 'node:zlib';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { enrollPatient } from '../../db/patients.ts';
import { attachments, auditLog, escalations, loginLinks, ROLES, webSessions, type Role } from '../../db/schema.ts';
import { createLoginLink, createSession, hashToken } from '../../db/web-sessions.ts';
import { WEB_CSP } from '../../server/web/layout.ts';
import { seedPatientData, type SeededPatient } from '../harness/patient-data.ts';
import { get, post, testWeb, type TestWeb, type WebUser } from '../harness/web.ts';

/**
 * The web app's security on a real Postgres, without a browser: tenant
 * isolation and roles for every page and action (the route list comes from
 * the app, so a new page fails here until it has a case), CSRF, sessions
 * (hashed at rest, idle timeout, sign-out), sign-in links, headers.
 */
let database: Database;
let web: TestWeb;
let a: SeededPatient & { orgId: string; photoId: string };
let bOrg: string;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  web = await testWeb(database.db);
  const org = await createOrganisation(database.db, { name: 'Klinik A' });
  const patient = await enrollPatient(database.db, { orgId: org.id, matrixUserId: '@web-a:klinik.de', language: 'de', displayName: 'Anna A' });
  const seeded = await seedPatientData(database.db, org.id, patient.id);
  const [photo] = await database.db.select({ id: attachments.id }).from(attachments).where(eq(attachments.patientId, patient.id));
  a = { ...seeded, orgId: org.id, photoId: photo!.id };
  bOrg = (await createOrganisation(database.db, { name: 'Klinik B' })).id;
});
afterAll(async () => {
  await database?.close();
});

interface Case {
  method: 'GET' | 'POST';
  /** The concrete path with organisation A's ids. */
  path: () => string;
  /** Roles that may use it; others get 403. `public`: no session needed. */
  roles: Role[] | 'public' | 'any';
  /** Takes an object id: another organisation gets 404 exactly like a random id. */
  owned?: (id: string) => string;
  fields?: () => Record<string, string | string[]>;
}

const CARE: Role[] = ['clinician', 'org_admin'];
/** Every route of the web app. Adding a route means adding it here. */
const ROUTES: Record<string, Case> = {
  'GET /app/assets/:name': { method: 'GET', path: () => '/app/assets/app.js', roles: 'public' },
  'GET /app/lang/:lng': { method: 'GET', path: () => '/app/lang/en?back=/app/login', roles: 'public' },
  'GET /app/login': { method: 'GET', path: () => '/app/login', roles: 'public' },
  'GET /app/auth/start': { method: 'GET', path: () => '/app/auth/start', roles: 'public' },
  'GET /app/auth/callback': { method: 'GET', path: () => '/app/auth/callback', roles: 'public' },
  'GET /app/auth/link': { method: 'GET', path: () => '/app/auth/link?token=x', roles: 'public' },
  'POST /app/auth/link': { method: 'POST', path: () => '/app/auth/link', roles: 'public' },
  'POST /app/logout': { method: 'POST', path: () => '/app/logout', roles: 'any' },
  'GET /app': { method: 'GET', path: () => '/app', roles: 'any' },
  'GET /app/': { method: 'GET', path: () => '/app/', roles: 'any' },
  'GET /app/worklist': { method: 'GET', path: () => '/app/worklist', roles: CARE },
  'GET /app/worklist/rows': { method: 'GET', path: () => '/app/worklist/rows', roles: CARE },
  'GET /app/events': { method: 'GET', path: () => '/app/events', roles: CARE },
  'POST /app/alerts/:id/acknowledge': {
    method: 'POST',
    path: () => `/app/alerts/${a.alertId}/acknowledge`,
    roles: CARE,
    owned: (id) => `/app/alerts/${id}/acknowledge`,
  },
  'POST /app/alerts/acknowledge': { method: 'POST', path: () => '/app/alerts/acknowledge', roles: CARE, fields: () => ({ ids: [a.alertId] }) },
  'GET /app/patients': { method: 'GET', path: () => '/app/patients', roles: CARE },
  'GET /app/patients/:id': { method: 'GET', path: () => `/app/patients/${a.patientId}`, roles: CARE, owned: (id) => `/app/patients/${id}` },
  'GET /app/patients/:id/everything': {
    method: 'GET',
    path: () => `/app/patients/${a.patientId}/everything`,
    roles: CARE,
    owned: (id) => `/app/patients/${id}/everything`,
  },
  'GET /app/patients/:id/photos/:photo': {
    method: 'GET',
    path: () => `/app/patients/${a.patientId}/photos/${a.photoId}`,
    roles: CARE,
    owned: (id) => `/app/patients/${id}/photos/${a.photoId}`,
  },
  'GET /app/enroll': { method: 'GET', path: () => '/app/enroll', roles: ['org_admin'] },
  'POST /app/enroll': { method: 'POST', path: () => '/app/enroll', roles: ['org_admin'], fields: () => ({ matrixUserId: 'not-an-id' }) },
  'GET /app/flows': { method: 'GET', path: () => '/app/flows', roles: ['flow_author', 'flow_reviewer', 'org_admin'] },
  'GET /app/flows/:id': { method: 'GET', path: () => '/app/flows/post-op', roles: ['flow_author', 'flow_reviewer', 'org_admin'] },
  'GET /app/flows/:id/edit': { method: 'GET', path: () => '/app/flows/post-op/edit', roles: ['flow_author', 'flow_reviewer', 'org_admin'] },
  'POST /app/flows/:id/validate': { method: 'POST', path: () => '/app/flows/post-op/validate', roles: ['flow_author', 'flow_reviewer', 'org_admin'] },
  'POST /app/flows/:id/try': {
    method: 'POST',
    path: () => '/app/flows/post-op/try',
    roles: ['flow_author', 'flow_reviewer', 'org_admin'],
    fields: () => ({ lang: 'tr', answers: '7' }),
  },
  'POST /app/flows/:id/draft': {
    method: 'POST',
    path: () => '/app/flows/post-op/draft',
    roles: ['flow_author', 'org_admin'],
    fields: () => ({ yaml: 'id: post-op\nversion: [' }),
  },
  'POST /app/flows/:id/submit': { method: 'POST', path: () => '/app/flows/post-op/submit', roles: ['flow_author', 'org_admin'] },
  'POST /app/flows/:id/publish': { method: 'POST', path: () => '/app/flows/post-op/publish', roles: ['flow_reviewer', 'org_admin'] },
  'ALL /app/*': { method: 'GET', path: () => '/app/no-such-page', roles: 'public' },
};

const RANDOM = '00000000-0000-4000-8000-000000000000';
const request = (c: Case, path: string, user?: WebUser, options: { csrf?: boolean; origin?: string } = {}) =>
  c.method === 'GET' ? get(web.app, path, user) : post(web.app, path, user, c.fields?.() ?? {}, options);
/** The 404 page names its own path (language switch); the rest must be identical. */
const normalise = (text: string, id: string) => text.replaceAll(id, '<id>').replaceAll(encodeURIComponent(id), '<id>');

describe('every page and action', () => {
  it('has a case here', () => {
    const routes = web.app.routes.filter((r) => (r.path.startsWith('/app') && r.method !== 'ALL' ? true : r.path === '/app/*' && r.method === 'ALL'));
    const handlers = new Set(routes.filter((r) => r.path.startsWith('/app')).map((r) => `${r.method} ${r.path}`));
    // Middleware registrations appear as ALL; only real handlers count, plus the catch-all.
    const real = [...handlers].filter((k) => !k.startsWith('ALL ') || k === 'ALL /app/*');
    expect(real.filter((k) => !(k in ROUTES))).toEqual([]);
  });

  it("answers another organisation's objects exactly like random ids: 404, and changes nothing", async () => {
    const stranger = await web.signIn(bOrg, ['clinician', 'org_admin']);
    for (const [name, c] of Object.entries(ROUTES)) {
      if (!c.owned) continue;
      const foreign = await request(c, c.owned(a.patientId === undefined ? '' : name.includes('alerts') ? a.alertId : a.patientId), stranger);
      const random = await request(c, c.owned(RANDOM), stranger);
      expect(foreign.status, name).toBe(404);
      expect(random.status, name).toBe(404);
      expect(normalise(foreign.text, name.includes('alerts') ? a.alertId : a.patientId), name).toBe(normalise(random.text, RANDOM));
    }
    // A batch with A's alert id acknowledges nothing of A.
    const batch = await post(web.app, '/app/alerts/acknowledge', stranger, { ids: [a.alertId] });
    expect(batch.headers.get('location')).toBe('/app/worklist?acked=0');
    const [alert] = await database.db.select().from(escalations).where(eq(escalations.id, a.alertId));
    expect(alert!.acknowledgedAt).toBeNull();
    // Lists show nothing of A.
    for (const path of ['/app/worklist', '/app/worklist/rows', '/app/patients', '/app/patients?q=Anna']) {
      const page = await get(web.app, path, stranger);
      expect(page.status).toBe(200);
      expect(page.text, path).not.toContain(a.patientId);
      expect(page.text, path).not.toContain('Anna A');
    }
    const denied = await database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.orgId, bOrg), eq(auditLog.outcome, 'not_found')));
    expect(denied.length).toBeGreaterThanOrEqual(4);
  });

  it('lets each role use only its pages (403, audited) and sends the signed-out to the sign-in page', async () => {
    for (const role of ROLES) {
      const user = await web.signIn(a.orgId, [role]);
      for (const [name, c] of Object.entries(ROUTES)) {
        if (c.roles === 'public' || c.roles === 'any' || name.includes('acknowledge') || name === 'GET /app/events') continue;
        const res = await request(c, c.path(), user);
        if (c.roles.includes(role)) expect(res.status, `${role} ${name}`).not.toBe(403);
        else expect(res.status, `${role} ${name}`).toBe(403);
      }
    }
    const flowAuthor = await web.signIn(a.orgId, ['flow_author']);
    expect((await post(web.app, `/app/alerts/${a.alertId}/acknowledge`, flowAuthor)).status).toBe(403);
    const denied = await database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.actorId, flowAuthor.subject), eq(auditLog.outcome, 'denied')));
    expect(denied).toHaveLength(1);
    for (const [name, c] of Object.entries(ROUTES)) {
      if (c.roles === 'public') continue;
      const res = await request(c, c.path());
      if (c.method === 'GET') {
        expect(res.status, name).toBe(303);
        expect(res.headers.get('location'), name).toMatch(/^\/app\/login\?next=/);
      } else expect(res.status, name).toBeGreaterThanOrEqual(401);
    }
  });
});

describe('state changes', () => {
  it("need the session's CSRF token and our own origin", async () => {
    const user = await web.signIn(a.orgId, ['clinician']);
    const without = await post(web.app, `/app/alerts/${a.alertId}/acknowledge`, user, {}, { csrf: false });
    expect(without.status).toBe(403);
    const foreign = await post(web.app, `/app/alerts/${a.alertId}/acknowledge`, user, {}, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    const wrong = await post(web.app, `/app/alerts/${a.alertId}/acknowledge`, { ...user, csrf: 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    const [alert] = await database.db.select().from(escalations).where(eq(escalations.id, a.alertId));
    expect(alert!.acknowledgedAt).toBeNull();
    const logout = await post(web.app, '/app/logout', user, {}, { csrf: false });
    expect(logout.status).toBe(403);
  });
});

describe('sessions', () => {
  it('keep only a hash of the cookie, end after the idle time and at sign-out', async () => {
    const user = await web.signIn(a.orgId, ['clinician']);
    const token = user.cookie.split('=')[1]!;
    const rows = await database.db.select().from(webSessions).where(eq(webSessions.orgId, a.orgId));
    expect(rows.some((r) => r.tokenHash === hashToken(token))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(token);

    // Idle for longer than allowed: signed out, the row is gone.
    await database.db
      .update(webSessions)
      .set({ lastSeenAt: new Date(Date.now() - 31 * 60_000) })
      .where(eq(webSessions.tokenHash, hashToken(token)));
    const idle = await get(web.app, '/app/worklist', user);
    expect(idle.status).toBe(303);
    expect(idle.headers.get('location')).toContain('expired=1');
    expect(
      await database.db
        .select()
        .from(webSessions)
        .where(eq(webSessions.tokenHash, hashToken(token))),
    ).toEqual([]);

    const other = await web.signIn(a.orgId, ['clinician']);
    expect((await post(web.app, '/app/logout', other)).headers.get('location')).toBe('/app/login?signedOut=1');
    expect((await get(web.app, '/app/worklist', other)).status).toBe(303);
  });

  it('from a sign-in link: once, before it expires, as HttpOnly SameSite cookie', async () => {
    const { token } = await createLoginLink(database.db, { orgId: a.orgId, name: 'Dr. Link', roles: ['clinician'], lifetimeMs: 60_000 });
    const first = await post(web.app, '/app/auth/link', undefined, { token });
    expect(first.status).toBe(303);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^visite_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/app/);
    const again = await post(web.app, '/app/auth/link', undefined, { token });
    expect(again.headers.get('location')).toBe('/app/login?failed=link');
    const expired = await createLoginLink(
      database.db,
      { orgId: a.orgId, name: 'Dr. Late', roles: ['clinician'], lifetimeMs: 60_000 },
      new Date(Date.now() - 120_000),
    );
    expect((await post(web.app, '/app/auth/link', undefined, { token: expired.token })).headers.get('location')).toBe('/app/login?failed=link');
    const stored = await database.db.select().from(loginLinks).where(eq(loginLinks.orgId, a.orgId));
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it("OIDC callbacks without this browser's state are refused", async () => {
    const refused = await get(web.app, '/app/auth/callback?code=abc&state=forged');
    expect(refused.status).toBe(303);
    expect(refused.headers.get('location')).toMatch(/^\/app\/login/);
    expect((await get(web.app, '/app/auth/link?token=x')).headers.get('set-cookie')).toBeNull();
  });

  it("returns only to the app's own pages", async () => {
    expect((await get(web.app, '/app/lang/en?back=https://evil.example/')).headers.get('location')).toBe('/app/');
    expect((await get(web.app, '/app/lang/en?back=//evil.example/app')).headers.get('location')).toBe('/app/');
  });
});

describe('pages', () => {
  it('carry a strict CSP, no inline script or style, and at most 100 KB of JavaScript (gzip)', async () => {
    const user = await web.signIn(a.orgId, ['clinician', 'org_admin']);
    const pages = ['/app/login', '/app/worklist', '/app/patients', `/app/patients/${a.patientId}`, '/app/enroll', '/app/no-such-page'];
    let js = 0;
    for (const path of pages) {
      const page = await get(web.app, path, user);
      expect(page.headers.get('content-security-policy'), path).toBe(WEB_CSP);
      expect(WEB_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(page.headers.get('x-frame-options'), path).toBe('DENY');
      expect(page.headers.get('cache-control'), path).toBe('no-store');
      expect(page.text, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(page.text, path).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
      const scripts = [...page.text.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
      let size = 0;
      for (const src of scripts) size += gzipSync(await (await web.app.request(src)).arrayBuffer().then((b) => Buffer.from(b))).length;
      expect(size, path).toBeLessThanOrEqual(100 * 1024);
      js = Math.max(js, size);
    }
    expect(js).toBeGreaterThan(0);
  });

  it('audit every chart view and export', async () => {
    const user = await web.signIn(a.orgId, ['clinician']);
    await get(web.app, `/app/patients/${a.patientId}`, user);
    await get(web.app, `/app/patients/${a.patientId}/everything`, user);
    const entries = await database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.actorId, user.subject), eq(auditLog.resourceId, a.patientId)));
    expect(entries.map((e) => [e.action, e.outcome]).sort()).toEqual([
      ['fhir.Patient.everything', 'ok'],
      ['patient.chart.view', 'ok'],
    ]);
  });
});

describe('live updates', () => {
  it('tell an open worklist when an alert of its organisation arrives, and not for another organisation', async () => {
    const user = await web.signIn(a.orgId, ['clinician']);
    const res = await web.app.request('/app/events', { headers: { cookie: user.cookie, accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const next = async (until: RegExp) => {
      const deadline = Date.now() + 5_000;
      while (!until.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      return until.test(text);
    };
    expect(await next(/event: ready/)).toBe(true);
    // Another organisation's alert: no event. Then one of A's: an event.
    const other = await enrollPatient(database.db, { orgId: bOrg, matrixUserId: '@web-b:klinik.de', language: 'de' });
    await database.db.insert(escalations).values({ patientId: other.id, kind: 'red_flag', severity: 'urgent', details: {} });
    await new Promise((r) => setTimeout(r, 400));
    expect(text).not.toMatch(/event: alerts/);
    await database.db.insert(escalations).values({ patientId: a.patientId, kind: 'red_flag', severity: 'urgent', details: { category: 'bleeding' } });
    expect(await next(/event: alerts/)).toBe(true);
    await reader.cancel();
  });
});

describe('acknowledging', () => {
  it('in a batch takes every selected alert of the organisation at once, audited one by one', async () => {
    const patient = await enrollPatient(database.db, { orgId: a.orgId, matrixUserId: '@web-batch:klinik.de', language: 'de', displayName: 'Bea Batch' });
    const made = await database.db
      .insert(escalations)
      .values([
        { patientId: patient.id, kind: 'red_flag', severity: 'urgent', details: { category: 'bleeding' } },
        { patientId: patient.id, kind: 'no_response', severity: 'info', details: {} },
      ])
      .returning();
    const user = await web.signIn(a.orgId, ['clinician'], 'Dr. Batch');
    const before = await get(web.app, '/app/worklist', user);
    expect(before.text).toContain('Bea Batch');
    const res = await post(web.app, '/app/alerts/acknowledge', user, { ids: made.map((e) => e.id) });
    expect(res.headers.get('location')).toBe('/app/worklist?acked=2');
    const rows = await database.db.select().from(escalations).where(eq(escalations.patientId, patient.id));
    expect(rows.map((e) => e.acknowledgedBy)).toEqual([`user:${user.subject}`, `user:${user.subject}`]);
    const audited = await database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.actorId, user.subject), eq(auditLog.action, 'alert.acknowledge')));
    expect(audited.map((e) => e.resourceId).sort()).toEqual(made.map((e) => e.id).sort());
    const after = await get(web.app, '/app/worklist?acked=2', user);
    expect(after.text).not.toContain('Bea Batch');
    expect(after.text).toContain('2 Meldung(en) übernommen.');
    // A second acknowledgement of the same alert changes nothing and says who took it.
    const again = await post(web.app, `/app/alerts/${made[0]!.id}/acknowledge`, user);
    expect(again.headers.get('location')).toBe(`/app/worklist?already=${encodeURIComponent(`user:${user.subject}`)}`);
  });
});
