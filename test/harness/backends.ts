import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { openDatabase, type Database, type Db } from '../../db/database.ts';

/**
 * The two databases Visite runs on. Database-level tests are one contract
 * suite run against both: `describe.each(BACKENDS)('… on %s', (kind) => { const backend = useBackend(kind); … })`.
 * Postgres is the run's fresh database (shared by the files of the run);
 * PGlite is a fresh embedded database in a temporary folder per suite.
 */
export const BACKENDS = ['postgres', 'pglite'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface BackendHandle {
  readonly kind: Backend;
  readonly database: Database;
  readonly db: Db;
  /** Opens another handle on the same database (Postgres only: PGlite has one owner). */
  reopen(): Promise<Database>;
}

export function useBackend(kind: Backend): BackendHandle {
  let database: Database | undefined;
  let dir: string | undefined;
  const target = () => (kind === 'postgres' ? { url: inject('databaseUrl') } : { dataDir: dir! });
  beforeAll(async () => {
    if (kind === 'pglite') dir = mkdtempSync(join(tmpdir(), 'visite-pglite-'));
    database = await openDatabase(target());
  });
  afterAll(async () => {
    await database?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    kind,
    get database() {
      if (!database) throw new Error('the backend is opened in beforeAll');
      return database;
    },
    get db() {
      return this.database.db;
    },
    async reopen() {
      if (kind === 'pglite') throw new Error('PGlite has a single owner');
      return openDatabase(target());
    },
  };
}
