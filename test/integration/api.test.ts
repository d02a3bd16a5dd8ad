import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { auditLog, patients } from '../../db/schema.ts';
import { call, startTestIssuer, testApi, type TestApi, type TestIssuer } from '../harness/api.ts';

/**
 * The REST API on real Postgres: happy paths, errors, and attacks — token
 * forgery, other tenants' objects, mass assignment, oversized input.
 */
let database: Database;
let issuer: TestIssuer;
let api: TestApi;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  issuer = await startTestIssuer();
  api = await testApi(database.db, issuer);
});
afterAll(async () => {
  await issuer?.close();
  await database?.close();
});

const patientBody = (n: string) => ({ matrixUserId: `@patient.${n}:klinik.de`, language: 'tr', timeZone: 'Europe/Berlin', displayName: 'Ayşe Yılmaz' });

describe('authentication', () => {
  it('rejects requests without credentials with 401 and a machine code', async () => {
    const res = await call(api.app, 'GET', '/v1/flows', null);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('accepts an API key and a valid OIDC token', async () => {
    const { orgId, keys } = await api.organisation();
    expect((await call(api.app, 'GET', '/v1/organisation', keys.clinician)).body.id).toBe(orgId);
    const token = await issuer.sign({ sub: 'dr.berg', visite_org: orgId, visite_roles: ['clinician'] });
    const res = await call(api.app, 'GET', '/v1/organisation', token);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(orgId);
  });

  it.each([
    [
      'alg none',
      async (orgId: string) =>
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', visite_org: orgId, visite_roles: ['org_admin'], iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url')}.`,
    ],
    ['a bad signature', (orgId: string) => issuer.signWithForeignKey({ sub: 'x', visite_org: orgId, visite_roles: ['org_admin'] })],
    ['an expired token', (orgId: string) => issuer.sign({ sub: 'x', visite_org: orgId, visite_roles: ['org_admin'] }, { expiresIn: '-10m' })],
    ['a wrong audience', (orgId: string) => issuer.sign({ sub: 'x', visite_org: orgId, visite_roles: ['org_admin'] }, { audience: 'another-api' })],
    ['a wrong issuer', (orgId: string) => issuer.sign({ sub: 'x', visite_org: orgId, visite_roles: ['org_admin'] }, { issuer: 'https://evil.example' })],
    ['a token without organisation', () => issuer.sign({ sub: 'x', visite_roles: ['org_admin'] })],
    ['garbage', () => Promise.resolve('not.a.jwt')],
    ['an unknown API key', () => Promise.resolve(`vk_0123456789ab_${'A'.repeat(43)}`)],
  ])('rejects %s with 401', async (_name, make) => {
    const { orgId } = await api.organisation();
    const res = await call(api.app, 'GET', '/v1/organisation', await make(orgId));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('rejects an HS256 token signed with the public key (algorithm confusion)', async () => {
    const { orgId } = await api.organisation();
    const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: Array<Record<string, string>> };
    const { SignJWT } = await import('jose');
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const token = await new SignJWT({ sub: 'x', visite_org: orgId, visite_roles: ['org_admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'test-key' })
      .setIssuer(issuer.issuer)
      .setAudience(issuer.audience)
      .setExpirationTime('5m')
      .sign(secret);
    expect((await call(api.app, 'GET', '/v1/organisation', token)).status).toBe(401);
  });

  it('stops accepting a revoked API key at once', async () => {
    const { keys } = await api.organisation();
    const created = await call(api.app, 'POST', '/v1/api-keys', keys.org_admin, { name: 'PVS', roles: ['integration'] });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^vk_[0-9a-f]{12}_/);
    expect((await call(api.app, 'GET', '/v1/flows', created.body.secret)).status).toBe(200);
    const listed = await call(api.app, 'GET', '/v1/api-keys', keys.org_admin);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect((await call(api.app, 'DELETE', `/v1/api-keys/${created.body.id}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'GET', '/v1/flows', created.body.secret)).status).toBe(401);
  });

  it('limits failed authentication attempts per client address', async () => {
    const limited = await testApi(database.db, issuer, { authFailureLimit: 5 });
    for (let i = 0; i < 5; i++) expect((await call(limited.app, 'GET', '/v1/flows', 'wrong')).status).toBe(401);
    const blocked = await call(limited.app, 'GET', '/v1/flows', 'wrong');
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(blocked.headers.get('retry-after')).toBe('60');
  });
});

describe('authorization by role', () => {
  it.each([
    ['clinician', 'POST', '/v1/patients'],
    ['flow_author', 'POST', '/v1/patients'],
    ['integration', 'GET', '/v1/audit'],
    ['clinician', 'POST', '/v1/api-keys'],
    ['integration', 'PATCH', '/v1/organisation'],
  ] as const)('%s may not %s %s (403)', async (role, method, path) => {
    const { keys } = await api.organisation();
    const body = method === 'GET' ? undefined : method === 'POST' && path === '/v1/patients' ? patientBody('r') : { name: 'x' };
    const res = await call(api.app, method, path, keys[role], body);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });
});

describe('patients', () => {
  it('registers, lists, reads and erases a patient; every access is audited', async () => {
    const { orgId, keys } = await api.organisation();
    const created = await call(api.app, 'POST', '/v1/patients', keys.integration, patientBody('a'));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ matrixUserId: '@patient.a:klinik.de', language: 'tr', consent: 'none', monitoring: 'active' });
    const id = created.body.id as string;

    expect((await call(api.app, 'GET', `/v1/patients/${id}`, keys.clinician)).body.id).toBe(id);
    expect((await call(api.app, 'GET', '/v1/patients', keys.clinician)).body.patients.map((p: { id: string }) => p.id)).toEqual([id]);
    expect((await call(api.app, 'POST', '/v1/patients', keys.integration, patientBody('a'))).status).toBe(409);

    expect((await call(api.app, 'DELETE', `/v1/patients/${id}`, keys.integration)).status).toBe(204);
    expect((await call(api.app, 'GET', `/v1/patients/${id}`, keys.clinician)).status).toBe(404);
    expect(await database.db.select().from(patients).where(eq(patients.id, id))).toEqual([]);

    const audit = await call(api.app, 'GET', '/v1/audit', keys.org_admin);
    expect(audit.status).toBe(200);
    const actions = audit.body.entries.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['patient.create:ok', 'patient.read:ok', 'patient.list:ok', 'patient.erase:ok', 'patient.read:not_found']));
    expect(JSON.stringify(audit.body)).not.toContain('Ayşe');
    const stored = await database.db.select().from(auditLog).where(eq(auditLog.orgId, orgId));
    expect(stored.every((e) => e.resourceId === null || !e.resourceId.includes('@'))).toBe(true);
  });

  it.each([
    ['malformed JSON', '{"matrixUserId": ', /invalid|malformed/i, undefined],
    ['an unknown field (mass assignment of the owner)', { ...patientBody('m'), orgId: '00000000-0000-4000-8000-000000000000' }, /orgId/, 'orgId'],
    ['a role field', { ...patientBody('m'), roles: ['org_admin'] }, /roles/, 'roles'],
    ['a wrong type', { ...patientBody('m'), language: 42 }, /language/, 'language'],
    ['a bad Matrix id', { ...patientBody('m'), matrixUserId: 'erika' }, /matrixUserId/, 'matrixUserId'],
    ['an unknown time zone', { ...patientBody('m'), timeZone: 'Mars/Olympus' }, /timeZone/, 'timeZone'],
    ['a Matrix id over 255 bytes', { ...patientBody('m'), matrixUserId: `@${'p'.repeat(250)}:klinik.de` }, /matrixUserId/, 'matrixUserId'],
    ['a Matrix id with a port over 65535', { ...patientBody('m'), matrixUserId: '@erika:klinik.de:70000' }, /matrixUserId/, 'matrixUserId'],
  ])('rejects %s with 400 naming the field', async (_name, body, message, field) => {
    const { keys } = await api.organisation();
    const res = await call(api.app, 'POST', '/v1/patients', keys.integration, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toMatch(message);
    if (field) expect(res.body.error.details.fields.map((f: { path: string }) => f.path)).toContain(field);
  });

  it('rejects bodies that are too large (413) or not JSON (415)', async () => {
    const { keys } = await api.organisation();
    const small = await testApi(database.db, issuer, { maxBodyBytes: 256 });
    const big = await call(small.app, 'POST', '/v1/patients', keys.integration, { ...patientBody('b'), displayName: 'x'.repeat(1_000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const form = await call(api.app, 'POST', '/v1/patients', keys.integration, 'matrixUserId=@x:y', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
  });
});

describe('tenant isolation', () => {
  it("never shows, changes or confirms another organisation's objects (404)", async () => {
    const a = await api.organisation('A');
    const b = await api.organisation('B');
    const created = await call(api.app, 'POST', '/v1/patients', a.keys.integration, patientBody('iso'));
    const id = created.body.id as string;
    const keyA = await call(api.app, 'POST', '/v1/api-keys', a.keys.org_admin, { name: 'A key', roles: ['integration'] });

    expect((await call(api.app, 'GET', `/v1/patients/${id}`, b.keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'DELETE', `/v1/patients/${id}`, b.keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'GET', '/v1/patients', b.keys.org_admin)).body.patients).toEqual([]);
    expect((await call(api.app, 'DELETE', `/v1/api-keys/${keyA.body.id}`, b.keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'GET', '/v1/api-keys', b.keys.org_admin)).body.apiKeys.map((k: { name: string }) => k.name)).not.toContain('A key');
    // The same Matrix user can be a patient of B too; that confirms nothing about A.
    expect((await call(api.app, 'POST', '/v1/patients', b.keys.integration, patientBody('iso'))).status).toBe(201);
    // A token for B with an id of A's patient gets the same answer as a random id.
    const token = await issuer.sign({ sub: 'dr.b', visite_org: b.orgId, visite_roles: ['org_admin'] });
    const viaToken = await call(api.app, 'GET', `/v1/patients/${id}`, token);
    const random = await call(api.app, 'GET', '/v1/patients/6f1d2c9e-3b4a-4c5d-8e6f-0a1b2c3d4e5f', token);
    expect([viaToken.status, viaToken.body]).toEqual([random.status, random.body]);
    // A still sees its patient, and B's attempts are in B's audit log, not A's.
    expect((await call(api.app, 'GET', `/v1/patients/${id}`, a.keys.clinician)).status).toBe(200);
    const auditA = await call(api.app, 'GET', '/v1/audit', a.keys.org_admin);
    expect(auditA.body.entries.every((e: { actorId: string }) => e.actorId !== 'dr.b')).toBe(true);
  });
});

describe('OpenAPI', () => {
  it('documents every route, parameter and error, and serves a docs page', async () => {
    const doc = await call(api.app, 'GET', '/openapi.json', null);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const documented = new Set(
      Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    const reachable = api.app.routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL').map((r) => `${r.method} ${r.path}`);
    expect(reachable.length).toBeGreaterThan(5);
    for (const route of reachable) expect(documented, route).toContain(route);
    // Every authenticated operation documents its error responses (metadata is public by design).
    for (const [, ops] of Object.entries(doc.body.paths as Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>)) {
      for (const op of Object.values(ops)) if (op.security) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '401', '403']));
    }
    const page = await api.app.request('/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/v1/patients');
  });
});
