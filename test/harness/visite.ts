import { afterAll, beforeAll, inject, onTestFinished } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { E2eeTestClient } from './e2ee-test-client.ts';
import { openDatabase, type Database } from '../../db/database.ts';
import { randomBytes } from 'node:crypto';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger, type Logger } from '../../server/logger.ts';
import { startVisite, type Visite } from '../../server/visite.ts';
import { TestClient } from './client.ts';

/** Patients and clinicians are end-to-end encrypting clients (matrix-js-sdk) unless VISITE_TEST_E2EE=off. */
export const E2EE_CLIENTS = process.env['VISITE_TEST_E2EE'] !== 'off';
const e2eeClients: E2eeTestClient[] = [];

/** Stops the matrix-js-sdk clients newUser started outside a test (call in afterAll). */
export async function stopE2eeClients(): Promise<void> {
  await Promise.all(e2eeClients.splice(0).map((c) => c.stop()));
}

/**
 * A fresh Matrix user on the run's Synapse, with an independent client for it:
 * by default matrix-js-sdk with its own Rust crypto, so rooms are encrypted as
 * on the TI-Messenger; `{ e2ee: false }` gives the raw client-server client.
 */
export async function newUser(prefix: string, options: { e2ee?: boolean } = {}): Promise<{ user: RegisteredUser; client: TestClient }> {
  const homeserver = inject('homeserver');
  const user = await registerUser(homeserver, `${prefix}-${randomBytes(4).toString('hex')}`);
  if (options.e2ee ?? E2EE_CLIENTS) {
    const client = await E2eeTestClient.start({ baseUrl: homeserver.url, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
    e2eeClients.push(client);
    try {
      // A syncing client per user adds up over a file: stop each with its test.
      onTestFinished(() => client.stop());
    } catch {
      // created outside a test: stopped by stopE2eeClients
    }
    return { user, client };
  }
  return { user, client: new TestClient(homeserver.url, user.userId, user.accessToken) };
}

/** One crypto store folder per test file: a restarted bot finds its store again. */
const cryptoBase = mkdtempSync(join(tmpdir(), 'visite-crypto-'));

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
    VISITE_CRYPTO_PASSPHRASE: 'test crypto passphrase',
    VISITE_CRYPTO_STORE_DIR: cryptoBase,
    VISITE_UNDECRYPTABLE_WAIT_SECONDS: '5',
    // Tests drive the scheduler with runOnce(now): a cron pass would start other tests' check-ins.
    VISITE_SCHEDULER_CRON: 'off',
    // The run's database is shared by every test file: organisations' bot accounts of other tests are not ours to run.
    VISITE_BOT_ACCOUNTS: 'environment',
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
    await stopE2eeClients();
  });
  return suite;
}
