import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { createLogger } from '../../server/logger.ts';
import { runRetention } from '../../server/retention.ts';
import { call, testApi, type TestApi } from '../harness/api.ts';
import { dbStartCheckin, seedPatientData } from '../harness/patient-data.ts';

/**
 * Application logs carry ids only (issue 7, BRIEF §9): a whole API session —
 * set-up, enrollment, check-ins, answers, alerts, errors (including a failure
 * whose message quotes patient data), erasure — leaves no patient name, no
 * patient Matrix id and no answer value in the captured log lines.
 */
let database: Database;
let api: TestApi;
const NAME = 'Zeynep Loggeroğlu';
const MATRIX_ID = '@zeynep.logger:klinik.de';
let failNext = false;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  const start = dbStartCheckin(database.db);
  api = await testApi(database.db, undefined, {
    startCheckin: async (patientId, flowId) => {
      if (failNext) {
        failNext = false;
        // A library error quoting user data, as they sometimes do.
        throw new Error(`cannot reach ${MATRIX_ID} (${NAME})`);
      }
      return start(patientId, flowId);
    },
  });
});
afterAll(async () => {
  await database?.close();
});

describe('application logs', () => {
  it('contain no patient names, patient Matrix ids or answer values during a whole API session', async () => {
    const { orgId, keys } = await api.organisation('Logs');
    const dr = await call(api.app, 'POST', '/v1/clinicians', keys.org_admin, { matrixUserId: '@dr.log:klinik.de', displayName: 'Dr. Log' });
    const team = await call(api.app, 'POST', '/v1/care-teams', keys.org_admin, {
      name: 'Station L',
      roomId: '!stationl:klinik.de',
      escalationChain: [{ afterMinutes: 5, clinicianIds: [dr.body.id] }],
    });
    await call(api.app, 'PUT', `/v1/care-teams/${team.body.id}/members/${dr.body.id}`, keys.org_admin);
    const patient = await call(api.app, 'POST', '/v1/patients', keys.integration, { matrixUserId: MATRIX_ID, displayName: NAME, language: 'tr' });
    expect(patient.status).toBe(201);
    const patientId = patient.body.id as string;
    await call(api.app, 'POST', '/v1/patients', keys.integration, { matrixUserId: MATRIX_ID, displayName: NAME }); // 409
    await call(api.app, 'POST', '/v1/patients', keys.integration, { matrixUserId: NAME, displayName: NAME }); // 400
    await call(api.app, 'POST', '/v1/enrollments', keys.integration, { patientId, flowId: 'post-op', anchorDate: '2026-12-01', careTeamId: team.body.id });
    await call(api.app, 'GET', '/v1/enrollments', keys.clinician);

    failNext = true;
    const failed = await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.clinician, { flowId: 'post-op' });
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('not_ready');
    expect(JSON.stringify(failed.body)).not.toContain(NAME);
    expect((await call(api.app, 'POST', `/v1/patients/${patientId}/checkins`, keys.clinician, { flowId: 'post-op' })).status).toBe(201);

    const seeded = await seedPatientData(
      database.db,
      orgId,
      (await call(api.app, 'POST', '/v1/patients', keys.integration, { matrixUserId: '@zeynep.second:klinik.de', displayName: NAME })).body.id,
    );
    await call(api.app, 'GET', `/v1/checkins/${seeded.checkinId}`, keys.clinician);
    await call(api.app, 'GET', `/v1/checkins?patientId=${patientId}`, keys.integration);
    await call(api.app, 'GET', '/v1/alerts?open=true', keys.clinician);
    await call(api.app, 'POST', `/v1/alerts/${seeded.alertId}/acknowledge`, keys.clinician);
    await call(api.app, 'POST', `/v1/alerts/${seeded.alertId}/acknowledge`, keys.clinician); // 409
    await call(api.app, 'POST', `/v1/checkins/${seeded.checkinId}/cancel`, keys.integration);
    await call(api.app, 'GET', '/v1/patients', keys.clinician);
    await call(api.app, 'GET', '/v1/audit', keys.org_admin);
    await call(api.app, 'DELETE', `/v1/patients/${patientId}`, keys.integration);
    await call(api.app, 'PATCH', '/v1/organisation', keys.org_admin, { retentionDays: 1 });
    await runRetention(database.db, api.contact, new Date(Date.now() + 3 * 86_400_000), { logger: createLogger('debug', (line) => api.logs.push(line)) });

    // The session did log (the failure, the retention pass), so the check below is not vacuous.
    expect(api.logs.some((l) => l.includes('starting a check-in failed'))).toBe(true);
    expect(api.logs.some((l) => l.includes('retention pass'))).toBe(true);
    const text = api.logs.join('\n');
    for (const needle of [NAME, 'Zeynep', MATRIX_ID, '@zeynep.second', seeded.answerText, seeded.roomId, '"pain":8', 'Wundschmerz'])
      expect(text, needle).not.toContain(needle);
    for (const line of api.logs) expect(() => JSON.parse(line)).not.toThrow();
  });
});
