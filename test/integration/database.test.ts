import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MIGRATIONS_DIR, openDatabase, type Database, type DatabaseTarget } from '../../db/database.ts';
import { claimInboundEvent } from '../../db/inbound-events.ts';

/** postgres.js returns rows as an array, PGlite as `{ rows }`. */
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);

const pgliteDir = mkdtempSync(join(tmpdir(), 'visite-pglite-'));
afterAll(() => rmSync(pgliteDir, { recursive: true, force: true }));

/** One contract, run against both backends Visite ships with. */
const backends: Array<[string, () => DatabaseTarget]> = [
  ['postgres', () => ({ url: inject('databaseUrl') })],
  ['pglite', () => ({ dataDir: pgliteDir })],
];

describe.each(backends)('database on %s', (kind, target) => {
  let database: Database;

  it('opens, applies the committed migrations and answers a ping', async () => {
    database = await openDatabase(target());
    expect(database.kind).toBe(kind);
    await expect(database.ping()).resolves.toBeUndefined();
    const tables = await database.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(rowsOf<{ table_name: string }>(tables).map((r) => r.table_name)).toContain('inbound_events');
  });

  it('claims an event exactly once, also under concurrent claims', async () => {
    const event = { eventId: `$e-${kind}-${Date.now()}`, roomId: '!room:localhost', kind: 'greeting' };
    const results = await Promise.all(Array.from({ length: 8 }, () => claimInboundEvent(database.db, event)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await claimInboundEvent(database.db, event)).toBe(false);
  });

  it('re-opens an existing database without re-applying migrations', async () => {
    await database.close();
    database = await openDatabase(target());
    const rows = await database.db.execute<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    // Each committed migration is recorded once, however often the database is opened.
    expect(rowsOf<{ n: number }>(rows)[0]?.n).toBe(committedMigrations());
    await database.close();
  });
});

/** The migrations in db/migrations (drizzle-kit's journal). */
const committedMigrations = () => (JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

describe('database errors', () => {
  it('rejects with the reason when Postgres is not reachable', async () => {
    await expect(openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' })).rejects.toThrow('cannot use Postgres at 127.0.0.1:1/none: ECONNREFUSED');
  });
});
