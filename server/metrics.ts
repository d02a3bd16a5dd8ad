import { and, count, eq, gt, isNull, lte, min, or, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Db } from '../db/database.ts';
import { answers, checkins, escalations, outbox, scheduledCheckins } from '../db/schema.ts';
import { errorBody } from './errors.ts';
import { errorFields, type Logger } from './logger.ts';

const SEVERITIES = ['info', 'warning', 'urgent'] as const;

export interface MetricsOptions {
  db: Db;
  logger?: Logger;
  /** The bot accounts this instance runs (bots/fleet.ts). */
  fleet?: { held(): Array<{ accountId: string; leaseAgeSeconds: number }> };
  /** Process metrics (memory, CPU, event loop) of this instance; default true. */
  processMetrics?: boolean;
  now?: () => Date;
}

/**
 * Prometheus metrics, read from the database at scrape time: every instance
 * reports the same cluster-wide counts (aggregate with `max`, not `sum`), and
 * nothing is lost when an instance restarts. Labels carry severities only,
 * never patient data. Counts cover the rows still stored: the retention job's
 * deletions show as a counter reset, which `rate()`/`increase()` tolerate.
 */
export function createMetricsRegistry(options: MetricsOptions): Registry {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'visite_' });

  /** One database read per scrape, shared by all metrics of that scrape. */
  let snapshot: Promise<Snapshot> | undefined;
  const read = () => (snapshot ??= takeSnapshot(db, now()).finally(() => setTimeout(() => (snapshot = undefined), 0)));

  const counter = (name: string, help: string, value: (s: Snapshot) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        const s = await read();
        this.reset();
        this.inc(value(s));
      },
    });
  counter('visite_checkins_started_total', 'Check-ins started (by the scheduler or the API), all organisations', (s) => s.started);
  counter('visite_checkins_completed_total', 'Check-ins the patient answered to the end', (s) => s.completed);
  counter('visite_answers_total', 'Answers recorded (a corrected answer counts once)', (s) => s.answers);
  new Counter({
    name: 'visite_alerts_total',
    help: 'Alerts (escalation events) raised, by severity',
    labelNames: ['severity'] as const,
    registers: [registry],
    async collect() {
      const s = await read();
      this.reset();
      for (const severity of SEVERITIES) this.inc({ severity }, s.alerts[severity]);
    },
  });
  new Gauge({
    name: 'visite_outbox_lag_seconds',
    help: 'Age of the oldest message waiting in the outbox (0 when none waits)',
    registers: [registry],
    async collect() {
      this.set((await read()).outboxLag);
    },
  });
  new Gauge({
    name: 'visite_outbox_failed_messages',
    help: 'Messages the homeserver refused for good in the last 24 hours (alerts among them are rerouted or undeliverable)',
    registers: [registry],
    async collect() {
      this.set((await read()).failedMessages);
    },
  });
  new Gauge({
    name: 'visite_alerts_undelivered',
    help: 'Alerts not accepted by the homeserver: queued over 2 minutes ago without acceptance, or undeliverable (last 24 hours)',
    registers: [registry],
    async collect() {
      this.set((await read()).undeliveredAlerts);
    },
  });
  new Gauge({
    name: 'visite_outbox_depth',
    help: 'Messages waiting in the outbox, per bot account (its id, as in /v1/bot-accounts and visite admin list-bots; cluster-wide)',
    labelNames: ['account'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [account, depth] of (await read()).outboxDepth) this.set({ account }, depth);
    },
  });
  const fleet = options.fleet;
  if (fleet) {
    new Gauge({
      name: 'visite_bot_accounts_held',
      help: 'Bot accounts this instance holds a lease on and runs',
      registers: [registry],
      collect() {
        this.set(fleet.held().length);
      },
    });
    new Gauge({
      name: 'visite_bot_lease_age_seconds',
      help: 'Since when this instance runs each bot account it holds (resets on a takeover)',
      labelNames: ['account'],
      registers: [registry],
      collect() {
        this.reset();
        for (const held of fleet.held()) this.set({ account: held.accountId }, held.leaseAgeSeconds);
      },
    });
  }
  new Gauge({
    name: 'visite_scheduler_lag_seconds',
    help: 'How long the oldest due scheduled check-in has been waiting to start (0 when none is due)',
    registers: [registry],
    async collect() {
      this.set((await read()).schedulerLag);
    },
  });
  return registry;
}

interface Snapshot {
  started: number;
  completed: number;
  answers: number;
  alerts: Record<(typeof SEVERITIES)[number], number>;
  outboxLag: number;
  schedulerLag: number;
  failedMessages: number;
  undeliveredAlerts: number;
  /** Waiting messages per bot account id. */
  outboxDepth: Map<string, number>;
}

async function takeSnapshot(db: Db, at: Date): Promise<Snapshot> {
  const day = new Date(at.getTime() - 86_400_000);
  const [byStatus, [answerCount], bySeverity, [oldestOutbox], [oldestDue], [failed], [undelivered], depth] = await Promise.all([
    db.select({ status: checkins.status, n: count() }).from(checkins).groupBy(checkins.status),
    db.select({ n: count() }).from(answers),
    db.select({ severity: escalations.severity, n: count() }).from(escalations).groupBy(escalations.severity),
    db
      .select({ at: min(outbox.createdAt) })
      .from(outbox)
      .where(eq(outbox.status, 'pending')),
    db
      .select({ at: min(scheduledCheckins.dueAt) })
      .from(scheduledCheckins)
      .where(and(eq(scheduledCheckins.status, 'pending'), lte(scheduledCheckins.dueAt, at))),
    db
      .select({ n: count() })
      .from(outbox)
      .where(and(eq(outbox.status, 'failed'), gt(outbox.createdAt, day))),
    db
      .select({ n: count() })
      .from(escalations)
      .where(
        and(
          isNull(escalations.deliveredAt),
          gt(escalations.createdAt, day),
          or(eq(escalations.deliveryNote, 'undeliverable'), and(isNull(escalations.deliveryNote), lte(escalations.queuedAt, new Date(at.getTime() - 120_000)))),
        ),
      ),
    db
      .select({ account: sql<string>`coalesce(${outbox.accountId}::text, 'unassigned')`, n: count() })
      .from(outbox)
      .where(eq(outbox.status, 'pending'))
      .groupBy(outbox.accountId),
  ]);
  const lag = (since: Date | null | undefined) => (since ? Math.max(0, (at.getTime() - new Date(since).getTime()) / 1000) : 0);
  const alerts = { info: 0, warning: 0, urgent: 0 };
  for (const row of bySeverity) alerts[row.severity] = Number(row.n);
  return {
    started: byStatus.reduce((sum, row) => sum + Number(row.n), 0),
    completed: Number(byStatus.find((row) => row.status === 'completed')?.n ?? 0),
    answers: Number(answerCount?.n ?? 0),
    alerts,
    outboxLag: lag(oldestOutbox?.at),
    schedulerLag: lag(oldestDue?.at),
    failedMessages: Number(failed?.n ?? 0),
    undeliveredAlerts: Number(undelivered?.n ?? 0),
    outboxDepth: new Map(depth.map((row) => [row.account, Number(row.n)])),
  };
}

/** `GET /metrics` in the Prometheus text format; no authentication (bind it to an internal network). */
export function metricsRoutes(options: MetricsOptions): Hono {
  const registry = createMetricsRegistry(options);
  const app = new Hono();
  app.get('/metrics', async (c) => {
    try {
      const body = await registry.metrics();
      return c.body(body, 200, { 'content-type': registry.contentType });
    } catch (error) {
      options.logger?.error('metrics scrape failed', errorFields(error));
      return c.json(errorBody('not_ready', 'metrics unavailable: the database does not answer'), 503);
    }
  });
  return app;
}
