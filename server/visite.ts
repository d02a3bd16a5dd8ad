import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createBot, type Bot } from '../bots/bot.ts';
import { createAlertDispatcher, type AlertDispatcher } from '../bots/alerts.ts';
import { createCareTeamCommands } from '../bots/care-team.ts';
import { createConversations, type Conversations } from '../bots/conversations.ts';
import { vocabulary } from '../core/conversation/vocabulary.ts';
import type { Flow } from '../core/flow/model.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { eq } from 'drizzle-orm';
import { adoptRoom, enrollPatient, findPatient, isEnrolledAnywhere, setPatientRoom, type Enrollment, type Patient } from '../db/patients.ts';
import { clinicians, patients } from '../db/schema.ts';
import { createApi } from './api/app.ts';
import { createOidcVerifier } from './api/auth.ts';
import type { PatientContact } from './api/env.ts';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import { loadFlows } from './flows.ts';
import { startScheduler, type Scheduler } from './scheduler.ts';
import { metricsRoutes } from './metrics.ts';
import { startRetention } from './retention.ts';
import { ensureDefinitions } from '../core/fhir/validate.ts';
import type { Logger } from './logger.ts';

export interface Visite {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  readonly bot: Bot;
  readonly database: Database;
  readonly flows: ReadonlyMap<string, Flow>;
  readonly conversations: Conversations;
  readonly scheduler: Scheduler;
  readonly alerts: AlertDispatcher;
  /** Settles once the bot syncs (or Visite is stopped before it could). */
  readonly botStarted: Promise<void>;
  /** Enrolls a patient (until the enrollment API exists, tests and the demo call this). */
  enroll(enrollment: Enrollment): Promise<Patient>;
  /** Starts a check-in now, creating the patient's direct room first if needed. */
  startCheckin(patient: Patient, flowId: string): Promise<{ checkinId: string; status: string; roomId: string }>;
  /** Stops everything in reverse order of construction. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The composition root: config → flows → database → conversations → bot →
 * HTTP server. Each adapter is built once here and closed in reverse. The bot
 * connects in the background so the HTTP server (and `/readyz`) is up even
 * while the homeserver is not.
 */
export async function startVisite(config: Config, logger: Logger): Promise<Visite> {
  const closers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.error('shutdown step failed', { error: (error as Error).name }));
    }
  };
  try {
    const flows = loadFlows(config.flowsDir);
    logger.info('flows loaded', { count: flows.size });
    // FHIR definitions are indexed once here, not on a patient's first answer.
    ensureDefinitions();

    const database = await openDatabase(config.database);
    closers.push(() => database.close());
    logger.info('database ready', { kind: database.kind });

    let bot: Bot | undefined;
    let alerts: AlertDispatcher | undefined;
    // New replies wake the outbox; new escalations wake the alert dispatcher.
    const conversations = createConversations({ db: database.db, flows, vocabulary: vocabulary(), onOutgoing: () => (bot?.kickOutbox(), alerts?.kick()) });
    // Links in alerts and API responses; without configuration, the listener's address once it is known.
    let listening = `http://${config.http.host}:${config.http.port}`;
    const links = {
      get publicUrl() {
        return config.publicUrl ?? listening;
      },
    };
    alerts = createAlertDispatcher({ db: database.db, flows, logger, links, onOutgoing: () => bot?.kickOutbox() });
    const theAlerts = alerts;
    closers.push(() => theAlerts.stop());
    bot = createBot({
      homeserverUrl: config.homeserverUrl,
      userId: config.bot.userId,
      ...(config.bot.password ? { password: config.bot.password } : {}),
      ...(config.bot.accessToken ? { accessToken: config.bot.accessToken } : {}),
      displayName: config.bot.displayName,
      allowedInviters: config.allowedInviters,
      maxUploadBytes: config.maxUploadBytes,
      ...(config.crypto ? { crypto: config.crypto } : {}),
      db: database.db,
      logger,
      conversations,
      isEnrolledPatient: (userId) => isEnrolledAnywhere(database.db, userId),
      isClinician: async (userId) => (await database.db.select({ id: clinicians.id }).from(clinicians).where(eq(clinicians.matrixUserId, userId)).limit(1)).length > 0,
      alerts,
      careTeamCommands: createCareTeamCommands({
        db: database.db,
        flows,
        logger,
        startCheckin: async (patientId, flowId) => {
          await roomOf(patientId);
          return conversations.startCheckin(patientId, flowId);
        },
        onOutgoing: () => bot?.kickOutbox(),
      }),
      adoptPatientRoom: (userId, roomId) => adoptRoom(database.db, userId, roomId),
    });
    const theBot = bot;
    if (!config.crypto) logger.warn('end-to-end encryption is off: set VISITE_CRYPTO_PASSPHRASE (TI-M rooms are encrypted)');
    const connecting = theBot.start();
    closers.push(async () => {
      await theBot.stop();
      await connecting.catch(() => {});
    });
    /** The patient's direct room, created on first need (Matrix I/O). */
    const roomOf = async (patientId: string): Promise<string> => {
      const [row] = await database.db.select().from(patients).where(eq(patients.id, patientId));
      if (!row) throw new Error('no such patient');
      return row.roomId ?? setPatientRoom(database.db, row.id, await theBot.createDirectRoom(row.matrixUserId));
    };
    const scheduler = startScheduler({
      db: database.db,
      conversations,
      flows,
      logger,
      cron: config.schedulerCron,
      runAtStart: config.schedulerCron !== false,
      ensureRoom: async (patientId) => void (await roomOf(patientId)),
    });
    closers.push(() => scheduler.stop());

    /** Matrix side effects the API asks for. */
    const contact: PatientContact = {
      async welcome(patientId) {
        await roomOf(patientId);
        await conversations.welcome(patientId);
      },
      async startCheckin(patientId, flowId) {
        await roomOf(patientId);
        return (await conversations.startCheckin(patientId, flowId)).checkinId;
      },
      forgetRoom: (roomId) => theBot.leaveAndForget(roomId),
    };
    const retention = startRetention({ db: database.db, contact, logger });
    closers.push(() => retention.stop());
    const api = createApi(
      {
        db: database.db,
        flows,
        logger,
        verifyToken: config.oidc ? createOidcVerifier(config.oidc) : null,
        contact,
        get publicUrl() {
          return links.publicUrl;
        },
      },
      { maxBodyBytes: config.maxBodyBytes },
    );

    const app = createApp({
      logger,
      api,
      metrics: metricsRoutes({ db: database.db, logger }),
      readiness: [
        { name: 'database', check: () => database.ping() },
        { name: 'homeserver', check: () => theBot.ping() },
      ],
    });
    const server = await listen(app.fetch, config.http.host, config.http.port);
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const httpUrl = `http://${config.http.host}:${port}`;
    listening = httpUrl;
    logger.info('http server listening', { url: httpUrl });

    return {
      httpUrl,
      bot: theBot,
      database,
      flows,
      conversations,
      scheduler,
      alerts: theAlerts,
      botStarted: connecting,
      stop,
      enroll: (enrollment) => enrollPatient(database.db, enrollment),
      async startCheckin(patient, flowId) {
        const current = await findPatient(database.db, patient.orgId, patient.matrixUserId);
        if (!current) throw new Error('not an enrolled patient');
        const roomId = current.roomId ?? (await setPatientRoom(database.db, current.id, await theBot.createDirectRoom(current.matrixUserId)));
        const started = await conversations.startCheckin(patient.id, flowId);
        return { ...started, roomId };
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
