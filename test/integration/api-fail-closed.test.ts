import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { enrollments, scheduledCheckins } from '../../db/schema.ts';
import { and, eq } from 'drizzle-orm';
import { call, startTestIssuer, testApi, type TestApi, type TestIssuer } from '../harness/api.ts';
import { dbStartCheckin, seedPatientData } from '../harness/patient-data.ts';

/**
 * Issue #16 "Fail closed", the API side: a misspelt filter is an error, not
 * "everything"; malformed input is a 400 naming the field, never a 500; the
 * smaller faults an independent probe found. Each case here was red first.
 */
let database: Database;
let issuer: TestIssuer;
let api: TestApi;
let org: Awaited<ReturnType<TestApi['organisation']>>;
let patientId: string;
let careTeamId: string;
let seededCheckin: string;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  issuer = await startTestIssuer();
  api = await testApi(database.db, issuer, { startCheckin: dbStartCheckin(database.db) });
  org = await api.organisation('Fail closed');
  const created = await call(api.app, 'POST', '/v1/patients', org.keys.integration, {
    matrixUserId: `@fc.${randomUUID().slice(0, 8)}:klinik.de`,
    displayName: 'Erika Closed',
  });
  patientId = created.body.id;
  const seeded = await seedPatientData(database.db, org.orgId, patientId);
  careTeamId = seeded.careTeamId;
  seededCheckin = seeded.checkinId;
});
afterAll(async () => {
  await issuer?.close();
  await database?.close();
});

const fields = (res: { body: any }): string[] => res.body?.error?.details?.fields?.map((f: { path: string }) => f.path) ?? [];
/** The parameters an OperationOutcome names (issue.expression). */
const expressions = (res: { body: any }): string[] => (res.body?.issue ?? []).flatMap((i: { expression?: string[] }) => i.expression ?? []);
const isoDay = (date: Date) => date.toISOString().slice(0, 10);

interface Operation {
  method: string;
  path: string;
  parameters?: Array<{ name: string; in: string }>;
}

async function operations(): Promise<Operation[]> {
  const doc = await call(api.app, 'GET', '/openapi.json', null);
  return Object.entries(doc.body.paths as Record<string, Record<string, { parameters?: Operation['parameters'] }>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, ...(op.parameters ? { parameters: op.parameters } : {}) })),
  );
}

const fill = (path: string) => path.replace(/\{(\w+)\}/g, () => randomUUID());

describe('unknown query parameters (a misspelt filter returns everything)', () => {
  it('every GET route of the OpenAPI document rejects an unknown parameter with 400 naming it', async () => {
    const gets = (await operations()).filter((op) => op.method === 'GET');
    expect(gets.length).toBeGreaterThan(10);
    // The app's own route table has no data route the document lacks, so the loop below covers them all.
    const routed = new Set(api.app.routes.filter((r) => r.method === 'GET' && /^\/(v1|fhir)\//.test(r.path)).map((r) => r.path.replace(/:(\w+)/g, '{$1}')));
    expect([...routed].sort()).toEqual(gets.map((op) => op.path).sort());
    for (const op of gets) {
      const res = await call(api.app, 'GET', `${fill(op.path)}?notAParameter=1`, org.keys.org_admin);
      expect(res.status, `${op.path}`).toBe(400);
      if (op.path.startsWith('/fhir/')) {
        expect(res.body.resourceType, op.path).toBe('OperationOutcome');
        expect(expressions(res), op.path).toContain('notAParameter');
      } else {
        expect(fields(res), op.path).toContain('notAParameter');
      }
    }
  });

  it.each([
    ['/fhir/R4/Observation', 'subject', (id: string) => `Patient/${id}`],
    ['/fhir/R4/QuestionnaireResponse', 'subject', (id: string) => `Patient/${id}`],
    ['/v1/alerts', 'patient_id', (id: string) => id],
    ['/v1/checkins', 'patient', (id: string) => id],
    ['/v1/enrollments', 'patient', (id: string) => id],
  ])('GET %s?%s=… answers 400 naming the parameter instead of every record', async (path, name, value) => {
    const res = await call(api.app, 'GET', `${path}?${name}=${encodeURIComponent(value(patientId))}`, org.keys.clinician);
    expect(res.status).toBe(400);
    expect(path.startsWith('/fhir/') ? expressions(res) : fields(res)).toContain(name);
    expect(JSON.stringify(res.body)).toContain(name);
  });

  it('FHIR searches with Prefer: handling=lenient ignore unknown parameters, as the FHIR spec allows', async () => {
    const res = await call(api.app, 'GET', `/fhir/R4/QuestionnaireResponse?patient=${patientId}&_unknown=1`, org.keys.clinician, undefined, {
      prefer: 'handling=lenient',
    });
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    const strict = await call(api.app, 'GET', `/fhir/R4/QuestionnaireResponse?patient=${patientId}&_unknown=1`, org.keys.clinician, undefined, {
      prefer: 'handling=strict',
    });
    expect(strict.status).toBe(400);
  });

  it('FHIR routes take _format for JSON only (400 naming it otherwise)', async () => {
    for (const path of ['/fhir/R4/metadata', `/fhir/R4/QuestionnaireResponse?patient=${patientId}`, `/fhir/R4/Patient/${patientId}/$everything`]) {
      const join = path.includes('?') ? '&' : '?';
      for (const format of ['json', 'application/fhir+json', 'application/fhir%2Bjson']) {
        expect((await call(api.app, 'GET', `${path}${join}_format=${format}`, org.keys.clinician)).status, `${path} ${format}`).toBe(200);
      }
      const xml = await call(api.app, 'GET', `${path}${join}_format=xml`, org.keys.clinician);
      expect(xml.status).toBe(400);
      expect(expressions(xml)).toContain('_format');
    }
  });

  it('a known parameter given twice where one value is expected is a 400 naming it', async () => {
    const res = await call(api.app, 'GET', `/v1/checkins?patientId=${patientId}&patientId=${randomUUID()}`, org.keys.clinician);
    expect(res.status).toBe(400);
    expect(fields(res)).toContain('patientId');
  });
});

describe('malformed input is a 400 naming the field, never a 500', () => {
  it.each([
    [
      'POST /v1/patients displayName with NUL',
      'POST',
      '/v1/patients',
      () => ({ matrixUserId: `@nul.${randomUUID().slice(0, 6)}:klinik.de`, displayName: 'Eri\u0000ka' }),
      'displayName',
    ],
    [
      'POST /v1/patients displayName with a lone surrogate',
      'POST',
      '/v1/patients',
      () => ({ matrixUserId: `@sur.${randomUUID().slice(0, 6)}:klinik.de`, displayName: 'Eri\uD800ka' }),
      'displayName',
    ],
    ['POST /v1/care-teams name with NUL', 'POST', '/v1/care-teams', () => ({ name: 'Station\u00003', roomId: '!s3:klinik.de' }), 'name'],
    [
      'POST /v1/care-teams thresholds key with NUL',
      'POST',
      '/v1/care-teams',
      () => ({ name: 'Station 3', roomId: '!s3:klinik.de', thresholds: { 'post\u0000op': { fever: 38 } } }),
      'thresholds.post\u0000op',
    ],
    [
      'POST /v1/clinicians displayName with NUL',
      'POST',
      '/v1/clinicians',
      () => ({ matrixUserId: `@dr.${randomUUID().slice(0, 6)}:klinik.de`, displayName: 'Dr.\u0000Berg' }),
      'displayName',
    ],
    [
      'POST /v1/clinicians oidcSubject with a lone surrogate',
      'POST',
      '/v1/clinicians',
      () => ({ matrixUserId: `@dr.${randomUUID().slice(0, 6)}:klinik.de`, displayName: 'Dr. Berg', oidcSubject: '\uDC00' }),
      'oidcSubject',
    ],
    ['POST /v1/api-keys name with NUL', 'POST', '/v1/api-keys', () => ({ name: 'PVS\u0000' }), 'name'],
    ['PATCH /v1/organisation name with NUL', 'PATCH', '/v1/organisation', () => ({ name: '\u0000' }), 'name'],
    [
      'POST /v1/enrollments anchorDate 9999-12-31',
      'POST',
      '/v1/enrollments',
      () => ({ patientId, flowId: 'post-op', anchorDate: '9999-12-31', careTeamId }),
      'anchorDate',
    ],
    [
      'POST /v1/enrollments anchorDate before 2000',
      'POST',
      '/v1/enrollments',
      () => ({ patientId, flowId: 'post-op', anchorDate: '1999-12-31', careTeamId }),
      'anchorDate',
    ],
    [
      'POST /v1/enrollments anchorDate more than 2 years ahead',
      'POST',
      '/v1/enrollments',
      () => ({ patientId, flowId: 'post-op', anchorDate: isoDay(new Date(Date.now() + 2 * 366 * 86_400_000 + 86_400_000)), careTeamId }),
      'anchorDate',
    ],
  ])('%s', async (_name, method, path, body, field) => {
    const res = await call(api.app, method, path, org.keys.org_admin, body());
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(fields(res)).toContain(field);
  });

  it('accepts an anchor date within the window (today and two years ahead)', async () => {
    for (const anchorDate of [isoDay(new Date()), isoDay(new Date(Date.now() + 700 * 86_400_000))]) {
      const res = await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, { patientId, flowId: 'post-op', anchorDate, careTeamId });
      expect(res.status, anchorDate).toBeLessThan(300);
      await call(api.app, 'DELETE', `/v1/enrollments/${res.body.id}`, org.keys.integration);
    }
  });

  it.each([
    ['patient', 'a UUID-shaped non-UUID', '------------------------------------'],
    ['patient', 'hex in the wrong groups', '0123456789abcdef0123456789abcdef-123'],
    ['patient', 'Patient/ with dashes only', 'Patient/------------------------------------'],
    ['date', 'month 13', 'ge2026-13-01'],
    ['date', 'February 30', 'eq2026-02-30'],
    ['date', 'hour 25', 'ge2026-01-01T25:00Z'],
    ['date', 'minute 61', 'lt2026-01-01T10:61Z'],
    ['date', 'offset +99:99', 'ge2026-01-01T10:00+99:99'],
    ['date', 'year 0000', 'ge0000-01-01'],
    ['date', 'an unknown prefix', 'sa2026-01-01'],
    ['code', 'a NUL', 'http://loinc.org|8310-5\u0000'],
    ['_count', 'a huge number', '1e309'],
  ])('GET /fhir/R4/Observation?%s= with %s: 400 OperationOutcome naming it', async (name, _what, value) => {
    const res = await call(api.app, 'GET', `/fhir/R4/Observation?${name}=${encodeURIComponent(value)}`, org.keys.clinician);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(expressions(res)).toContain(name);
  });

  it.each([
    ['/v1/audit?since=0000-01-01T00:00:00Z', 'since'],
    ['/v1/audit?since=2026-02-30T00:00:00Z', 'since'],
    ['/v1/patients?offset=99999999999999999999', 'offset'],
    ['/v1/patients?limit=%00', 'limit'],
    ['/v1/checkins?status=%00', 'status'],
  ])('GET %s: 400 naming %s', async (path, field) => {
    const res = await call(api.app, 'GET', path, org.keys.org_admin);
    expect(res.status).toBe(400);
    expect(fields(res)).toContain(field);
  });

  it('a valid OIDC token for an organisation this server does not know gets 403, not 500', async () => {
    const token = await issuer.sign({ sub: 'dr.nobody', visite_org: randomUUID(), visite_roles: ['org_admin'] });
    for (const [method, path, body] of [
      ['GET', '/v1/organisation', undefined],
      ['GET', '/v1/patients', undefined],
      ['POST', '/v1/patients', { matrixUserId: '@ghost:klinik.de' }],
      ['GET', `/fhir/R4/Patient/${patientId}/$everything`, undefined],
    ] as const) {
      const res = await call(api.app, method, path, token, body);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });
});

describe('enrollments are idempotent', () => {
  it('the same enrollment posted twice makes one active enrollment with one set of check-ins (200 the second time)', async () => {
    const s = await call(api.app, 'POST', '/v1/patients', org.keys.integration, { matrixUserId: `@twice.${randomUUID().slice(0, 8)}:klinik.de` });
    const body = { patientId: s.body.id, flowId: 'post-op', anchorDate: isoDay(new Date(Date.now() + 7 * 86_400_000)), careTeamId };
    const [first, second] = await Promise.all([
      call(api.app, 'POST', '/v1/enrollments', org.keys.integration, body),
      call(api.app, 'POST', '/v1/enrollments', org.keys.integration, body),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 201]);
    expect(first.body.id).toBe(second.body.id);
    const active = await database.db
      .select()
      .from(enrollments)
      .where(and(eq(enrollments.patientId, s.body.id), eq(enrollments.status, 'active')));
    expect(active).toHaveLength(1);
    const scheduled = await database.db.select().from(scheduledCheckins).where(eq(scheduledCheckins.enrollmentId, active[0]!.id));
    expect(scheduled).toHaveLength(first.body.schedule.length);
  });

  it('another active enrollment of the patient in the same flow with other values is a 409 naming the existing one', async () => {
    const s = await call(api.app, 'POST', '/v1/patients', org.keys.integration, { matrixUserId: `@other.${randomUUID().slice(0, 8)}:klinik.de` });
    const body = { patientId: s.body.id, flowId: 'post-op', anchorDate: isoDay(new Date(Date.now() + 7 * 86_400_000)), careTeamId };
    const first = await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, body);
    expect(first.status).toBe(201);
    const moved = await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, { ...body, anchorDate: isoDay(new Date(Date.now() + 9 * 86_400_000)) });
    expect(moved.status).toBe(409);
    expect(moved.body.error.details.enrollmentId).toBe(first.body.id);
    // Ended, it no longer stands in the way.
    expect((await call(api.app, 'DELETE', `/v1/enrollments/${first.body.id}`, org.keys.integration)).status).toBe(204);
    expect((await call(api.app, 'POST', '/v1/enrollments', org.keys.integration, body)).status).toBe(201);
  });
});

describe('response headers', () => {
  it('every API, FHIR and error response has Cache-Control: no-store and X-Content-Type-Options: nosniff', async () => {
    for (const [path, token] of [
      ['/v1/patients', org.keys.clinician],
      [`/v1/checkins/${seededCheckin}`, org.keys.clinician],
      ['/v1/patients', null],
      ['/v1/patients/not-a-uuid', org.keys.clinician],
      ['/v1/nothing', org.keys.clinician],
      [`/fhir/R4/QuestionnaireResponse?patient=${patientId}`, org.keys.clinician],
      ['/fhir/R4/metadata', null],
      ['/fhir/R4/Nothing', org.keys.clinician],
      ['/openapi.json', null],
      ['/docs', null],
    ] as const) {
      const res = await call(api.app, 'GET', path, token);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('/docs has a strict Content-Security-Policy and no inline script or style', async () => {
    const res = await api.app.request('/docs');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    const sheet = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1];
    expect(sheet).toBeDefined();
    const css = await api.app.request(sheet!);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });
});

describe('request bodies', () => {
  it('a body without a content type is 415, not 400', async () => {
    // Bytes, not a string: a string body would get text/plain from the Request constructor.
    const body = new TextEncoder().encode(JSON.stringify({ matrixUserId: '@untyped:klinik.de' }));
    const res = await api.app.request('/v1/patients', { method: 'POST', headers: { authorization: `Bearer ${org.keys.integration}` }, body });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });
});

describe('OIDC token age', () => {
  it('rejects a token issued in the future (beyond the clock skew) with 401', async () => {
    const token = await issuer.sign(
      { sub: 'dr.future', visite_org: org.orgId, visite_roles: ['clinician'] },
      { issuedAt: Math.floor(Date.now() / 1000) + 600, expiresIn: '2h' },
    );
    expect((await call(api.app, 'GET', '/v1/organisation', token)).status).toBe(401);
  });

  it('rejects a token issued longer ago than the maximum age (default 24 h) with 401, and the maximum is configurable', async () => {
    const old = Math.floor(Date.now() / 1000) - 25 * 3600;
    const token = await issuer.sign({ sub: 'dr.old', visite_org: org.orgId, visite_roles: ['clinician'] }, { issuedAt: old, expiresIn: '48h' });
    expect((await call(api.app, 'GET', '/v1/organisation', token)).status).toBe(401);
    const shortLived = await testApi(database.db, issuer, { maxTokenAgeSeconds: 600 });
    const twentyMinutes = await issuer.sign(
      { sub: 'dr.old', visite_org: org.orgId, visite_roles: ['clinician'] },
      { issuedAt: Math.floor(Date.now() / 1000) - 1200, expiresIn: '1h' },
    );
    expect((await call(shortLived.app, 'GET', '/v1/organisation', twentyMinutes)).status).toBe(401);
    expect((await call(api.app, 'GET', '/v1/organisation', twentyMinutes)).status).toBe(200);
  });
});

describe('failed-authentication limit', () => {
  const from = (app: TestApi['app'], address: string, token: string | null, method = 'GET') =>
    app.request(
      '/v1/flows',
      { method, headers: token ? { authorization: `Bearer ${token}` } : {} },
      { incoming: { socket: { remoteAddress: address, remotePort: 1 } } },
    );

  it('lets a valid credential through from an address that is over the limit', async () => {
    const limited = await testApi(database.db, issuer, { authFailureLimit: 3 });
    for (let i = 0; i < 3; i++) expect((await from(limited.app, '10.0.0.1', 'wrong')).status).toBe(401);
    expect((await from(limited.app, '10.0.0.1', 'wrong')).status).toBe(429);
    expect((await from(limited.app, '10.0.0.1', org.keys.clinician)).status).toBe(200);
    // Other addresses are not affected.
    expect((await from(limited.app, '10.0.0.2', 'wrong')).status).toBe(401);
  });

  it('counts failures per API key prefix across addresses', async () => {
    const limited = await testApi(database.db, issuer, { authFailureLimit: 3 });
    const prefix = /^vk_([0-9a-f]{12})_/.exec(org.keys.integration)![1]!;
    const guess = (n: number) => `vk_${prefix}_${String(n).padStart(43, 'A')}`;
    for (let i = 0; i < 3; i++) expect((await from(limited.app, `10.1.0.${i}`, guess(i))).status).toBe(401);
    expect((await from(limited.app, '10.1.0.99', guess(99))).status).toBe(429);
    // The key itself still works.
    expect((await from(limited.app, '10.1.0.99', org.keys.integration)).status).toBe(200);
  });

  it('does not count CORS preflights (OPTIONS)', async () => {
    const limited = await testApi(database.db, issuer, { authFailureLimit: 3 });
    for (let i = 0; i < 10; i++) expect((await from(limited.app, '10.2.0.1', null, 'OPTIONS')).status).not.toBe(429);
    expect((await from(limited.app, '10.2.0.1', 'wrong')).status).toBe(401);
  });
});
