import { afterAll, beforeAll, inject } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { randomBytes } from 'node:crypto';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger, type Logger } from '../../server/logger.ts';
import { startVisite, type Visite } from '../../server/visite.ts';
import { TestClient } from './client.ts';

/** A fresh Matrix user on the run's Synapse, with an independent client for it. */
export async function newUser(prefix: string): Promise<{ user: RegisteredUser; client: TestClient }> {
  const homeserver = inject('homeserver');
  const user = await registerUser(homeserver, `${prefix}-${randomBytes(4).toString('hex')}`);
  return { user, client: new TestClient(homeserver.url, user.userId, user.accessToken) };
}

export interface RunningVisite {
  visite: Visite;
  botUser: RegisteredUser;
  logs: string[];
}

/**
 * Visite in this process with its real adapters: the run's Postgres database
 * and Synapse, a fresh bot account. Captured log lines let tests check privacy.
 */
export async function startTestVisite(env: Record<string, string> = {}, botUser?: RegisteredUser): Promise<RunningVisite> {
  const homeserver = inject('homeserver');
  const bot = botUser ?? (await registerUser(homeserver, `visite-${randomBytes(4).toString('hex')}`));
  const config = loadConfig({
    VISITE_HOMESERVER_URL: homeserver.url,
    VISITE_BOT_USER_ID: bot.userId,
    VISITE_BOT_PASSWORD: bot.password,
    VISITE_ALLOWED_INVITERS: `@*:${homeserver.serverName}`,
    DATABASE_URL: inject('databaseUrl'),
    VISITE_HTTP_PORT: '0',
    VISITE_LOG_LEVEL: 'debug',
    // Tests drive the scheduler with runOnce(now): a cron pass would start other tests' check-ins.
    VISITE_SCHEDULER_CRON: 'off',
    ...env,
  });
  const logs: string[] = [];
  const logger: Logger = createLogger('debug', (line) => logs.push(line));
  const visite = await startVisite(config, logger);
  return { visite, botUser: bot, logs };
}

/**
 * The common frame of an end-to-end test file: the test's own database
 * connection (it outlives restarts of Visite) and one running Visite with a
 * fresh bot account, both closed after the file.
 */
export function visiteSuite(env: Record<string, string> = {}): { running: RunningVisite; database: Database } {
  const suite = {} as { running: RunningVisite; database: Database };
  beforeAll(async () => {
    suite.database = await openDatabase({ url: inject('databaseUrl') });
    suite.running = await startTestVisite(env);
    await suite.running.visite.botStarted;
  });
  afterAll(async () => {
    await suite.running?.visite.stop();
    await suite.database?.close();
  });
  return suite;
}
