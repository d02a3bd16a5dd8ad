import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { careTeams } from '../../db/schema.ts';
import { call, testApi, type TestApi } from '../harness/api.ts';

/** Enrollments on real Postgres: schedule computed at the patient's local time, tenants kept apart. */
let database: Database;
let api: TestApi;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  api = await testApi(database.db);
});
afterAll(async () => {
  await database?.close();
});

async function setup(timeZone = 'Europe/Berlin') {
  const org = await api.organisation();
  const patient = await call(api.app, 'POST', '/v1/patients', org.keys.integration, {
    matrixUserId: `@p${Date.now()}${Math.random().toString(36).slice(2, 6)}:klinik.de`,
    language: 'de',
    timeZone,
  });
  const [team] = await database.db
    .insert(careTeams)
    .values({ orgId: org.orgId, name: 'Station 3', roomId: `!team-${org.orgId}:klinik.de` })
    .returning();
  return { ...org, patientId: patient.body.id as string, careTeamId: team!.id };
}

describe('enrollments', () => {
  it("enrolls a patient: check-ins at 09:00 patient-local on the flow's days, DST-correct, and the bot says hello", async () => {
    const s = await setup();
    const res = await call(api.app, 'POST', '/v1/enrollments', s.keys.integration, {
      patientId: s.patientId,
      flowId: 'post-op',
      anchorDate: '2026-03-27',
      careTeamId: s.careTeamId,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ patientId: s.patientId, flowId: 'post-op', anchorDate: '2026-03-27', status: 'active' });
    // Days 1, 2, 3 straddle the switch to summer time on 2026-03-29: 08:00Z then 07:00Z.
    expect(res.body.schedule.slice(0, 3).map((x: { dueAt: string }) => x.dueAt)).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(res.body.schedule.map((x: { day: number }) => x.day)).toEqual([1, 2, 3, 5, 7, 14]);
    expect(api.contact.calls).toContain(`welcome ${s.patientId}`);

    const read = await call(api.app, 'GET', `/v1/enrollments/${res.body.id}`, s.keys.clinician);
    expect(read.body).toEqual(res.body);
    expect(
      (await call(api.app, 'GET', `/v1/enrollments?patientId=${s.patientId}`, s.keys.clinician)).body.enrollments.map((e: { id: string }) => e.id),
    ).toEqual([res.body.id]);

    expect((await call(api.app, 'DELETE', `/v1/enrollments/${res.body.id}`, s.keys.integration)).status).toBe(204);
    const ended = await call(api.app, 'GET', `/v1/enrollments/${res.body.id}`, s.keys.clinician);
    expect(ended.body.status).toBe('ended');
    expect(new Set(ended.body.schedule.map((x: { status: string }) => x.status))).toEqual(new Set(['cancelled']));
  });

  it("uses the patient's time zone over the flow's", async () => {
    const s = await setup('Europe/Istanbul');
    const res = await call(api.app, 'POST', '/v1/enrollments', s.keys.integration, {
      patientId: s.patientId,
      flowId: 'post-op',
      anchorDate: '2026-06-01',
      careTeamId: s.careTeamId,
    });
    expect(res.body.schedule[0].dueAt).toBe('2026-06-02T06:00:00.000Z');
  });

  it.each([
    ['an unknown flow', { flowId: 'no-such-flow' }, 'flowId'],
    ['a bad anchor date', { anchorDate: '27.03.2026' }, 'anchorDate'],
    ['an unknown field', { careTeam: 'x' }, 'careTeam'],
  ])('rejects %s with 400 naming the field', async (_name, override, field) => {
    const s = await setup();
    const res = await call(api.app, 'POST', '/v1/enrollments', s.keys.integration, {
      patientId: s.patientId,
      flowId: 'post-op',
      anchorDate: '2026-03-27',
      careTeamId: s.careTeamId,
      ...override,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields.map((f: { path: string }) => f.path)).toContain(field);
  });

  it("treats another organisation's patient or care team like a missing one", async () => {
    const a = await setup();
    const b = await setup();
    const foreignPatient = await call(api.app, 'POST', '/v1/enrollments', b.keys.integration, {
      patientId: a.patientId,
      flowId: 'post-op',
      anchorDate: '2026-03-27',
      careTeamId: b.careTeamId,
    });
    const missingPatient = await call(api.app, 'POST', '/v1/enrollments', b.keys.integration, {
      patientId: '6f1d2c9e-3b4a-4c5d-8e6f-0a1b2c3d4e5f',
      flowId: 'post-op',
      anchorDate: '2026-03-27',
      careTeamId: b.careTeamId,
    });
    expect(foreignPatient.status).toBe(400);
    expect(foreignPatient.body).toEqual(missingPatient.body);
    const foreignTeam = await call(api.app, 'POST', '/v1/enrollments', b.keys.integration, {
      patientId: b.patientId,
      flowId: 'post-op',
      anchorDate: '2026-03-27',
      careTeamId: a.careTeamId,
    });
    expect(foreignTeam.body.error.details.fields[0].path).toBe('careTeamId');

    const enrolled = await call(api.app, 'POST', '/v1/enrollments', a.keys.integration, {
      patientId: a.patientId,
      flowId: 'post-op',
      anchorDate: '2026-03-27',
      careTeamId: a.careTeamId,
    });
    expect((await call(api.app, 'GET', `/v1/enrollments/${enrolled.body.id}`, b.keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'DELETE', `/v1/enrollments/${enrolled.body.id}`, b.keys.org_admin)).status).toBe(404);
    expect((await call(api.app, 'GET', '/v1/enrollments', b.keys.org_admin)).body.enrollments.map((e: { id: string }) => e.id)).not.toContain(enrolled.body.id);
    expect(
      (
        await call(api.app, 'POST', '/v1/enrollments', a.keys.clinician, {
          patientId: a.patientId,
          flowId: 'post-op',
          anchorDate: '2026-03-27',
          careTeamId: a.careTeamId,
        })
      ).status,
    ).toBe(403);
  });
});
