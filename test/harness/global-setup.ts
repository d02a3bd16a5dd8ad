import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startSynapse } from '../../scripts/synapse.ts';
import { createFreshDatabase } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    homeserver: { url: string; sharedSecret: string; serverName: string };
    databaseUrl: string;
  }
}

/**
 * Once per run: a real Synapse on loopback and a fresh real Postgres database.
 * Failures say why (pip, Synapse log tail, Postgres error) instead of timing out.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = join(process.cwd(), 'var', `test-synapse-${process.pid}`);
  const synapse = await startSynapse({ dir, log: (line) => console.log(`[synapse] ${line}`) });
  let database: Awaited<ReturnType<typeof createFreshDatabase>>;
  try {
    database = await createFreshDatabase();
  } catch (error) {
    await synapse.stop();
    throw error;
  }
  project.provide('homeserver', { url: synapse.url, sharedSecret: synapse.sharedSecret, serverName: synapse.serverName });
  project.provide('databaseUrl', database.url);
  return async () => {
    await database.drop();
    await synapse.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
