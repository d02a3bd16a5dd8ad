import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { ROLES } from '../../db/schema.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { call, testApi, type TestApi } from '../harness/api.ts';
import { dbStartCheckin, seedPatientData, type SeededPatient } from '../harness/patient-data.ts';

/**
 * Tenant isolation over every route (OWASP API1): organisation B, holding every
 * role, tries each route that takes an object id with organisation A's ids and
 * gets exactly what a random id gets — 404 with the same body — and A's objects
 * are untouched afterwards. Lists never show A's objects. The routes come from
 * the app itself, so a new route with an id fails here until it is in the table.
 */
let database: Database;
let api: TestApi;

interface OrgA extends SeededPatient {
  orgId: string;
  clinicianId: string;
  apiKeyId: string;
  matrixUserId: string;
  displayName: string;
  /** A flow of A's own catalog (not deployed), with a published version and a draft in review. */
  flowId: string;
  questionnaireId: string;
  botAccountId: string;
}

type Ids = Record<string, string>;
interface Case {
  /** Path parameters filled with A's objects. */
  params: (a: OrgA) => Ids;
  body?: unknown;
  /** Path parameters of an object that exists nowhere (default: random UUIDs). */
  random?: () => Ids;
  /** What both answer (default 404): a route that creates in the caller's own organisation refuses an invalid body alike. */
  status?: number;
}

/** A flow id and version no organisation has. */
const randomFlow = () => ({ id: `f${randomUUID().slice(0, 8)}`, version: '1.0' });

/** Every route with a path parameter. Adding a route means adding it here. */
const ROUTES: Record<string, Case> = {
  'GET /v1/patients/:id': { params: (a) => ({ id: a.patientId }) },
  'DELETE /v1/patients/:id': { params: (a) => ({ id: a.patientId }) },
  'POST /v1/patients/:id/checkins': { params: (a) => ({ id: a.patientId }), body: { flowId: 'post-op' } },
  'DELETE /v1/api-keys/:id': { params: (a) => ({ id: a.apiKeyId }) },
  'GET /v1/enrollments/:id': { params: (a) => ({ id: a.enrollmentId }) },
  'DELETE /v1/enrollments/:id': { params: (a) => ({ id: a.enrollmentId }) },
  'GET /v1/care-teams/:id': { params: (a) => ({ id: a.careTeamId }) },
  'PATCH /v1/care-teams/:id': { params: (a) => ({ id: a.careTeamId }), body: { name: 'taken over' } },
  'DELETE /v1/care-teams/:id': { params: (a) => ({ id: a.careTeamId }) },
  'PUT /v1/care-teams/:id/members/:clinicianId': { params: (a) => ({ id: a.careTeamId, clinicianId: a.clinicianId }) },
  'DELETE /v1/care-teams/:id/members/:clinicianId': { params: (a) => ({ id: a.careTeamId, clinicianId: a.clinicianId }) },
  'GET /v1/clinicians/:id': { params: (a) => ({ id: a.clinicianId }) },
  'PATCH /v1/clinicians/:id': { params: (a) => ({ id: a.clinicianId }), body: { displayName: 'taken over' } },
  'DELETE /v1/clinicians/:id': { params: (a) => ({ id: a.clinicianId }) },
  'GET /v1/checkins/:id': { params: (a) => ({ id: a.checkinId }) },
  'POST /v1/checkins/:id/cancel': { params: (a) => ({ id: a.checkinId }) },
  'POST /v1/alerts/:id/acknowledge': { params: (a) => ({ id: a.alertId }) },
  'GET /fhir/R4/Patient/:id/$everything': { params: (a) => ({ id: a.patientId }) },
  'GET /fhir/R4/Questionnaire/:id': { params: (a) => ({ id: a.questionnaireId }) },
  'GET /v1/flows/:id': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'GET /v1/flows/:id/versions/:version': { params: (a) => ({ id: a.flowId, version: '1.0' }), random: randomFlow },
  'POST /v1/flows/:id/versions/:version/retire': { params: (a) => ({ id: a.flowId, version: '1.0' }), random: randomFlow },
  // Writing a draft is always into the caller's own catalog: an empty flow document is refused alike.
  'PUT /v1/flows/:id/draft': { params: (a) => ({ id: a.flowId }), random: randomFlow, body: {}, status: 422 },
  'GET /v1/flows/:id/draft': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'DELETE /v1/flows/:id/draft': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'PUT /v1/flows/:id/draft/transcripts': {
    params: (a) => ({ id: a.flowId }),
    random: randomFlow,
    body: { transcripts: [{ name: 'x', lang: 'de', messages: [], expect: {} }] },
  },
  'GET /v1/flows/:id/draft/transcripts': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'POST /v1/flows/:id/draft/try': { params: (a) => ({ id: a.flowId }), random: randomFlow, body: { answers: ['1'] } },
  'GET /v1/flows/:id/draft/diff': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'POST /v1/flows/:id/draft/submit': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'POST /v1/flows/:id/draft/publish': { params: (a) => ({ id: a.flowId }), random: randomFlow },
  'GET /v1/bot-accounts/:id': { params: (a) => ({ id: a.botAccountId }) },
  'PATCH /v1/bot-accounts/:id': { params: (a) => ({ id: a.botAccountId }), body: { displayName: 'taken over', disabled: true } },
  'POST /v1/bot-accounts/:id/credentials': { params: (a) => ({ id: a.botAccountId }), body: { password: 'taken over' } },
};

const fill = (path: string, ids: Ids) => path.replace(/:(\w+)/g, (_, name: string) => ids[name] ?? `missing-${name}`);
const randomIds = (ids: Ids): Ids => Object.fromEntries(Object.keys(ids).map((k) => [k, randomUUID()]));

let a: OrgA;
let keyB: string;
let routes: Array<{ method: string; path: string }>;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  api = await testApi(database.db, undefined, { startCheckin: dbStartCheckin(database.db) });
  const orgA = await api.organisation('A');
  const matrixUserId = `@iso.${randomUUID().slice(0, 8)}:klinik.de`;
  const displayName = 'Hildegard Isolde';
  const patient = await call(api.app, 'POST', '/v1/patients', orgA.keys.integration, { matrixUserId, displayName });
  const seeded = await seedPatientData(database.db, orgA.orgId, patient.body.id);
  const clinician = await call(api.app, 'POST', '/v1/clinicians', orgA.keys.org_admin, { matrixUserId: '@dr.iso:klinik.de', displayName: 'Dr. Iso' });
  const key = await call(api.app, 'POST', '/v1/api-keys', orgA.keys.org_admin, { name: 'PVS A', roles: ['integration'] });
  expect(await call(api.app, 'PUT', `/v1/care-teams/${seeded.careTeamId}/members/${clinician.body.id}`, orgA.keys.org_admin)).toMatchObject({ status: 204 });
  // A flow of A's own: version 1.0 published, 2.0 in review.
  const flowId = `iso-${randomUUID().slice(0, 8)}`;
  const flowText = (version: string) =>
    `id: ${flowId}\nversion: "${version}"\ntitle: { de: Isoliert, en: Isolated }\nlanguages: [de, en]\nquestions:\n  - id: q\n    type: boolean\n    text: { de: Frage?, en: Question? }\n`;
  const yaml = { 'content-type': 'application/yaml' };
  expect((await call(api.app, 'PUT', `/v1/flows/${flowId}/draft`, orgA.keys.flow_author, flowText('1.0'), yaml)).status).toBe(201);
  expect((await call(api.app, 'POST', `/v1/flows/${flowId}/draft/submit`, orgA.keys.flow_author)).status).toBe(200);
  expect((await call(api.app, 'POST', `/v1/flows/${flowId}/draft/publish`, orgA.keys.flow_reviewer)).status).toBe(200);
  expect((await call(api.app, 'PUT', `/v1/flows/${flowId}/draft`, orgA.keys.flow_author, flowText('2.0'), yaml)).status).toBe(201);
  expect((await call(api.app, 'POST', `/v1/flows/${flowId}/draft/submit`, orgA.keys.flow_author)).status).toBe(200);
  const questionnaireId = (await call(api.app, 'GET', `/v1/flows/${flowId}`, orgA.keys.org_admin)).body.versions[0].questionnaireId as string;
  const bot = await call(api.app, 'POST', '/v1/bot-accounts', orgA.keys.org_admin, {
    homeserverUrl: 'https://matrix.a.de',
    userId: `@bot.${randomUUID().slice(0, 8)}:a.de`,
    password: 'bot password of A',
  });
  expect(bot.status).toBe(201);
  a = {
    ...seeded,
    orgId: orgA.orgId,
    clinicianId: clinician.body.id,
    apiKeyId: key.body.id,
    matrixUserId,
    displayName,
    flowId,
    questionnaireId,
    botAccountId: bot.body.id,
  };

  const orgB = await api.organisation('B');
  keyB = (await createApiKey(database.db, orgB.orgId, 'all roles', [...ROLES])).secret;
  const seen = new Set<string>();
  routes = api.app.routes
    .filter((r) => (r.path.startsWith('/v1/') || r.path.startsWith('/fhir/')) && r.method !== 'ALL')
    .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`))
    .map((r) => ({ method: r.method, path: r.path }));
});
afterAll(async () => {
  await database?.close();
});

describe('tenant isolation', () => {
  it('has a case for every route that takes an object id', () => {
    const withParams = routes.filter((r) => r.path.includes(':')).map((r) => `${r.method} ${r.path}`);
    expect(withParams.length).toBeGreaterThan(10);
    const missing = withParams.filter((route) => !(route in ROUTES));
    expect(missing, 'add these routes to ROUTES in test/integration/api-isolation.test.ts').toEqual([]);
    const stale = Object.keys(ROUTES).filter((route) => !withParams.includes(route));
    expect(stale, 'these routes no longer exist').toEqual([]);
  });

  it("lists of organisation B never contain organisation A's objects, also when filtered by A's ids", async () => {
    const secrets = () => [
      a.patientId,
      a.checkinId,
      a.alertId,
      a.careTeamId,
      a.enrollmentId,
      a.clinicianId,
      a.apiKeyId,
      a.orgId,
      a.matrixUserId,
      a.displayName,
      a.roomId,
      a.answerText,
      a.flowId,
      a.questionnaireId,
      a.botAccountId,
    ];
    // The audit list first: B's own later requests (which name A's ids as filters) are B's to see.
    const lists = routes
      .filter((r) => r.method === 'GET' && !r.path.includes(':'))
      .sort((x, y) => Number(y.path === '/v1/audit') - Number(x.path === '/v1/audit'));
    expect(lists.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/v1/patients', '/v1/checkins', '/v1/alerts', '/v1/care-teams', '/v1/clinicians', '/v1/enrollments', '/v1/audit']),
    );
    // Filters a route declares, filled with A's ids (undeclared parameters are a 400: api-fail-closed.test.ts).
    const doc = await call(api.app, 'GET', '/openapi.json', null);
    const declared = (path: string): string[] =>
      ((doc.body.paths[path]?.get?.parameters ?? []) as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name);
    const filters: Record<string, string> = { patientId: a.patientId, careTeamId: a.careTeamId, patient: a.patientId };
    for (const { path } of lists) {
      const queries = [
        '',
        ...declared(path)
          .filter((name) => name in filters)
          .map((name) => `?${name}=${filters[name]}`),
      ];
      for (const query of queries) {
        const res = await call(api.app, 'GET', `${path}${query}`, keyB);
        expect(res.status, `${path}${query}`).toBe(200);
        const text = JSON.stringify(res.body);
        for (const secret of secrets()) expect(text, `GET ${path}${query} shows A's ${secret}`).not.toContain(secret);
      }
    }
  });

  it.each(Object.entries(ROUTES))("%s with A's ids answers exactly like a random id (404)", async (route, { params, body, random, status }) => {
    const [method, path] = route.split(' ') as [string, string];
    const ids = params(a);
    const viaA = await call(api.app, method, fill(path, ids), keyB, body);
    const viaRandom = await call(api.app, method, fill(path, random ? random() : randomIds(ids)), keyB, body);
    expect(viaA.status).toBe(status ?? 404);
    expect(viaA.body).toEqual(viaRandom.body);
    if (path.startsWith('/v1/') && status === undefined) expect(viaA.body.error.code).toBe('not_found');
  });

  it("refers to A's objects in request bodies only as to unknown ones", async () => {
    const team = (await call(api.app, 'POST', '/v1/care-teams', keyB, { name: 'B', roomId: '!b:klinik.de' })).body.id as string;
    const patient = (await call(api.app, 'POST', '/v1/patients', keyB, { matrixUserId: '@b.patient:klinik.de' })).body.id as string;
    const cases: Array<[string, string, (ids: { patientId: string; careTeamId: string; clinicianId: string }) => unknown]> = [
      ['POST', '/v1/enrollments', (x) => ({ patientId: x.patientId, flowId: 'post-op', anchorDate: '2026-12-01', careTeamId: team })],
      ['POST', '/v1/enrollments', (x) => ({ patientId: patient, flowId: 'post-op', anchorDate: '2026-12-01', careTeamId: x.careTeamId })],
      ['POST', '/v1/care-teams', (x) => ({ name: 'B2', roomId: '!b:klinik.de', escalationChain: [{ afterMinutes: 5, clinicianIds: [x.clinicianId] }] })],
      ['PATCH', `/v1/care-teams/${team}`, (x) => ({ escalationChain: [{ afterMinutes: 5, clinicianIds: [x.clinicianId] }] })],
      ['PUT', `/v1/care-teams/${team}/members/{clinicianId}`, () => undefined],
    ];
    for (const [method, path, body] of cases) {
      const mine = { patientId: a.patientId, careTeamId: a.careTeamId, clinicianId: a.clinicianId };
      const random = { patientId: randomUUID(), careTeamId: randomUUID(), clinicianId: randomUUID() };
      const viaA = await call(api.app, method, path.replace('{clinicianId}', mine.clinicianId), keyB, body(mine));
      const viaRandom = await call(api.app, method, path.replace('{clinicianId}', random.clinicianId), keyB, body(random));
      expect(viaA.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect([viaA.status, viaA.body], `${method} ${path}`).toEqual([viaRandom.status, viaRandom.body]);
    }
  });

  it('left every object of organisation A as it was', async () => {
    const orgA = { keys: { admin: (await createApiKey(database.db, a.orgId, 'check', [...ROLES])).secret } };
    const get = (path: string) => call(api.app, 'GET', path, orgA.keys.admin);
    expect((await get(`/v1/patients/${a.patientId}`)).body).toMatchObject({ id: a.patientId, displayName: a.displayName });
    expect((await get(`/v1/checkins/${a.checkinId}`)).body).toMatchObject({ status: 'active' });
    expect((await get(`/v1/checkins?patientId=${a.patientId}&status=pending`)).body.checkins).toEqual([]);
    expect((await get(`/v1/alerts?patientId=${a.patientId}`)).body.alerts).toEqual([expect.objectContaining({ id: a.alertId, acknowledgedAt: null })]);
    expect((await get(`/v1/care-teams/${a.careTeamId}`)).body).toMatchObject({ name: expect.stringMatching(/^Team /), memberIds: [a.clinicianId] });
    expect((await get(`/v1/clinicians/${a.clinicianId}`)).body).toMatchObject({ displayName: 'Dr. Iso' });
    expect((await get(`/v1/enrollments/${a.enrollmentId}`)).status).toBe(200);
    expect((await get('/v1/api-keys')).body.apiKeys.find((k: { id: string }) => k.id === a.apiKeyId)).toMatchObject({ revokedAt: null });
    expect(api.contact.calls.filter((c) => c.includes(a.patientId) || c.includes(a.roomId))).toEqual([]);
    const flow = (await get(`/v1/flows/${a.flowId}`)).body;
    expect(flow).toMatchObject({
      origin: 'organisation',
      version: '1.0',
      versions: [{ version: '1.0', status: 'published' }],
      draft: { version: '2.0', status: 'in_review' },
    });
    expect((await get(`/fhir/R4/Questionnaire/${a.questionnaireId}`)).status).toBe(200);
  });
});
