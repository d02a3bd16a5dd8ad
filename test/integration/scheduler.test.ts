import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWake } from '../../services/signal.ts';
import { createPatientRooms } from '../../services/patient-rooms.ts';
import type { Catalog, FlowFile } from '../../services/flows.ts';
import { openTestCatalog, SHIPPED } from '../harness/catalog.ts';
import { createConversations, type Conversations } from '../../services/conversations.ts';
import { vocabulary } from '../../core/conversation/vocabulary.ts';
import { translator } from '../../core/i18n.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { cancelPendingCheckins, scheduleEnrollment } from '../../db/schedule.ts';
import { careTeams, checkins, enrollments, escalations, organisations, outbox, patients, scheduledCheckins } from '../../db/schema.ts';
import { createLogger } from '../../server/logger.ts';
import { startScheduler, type PassResult, type Scheduler } from '../../server/scheduler.ts';
import { createFreshDatabase } from '../harness/postgres.ts';
import { eventually } from '../harness/process.ts';
import { BACKENDS } from '../harness/backends.ts';

/**
 * The scheduler on real Postgres, with two instances that each have their own
 * connection pool (as two processes would), and on embedded PGlite (two
 * schedulers sharing its one connection): every due check-in starts exactly
 * once, none is missed, a restart inside the due window changes nothing, old
 * occurrences after downtime do not flood, reminders and the no-response rule
 * happen once. A database of its own: passes claim every due row in it.
 */
let fresh: Awaited<ReturnType<typeof createFreshDatabase>> | undefined;
let pgliteDir: string | undefined;
let test: Database;
let instanceA: Database;
let instanceB: Database;
let orgId: string;
let careTeamId: string;
const flows = new Map<string, FlowFile>(SHIPPED);
const catalogs = new Map<Database, Catalog>();
const logs: string[] = [];
const logger = createLogger('debug', (line) => logs.push(line));

// post-op: days 1,2,3,5,7,14 at 09:00 Europe/Berlin, reminder after 3 h, expiry after 12 h.
const ANCHOR = '2026-01-10';
const DAY1 = new Date('2026-01-11T08:00:00Z'); // 09:00 CET

describe.each(BACKENDS)('the scheduler on %s', (kind) => {
  beforeAll(async () => {
    if (kind === 'postgres') {
      fresh = await createFreshDatabase('visite_sched');
      test = await openDatabase({ url: fresh.url });
      instanceA = await openDatabase({ url: fresh.url });
      instanceB = await openDatabase({ url: fresh.url });
    } else {
      // Embedded PGlite has one owner: both "instances" share it, as two schedulers in one process would.
      pgliteDir = mkdtempSync(join(tmpdir(), 'visite-sched-'));
      test = instanceA = instanceB = await openDatabase({ dataDir: pgliteDir });
    }
    // post-op without an expiry: a deployed flow file of its own.
    const postOp = flows.get('post-op')!;
    const source = postOp.source.replace(/^id: post-op$/m, 'id: post-op-open').replace(/^ {2}expireAfterHours: 12\n/m, '');
    const { expireAfterHours: _unused, ...withoutExpiry } = postOp.flow.schedule!;
    flows.set('post-op-open', { ...postOp, source, file: 'post-op-open.yaml', flow: { ...postOp.flow, id: 'post-op-open', schedule: withoutExpiry } });
    for (const database of new Set([test, instanceA, instanceB])) catalogs.set(database, await openTestCatalog(database.db, { deployed: flows }));
    const [org] = await test.db.insert(organisations).values({ name: 'Klinik Scheduler' }).returning();
    orgId = org!.id;
    const [team] = await test.db.insert(careTeams).values({ orgId, name: 'Station 3' }).returning();
    careTeamId = team!.id;
  });
  afterAll(async () => {
    await Promise.all([...new Set([test, instanceA, instanceB])].map((d) => d?.close()));
    await fresh?.drop();
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
    fresh = undefined;
    pgliteDir = undefined;
  });

  // Each test moves the clock on its own: leave nothing of one test for the next one's passes.
  afterEach(async () => {
    await test.db.execute(sql`
      update scheduled_checkins set
        status = case when status = 'pending' then 'cancelled' else status end,
        reminder_checked_at = coalesce(reminder_checked_at, now()),
        expiry_checked_at = coalesce(expiry_checked_at, now())`);
  });

  function conversationsOn(database: Database): Conversations {
    return createConversations({ db: database.db, flows: catalogs.get(database)!, vocabulary: vocabulary(), wake: createWake() });
  }

  function scheduler(
    database: Database,
    options: { batchSize?: number; conversations?: Conversations; ensureRoom?: (patientId: string) => Promise<unknown> } = {},
  ): Scheduler {
    return startScheduler({
      db: database.db,
      conversations: options.conversations ?? conversationsOn(database),
      flows: catalogs.get(database)!,
      logger,
      wake: createWake(),
      cron: false,
      runAtStart: false,
      batchSize: options.batchSize ?? 7,
      concurrency: 2,
      ...(options.ensureRoom ? { ensureRoom: options.ensureRoom } : {}),
    });
  }

  interface Enrolled {
    patientId: string;
    enrollmentId: string;
    roomId: string;
  }

  /** `count` consenting patients with a (fake) direct room, each enrolled in `flowId` at the anchor date. */
  async function enroll(
    count: number,
    options: { flowId?: string; anchor?: string; consent?: 'none' | 'given'; withoutRoom?: boolean } = {},
  ): Promise<Enrolled[]> {
    const flowId = options.flowId ?? 'post-op';
    const tag = randomBytes(4).toString('hex');
    const rows = await test.db
      .insert(patients)
      .values(
        Array.from({ length: count }, (_, i) => ({
          orgId,
          matrixUserId: `@p-${tag}-${i}:localhost`,
          language: 'de',
          roomId: options.withoutRoom ? null : `!room-${tag}-${i}:localhost`,
          consent: options.consent ?? 'given',
        })),
      )
      .returning();
    const enrolled = await test.db
      .insert(enrollments)
      .values(rows.map((p) => ({ orgId, patientId: p.id, flowId, anchorDate: options.anchor ?? ANCHOR, careTeamId })))
      .returning();
    for (const e of enrolled) {
      await scheduleEnrollment(test.db, {
        enrollmentId: e.id,
        orgId,
        anchorDate: e.anchorDate,
        schedule: flows.get(flowId)!.flow.schedule!,
        timeZone: 'Europe/Berlin',
      });
    }
    return enrolled.map((e, i) => ({ patientId: e.patientId, enrollmentId: e.id, roomId: rows[i]!.roomId! }));
  }

  const later = (base: Date, minutes: number) => new Date(base.getTime() + minutes * 60_000);

  async function rowsOf(people: Enrolled[]) {
    return test.db
      .select()
      .from(scheduledCheckins)
      .where(
        inArray(
          scheduledCheckins.enrollmentId,
          people.map((p) => p.enrollmentId),
        ),
      )
      .orderBy(scheduledCheckins.enrollmentId, scheduledCheckins.day);
  }

  async function checkinsOf(people: Enrolled[]) {
    return test.db
      .select()
      .from(checkins)
      .where(
        inArray(
          checkins.patientId,
          people.map((p) => p.patientId),
        ),
      );
  }

  async function outboxCounts(people: Enrolled[]): Promise<Map<string, number>> {
    const rows = await test.db
      .select({ roomId: outbox.roomId, n: sql<number>`count(*)::int` })
      .from(outbox)
      .where(
        inArray(
          outbox.roomId,
          people.map((p) => p.roomId),
        ),
      )
      .groupBy(outbox.roomId);
    return new Map(rows.map((r) => [r.roomId, r.n]));
  }

  /** Every day-`day` row started exactly once: one check-in per row, linked, none twice, none missing. */
  async function expectStartedExactlyOnce(people: Enrolled[], day: number) {
    const rows = (await rowsOf(people)).filter((r) => r.day === day);
    expect(rows).toHaveLength(people.length);
    expect(rows.filter((r) => r.status !== 'started')).toEqual([]);
    const started = await checkinsOf(people);
    expect(started).toHaveLength(people.length); // one per patient: nothing started twice (not even superseded)
    expect(new Set(rows.map((r) => r.checkinId))).toEqual(new Set(started.map((c) => c.id)));
    for (const c of started) expect(c.enrollmentId).not.toBeNull();
    // Each patient got the same first messages, once.
    const counts = await outboxCounts(people);
    expect(counts.size).toBe(people.length);
    expect(new Set(counts.values()).size).toBe(1);
  }

  const total = (results: PassResult[], key: keyof PassResult) => results.reduce((sum, r) => sum + r[key], 0);

  describe('two scheduler instances on one database', () => {
    it('open one room per new patient between them — more than fifty in one pass — and skip no check-in as "no room"', async () => {
      const people = await enroll(130, { withoutRoom: true });
      const opened: string[] = [];
      // The Matrix side stands in here (room creation is tested on Synapse in test/e2e/scale-out.test.ts and bench/burst.ts).
      const roomsOn = (database: Database) =>
        createPatientRooms({
          db: database.db,
          opener: {
            async createDirectRoom(patient) {
              opened.push(patient.id);
              await new Promise((r) => setTimeout(r, 2));
              return `!opened-${patient.id}-${randomBytes(3).toString('hex')}:localhost`;
            },
            leaveAndForget: async () => {},
          },
        });
      const a = scheduler(instanceA, { ensureRoom: (id) => roomsOn(instanceA).tryEnsure(id) });
      const b = scheduler(instanceB, { ensureRoom: (id) => roomsOn(instanceB).tryEnsure(id) });
      const now = later(DAY1, 0.5);
      const results = await Promise.all([a.runOnce(now), b.runOnce(now)]);
      results.push(await a.runOnce(now));
      await Promise.all([a.stop(), b.stop()]);
      expect(opened.length).toBe(130);
      expect(new Set(opened).size).toBe(130);
      expect(total(results, 'skipped')).toBe(0);
      const withRooms = await test.db
        .select({ id: patients.id, roomId: patients.roomId })
        .from(patients)
        .where(
          inArray(
            patients.id,
            people.map((p) => p.patientId),
          ),
        );
      expect(withRooms.every((p) => p.roomId?.startsWith(`!opened-${p.id}-`))).toBe(true);
      const rows = (await rowsOf(people)).filter((r) => r.day === 1);
      expect(rows.filter((r) => r.status !== 'started').map((r) => r.reason ?? r.status)).toEqual([]);
    });

    it('start every due check-in exactly once and miss none', async () => {
      const people = await enroll(120);
      const a = scheduler(instanceA);
      const b = scheduler(instanceB);
      const now = later(DAY1, 0.5);
      const results = await Promise.all([a.runOnce(now), b.runOnce(now), a.runOnce(now), b.runOnce(now)]);
      await Promise.all([a.stop(), b.stop()]);
      expect(total(results, 'started')).toBe(120);
      expect(total(results, 'failed')).toBe(0);
      await expectStartedExactlyOnce(people, 1);
      // Nothing else was touched: the later days are still pending.
      expect((await rowsOf(people)).filter((r) => r.day !== 1).every((r) => r.status === 'pending')).toBe(true);
      // Logs carry ids only.
      expect(logs.join('\n')).not.toMatch(/Schmerzen|@p-/);
    });

    it('a restart inside the due window starts nothing twice and finishes the rest', async () => {
      const people = await enroll(60);
      const now = later(DAY1, 0.25);
      const first = scheduler(instanceA, { batchSize: 3 });
      const pass = first.runOnce(now);
      await first.stop(); // stops after the batches in flight
      const partial = await pass;
      expect(partial.started).toBeGreaterThan(0);
      expect(partial.started).toBeLessThan(60);

      const restarted = scheduler(instanceA);
      const other = scheduler(instanceB);
      const results = await Promise.all([restarted.runOnce(later(DAY1, 1)), other.runOnce(later(DAY1, 1))]);
      expect(partial.started + total(results, 'started')).toBe(60);
      expect((await restarted.runOnce(later(DAY1, 2))).started).toBe(0);
      await Promise.all([restarted.stop(), other.stop()]);
      await expectStartedExactlyOnce(people, 1);
    });

    it('a row whose start fails does not hold up the others and is retried by the next pass', async () => {
      const people = await enroll(10);
      const broken = people[4]!.patientId;
      let fail = true;
      const real = conversationsOn(instanceA);
      const flaky: Conversations = {
        ...real,
        startCheckinInTx: (tx, patientId, flowId, now, options) => {
          if (fail && patientId === broken) throw new Error('simulated crash');
          return real.startCheckinInTx(tx, patientId, flowId, now, options);
        },
      };
      const s = scheduler(instanceA, { conversations: flaky, batchSize: 5 });
      const first = await s.runOnce(later(DAY1, 1));
      expect(first.started).toBe(9);
      expect(first.failed).toBeGreaterThanOrEqual(1); // attempts: both lanes may have tried it
      fail = false;
      expect((await s.runOnce(later(DAY1, 2))).started).toBe(1);
      await s.stop();
      await expectStartedExactlyOnce(people, 1);
    });
  });

  describe('after downtime', () => {
    it('starts only the newest still valid occurrence and skips the expired ones: no flood', async () => {
      const people = await enroll(20);
      // Down from before day 1 until day 3, 11:00 local: days 1 and 2 expired, day 3 (09:00–21:00) still valid.
      const now = new Date('2026-01-13T10:00:00Z');
      const results = await Promise.all([scheduler(instanceA).runOnce(now), scheduler(instanceB).runOnce(now)]);
      expect(total(results, 'started')).toBe(20);
      expect(total(results, 'skipped')).toBe(40);
      const rows = await rowsOf(people);
      expect(rows.filter((r) => r.day < 3).map((r) => [r.status, r.reason])).toEqual(Array(40).fill(['skipped', 'expired']));
      await expectStartedExactlyOnce(people, 3);
    });

    it('without an expiry, older overdue occurrences give way to the newest', async () => {
      const people = await enroll(5, { flowId: 'post-op-open' });
      const now = new Date('2026-01-15T08:30:00Z'); // day 5 due at 08:00Z; days 1, 2, 3 overdue
      const results = await Promise.all([scheduler(instanceA, { batchSize: 2 }).runOnce(now), scheduler(instanceB, { batchSize: 2 }).runOnce(now)]);
      expect(total(results, 'started')).toBe(5);
      const rows = await rowsOf(people);
      expect(rows.filter((r) => r.day < 5).map((r) => [r.status, r.reason])).toEqual(Array(15).fill(['skipped', 'newer_due']));
      await expectStartedExactlyOnce(people, 5);
    });
  });

  describe('patients who stopped', () => {
    it('cancels due rows of stopped or refusing patients without starting anything, and cancelPendingCheckins cancels the rest', async () => {
      const people = await enroll(3);
      await test.db.update(patients).set({ monitoring: 'stopped', consent: 'withdrawn' }).where(eq(patients.id, people[0]!.patientId));
      await test.db.update(patients).set({ consent: 'refused' }).where(eq(patients.id, people[1]!.patientId));
      await test.db.update(enrollments).set({ status: 'ended' }).where(eq(enrollments.id, people[2]!.enrollmentId));
      const s = scheduler(instanceA);
      const result = await s.runOnce(later(DAY1, 1));
      await s.stop();
      expect(result).toMatchObject({ started: 0, cancelled: 3 });
      expect((await rowsOf(people)).filter((r) => r.day === 1).map((r) => r.reason)).toEqual(
        expect.arrayContaining(['monitoring_stopped', 'consent_refused', 'enrollment_ended']),
      );
      expect(await checkinsOf(people)).toEqual([]);
      expect(await outboxCounts(people)).toEqual(new Map());
      expect(await cancelPendingCheckins(test.db, { patientId: people[0]!.patientId }, 'monitoring_stopped')).toBe(5);
      expect(await cancelPendingCheckins(test.db, { enrollmentId: people[1]!.enrollmentId })).toBe(5);
      expect(await cancelPendingCheckins(test.db, { enrollmentId: people[1]!.enrollmentId })).toBe(0);
    });
  });

  describe('reminders and no response', () => {
    it('sends one reminder at remind_at to open check-ins only, and ends unanswered ones at expires_at with one no_response escalation', async () => {
      const people = await enroll(6);
      const a = scheduler(instanceA, { batchSize: 2 });
      const b = scheduler(instanceB, { batchSize: 2 });
      await a.runOnce(later(DAY1, 1));
      await expectStartedExactlyOnce(people, 1);
      const before = await outboxCounts(people);
      // Patient 0 completes the check-in before the reminder.
      const done = people[0]!;
      await test.db.update(checkins).set({ status: 'completed', endedAt: new Date() }).where(eq(checkins.patientId, done.patientId));

      const remindTime = new Date('2026-01-11T11:00:30Z'); // 12:00 local + 30 s
      const reminded = await Promise.all([a.runOnce(remindTime), b.runOnce(remindTime), a.runOnce(remindTime)]);
      expect(total(reminded, 'reminded')).toBe(5);
      expect(total(await Promise.all([a.runOnce(later(remindTime, 60)), b.runOnce(later(remindTime, 60))]), 'reminded')).toBe(0);
      const after = await outboxCounts(people);
      for (const p of people) expect(after.get(p.roomId), p.roomId).toBe((before.get(p.roomId) ?? 0) + (p === done ? 0 : 1));
      const [reminder] = await test.db.select().from(outbox).where(eq(outbox.roomId, people[1]!.roomId)).orderBy(sql`${outbox.id} desc`).limit(1);
      expect(reminder?.message).toMatchObject({ type: 'bot', message: { kind: 'question', text: translator('de')('reminder.text') } });
      const rows = (await rowsOf(people)).filter((r) => r.day === 1);
      expect(rows.every((r) => r.reminderCheckedAt !== null)).toBe(true);
      expect(rows.filter((r) => r.remindedAt !== null)).toHaveLength(5);

      const expiry = new Date('2026-01-11T20:00:00Z'); // 21:00 local
      const expired = await Promise.all([a.runOnce(expiry), b.runOnce(expiry), b.runOnce(expiry)]);
      expect(total(expired, 'expired')).toBe(5);
      expect(total(await Promise.all([a.runOnce(later(expiry, 5)), b.runOnce(later(expiry, 5))]), 'expired')).toBe(0);
      await Promise.all([a.stop(), b.stop()]);

      const states = await checkinsOf(people);
      expect(states.filter((c) => c.status === 'expired')).toHaveLength(5);
      expect(states.find((c) => c.patientId === done.patientId)?.status).toBe('completed');
      const raised = await test.db
        .select()
        .from(escalations)
        .where(
          inArray(
            escalations.patientId,
            people.map((p) => p.patientId),
          ),
        );
      expect(raised).toHaveLength(5);
      expect(raised.every((e) => e.kind === 'no_response' && e.severity === 'warning')).toBe(true);
      expect(raised.some((e) => e.patientId === done.patientId)).toBe(false);
      // Nothing is sent to the patient at expiry (it may be late evening).
      expect(await outboxCounts(people)).toEqual(after);
    });

    it('a patient who has not consented yet gets the reminder too, and the escalation says the check-in never began', async () => {
      const people = await enroll(1, { consent: 'none' });
      const s = scheduler(instanceA);
      await s.runOnce(later(DAY1, 1));
      expect((await s.runOnce(new Date('2026-01-11T11:01:00Z'))).reminded).toBe(1);
      expect((await s.runOnce(new Date('2026-01-11T20:01:00Z'))).expired).toBe(1);
      await s.stop();
      const [raised] = await test.db
        .select()
        .from(escalations)
        .where(and(eq(escalations.patientId, people[0]!.patientId), eq(escalations.kind, 'no_response')));
      expect(raised?.details).toMatchObject({ day: 1, flowId: 'post-op', status: 'pending' });
    });
  });

  describe('ticking', () => {
    it('runs a pass at start and on every cron tick, and stop() ends the ticks', async () => {
      const [first, second] = await enroll(2);
      // Rows due a minute ago and in two seconds (real time), valid for an hour.
      const now = Date.now();
      await test.db
        .update(scheduledCheckins)
        .set({ status: 'cancelled' })
        .where(inArray(scheduledCheckins.enrollmentId, [first!.enrollmentId, second!.enrollmentId]));
      await test.db.insert(scheduledCheckins).values([
        { orgId, enrollmentId: first!.enrollmentId, day: 100, dueAt: new Date(now - 60_000), expiresAt: new Date(now + 3_600_000) },
        { orgId, enrollmentId: second!.enrollmentId, day: 100, dueAt: new Date(now + 2_000), expiresAt: new Date(now + 3_600_000) },
      ]);
      const passes: PassResult[] = [];
      const s = startScheduler({
        db: instanceA.db,
        conversations: conversationsOn(instanceA),
        flows: catalogs.get(instanceA)!,
        logger,
        wake: createWake(),
        cron: '* * * * * *',
        onPass: (r) => passes.push(r),
      });
      const started = async (e: Enrolled) =>
        (
          await test.db
            .select()
            .from(scheduledCheckins)
            .where(and(eq(scheduledCheckins.enrollmentId, e.enrollmentId), eq(scheduledCheckins.day, 100)))
        )[0]?.status === 'started';
      await eventually(async () => ((await started(first!)) ? true : undefined), 5_000, 'the start pass');
      await eventually(async () => ((await started(second!)) ? true : undefined), 10_000, 'a tick after the due time');
      await s.stop();
      const count = passes.length;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(passes.length).toBe(count);
    });
  });
});
