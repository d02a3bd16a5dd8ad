import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { keepPrivate } from './private-files.ts';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Schema = typeof schema;
/** Either backend: the application codes against this one Postgres dialect type. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle: the same query API as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/** Names the server and the low-level reason, never the password in the URL. */
function unavailable(url: string, error: unknown): DatabaseUnavailableError {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const where = parsed ? `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}` : 'the configured server';
  const cause = error as { code?: string; message?: string };
  return new DatabaseUnavailableError(`cannot use Postgres at ${where}: ${cause.code ?? cause.message ?? String(error)}`);
}

/**
 * drizzle sends every query unprepared, and postgres.js then describes each
 * parameterised query in an extra round trip before running it. Asking for
 * prepared statements (postgres.js caches them per connection, as it does for
 * its own tagged queries) halves the round trips of a conversation turn. The
 * proxy also wraps the transaction-scoped clients drizzle gets from `begin`.
 */
function preparing(sql: postgres.Sql): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (query: string, params?: unknown[], options?: { prepare?: boolean }) =>
          target.unsafe(query, params as postgres.ParameterOrJSON<never>[], { ...options, prepare: true });
      }
      if (property === 'begin') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: postgres.Sql) => unknown;
          return (target.begin as (...a: unknown[]) => unknown)(...args, (tx: postgres.Sql) => fn(preparing(tx)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export type DatabaseTarget = { url: string } | { dataDir: string };

/**
 * Opens the database and applies the committed migrations. Real Postgres when a
 * URL is given; otherwise embedded PGlite in `dataDir`, so a practice can run
 * Visite without a database server.
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if ('url' in target) {
    const client = postgres(target.url, { max: 10, onnotice: () => {}, connect_timeout: 10 });
    const db = drizzlePostgres(preparing(client), { schema });
    try {
      await client`select 1`;
    } catch (error) {
      await client.end({ timeout: 1 });
      throw unavailable(target.url, error);
    }
    try {
      await migratePostgres(db, { migrationsFolder: MIGRATIONS_DIR });
    } catch (error) {
      await client.end({ timeout: 1 });
      throw error;
    }
    return {
      db: db as unknown as Db,
      kind: 'postgres',
      ping: async () => void (await db.execute(sql`select 1`)),
      close: () => client.end({ timeout: 5 }),
    };
  }
  ownerOnly(target.dataDir);
  keepPrivate(target.dataDir);
  const client = await PGlite.create(target.dataDir);
  const db = drizzlePglite(client, { schema });
  try {
    await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (error) {
    await client.close();
    throw error;
  }
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    ping: async () => void (await db.execute(sql`select 1`)),
    close: () => client.close(),
  };
}

/**
 * The embedded database holds patient data and the bot's session: its folder
 * is created owner-only (0700), and anything an earlier version left readable
 * is tightened (folders 0700, files 0600). New files stay private too: see
 * db/private-files.ts (PGlite's file system sets every file's mode to 0666
 * itself, whatever the umask).
 */
export function ownerOnly(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tighten = (path: string) => {
    chmodSync(path, 0o700);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) tighten(child);
      else if (entry.isFile()) chmodSync(child, 0o600);
    }
  };
  tighten(dir);
}
