import { and, eq, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Context } from 'hono';
import type { Db } from '../../db/database.ts';
import { apiKeys, auditLog, careTeams, checkins, clinicians, enrollments, escalations, patients } from '../../db/schema.ts';
import { ApiError } from '../errors.ts';
import { audit } from './audit.ts';
import type { ApiEnv } from './env.ts';

/**
 * The two patterns every route repeats, written once:
 *
 * - find one object of the caller's organisation, audit the access, and answer
 *   404 when it is missing — an object of another organisation is missing too,
 *   with the same body (OWASP API1);
 * - list the organisation's objects with filters and paging, and audit the list.
 *
 * Check-ins and alerts belong to an organisation through their patient; the
 * helpers join for them, so no route writes the scoping condition itself.
 */

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type Executor = Db | Tx;

/** Tables whose rows carry their organisation (`org_id`). */
type DirectTable = typeof patients | typeof enrollments | typeof careTeams | typeof clinicians | typeof apiKeys;
/** Tables whose rows belong to an organisation through their patient. */
type ViaPatientTable = typeof checkins | typeof escalations;
/** Tables with a UUID `id` that belong to one organisation. */
export type OwnedTable = DirectTable | ViaPatientTable;
/** Tables the organisation lists. */
export type ListedTable = OwnedTable | typeof auditLog;

const VIA_PATIENT: ReadonlySet<unknown> = new Set([checkins, escalations]);

/** The organisation's rows of `table` under `conditions`, e.g. by id. */
function scoped(db: Executor, table: ListedTable, orgId: string, conditions: Array<SQL | undefined>) {
  if (VIA_PATIENT.has(table)) {
    const t = table as ViaPatientTable;
    return db
      .select({ row: t })
      .from(t)
      .innerJoin(patients, eq(patients.id, t.patientId))
      .where(and(eq(patients.orgId, orgId), ...conditions))
      .$dynamic();
  }
  const t = table as typeof patients;
  return db
    .select({ row: t })
    .from(t)
    .where(and(eq(t.orgId, orgId), ...conditions))
    .$dynamic();
}

/**
 * The condition "this row of a table with `org_id` is the organisation's" (and has this id), for
 * the updates and deletes that cannot go through `findOwned`.
 */
export function owned(table: DirectTable, orgId: string, id?: string): SQL {
  const t = table as typeof patients;
  return and(eq(t.orgId, orgId), id === undefined ? undefined : eq(t.id, id))!;
}

/** One object of the organisation, or undefined — without auditing. `lock`: `for update` (in a transaction). */
export async function selectOwned<T extends OwnedTable>(
  db: Executor,
  table: T,
  orgId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<T['$inferSelect'] | undefined> {
  const query = scoped(db, table, orgId, [eq((table as typeof patients).id, id)]);
  const [found] = await (options.lock ? query.for('update', VIA_PATIENT.has(table) ? { of: table as ViaPatientTable } : {}) : query);
  return found?.row as T['$inferSelect'] | undefined;
}

export interface AuditOptions {
  /** The audit action, e.g. `patient.read`; without it nothing is audited. */
  action?: string;
  /** The resource type in the audit entry, e.g. `Patient`. */
  type?: string;
  /** Also audit when the object was found (default); false: only the `not_found` outcome, the caller audits the rest. */
  auditFound?: boolean;
}

/**
 * The end of "look it up in the organisation": audit the outcome and answer
 * 404 `notFound` when there is no row. Returns the row.
 */
export async function ensureFound<R>(
  c: Context<ApiEnv>,
  row: R | null | undefined | false,
  options: AuditOptions & { id: string | null; notFound: string },
): Promise<R> {
  const found = row !== null && row !== undefined && row !== false;
  if (options.action && (!found || options.auditFound !== false)) {
    await audit(c, options.action, { type: options.type ?? 'unknown', id: options.id }, found ? 'ok' : 'not_found');
  }
  if (!found) throw new ApiError('not_found', options.notFound);
  return row;
}

/** One object of the caller's organisation; audited (with `action`); 404 `notFound` when missing or another organisation's. */
export async function findOwned<T extends OwnedTable>(
  c: Context<ApiEnv>,
  options: AuditOptions & { table: T; id: string; notFound: string; db?: Executor; lock?: boolean },
): Promise<T['$inferSelect']> {
  const row = await selectOwned(options.db ?? c.get('deps').db, options.table, c.get('principal').orgId, options.id, { lock: options.lock ?? false });
  return ensureFound(c, row, options);
}

export interface ListOptions<T extends ListedTable> {
  table: T;
  /** Filters; `undefined` entries are skipped, so optional query parameters read naturally. */
  where?: Array<SQL | undefined>;
  orderBy: Array<AnyPgColumn | SQL>;
  limit?: number;
  offset?: number;
  /** Audit the list as `action` on resource `type` (optionally naming a filtering id, e.g. the patient). */
  action?: string;
  type?: string;
  auditId?: string | null;
}

/** The caller's organisation's rows of `table`, filtered, ordered and paged; audited with `action`. */
export async function listOwned<T extends ListedTable>(c: Context<ApiEnv>, options: ListOptions<T>): Promise<Array<T['$inferSelect']>> {
  let query = scoped(c.get('deps').db, options.table, c.get('principal').orgId, options.where ?? []).orderBy(...options.orderBy);
  if (options.limit !== undefined) query = query.limit(options.limit);
  if (options.offset !== undefined) query = query.offset(options.offset);
  const rows = await query;
  if (options.action) await audit(c, options.action, { type: options.type ?? 'unknown', id: options.auditId ?? null });
  return rows.map((r) => r.row as T['$inferSelect']);
}
