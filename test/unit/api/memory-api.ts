import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { MIGRATIONS_DIR, type Db } from '../../../db/database.ts';
import { createOrganisation } from '../../../db/organisations.ts';
import { patients, ROLES, type Role } from '../../../db/schema.ts';
import * as schema from '../../../db/schema.ts';
import { createApi } from '../../../server/api/app.ts';
import { createApiKey } from '../../../server/api/auth.ts';
import type { PatientContact } from '../../../server/api/env.ts';
import { createApp } from '../../../server/app.ts';
import { createLogger } from '../../../server/logger.ts';
import { openTestCatalog, SHIPPED, testAuthoring } from '../../harness/catalog.ts';

/**
 * The HTTP app for `app.request()` tests on an in-memory PGlite: no server, no
 * network, no files written. For API behaviour that needs a stubbed Matrix side.
 */
export interface MemoryApi {
  app: ReturnType<typeof createApp>;
  db: Db;
  logs: string[];
  orgId: string;
  keys: Record<Role, string>;
  patientId: string;
  close(): Promise<void>;
}

export async function memoryApi(contact: PatientContact): Promise<MemoryApi> {
  const client = await PGlite.create('memory://');
  const db = drizzle(client, { schema }) as unknown as Db;
  await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_DIR });
  const logs: string[] = [];
  const logger = createLogger('debug', (line) => logs.push(line));
  const flows = await openTestCatalog(db);
  const api = createApi(
    { db, flows, authoring: testAuthoring(db, flows), templates: SHIPPED, logger, verifyToken: null, contact, publicUrl: 'http://visite.test' },
    { maxBodyBytes: 64 * 1024 },
  );
  const app = createApp({ logger, api, readiness: [] });
  const org = await createOrganisation(db, { name: 'Memory' });
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) keys[role] = (await createApiKey(db, org.id, role, [role])).secret;
  const [patient] = await db.insert(patients).values({ orgId: org.id, matrixUserId: '@erika:klinik.de' }).returning();
  return { app, db, logs, orgId: org.id, keys, patientId: patient!.id, close: () => client.close() };
}
