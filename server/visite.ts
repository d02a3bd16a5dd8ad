import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createBot, type Bot } from '../bots/bot.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Visite {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  readonly bot: Bot;
  /** Settles once the bot syncs (or Visite is stopped before it could). */
  readonly botStarted: Promise<void>;
  readonly database: Database;
  /** Stops everything in reverse order of construction. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The composition root: config → database → bot → HTTP server. Each adapter is
 * built once here and closed in reverse. The bot connects in the background so
 * the HTTP server (and `/readyz`) is up even while the homeserver is not.
 */
export async function startVisite(config: Config, logger: Logger): Promise<Visite> {
  const closers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.error('shutdown step failed', { error: (error as Error).name }));
    }
  };
  try {
    const database = await openDatabase(config.database);
    closers.push(() => database.close());
    logger.info('database ready', { kind: database.kind });

    const bot = createBot({
      homeserverUrl: config.homeserverUrl,
      userId: config.bot.userId,
      ...(config.bot.password ? { password: config.bot.password } : {}),
      ...(config.bot.accessToken ? { accessToken: config.bot.accessToken } : {}),
      displayName: config.bot.displayName,
      allowedInviters: config.allowedInviters,
      db: database.db,
      logger,
    });
    const connecting = bot.start();
    closers.push(async () => {
      await bot.stop();
      await connecting;
    });

    const app = createApp({
      logger,
      readiness: [
        { name: 'database', check: () => database.ping() },
        { name: 'homeserver', check: () => bot.ping() },
      ],
    });
    const server = await listen(app.fetch, config.http.host, config.http.port);
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const httpUrl = `http://${config.http.host}:${port}`;
    logger.info('http server listening', { url: httpUrl });

    return { httpUrl, bot, botStarted: connecting, database, stop };
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
