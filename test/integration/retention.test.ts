import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { answers, auditLog, checkins, patients, scheduledCheckins } from '../../db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { runRetention, startRetention } from '../../server/retention.ts';
import { call, recordingContact, testApi, type TestApi } from '../harness/api.ts';
import { scanAllTables, seedPatientData, type SeededPatient } from '../harness/patient-data.ts';

/**
 * Retention and erasure leave nothing behind: after the daily job and after
 * `DELETE /v1/patients/{id}`, every column of every table is scanned for the
 * patient's id, Matrix id, room, name and a free-text answer. Audit entries
 * may keep the patient id as `resource_id`, nothing else.
 */
let database: Database;
let api: TestApi;
const DAY = 86_400_000;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
  api = await testApi(database.db);
});
afterAll(async () => {
  await database?.close();
});

async function patientWithData(keys: Record<string, string>, orgId: string, at: Date) {
  const tag = randomUUID().slice(0, 8);
  const matrixUserId = `@ret.${tag}:klinik.de`;
  const displayName = `Renate Retention ${tag}`;
  const created = await call(api.app, 'POST', '/v1/patients', keys['integration']!, { matrixUserId, displayName });
  expect(created.status).toBe(201);
  const seeded = await seedPatientData(database.db, orgId, created.body.id, at);
  // Reads through the API leave audit entries that name the patient (as resource id) and its check-in.
  expect((await call(api.app, 'GET', `/v1/patients/${seeded.patientId}`, keys['clinician']!)).status).toBe(200);
  expect((await call(api.app, 'GET', `/v1/checkins/${seeded.checkinId}`, keys['clinician']!)).status).toBe(200);
  return { ...seeded, matrixUserId, displayName };
}

type Trail = SeededPatient & { matrixUserId: string; displayName: string };
const needles = (p: Trail) => [p.patientId, p.matrixUserId, p.roomId, p.displayName, p.answerText];

/** Nothing anywhere mentions the patient, except the patient id as an audit entry's resource id. */
async function expectErased(p: Trail) {
  const { tables, findings } = await scanAllTables(
    inject('databaseUrl'),
    needles(p),
    (f) => f.table === 'audit_log' && f.column === 'resource_id' && f.needle === p.patientId,
  );
  expect(tables).toEqual(
    expect.arrayContaining([
      'patients',
      'checkins',
      'answers',
      'escalations',
      'attachments',
      'outbox',
      'inbound_events',
      'enrollments',
      'scheduled_checkins',
      'audit_log',
    ]),
  );
  expect(findings).toEqual([]);
}

/** The scan itself finds a patient who is still there (guards against a scan that sees nothing). */
async function expectPresent(p: Trail) {
  const { findings } = await scanAllTables(inject('databaseUrl'), needles(p));
  const where = new Set(findings.map((f) => f.table));
  for (const table of ['patients', 'checkins', 'answers', 'escalations', 'attachments', 'outbox', 'inbound_events']) expect(where, table).toContain(table);
}

describe('retention', () => {
  it("erases patients past their organisation's retention everywhere, leaves the room, and audits it", async () => {
    const now = new Date();
    const { orgId, keys } = await api.organisation('Retention 30d');
    expect((await call(api.app, 'PATCH', '/v1/organisation', keys.org_admin, { retentionDays: 30 })).status).toBe(200);
    const old = await patientWithData(keys, orgId, new Date(now.getTime() - 40 * DAY));
    const recent = await patientWithData(keys, orgId, new Date(now.getTime() - 10 * DAY));
    // Old registration, but answered last week: still within retention.
    const answeredLately = await patientWithData(keys, orgId, new Date(now.getTime() - 40 * DAY));
    await database.db
      .update(answers)
      .set({ answeredAt: new Date(now.getTime() - 7 * DAY) })
      .where(eq(answers.checkinId, answeredLately.checkinId));
    // Old everything, but a check-in is still scheduled: under care, kept.
    const scheduled = await patientWithData(keys, orgId, new Date(now.getTime() - 40 * DAY));
    await database.db
      .insert(scheduledCheckins)
      .values({ orgId, enrollmentId: scheduled.enrollmentId, day: 90, dueAt: new Date(now.getTime() + 5 * DAY), status: 'pending' });
    // Another organisation keeps data for a year: the same age is fine there.
    const other = await api.organisation('Retention 365d');
    const otherOld = await patientWithData(other.keys, other.orgId, new Date(now.getTime() - 40 * DAY));
    await expectPresent(old);

    const contact = recordingContact();
    const logs: string[] = [];
    const result = await runRetention(database.db, contact, now, { logger: createLogger('debug', (l) => logs.push(l)) });
    expect(result.failed).toBe(0);
    expect(result.erased).toBeGreaterThanOrEqual(1);
    expect(contact.calls).toContain(`forget ${old.roomId}`);

    await expectErased(old);
    for (const kept of [recent, answeredLately, scheduled, otherOld]) {
      expect(await database.db.select({ id: patients.id }).from(patients).where(eq(patients.id, kept.patientId)), kept.displayName).toHaveLength(1);
      expect(await database.db.select({ id: checkins.id }).from(checkins).where(eq(checkins.id, kept.checkinId))).toHaveLength(1);
    }
    const entries = await database.db.select().from(auditLog).where(eq(auditLog.resourceId, old.patientId));
    expect(entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ actorType: 'system', action: 'patient.retention_erase', outcome: 'ok', orgId })]),
    );
    // Org admins see the erasure in their audit log.
    const audit = await call(api.app, 'GET', '/v1/audit', keys.org_admin);
    expect(audit.body.entries).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'patient.retention_erase', resourceId: old.patientId })]));
    for (const needle of [old.displayName, old.matrixUserId, old.roomId, old.answerText]) expect(logs.join('\n')).not.toContain(needle);

    // A second pass finds nothing more to do for this organisation.
    const again = await runRetention(database.db, contact, now);
    expect(again.failed).toBe(0);
    expect(contact.calls.filter((c) => c === `forget ${old.roomId}`)).toHaveLength(1);
  });

  it('still erases when leaving the room fails, and two instances erase each patient once', async () => {
    const now = new Date();
    const { orgId, keys } = await api.organisation('Retention race');
    expect((await call(api.app, 'PATCH', '/v1/organisation', keys.org_admin, { retentionDays: 1 })).status).toBe(200);
    const p = await patientWithData(keys, orgId, new Date(now.getTime() - 3 * DAY));
    const failing = { ...recordingContact(), forgetRoom: () => Promise.reject(new Error(`cannot leave ${p.roomId}`)) };
    const logs: string[] = [];
    const logger = createLogger('debug', (l) => logs.push(l));
    const [one, two] = await Promise.all([runRetention(database.db, failing, now, { logger }), runRetention(database.db, failing, now, { logger })]);
    expect(one.failed + two.failed).toBe(0);
    await expectErased(p);
    expect(await database.db.select().from(auditLog).where(eq(auditLog.action, 'patient.retention_erase'))).toEqual(
      expect.arrayContaining([expect.objectContaining({ resourceId: p.patientId })]),
    );
    expect(
      (await database.db.select().from(auditLog).where(eq(auditLog.resourceId, p.patientId))).filter((e) => e.action === 'patient.retention_erase'),
    ).toHaveLength(1);
    expect(logs.some((l) => l.includes('leaving the patient room failed'))).toBe(true);
    expect(logs.join('\n')).not.toContain(p.roomId);
  });

  it('is scheduled with node-cron and stops cleanly', async () => {
    expect(() => startRetention({ db: database.db, contact: recordingContact(), logger: createLogger('error'), cron: 'every day' })).toThrow(/cron/);
    const retention = startRetention({ db: database.db, contact: recordingContact(), logger: createLogger('error', () => {}), cron: '17 3 * * *' });
    const result = await retention.runOnce(new Date());
    expect(result.failed).toBe(0);
    await retention.stop();
  });
});

describe('erasure (DELETE /v1/patients/{id})', () => {
  it('erases everything about the patient at once; audit entries keep only the id', async () => {
    const { orgId, keys } = await api.organisation('Erasure');
    const p = await patientWithData(keys, orgId, new Date());
    await expectPresent(p);
    expect((await call(api.app, 'DELETE', `/v1/patients/${p.patientId}`, keys.integration)).status).toBe(204);
    expect(api.contact.calls).toContain(`forget ${p.roomId}`);
    await expectErased(p);
    const entries = await database.db.select().from(auditLog).where(eq(auditLog.resourceId, p.patientId));
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['patient.create', 'patient.read', 'patient.erase']));
  });
});
