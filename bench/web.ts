/**
 * Server time of the web app's two heaviest pages, against baselines measured
 * in the same run on the same fresh Postgres database:
 *
 * - the worklist with 1,000 open alerts (`GET /app/worklist`) vs. the API
 *   listing the same open alerts as JSON (`GET /v1/alerts?open=true`, two
 *   pages of 500) and vs. the worklist's own query alone;
 * - a patient chart with a year of daily check-ins (`GET /app/patients/{id}`:
 *   365 check-ins, 6 answers each, trend plots, timeline, transcripts) vs. the
 *   chart's own queries alone (reading the same rows and serialising them as JSON).
 *
 * Each request goes through the full Hono app in-process (`app.request`), so
 * the figures are server time without the network. Median and p95 of N runs.
 *
 *   scripts/node24.sh node bench/web.ts [runs=30]
 */
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { openDatabase } from '../db/database.ts';
import { createOrganisation } from '../db/organisations.ts';
import { enrollPatient } from '../db/patients.ts';
import { answers, careTeams, checkins, enrollments, escalations } from '../db/schema.ts';
import { chartData, openAlerts } from '../db/web.ts';
import { createSession } from '../db/web-sessions.ts';
import { createApiKey } from '../server/api/auth.ts';
import { createApi } from '../server/api/app.ts';
import { createApp } from '../server/app.ts';
import { DEFAULT_FLOWS_DIR } from '../server/config.ts';
import { loadFlows } from '../server/flows.ts';
import { createLogger } from '../server/logger.ts';
import { createWebApp, SESSION_COOKIE } from '../server/web/app.ts';
import { recordingContact } from '../test/harness/api.ts';
import { createFlowAuthoring } from '../services/flow-authoring.ts';
import { openFlowCatalog } from '../services/flows.ts';
import { createFreshDatabase } from '../test/harness/postgres.ts';

const RUNS = Number(process.argv[2] ?? 30);
const fresh = await createFreshDatabase('visite_bench_web');
const database = await openDatabase({ url: fresh.url });
const { db } = database;

function stats(samples: number[]) {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95) };
}
async function measure(what: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 3; i++) await what(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await what();
    samples.push(performance.now() - start);
  }
  return stats(samples);
}
const ms = (x: number) => `${x.toFixed(1)} ms`;

try {
  const deployed = loadFlows(DEFAULT_FLOWS_DIR);
  const logger = createLogger('error');
  const flows = await openFlowCatalog({ db, deployed, links: { publicUrl: 'http://visite.bench' } });
  const deps = {
    db,
    flows,
    authoring: createFlowAuthoring({ db, catalog: flows, templates: deployed }),
    templates: deployed,
    logger,
    verifyToken: null,
    contact: recordingContact(),
    publicUrl: 'http://visite.bench',
  };
  const app = createApp({
    logger,
    api: createApi(deps, { maxBodyBytes: 65536 }),
    web: createWebApp(deps, { idleMs: 3_600_000, lifetimeMs: 3_600_000, secureCookies: false }),
    readiness: [],
  });

  // Setup (not measured).
  const org = await createOrganisation(db, { name: 'Bench' });
  const [team] = await db.insert(careTeams).values({ orgId: org.id, name: 'Station 1', language: 'de' }).returning();
  const key = (await createApiKey(db, org.id, 'bench', ['clinician'])).secret;
  const { token } = await createSession(db, {
    orgId: org.id,
    subject: 'bench',
    displayName: 'Dr. Bench',
    roles: ['clinician'],
    method: 'link',
    lifetimeMs: 3_600_000,
  });
  const cookie = `${SESSION_COOKIE}=${token}`;
  const day = 86_400_000;
  const start = Date.now() - 365 * day;

  // 1,000 open alerts of 250 patients, with values and the patient's words.
  for (let p = 0; p < 250; p++) {
    const patient = await enrollPatient(db, { orgId: org.id, matrixUserId: `@bench-${p}:localhost`, language: 'de', displayName: `Patient ${p}` });
    await db.insert(enrollments).values({ orgId: org.id, patientId: patient.id, flowId: 'post-op', anchorDate: '2026-01-01', careTeamId: team!.id });
    const [checkin] = await db.insert(checkins).values({ patientId: patient.id, flowId: 'post-op', flowVersion: '1', status: 'completed' }).returning();
    await db.insert(escalations).values(
      Array.from({ length: 4 }, (_, i) =>
        i % 2 === 0
          ? {
              patientId: patient.id,
              checkinId: checkin!.id,
              kind: 'rule' as const,
              severity: 'warning' as const,
              ruleId: 'pain-severe',
              details: { itemId: 'pain', values: { pain: { type: 'number', value: 8 } }, message: { de: 'Starke Schmerzen', en: 'Severe pain' } },
              createdAt: new Date(Date.now() - (p * 4 + i) * 60_000),
            }
          : {
              patientId: patient.id,
              checkinId: checkin!.id,
              kind: 'red_flag' as const,
              severity: 'urgent' as const,
              details: {
                category: 'chest_pain',
                evidence: 'Brustschmerzen',
                values: { patientMessage: { type: 'text', value: 'Ich habe starke Brustschmerzen seit heute Morgen' } },
              },
              createdAt: new Date(Date.now() - (p * 4 + i) * 60_000),
            },
      ),
    );
  }

  // One patient with a year of daily completed check-ins.
  const chart = await enrollPatient(db, { orgId: org.id, matrixUserId: '@bench-chart:localhost', language: 'tr', displayName: 'Ayşe Yıl' });
  await db.insert(enrollments).values({ orgId: org.id, patientId: chart.id, flowId: 'post-op', anchorDate: '2025-12-01', careTeamId: team!.id });
  for (let d = 0; d < 365; d++) {
    const at = new Date(start + d * day);
    const [c] = await db
      .insert(checkins)
      .values({
        patientId: chart.id,
        flowId: 'post-op',
        flowVersion: '1',
        status: 'completed',
        createdAt: at,
        startedAt: at,
        endedAt: new Date(at.getTime() + 300_000),
      })
      .returning();
    const v = (value: unknown) => value as never;
    await db.insert(answers).values([
      { checkinId: c!.id, questionId: 'pain', value: v({ type: 'number', value: (d * 7) % 11 }), answeredAt: at, sourceEventId: `$p${d}` },
      {
        checkinId: c!.id,
        questionId: 'temperature',
        value: v({ type: 'number', value: 36.5 + ((d * 13) % 30) / 10 }),
        answeredAt: at,
        sourceEventId: `$t${d}`,
      },
      { checkinId: c!.id, questionId: 'wound', value: v({ type: 'choices', codes: ['unremarkable'] }), answeredAt: at, sourceEventId: `$w${d}` },
      { checkinId: c!.id, questionId: 'nausea', value: v({ type: 'choice', code: d % 9 === 0 ? 'nausea' : 'none' }), answeredAt: at, sourceEventId: `$n${d}` },
      { checkinId: c!.id, questionId: 'bowel', value: v({ type: 'boolean', value: d % 3 !== 0 }), answeredAt: at, sourceEventId: `$b${d}` },
      { checkinId: c!.id, questionId: 'comments', value: v({ type: 'text', value: `Tag ${d}: alles in Ordnung` }), answeredAt: at, sourceEventId: `$c${d}` },
    ]);
    if ((d * 7) % 11 >= 9)
      await db.insert(escalations).values({
        patientId: chart.id,
        checkinId: c!.id,
        kind: 'rule',
        severity: 'warning',
        ruleId: 'pain-severe',
        details: { itemId: 'pain', values: { pain: { type: 'number', value: (d * 7) % 11 } } },
        createdAt: at,
        acknowledgedAt: at,
        acknowledgedBy: 'bench',
      });
  }

  const page = async (path: string) => {
    const res = await app.request(path, { headers: { cookie, accept: 'text/html' } });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    return res.text();
  };
  const apiGet = async (path: string) => {
    const res = await app.request(path, { headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  };
  const worklistHtml = await page('/app/worklist');
  const rows = (worklistHtml.match(/<tr class="alert /g) ?? []).length;
  if (rows !== 1000) throw new Error(`expected 1000 rows in the worklist, got ${rows}`);
  const chartHtml = await page(`/app/patients/${chart.id}`);
  const points = (chartHtml.match(/<circle /g) ?? []).length;

  const worklist = await measure(() => page('/app/worklist'));
  const viaApi = await measure(async () => {
    await apiGet('/v1/alerts?open=true&limit=500&offset=0');
    await apiGet('/v1/alerts?open=true&limit=500&offset=500');
  });
  const worklistQuery = await measure(() => openAlerts(db, org.id));
  const chartPage = await measure(() => page(`/app/patients/${chart.id}`));
  const chartQuery = await measure(async () => JSON.stringify(await chartData(db, org.id, chart.id)));

  console.log(`web bench (${RUNS} runs each, median / p95; Postgres, in-process requests)`);
  console.log(
    `worklist, 1,000 open alerts: ${ms(worklist.p50)} / ${ms(worklist.p95)}  (${Math.round(worklistHtml.length / 1024)} KiB HTML, ${Math.round(gzipSync(worklistHtml).length / 1024)} KiB gzip)`,
  );
  console.log(
    `  baseline API GET /v1/alerts?open=true (2 × 500, JSON): ${ms(viaApi.p50)} / ${ms(viaApi.p95)}  → ratio ${(worklist.p50 / viaApi.p50).toFixed(2)}`,
  );
  console.log(`  baseline worklist query alone: ${ms(worklistQuery.p50)} / ${ms(worklistQuery.p95)}  → ratio ${(worklist.p50 / worklistQuery.p50).toFixed(2)}`);
  console.log(
    `chart, 365 daily check-ins (${points} plotted points): ${ms(chartPage.p50)} / ${ms(chartPage.p95)}  (${Math.round(chartHtml.length / 1024)} KiB HTML, ${Math.round(gzipSync(chartHtml).length / 1024)} KiB gzip)`,
  );
  console.log(`  baseline chart queries alone (+ JSON): ${ms(chartQuery.p50)} / ${ms(chartQuery.p95)}  → ratio ${(chartPage.p50 / chartQuery.p50).toFixed(2)}`);
} finally {
  await database.close();
  await fresh.drop();
}
