#!/usr/bin/env node
/**
 * Process entry: validate the environment, start Visite, stop it on SIGTERM or
 * SIGINT and exit 0. A bad configuration prints one line and exits 2.
 */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startVisite } from './visite.ts';

// Deprecation notices from dependencies (util._extend in `request`) are not actionable here.
process.noDeprecation = true;
// Every file Visite writes (embedded database, crypto store) holds patient data or keys: owner-only,
// whatever umask the process was started with.
process.umask(0o077);

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`visite: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);
try {
  const visite = await startVisite(config, logger);
  let stopping = false;
  // The bot connects in the background; a crypto store it may not open (wrong passphrase) ends the process.
  visite.botStarted.catch((error: unknown) => {
    logger.error('start-up failed', {
      error: error instanceof Error ? error.name : typeof error,
      reason: error instanceof Error ? error.message.slice(0, 300) : '',
    });
    void visite.stop().finally(() => process.exit(1));
  });
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    visite.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  // Start-up errors come from our own adapters (database, HTTP bind), not from patient data.
  logger.error('start-up failed', {
    error: error instanceof Error ? error.name : typeof error,
    reason: error instanceof Error ? error.message.slice(0, 300) : '',
  });
  process.exit(1);
}
