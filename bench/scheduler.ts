/**
 * The morning burst: 100,000 enrollments, 10,000 check-ins due in the same
 * minute, two scheduler instances (two processes, each with its own
 * connection pool) draining them at once. Prints the time until the last due
 * check-in has started, duplicates (must be 0), misses (must be 0) and the peak
 * RSS of each instance. Starting a check-in runs the real path (claim, policy,
 * engine, check-in state, outbox rows); no Matrix is involved.
 *
 *   scripts/node24.sh node bench/scheduler.ts [enrollments=100000] [due=10000] [batch=50] [lanes=4]
 *
 * Needs Postgres on 127.0.0.1:5432 (VISITE_TEST_POSTGRES_URL); creates and drops its own database.
 */
import { fork, type ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { createWake } from '../services/signal.ts';
import { openFlowCatalog } from '../services/flows.ts';
import { createConversations } from '../services/conversations.ts';
import { vocabulary } from '../core/conversation/vocabulary.ts';
import { translator } from '../core/i18n.ts';
import { openDatabase } from '../db/database.ts';
import { DEFAULT_FLOWS_DIR } from '../server/config.ts';
import { loadFlows } from '../server/flows.ts';
import { createLogger } from '../server/logger.ts';
import { startScheduler, type PassResult } from '../server/scheduler.ts';
import { createFreshDatabase } from '../test/harness/postgres.ts';

interface WorkerReport {
  instance: number;
  result: PassResult;
  passMs: number;
  peakRssMb: number;
  rssBeforeMb: number;
  peakHeapMb: number;
}

if (process.argv[2] === '--worker') {
  await worker(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]));
} else {
  await main();
}

/** One scheduler instance: waits for "go", runs one pass at the current time, reports. */
async function worker(url: string, instance: number, batchSize: number, lanes: number): Promise<void> {
  const database = await openDatabase({ url });
  const flows = await openFlowCatalog({ db: database.db, deployed: loadFlows(DEFAULT_FLOWS_DIR), links: { publicUrl: 'http://127.0.0.1:8080' } });
  const conversations = createConversations({ db: database.db, flows, vocabulary: vocabulary(), wake: createWake() });
  const scheduler = startScheduler({
    db: database.db,
    conversations,
    flows,
    logger: createLogger('warn'),
    wake: createWake(),
    cron: false,
    runAtStart: false,
    batchSize,
    concurrency: lanes,
  });
  translator('de')('reminder.text'); // load the locales before the clock starts
  let peak = process.memoryUsage.rss();
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 20);
  const rssBefore = process.memoryUsage.rss();
  process.send!({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const t0 = performance.now();
  const result = await scheduler.runOnce();
  const passMs = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
  await scheduler.stop();
  await database.close();
  const report: WorkerReport = { instance, result, passMs, peakRssMb: peak / 2 ** 20, rssBeforeMb: rssBefore / 2 ** 20, peakHeapMb: peakHeap / 2 ** 20 };
  process.send!({ type: 'report', report }, () => process.exit(0));
}

async function main(): Promise<void> {
  const ENROLLMENTS = Number(process.argv[2] ?? 100_000);
  const DUE = Number(process.argv[3] ?? 10_000);
  const BATCH = Number(process.argv[4] ?? 50);
  const LANES = Number(process.argv[5] ?? 4);

  const fresh = await createFreshDatabase('visite_bench_sched');
  const migrated = await openDatabase({ url: fresh.url }); // applies the migrations
  await migrated.close();
  const sql = postgres(fresh.url, { max: 2, onnotice: () => {} });
  const children: ChildProcess[] = [];
  try {
    // Setup (not measured). post-op schedule shape: days 1,2,3,5,7,14, reminder +3 h, expiry +12 h.
    const seedStart = performance.now();
    const [org] = await sql<{ id: string }[]>`insert into organisations (name) values ('Bench') returning id`;
    const [team] = await sql<{ id: string }[]>`insert into care_teams (org_id, name) values (${org!.id}, 'Bench') returning id`;
    await sql`
      insert into patients (org_id, matrix_user_id, language, room_id, consent, consent_at)
      select ${org!.id}, '@bench-' || i || ':localhost', 'de', '!bench-' || i || ':localhost', 'given', now()
      from generate_series(1, ${ENROLLMENTS}::int) as i`;
    // The first DUE enrollments had surgery yesterday (day 1 due this minute); the others' check-ins lie ahead.
    await sql`
      insert into enrollments (org_id, patient_id, flow_id, anchor_date, care_team_id)
      select org_id, id, 'post-op', current_date - 1, ${team!.id} from patients`;
    const [{ t } = { t: new Date() }] = await sql<{ t: Date }[]>`select date_trunc('minute', now()) as t`;
    await sql`
      insert into scheduled_checkins (org_id, enrollment_id, day, due_at, remind_at, expires_at)
      select e.org_id, e.id, d.day, b.base + d.day * interval '1 day',
             b.base + d.day * interval '1 day' + interval '3 hours', b.base + d.day * interval '1 day' + interval '12 hours'
      from (select e.*, row_number() over (order by e.id) as n from enrollments e) e
      cross join lateral (select case when e.n <= ${DUE} then ${t}::timestamptz - interval '1 day'
                                      else ${t}::timestamptz + (1 + e.n % 20) * interval '1 day' end as base) b
      cross join unnest(array[1, 2, 3, 5, 7, 14]) as d(day)`;
    await sql`analyze`;
    const [{ rows } = { rows: 0 }] = await sql<{ rows: number }[]>`select count(*)::int as rows from scheduled_checkins`;
    const [{ due } = { due: 0 }] = await sql<{ due: number }[]>`select count(*)::int as due from scheduled_checkins where due_at <= now()`;
    console.log(
      `setup: ${ENROLLMENTS} enrollments, ${rows} scheduled check-ins, ${due} due at ${t.toISOString()} (${((performance.now() - seedStart) / 1000).toFixed(1)} s)`,
    );

    // Two instances, each its own process and connection pool.
    const reports: WorkerReport[] = [];
    const done = [1, 2].map(
      (instance) =>
        new Promise<void>((resolve, reject) => {
          const child = fork(import.meta.filename, ['--worker', fresh.url, String(instance), String(BATCH), String(LANES)], { stdio: 'inherit' });
          children.push(child);
          child.on('message', (message: { type: string; report?: WorkerReport }) => {
            if (message.type === 'report' && message.report) {
              reports.push(message.report);
              resolve();
            }
          });
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`instance ${instance} exited with ${code}`))));
        }),
    );
    await Promise.all(children.map((child) => new Promise<void>((resolve) => child.once('message', (m: { type: string }) => m.type === 'ready' && resolve()))));
    const go = new Date();
    for (const child of children) child.send({ type: 'go' });
    await Promise.all(done);

    const [last] = await sql<{ last: Date | null; checkins: number; patients: number }[]>`
      select max(created_at) as last, count(*)::int as checkins, count(distinct patient_id)::int as patients from checkins`;
    const [states] = await sql<{ started: number; pending_due: number; untouched: number; other: number }[]>`
      select count(*) filter (where status = 'started')::int as started,
             count(*) filter (where status = 'pending' and due_at <= ${t})::int as pending_due,
             count(*) filter (where status = 'pending' and due_at > ${t})::int as untouched,
             count(*) filter (where status not in ('pending', 'started'))::int as other
      from scheduled_checkins`;
    const [doubled] = await sql<{ rooms: number }[]>`
      select count(*)::int as rooms from (select room_id, count(*) as n from outbox group by room_id) r
      where n <> (select count(*) from outbox where room_id = (select room_id from outbox limit 1))`;
    const duplicates = last!.checkins - last!.patients; // a second check-in for any patient
    const misses = DUE - states!.started + states!.pending_due;
    const lastMs = last!.last ? last!.last.getTime() - go.getTime() : NaN;

    console.log('');
    for (const r of reports.sort((a, b) => a.instance - b.instance)) {
      console.log(
        `instance ${r.instance}: started ${r.result.started}, pass ${(r.passMs / 1000).toFixed(2)} s, peak RSS ${r.peakRssMb.toFixed(0)} MB (before the pass ${r.rssBeforeMb.toFixed(0)} MB), peak JS heap ${r.peakHeapMb.toFixed(0)} MB`,
      );
    }
    console.log(
      `due check-ins: ${DUE}; started: ${states!.started}; other due rows left pending: ${states!.pending_due}; not-yet-due rows untouched: ${states!.untouched}/${rows - DUE}`,
    );
    console.log(`time until the last due check-in had started: ${(lastMs / 1000).toFixed(2)} s (${Math.round(DUE / (lastMs / 1000))} check-ins/s)`);
    console.log(`duplicates: ${duplicates} (rooms with an unexpected number of messages: ${doubled!.rooms})`);
    console.log(`misses: ${misses}`);
    const checks = [
      [`all ${DUE} started within 5 min`, lastMs <= 5 * 60_000 && states!.started === DUE],
      ['0 duplicates', duplicates === 0 && doubled!.rooms === 0],
      ['0 misses', misses === 0],
      ['RSS ≤ 250 MB per instance', reports.every((r) => r.peakRssMb <= 250)],
    ] as const;
    for (const [target, met] of checks) console.log(`  ${met ? 'OK    ' : 'FAILED'} ${target}`);
    const ok = checks.every(([, met]) => met);
    console.log(`scheduler burst: ${ok ? 'OK' : 'FAILED'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sql.end({ timeout: 5 });
    await fresh.drop();
  }
}
