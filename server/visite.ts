import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createBot, type Bot } from '../bots/bot.ts';
import { cryptoStoreDir } from '../bots/crypto.ts';
import { createFleet, type Fleet } from '../bots/fleet.ts';
import { limiter } from '../bots/serial.ts';
import { adoptUnownedRooms, ensureEnvironmentAccount, openCredentials, outboxDepthByAccount, recordDevice, type BotAccount } from '../db/bot-accounts.ts';
import { fence, type Lease } from '../db/leases.ts';
import { postgresCryptoStore } from '../db/crypto-store.ts';
import { vocabulary } from '../core/conversation/vocabulary.ts';
import { ensureDefinitions } from '../core/fhir/validate.ts';
import { lexicon as redFlagLexicon } from '../core/redflags/index.ts';
import { isClinicianAnywhere, isClinicianOf } from '../db/care-teams.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { roomsRefusingAlerts } from '../db/outbox.ts';
import { secretBox } from '../db/secrets.ts';
import { adoptRoom, enrollPatient, findPatient, isEnrolledAnywhere, isEnrolledIn, type Enrollment, type Patient } from '../db/patients.ts';
import { startAlerts, type Alerts } from '../services/alerts/dispatcher.ts';
import { deliveryOutcomes } from '../services/alerts/outcome.ts';
import { createCareTeamCommands } from '../services/care-team-commands.ts';
import { createFlowAuthoring } from '../services/flow-authoring.ts';
import { createConversations, type Conversations } from '../services/conversations.ts';
import { DeployedFlowChangedError, openFlowCatalog, type Catalog } from '../services/flows.ts';
import { createGreetings } from '../services/greetings.ts';
import { createPatientRooms } from '../services/patient-rooms.ts';
import { createWake } from '../services/signal.ts';
import { createApi } from './api/app.ts';
import { matrixWhoami } from './bot-accounts.ts';
import { createOidcVerifier } from './api/auth.ts';
import type { PatientContact } from './api/env.ts';
import { createApp } from './app.ts';
import { purgeWebState } from '../db/web-sessions.ts';
import { createWebApp } from './web/app.ts';
import { createOidcClient } from './web/oidc.ts';
import type { Config } from './config.ts';
import { errorBody } from './errors.ts';
import { FlowLoadError, loadFlows } from './flows.ts';
import type { Logger } from './logger.ts';
import { metricsRoutes } from './metrics.ts';
import { startRetention } from './retention.ts';
import { DegradedError } from './routes/health.ts';
import { startScheduler, type Scheduler } from './scheduler.ts';

export interface Visite {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  /** The bot accounts this instance runs (leases, bots/fleet.ts). */
  readonly fleet: Fleet;
  readonly database: Database;
  /** Every organisation's flows: own versions in the database, deployed files, templates. */
  readonly flows: Catalog;
  readonly conversations: Conversations;
  readonly scheduler: Scheduler;
  readonly alerts: Alerts;
  /** Settles once the bot syncs (or Visite is stopped before it could). */
  readonly botStarted: Promise<void>;
  /** Registers a patient (tests and the demo; integrators use the API). */
  enroll(enrollment: Enrollment): Promise<Patient>;
  /** Starts a check-in now, creating the patient's direct room first if needed. */
  startCheckin(patient: Patient, flowId: string): Promise<{ checkinId: string; status: string; roomId: string }>;
  /** Stops everything in reverse order of construction. Safe to call twice. */
  stop(): Promise<void>;
}

type FetchHandler = (request: Request, env: unknown) => Response | Promise<Response>;

/**
 * The composition root: builds each adapter and service once, passes them in,
 * and closes them in reverse. Config → flow files → HTTP listener → database →
 * flow catalog → services → bot → scheduler, retention → HTTP API. The
 * listener binds first (requests wait until the API is built), so the public
 * URL — part of every flow's canonical URL — is known before anything is
 * stored. The bot connects in the background so the HTTP server (and
 * `/readyz`) is up even while the homeserver is not.
 */
export async function startVisite(config: Config, logger: Logger): Promise<Visite> {
  const closers: Array<() => Promise<void>> = [];
  // Requests that arrive while Visite is starting wait for the app; they never see a half-built one.
  let answerWith!: (handler: FetchHandler) => void;
  const built = new Promise<FetchHandler>((resolve) => {
    answerWith = resolve;
  });
  const stop = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.error('shutdown step failed', { error: (error as Error).name }));
    }
  };
  try {
    const flowFiles = config.flowsDir === null ? new Map() : loadFlows(config.flowsDir);
    const templates = config.flowsDir === config.templatesDir ? flowFiles : loadFlows(config.templatesDir);
    logger.info('flows loaded', { deployed: flowFiles.size, templates: templates.size });
    // FHIR definitions are indexed once here, not on a patient's first answer.
    ensureDefinitions();
    // The red-flag word lists compile once (~150 ms): at start, not on a patient's first message.
    redFlagLexicon();

    const server = await listen(async (request, env) => (await built)(request, env), config.http.host, config.http.port);
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const httpUrl = `http://${config.http.host}:${port}`;
    logger.info('http server listening', { url: httpUrl });
    // Links in alerts, API responses and flows' canonical URLs.
    const links = { publicUrl: config.publicUrl ?? httpUrl };

    const database = await openDatabase(config.database);
    closers.push(() => database.close());
    logger.info('database ready', { kind: database.kind });
    const { db } = database;
    const flows = await openFlowCatalog({ db, deployed: flowFiles, links }).catch((error: unknown) => {
      // A changed deployed flow stops the start like a broken one: with the file and line.
      throw error instanceof DeployedFlowChangedError ? new FlowLoadError(error.message) : error;
    });

    const wake = createWake();
    const secrets = secretBox(config.secrets);
    if (!secrets.encrypting) logger.warn('secrets are stored unencrypted: set VISITE_SECRET_KEY or VISITE_CRYPTO_PASSPHRASE');
    const conversations = createConversations({ db, flows, vocabulary: vocabulary(), wake, forms: config.forms });
    const alerts = startAlerts({ db, flows, logger, links, wake });
    closers.push(() => alerts.stop());

    // The environment's account serves every organisation without its own (db/bot-accounts.ts).
    const environmentAccount = await ensureEnvironmentAccount(db, secrets, {
      homeserverUrl: config.homeserverUrl,
      userId: config.bot.userId,
      credentials: {
        ...(config.bot.password ? { password: config.bot.password } : {}),
        ...(config.bot.accessToken ? { accessToken: config.bot.accessToken } : {}),
      },
      displayName: config.bot.displayName,
      allowedInviters: config.allowedInviters,
    });
    await adoptUnownedRooms(db, environmentAccount.id);

    const outcomes = deliveryOutcomes({ logger, onQueued: () => (wake.outgoing.notify(), wake.escalations.notify()) });
    // The fleet and the rooms service need each other only through the RoomOpener port.
    let fleet: Fleet | undefined;
    const rooms = createPatientRooms({
      db,
      opener: {
        createDirectRoom: (patient) => (fleet ? fleet.createDirectRoom(patient) : Promise.reject(new Error('the bot is not built yet'))),
        leaveAndForget: (roomId) => (fleet ? fleet.leaveAndForget(roomId) : Promise.resolve()),
      },
    });
    const careTeamCommands = createCareTeamCommands({ db, flows, conversations, rooms, logger, wake });
    const greetings = createGreetings({ db, wake });
    // At most four send transactions at once in this process, whatever the number of accounts (pool of 10).
    const sendSlots = limiter(4);
    /** One bot per account this instance holds a lease on: the same services, its own identity and rooms. */
    const botFor = (account: BotAccount, lease: Lease, callbacks: { onLeaseLost(): void }): Bot => {
      const credentials = openCredentials(secrets, account);
      const environment = account.orgId === null;
      return createBot({
        homeserverUrl: account.homeserverUrl,
        userId: account.userId,
        ...(credentials.password ? { password: credentials.password } : {}),
        ...(credentials.accessToken ? { accessToken: credentials.accessToken } : {}),
        displayName: account.displayName,
        allowedInviters: account.allowedInviters,
        maxUploadBytes: config.maxUploadBytes,
        ...(config.crypto ? { crypto: config.crypto } : {}),
        cryptoStoreDir: config.cryptoStoreDir,
        // In Postgres, so any instance can continue the account. Embedded PGlite is one process by nature (and one
        // connection: a store write inside a send's transaction would wait for it), so there the store stays a folder.
        ...(database.kind === 'postgres'
          ? {
              cryptoBackend: (deviceId: string) =>
                postgresCryptoStore(db, {
                  accountId: account.id,
                  userId: account.userId,
                  deviceId,
                  fence: (tx) => fence(tx, lease),
                  ...(config.crypto ? { importFromDir: cryptoStoreDir(config.crypto.storeDir, account.userId, deviceId) } : {}),
                }),
            }
          : {}),
        account: { id: account.id, includeUnowned: environment },
        lease,
        sendSlots,
        onLeaseLost: () => callbacks.onLeaseLost(),
        onSession: (deviceId) => recordDevice(db, account.id, deviceId),
        secrets,
        db,
        logger,
        outgoing: wake.outgoing,
        outcomes,
        forms: conversations,
        services: {
          conversations,
          alerts,
          careTeamCommands,
          greetings,
          invites: {
            // An organisation's own account follows its own patients and clinicians only.
            isEnrolledPatient: (userId) => (environment ? isEnrolledAnywhere(db, userId) : isEnrolledIn(db, account.orgId!, userId)),
            isClinician: (userId) => (environment ? isClinicianAnywhere(db, userId) : isClinicianOf(db, account.orgId!, userId)),
            adoptPatientRoom: (userId, roomId) => adoptRoom(db, userId, roomId),
          },
        },
      });
    };
    const theFleet = createFleet({
      db,
      secrets,
      logger,
      instanceId: config.instance.id,
      leaseTtlMs: config.instance.leaseTtlMs,
      roomCreationConcurrency: config.instance.roomCreationConcurrency,
      encrypted: config.crypto !== undefined,
      environmentAccountId: environmentAccount.id,
      accounts: config.instance.accounts,
      botFor,
    });
    fleet = theFleet;
    if (!config.crypto) logger.warn('end-to-end encryption is off: set VISITE_CRYPTO_PASSPHRASE (TI-M rooms are encrypted)');
    logger.info('instance', { instanceId: config.instance.id });
    const connecting = theFleet.start();
    closers.push(async () => {
      await theFleet.stop();
      await connecting.catch(() => {});
    });

    const scheduler = startScheduler({
      db,
      conversations,
      flows,
      logger,
      wake,
      cron: config.schedulerCron,
      runAtStart: config.schedulerCron !== false,
      ensureRoom: (patientId) => rooms.tryEnsure(patientId),
    });
    closers.push(() => scheduler.stop());

    /** Matrix side effects the API asks for. */
    const contact: PatientContact = {
      async welcome(patientId) {
        await rooms.ensure(patientId);
        await conversations.welcome(patientId);
      },
      async startCheckin(patientId, flowId) {
        // Nothing is started that the patient cannot see now: the homeserver must answer first (503 otherwise).
        if (!theFleet.connected) throw new Error('the bot is not connected to the homeserver');
        await theFleet.ping();
        await rooms.ensure(patientId);
        return (await conversations.startCheckin(patientId, flowId)).checkinId;
      },
      forgetRoom: (roomId) => rooms.forget(roomId),
      inspectRoom: (orgId, roomId, clinicians) => theFleet.inspectRoom(orgId, roomId, clinicians),
    };
    const retention = startRetention({ db, contact, logger });
    closers.push(() => retention.stop());
    const apiDeps = {
      db,
      flows,
      authoring: createFlowAuthoring({ db, catalog: flows, templates }),
      templates,
      logger,
      verifyToken: config.oidc ? createOidcVerifier(config.oidc) : null,
      contact,
      secrets,
      whoami: matrixWhoami,
      get publicUrl() {
        return links.publicUrl;
      },
    };
    const api = createApi(apiDeps, { maxBodyBytes: config.maxBodyBytes, maxFlowBytes: config.maxFlowBytes });
    const client = config.web.client;
    const web = createWebApp(apiDeps, {
      ...(client && config.oidc
        ? {
            oidc: {
              client: createOidcClient({
                issuer: config.oidc.issuer,
                clientId: client.clientId,
                ...(client.clientSecret ? { clientSecret: client.clientSecret } : {}),
                scopes: client.scopes,
                ...(config.oidc.jwksUrl ? { jwksUrl: config.oidc.jwksUrl } : {}),
              }),
              get redirectUrl() {
                return client.redirectUrl ?? `${links.publicUrl}/app/auth/callback`;
              },
            },
          }
        : {}),
      idleMs: config.web.idleMs,
      lifetimeMs: config.web.lifetimeMs,
      get secureCookies() {
        return config.web.secureCookies === 'auto' ? links.publicUrl.startsWith('https:') : config.web.secureCookies;
      },
    });
    // Sessions past their lifetime or idle time, and abandoned sign-ins, are removed every ten minutes.
    const purge = setInterval(() => void purgeWebState(db, config.web.idleMs).catch(() => {}), 10 * 60_000);
    purge.unref();
    closers.push(async () => clearInterval(purge));
    const app = createApp({
      logger,
      api,
      web,
      metrics: metricsRoutes({ db, logger, fleet: theFleet }),
      readinessDetails: async () => {
        const depth = await outboxDepthByAccount(db);
        return {
          instanceId: theFleet.instanceId,
          accounts: theFleet.held().map((held) => ({ ...held, outboxDepth: depth.get(held.accountId) ?? 0 })),
        };
      },
      readiness: [
        { name: 'database', check: () => database.ping() },
        { name: 'homeserver', check: () => theFleet.ping() },
        {
          // A care-team room that refused an alert in the last day (and took nothing since) needs an operator.
          name: 'alert-delivery',
          check: async () => {
            const rooms = await roomsRefusingAlerts(db, new Date(Date.now() - 86_400_000));
            if (rooms.length > 0) throw new DegradedError('care-team rooms refuse alerts', rooms);
          },
        },
      ],
    });
    answerWith(app.fetch);

    return {
      httpUrl,
      fleet: theFleet,
      database,
      flows,
      conversations,
      scheduler,
      alerts,
      botStarted: connecting,
      stop,
      enroll: (enrollment) => enrollPatient(db, enrollment),
      async startCheckin(patient, flowId) {
        const current = await findPatient(db, patient.orgId, patient.matrixUserId);
        if (!current) throw new Error('not an enrolled patient');
        const roomId = await rooms.ensure(current.id);
        return { ...(await conversations.startCheckin(current.id, flowId)), roomId };
      },
    };
  } catch (error) {
    answerWith(() => Response.json(errorBody('not_ready', 'Visite could not start'), { status: 503, headers: { 'cache-control': 'no-store' } }));
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
