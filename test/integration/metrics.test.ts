import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { checkins, escalations, outbox, patients, scheduledCheckins } from '../../db/schema.ts';
import { metricsRoutes } from '../../server/metrics.ts';
import { seedPatientData } from '../harness/patient-data.ts';

/** `GET /metrics` on real Postgres: values follow the database, labels hold no patient data. */
let database: Database;

beforeAll(async () => {
  database = await openDatabase({ url: inject('databaseUrl') });
});
afterAll(async () => {
  await database?.close();
});

function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe('metrics', () => {
  it('serves Prometheus text without authentication, with counts from the database and lag gauges', async () => {
    const now = new Date();
    const app = metricsRoutes({ db: database.db, now: () => now });
    const scrape = async () => {
      const res = await app.request('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      return { text, values: parse(text) };
    };
    const before = (await scrape()).values;
    for (const name of [
      'visite_checkins_started_total',
      'visite_checkins_completed_total',
      'visite_answers_total',
      'visite_outbox_lag_seconds',
      'visite_scheduler_lag_seconds',
    ]) {
      expect(before.has(name), name).toBe(true);
    }
    for (const severity of ['info', 'warning', 'urgent']) expect(before.has(`visite_alerts_total{severity="${severity}"}`)).toBe(true);

    // One patient with a started check-in (2 answers, an urgent alert, a queued message) and a completed one.
    const org = await createOrganisation(database.db, { name: 'Metrics' });
    const [patient] = await database.db
      .insert(patients)
      .values({ orgId: org.id, matrixUserId: '@metrics.patient:klinik.de', displayName: 'Max Metrik' })
      .returning();
    const seeded = await seedPatientData(database.db, org.id, patient!.id, new Date(now.getTime() - 90_000));
    await database.db.insert(checkins).values({ patientId: patient!.id, flowId: 'post-op', flowVersion: '1', status: 'completed' });
    await database.db.insert(escalations).values({ patientId: patient!.id, kind: 'red_flag', severity: 'warning', details: {} });
    await database.db.insert(outbox).values({
      roomId: seeded.roomId,
      txnId: `metrics-old-${seeded.roomId}`,
      eventType: 'm.room.message',
      content: {},
      createdAt: new Date(now.getTime() - 120_000),
    });
    await database.db.insert(scheduledCheckins).values([
      { orgId: org.id, enrollmentId: seeded.enrollmentId, day: 2, dueAt: new Date(now.getTime() - 300_000), status: 'pending' },
      { orgId: org.id, enrollmentId: seeded.enrollmentId, day: 3, dueAt: new Date(now.getTime() + 86_400_000), status: 'pending' },
    ]);

    const { text, values: after } = await scrape();
    const delta = (name: string) => after.get(name)! - before.get(name)!;
    expect(delta('visite_checkins_started_total')).toBe(2);
    expect(delta('visite_checkins_completed_total')).toBe(1);
    expect(delta('visite_answers_total')).toBe(2);
    expect(delta('visite_alerts_total{severity="urgent"}')).toBe(1);
    expect(delta('visite_alerts_total{severity="warning"}')).toBe(1);
    expect(delta('visite_alerts_total{severity="info"}')).toBe(0);
    expect(after.get('visite_outbox_lag_seconds')).toBeGreaterThanOrEqual(120);
    expect(after.get('visite_scheduler_lag_seconds')).toBeGreaterThanOrEqual(300);
    expect(text).toContain('# TYPE visite_checkins_started_total counter');
    expect(text).toContain('# TYPE visite_outbox_lag_seconds gauge');
    expect(text).toContain('visite_process_resident_memory_bytes');
    // Labels name severities only: no ids, names, Matrix ids or rooms.
    for (const needle of [patient!.id, 'Max Metrik', '@metrics.patient', seeded.roomId, org.id]) expect(text).not.toContain(needle);
    // Outbox depth is labelled with bot account ids (opaque ids, no Matrix ids): checked on its own.
    const labels: Array<string | undefined> = [...text.matchAll(/^visite_(?:checkins|answers|alerts|outbox(?!_depth)|scheduler)\w*\{([^}]*)\}/gm)].map(
      (m) => m[1],
    );
    const accounts = [...text.matchAll(/^visite_outbox_depth\{([^}]*)\}/gm)].map((m) => m[1]!);
    expect(accounts.every((l) => /^account="([0-9a-f-]{36}|unassigned)"$/.test(l))).toBe(true);
    expect(labels).toHaveLength(3);
    expect(labels.every((l) => /^severity="(info|warning|urgent)"$/.test(l!))).toBe(true);
    // Process metrics carry no patient data either (their labels are fixed by prom-client).
    expect(text.match(/^visite_\w+\{[^}]*@[^}]*\}/m)).toBeNull();
  });

  it('answers 503 when the database does not answer', async () => {
    const broken = await openDatabase({ url: inject('databaseUrl') });
    await broken.close();
    const res = await metricsRoutes({ db: broken.db, processMetrics: false }).request('/metrics');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_ready');
  });
});
