import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { careTeams, checkins, patients } from '../../db/schema.ts';
import { call, testApi, type TestApi } from '../harness/api.ts';
import { dbStartCheckin, seedPatientData } from '../harness/patient-data.ts';

/**
 * Care teams, clinicians, check-ins and alerts on real Postgres: per route the
 * happy path, its errors, and the security cases (401, 403 by role, 404 for
 * another organisation's object, 400 naming the field).
 */
let database: Database;
let api: TestApi;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  api = await testApi(database.db, undefined, { startCheckin: dbStartCheckin(database.db) });
});
afterAll(async () => {
  await database?.close();
});

const fields = (res: { body: any }): string[] => res.body?.error?.details?.fields?.map((f: { path: string }) => f.path) ?? [];
const RANDOM = '6f1d2c9e-3b4a-4c5d-8e6f-0a1b2c3d4e5f';
let counter = 0;
const clinicianBody = (extra: Record<string, unknown> = {}) => ({
  matrixUserId: `@dr.${++counter}:klinik.de`,
  displayName: 'Dr. Berg',
  roles: ['clinician'],
  ...extra,
});
/** A care team body with a room of its own (a room belongs to one team). */
let rooms = 0;
const teamBody = (extra: Record<string, unknown> = {}) => ({ name: 'Station 3', roomId: `!station${++rooms}:klinik.de`, language: 'de', ...extra });

async function patient(keys: Record<string, string>, n = ++counter) {
  const res = await call(api.app, 'POST', '/v1/patients', keys['integration']!, { matrixUserId: `@patient.r${n}:klinik.de`, displayName: 'Erika Muster' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('clinicians', () => {
  it('creates, lists, reads, changes and removes a clinician', async () => {
    const { keys } = await api.organisation();
    const created = await call(
      api.app,
      'POST',
      '/v1/clinicians',
      keys.org_admin,
      clinicianBody({ oidcSubject: 'kc-123', roles: ['clinician', 'flow_author'] }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ displayName: 'Dr. Berg', roles: ['clinician', 'flow_author'], oidcSubject: 'kc-123' });
    const id = created.body.id as string;
    expect((await call(api.app, 'GET', `/v1/clinicians/${id}`, keys.clinician)).body.id).toBe(id);
    expect((await call(api.app, 'GET', '/v1/clinicians', keys.integration)).body.clinicians.map((c: { id: string }) => c.id)).toEqual([id]);
    const patched = await call(api.app, 'PATCH', `/v1/clinicians/${id}`, keys.org_admin, { displayName: 'Dr. med. Berg', oidcSubject: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ displayName: 'Dr. med. Berg', oidcSubject: null, roles: ['clinician', 'flow_author'] });
    expect((await call(api.app, 'DELETE', `/v1/clinicians/${id}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'GET', `/v1/clinicians/${id}`, keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'DELETE', `/v1/clinicians/${id}`, keys.org_admin)).status).toBe(404);
  });

  it('answers 409 for a Matrix id already registered in the organisation (create and change)', async () => {
    const { keys } = await api.organisation();
    const first = await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody({ matrixUserId: '@dup:klinik.de' }));
    expect((await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody({ matrixUserId: '@dup:klinik.de' }))).status).toBe(409);
    const second = await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody());
    const res = await call(api.app, 'PATCH', `/v1/clinicians/${second.body.id}`, keys.org_admin, { matrixUserId: '@dup:klinik.de' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect(first.status).toBe(201);
    // Another organisation may register the same person.
    const other = await api.organisation();
    expect((await call(api.app, 'POST', '/v1/clinicians', other.keys.org_admin, clinicianBody({ matrixUserId: '@dup:klinik.de' }))).status).toBe(201);
  });

  it.each([
    ['a bad Matrix id', { matrixUserId: 'berg' }, 'matrixUserId'],
    ['an unknown role', { roles: ['superuser'] }, 'roles.0'],
    ['a repeated role', { roles: ['clinician', 'clinician'] }, 'roles'],
    ['an empty display name', { displayName: '' }, 'displayName'],
    ['an owner field (mass assignment)', { orgId: RANDOM }, 'orgId'],
  ])('rejects %s with 400 naming the field', async (_name, extra, field) => {
    const { keys } = await api.organisation();
    const res = await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody(extra));
    expect(res.status).toBe(400);
    expect(fields(res)).toContain(field);
  });

  it('needs credentials (401) and the org_admin role to write (403)', async () => {
    const { keys } = await api.organisation();
    expect((await call(api.app, 'GET', '/v1/clinicians', null)).status).toBe(401);
    expect((await call(api.app, 'GET', `/v1/clinicians/${RANDOM}`, null)).status).toBe(401);
    for (const role of ['clinician', 'integration', 'flow_author'] as const) {
      expect((await call(api.app, 'POST', '/v1/clinicians', keys[role], clinicianBody())).status).toBe(403);
    }
    const created = await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody());
    expect((await call(api.app, 'PATCH', `/v1/clinicians/${created.body.id}`, keys.clinician, { displayName: 'x' })).status).toBe(403);
    expect((await call(api.app, 'DELETE', `/v1/clinicians/${created.body.id}`, keys.integration)).status).toBe(403);
    expect((await call(api.app, 'GET', '/v1/clinicians', keys.flow_author)).status).toBe(403);
    expect((await call(api.app, 'GET', '/v1/clinicians/not-a-uuid', keys.org_admin)).status).toBe(400);
  });
});

describe('care teams', () => {
  it('creates a team with an escalation chain, manages members, changes and deletes it', async () => {
    const { keys } = await api.organisation();
    const dr = (await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody())).body.id as string;
    const nurse = (await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody())).body.id as string;
    const chain = [
      { afterMinutes: 10, clinicianIds: [dr, nurse] },
      { afterMinutes: 30, roomId: '!oncall:klinik.de' },
    ];
    const created = await call(api.app, 'POST', '/v1/care-teams', keys.org_admin, teamBody({ escalationChain: chain }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Station 3',
      roomId: expect.stringMatching(/^!station\d+:klinik\.de$/),
      language: 'de',
      escalationChain: chain,
      memberIds: [],
    });
    // What Visite found in the room: it is in it, may post, and the organisation's clinicians are members.
    expect(created.body.roomCheck).toMatchObject({ botJoined: true, botCanPost: true });
    const id = created.body.id as string;
    const room = created.body.roomId as string;

    expect((await call(api.app, 'PUT', `/v1/care-teams/${id}/members/${dr}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'PUT', `/v1/care-teams/${id}/members/${dr}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'PUT', `/v1/care-teams/${id}/members/${nurse}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'GET', `/v1/care-teams/${id}`, keys.clinician)).body.memberIds.sort()).toEqual([dr, nurse].sort());
    expect((await call(api.app, 'DELETE', `/v1/care-teams/${id}/members/${nurse}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'DELETE', `/v1/care-teams/${id}/members/${nurse}`, keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'GET', '/v1/care-teams', keys.integration)).body.careTeams).toEqual([expect.objectContaining({ id, memberIds: [dr] })]);

    const patched = await call(api.app, 'PATCH', `/v1/care-teams/${id}`, keys.org_admin, { name: 'Station 3 Nord', language: 'en' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Station 3 Nord', language: 'en', roomId: room, escalationChain: chain });

    // Removing a clinician takes them out of teams and chains.
    expect((await call(api.app, 'DELETE', `/v1/clinicians/${dr}`, keys.org_admin)).status).toBe(204);
    const after = await call(api.app, 'GET', `/v1/care-teams/${id}`, keys.org_admin);
    expect(after.body.memberIds).toEqual([]);
    expect(after.body.escalationChain).toEqual([
      { afterMinutes: 10, clinicianIds: [nurse] },
      { afterMinutes: 30, roomId: '!oncall:klinik.de' },
    ]);

    expect((await call(api.app, 'DELETE', `/v1/care-teams/${id}`, keys.org_admin)).status).toBe(204);
    expect((await call(api.app, 'GET', `/v1/care-teams/${id}`, keys.org_admin)).status).toBe(404);
  });

  it('refuses to delete a team that enrollments use (409)', async () => {
    const { orgId, keys } = await api.organisation();
    const seeded = await seedPatientData(database.db, orgId, await patient(keys));
    const res = await call(api.app, 'DELETE', `/v1/care-teams/${seeded.careTeamId}`, keys.org_admin);
    expect(res.status).toBe(409);
    expect(await database.db.select().from(careTeams).where(eq(careTeams.id, seeded.careTeamId))).toHaveLength(1);
  });

  it('rejects clinicians of another organisation in the chain like unknown ids, naming the field', async () => {
    const a = await api.organisation();
    const b = await api.organisation();
    const mine = (await call(api.app, 'POST', '/v1/clinicians', b.keys.org_admin, clinicianBody())).body.id as string;
    const theirs = (await call(api.app, 'POST', '/v1/clinicians', a.keys.org_admin, clinicianBody())).body.id as string;
    const foreign = await call(
      api.app,
      'POST',
      '/v1/care-teams',
      b.keys.org_admin,
      teamBody({ escalationChain: [{ afterMinutes: 5, clinicianIds: [mine, theirs] }] }),
    );
    const unknown = await call(
      api.app,
      'POST',
      '/v1/care-teams',
      b.keys.org_admin,
      teamBody({ escalationChain: [{ afterMinutes: 5, clinicianIds: [mine, RANDOM] }] }),
    );
    expect(foreign.status).toBe(400);
    expect(fields(foreign)).toEqual(['escalationChain.0.clinicianIds.1']);
    expect(foreign.body).toEqual(unknown.body);
    expect(JSON.stringify(foreign.body)).not.toContain(theirs);
    // Also on change, and for members.
    const team = (await call(api.app, 'POST', '/v1/care-teams', b.keys.org_admin, teamBody())).body.id as string;
    expect(
      fields(await call(api.app, 'PATCH', `/v1/care-teams/${team}`, b.keys.org_admin, { escalationChain: [{ afterMinutes: 5, clinicianIds: [theirs] }] })),
    ).toEqual(['escalationChain.0.clinicianIds.0']);
    const viaMember = await call(api.app, 'PUT', `/v1/care-teams/${team}/members/${theirs}`, b.keys.org_admin);
    const randomMember = await call(api.app, 'PUT', `/v1/care-teams/${team}/members/${RANDOM}`, b.keys.org_admin);
    expect([viaMember.status, viaMember.body]).toEqual([404, randomMember.body]);
  });

  it.each([
    ['a bad room id', { roomId: '#station:klinik.de' }, 'roomId'],
    ['a missing room id', { roomId: undefined }, 'roomId'],
    ['an unknown language', { language: 'xx' }, 'language'],
    ['afterMinutes below 1', { escalationChain: [{ afterMinutes: 0, roomId: '!a:b.de' }] }, 'escalationChain.0.afterMinutes'],
    ['a fractional afterMinutes', { escalationChain: [{ afterMinutes: 1.5, roomId: '!a:b.de' }] }, 'escalationChain.0.afterMinutes'],
    [
      'unordered steps',
      {
        escalationChain: [
          { afterMinutes: 30, roomId: '!a:b.de' },
          { afterMinutes: 10, roomId: '!a:b.de' },
        ],
      },
      'escalationChain.1.afterMinutes',
    ],
    ['a step with nobody to call', { escalationChain: [{ afterMinutes: 5 }] }, 'escalationChain.0'],
    ['a clinician id that is no UUID', { escalationChain: [{ afterMinutes: 5, clinicianIds: ['x'] }] }, 'escalationChain.0.clinicianIds.0'],
    ['an unknown step field', { escalationChain: [{ afterMinutes: 5, roomId: '!a:b.de', orgId: RANDOM }] }, 'escalationChain.0.orgId'],
    ['an owner field (mass assignment)', { orgId: RANDOM }, 'orgId'],
  ])('rejects %s with 400 naming the field', async (_name, extra, field) => {
    const { keys } = await api.organisation();
    const res = await call(api.app, 'POST', '/v1/care-teams', keys.org_admin, JSON.parse(JSON.stringify(teamBody(extra))));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(fields(res)).toContain(field);
  });

  it('needs credentials (401) and org_admin to write (403); clinicians and integrations read', async () => {
    const { keys } = await api.organisation();
    expect((await call(api.app, 'POST', '/v1/care-teams', null, teamBody())).status).toBe(401);
    const dr = (await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, clinicianBody())).body.id as string;
    const team = (await call(api.app, 'POST', '/v1/care-teams', keys.org_admin, teamBody())).body.id as string;
    for (const role of ['clinician', 'integration', 'flow_author'] as const) {
      expect((await call(api.app, 'POST', '/v1/care-teams', keys[role], teamBody())).status).toBe(403);
      expect((await call(api.app, 'PATCH', `/v1/care-teams/${team}`, keys[role], { name: 'x' })).status).toBe(403);
      expect((await call(api.app, 'DELETE', `/v1/care-teams/${team}`, keys[role])).status).toBe(403);
      expect((await call(api.app, 'PUT', `/v1/care-teams/${team}/members/${dr}`, keys[role])).status).toBe(403);
      expect((await call(api.app, 'DELETE', `/v1/care-teams/${team}/members/${dr}`, keys[role])).status).toBe(403);
    }
    expect((await call(api.app, 'GET', `/v1/care-teams/${team}`, keys.clinician)).status).toBe(200);
    expect((await call(api.app, 'GET', `/v1/care-teams/${team}`, keys.flow_author)).status).toBe(403);
  });
});

describe('check-ins', () => {
  it('starts a check-in now, lists and reads it with its answers, and cancels it once', async () => {
    const { orgId, keys } = await api.organisation();
    const patientId = await patient(keys);
    const started = await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.clinician, { flowId: 'post-op' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ patientId, flowId: 'post-op', status: 'pending', enrollmentId: null });
    expect(api.contact.calls).toContain(`start ${patientId} post-op`);

    // The seeded active check-in becomes the open one; the API-started one is superseded by hand here.
    await database.db.update(checkins).set({ status: 'superseded' }).where(eq(checkins.id, started.body.id));
    const seeded = await seedPatientData(database.db, orgId, patientId);
    const list = await call(api.app, 'GET', `/v1/checkins?patientId=${patientId}`, keys.integration);
    expect(list.status).toBe(200);
    expect(list.body.checkins.map((c: { id: string }) => c.id).sort()).toEqual([started.body.id, seeded.checkinId].sort());
    expect((await call(api.app, 'GET', '/v1/checkins?status=active', keys.integration)).body.checkins.map((c: { id: string }) => c.id)).toEqual([
      seeded.checkinId,
    ]);

    const one = await call(api.app, 'GET', `/v1/checkins/${seeded.checkinId}`, keys.clinician);
    expect(one.status).toBe(200);
    expect(one.body.answers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ questionId: 'pain', value: 8, revision: 1 }),
        expect.objectContaining({ questionId: 'note', value: seeded.answerText }),
      ]),
    );
    expect(one.body).not.toHaveProperty('state');

    const cancelled = await call(api.app, 'POST', `/v1/checkins/${seeded.checkinId}/cancel`, keys.integration);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.endedAt).not.toBeNull();
    const again = await call(api.app, 'POST', `/v1/checkins/${seeded.checkinId}/cancel`, keys.integration);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');

    const audit = await call(api.app, 'GET', '/v1/audit', keys.org_admin);
    const actions = audit.body.entries.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['checkin.start:ok', 'checkin.list:ok', 'checkin.read:ok', 'checkin.cancel:ok', 'checkin.cancel:invalid']));
  });

  it('rejects an unknown flow naming flowId, and answers 409 for a patient who stopped monitoring', async () => {
    const { keys } = await api.organisation();
    const patientId = await patient(keys);
    const unknown = await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.integration, { flowId: 'no-such-flow' });
    expect(unknown.status).toBe(400);
    expect(fields(unknown)).toEqual(['flowId']);
    expect(fields(await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.integration, {}))).toEqual(['flowId']);
    expect(fields(await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.integration, { flowId: 'post-op', status: 'completed' }))).toEqual([
      'status',
    ]);
    expect(fields(await call(api.app, 'GET', '/v1/checkins?status=done', keys.integration))).toEqual(['status']);
    expect(fields(await call(api.app, 'GET', '/v1/checkins?patientId=42', keys.integration))).toEqual(['patientId']);
    await database.db.update(patients).set({ monitoring: 'stopped' }).where(eq(patients.id, patientId));
    expect((await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.integration, { flowId: 'post-op' })).status).toBe(409);
  });

  it('needs credentials (401) and a role that may (403)', async () => {
    const { keys } = await api.organisation();
    const patientId = await patient(keys);
    expect((await call(api.app, 'GET', '/v1/checkins', null)).status).toBe(401);
    expect((await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, null, { flowId: 'post-op' })).status).toBe(401);
    expect((await call(api.app, 'GET', '/v1/checkins', keys.flow_author)).status).toBe(403);
    expect((await call(api.app, 'GET', `/v1/checkins/${RANDOM}`, keys.flow_author)).status).toBe(403);
    expect((await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.flow_author, { flowId: 'post-op' })).status).toBe(403);
    expect((await call(api.app, 'POST', `/v1/checkins/${RANDOM}/cancel`, keys.flow_author)).status).toBe(403);
    expect((await call(api.app, 'GET', `/v1/checkins/${RANDOM}`, keys.clinician)).status).toBe(404);
    expect((await call(api.app, 'POST', `/v1/checkins/${RANDOM}/cancel`, keys.clinician)).status).toBe(404);
  });
});

describe('alerts', () => {
  it('lists alerts with filters and acknowledges once, recording who and when', async () => {
    const { orgId, keys } = await api.organisation();
    const seeded = await seedPatientData(database.db, orgId, await patient(keys));
    const list = await call(api.app, 'GET', `/v1/alerts?open=true&severity=urgent&patientId=${seeded.patientId}`, keys.clinician);
    expect(list.status).toBe(200);
    expect(list.body.alerts).toEqual([
      expect.objectContaining({ id: seeded.alertId, kind: 'rule', severity: 'urgent', ruleId: 'pain-high', acknowledgedAt: null }),
    ]);
    expect((await call(api.app, 'GET', '/v1/alerts?severity=info', keys.clinician)).body.alerts).toEqual([]);

    const acked = await call(api.app, 'POST', `/v1/alerts/${seeded.alertId}/acknowledge`, keys.clinician);
    expect(acked.status).toBe(200);
    expect(acked.body.acknowledgedAt).not.toBeNull();
    expect(acked.body.acknowledgedBy).toMatch(/^api_key:[0-9a-f-]{36}$/);
    const again = await call(api.app, 'POST', `/v1/alerts/${seeded.alertId}/acknowledge`, keys.org_admin);
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ acknowledgedAt: acked.body.acknowledgedAt, acknowledgedBy: acked.body.acknowledgedBy });
    expect((await call(api.app, 'GET', '/v1/alerts?open=true', keys.clinician)).body.alerts).toEqual([]);
    expect((await call(api.app, 'GET', '/v1/alerts?open=false', keys.clinician)).body.alerts.map((a: { id: string }) => a.id)).toEqual([seeded.alertId]);
  });

  it('validates filters (400 naming the field) and needs the right role', async () => {
    const { keys } = await api.organisation();
    expect(fields(await call(api.app, 'GET', '/v1/alerts?open=yes', keys.clinician))).toEqual(['open']);
    expect(fields(await call(api.app, 'GET', '/v1/alerts?severity=critical', keys.clinician))).toEqual(['severity']);
    expect(fields(await call(api.app, 'POST', '/v1/alerts/nope/acknowledge', keys.clinician))).toEqual(['id']);
    expect((await call(api.app, 'GET', '/v1/alerts', null)).status).toBe(401);
    expect((await call(api.app, 'POST', `/v1/alerts/${RANDOM}/acknowledge`, null)).status).toBe(401);
    expect((await call(api.app, 'GET', '/v1/alerts', keys.flow_author)).status).toBe(403);
    expect((await call(api.app, 'POST', `/v1/alerts/${RANDOM}/acknowledge`, keys.integration)).status).toBe(403);
    expect((await call(api.app, 'POST', `/v1/alerts/${RANDOM}/acknowledge`, keys.clinician)).status).toBe(404);
  });
});
