import { and, asc, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db, Tx } from './database.ts';
import { checkins, flows, flowVersions } from './schema.ts';

/**
 * The flow catalog's tables: `flows` (one per organisation and flow id, or
 * deployed) and `flow_versions`. Released versions (published or retired)
 * never change; queries here only ever insert them or move their status on.
 */
export type FlowRow = typeof flows.$inferSelect;
export type FlowVersionRow = typeof flowVersions.$inferSelect;
type Executor = Db | Tx;

export const RELEASED = ['published', 'retired'] as const;
export const DRAFTING = ['draft', 'in_review'] as const;

/** Organisation `orgId`'s flow, or the deployed one (`orgId` null). */
export async function flowRow(ex: Executor, orgId: string | null, flowId: string, options: { lock?: boolean } = {}): Promise<FlowRow | undefined> {
  const query = ex
    .select()
    .from(flows)
    .where(and(orgId === null ? isNull(flows.orgId) : eq(flows.orgId, orgId), eq(flows.flowId, flowId)));
  const [row] = await (options.lock ? query.for('update') : query);
  return row;
}

/** The flow's row, created on first use (concurrent creators get the same row). */
export async function ensureFlowRow(ex: Executor, orgId: string | null, flowId: string): Promise<FlowRow> {
  await ex.insert(flows).values({ orgId, flowId }).onConflictDoNothing();
  const row = await flowRow(ex, orgId, flowId);
  if (!row) throw new Error(`flow row ${flowId} vanished`);
  return row;
}

/**
 * Records a deployed flow file's version (published, by the deployment). An
 * existing row of that version is returned as it is: the caller compares it,
 * because a version never changes once published.
 */
export async function deployVersion(db: Db, input: { flowId: string; version: string; source: string; file: string }): Promise<FlowVersionRow> {
  const flow = await ensureFlowRow(db, null, input.flowId);
  const now = new Date();
  await db
    .insert(flowVersions)
    .values({
      flowRef: flow.id,
      orgId: null,
      flowId: input.flowId,
      version: input.version,
      status: 'published',
      source: input.source,
      file: input.file,
      publishedBy: 'deployment',
      publishedAt: now,
    })
    .onConflictDoNothing();
  const [row] = await db
    .select()
    .from(flowVersions)
    .where(and(eq(flowVersions.flowRef, flow.id), eq(flowVersions.version, input.version), inArray(flowVersions.status, [...RELEASED])));
  return row!;
}

export async function versionById(ex: Executor, id: string): Promise<FlowVersionRow | undefined> {
  const [row] = await ex.select().from(flowVersions).where(eq(flowVersions.id, id));
  return row;
}

/** Who may see a version: its organisation, or everyone for a deployed one. */
const visibleTo = (orgId: string) => or(eq(flowVersions.orgId, orgId), isNull(flowVersions.orgId));

/** A released version by its version string: the organisation's own before a deployed one. */
export async function releasedVersion(ex: Executor, query: { orgId: string; flowId: string; version: string }): Promise<FlowVersionRow | undefined> {
  const [row] = await ex
    .select()
    .from(flowVersions)
    .where(
      and(visibleTo(query.orgId), eq(flowVersions.flowId, query.flowId), eq(flowVersions.version, query.version), inArray(flowVersions.status, [...RELEASED])),
    )
    .orderBy(sql`${flowVersions.orgId} is null`)
    .limit(1);
  return row;
}

/**
 * The organisation's own newest released version of a flow: the latest
 * published one, else (all retired) a retired one, else none — then the
 * organisation has no flow of its own with this id.
 */
export async function newestOwnRelease(ex: Executor, orgId: string, flowId: string): Promise<FlowVersionRow | undefined> {
  const [row] = await ex
    .select()
    .from(flowVersions)
    .where(and(eq(flowVersions.orgId, orgId), eq(flowVersions.flowId, flowId), inArray(flowVersions.status, [...RELEASED])))
    .orderBy(sql`${flowVersions.status} = 'published' desc`, desc(flowVersions.publishedAt))
    .limit(1);
  return row;
}

/** A deployed flow's released version. */
export async function deployedVersion(ex: Executor, flowId: string, version: string): Promise<FlowVersionRow | undefined> {
  const [row] = await ex
    .select()
    .from(flowVersions)
    .where(and(isNull(flowVersions.orgId), eq(flowVersions.flowId, flowId), eq(flowVersions.version, version), inArray(flowVersions.status, [...RELEASED])));
  return row;
}

/** Every version the organisation holds (drafts included), or of one flow; oldest first. */
export async function ownVersions(ex: Executor, orgId: string, flowId?: string): Promise<FlowVersionRow[]> {
  return ex
    .select()
    .from(flowVersions)
    .where(and(eq(flowVersions.orgId, orgId), flowId === undefined ? undefined : eq(flowVersions.flowId, flowId)))
    .orderBy(asc(flowVersions.flowId), asc(flowVersions.createdAt));
}

/** Every deployed version, oldest first. */
export async function deployedVersions(ex: Executor, flowId?: string): Promise<FlowVersionRow[]> {
  return ex
    .select()
    .from(flowVersions)
    .where(and(isNull(flowVersions.orgId), flowId === undefined ? undefined : eq(flowVersions.flowId, flowId)))
    .orderBy(asc(flowVersions.flowId), asc(flowVersions.createdAt));
}

/** The flow's draft (in review or not). `lock`: `for update`, in a transaction. */
export async function draftOf(ex: Executor, orgId: string, flowId: string, options: { lock?: boolean } = {}): Promise<FlowVersionRow | undefined> {
  const query = ex
    .select()
    .from(flowVersions)
    .where(and(eq(flowVersions.orgId, orgId), eq(flowVersions.flowId, flowId), inArray(flowVersions.status, [...DRAFTING])));
  const [row] = await (options.lock ? query.for('update') : query);
  return row;
}

/** The organisation's released version with this version string (not a deployed one). */
export async function ownRelease(
  ex: Executor,
  orgId: string,
  flowId: string,
  version: string,
  options: { lock?: boolean } = {},
): Promise<FlowVersionRow | undefined> {
  const query = ex
    .select()
    .from(flowVersions)
    .where(and(eq(flowVersions.orgId, orgId), eq(flowVersions.flowId, flowId), eq(flowVersions.version, version), inArray(flowVersions.status, [...RELEASED])));
  const [row] = await (options.lock ? query.for('update') : query);
  return row;
}

/** Check-ins still open on a version (pending or active). */
export async function openCheckinsOn(ex: Executor, versionId: string): Promise<number> {
  const [row] = await ex
    .select({ n: sql<number>`count(*)::int` })
    .from(checkins)
    .where(and(eq(checkins.flowVersionId, versionId), inArray(checkins.status, ['pending', 'active'])));
  return row?.n ?? 0;
}

export async function insertVersion(tx: Tx, values: typeof flowVersions.$inferInsert): Promise<FlowVersionRow> {
  const [row] = await tx.insert(flowVersions).values(values).returning();
  return row!;
}

export async function updateVersion(tx: Tx, id: string, values: Partial<typeof flowVersions.$inferInsert>): Promise<FlowVersionRow> {
  const [row] = await tx.update(flowVersions).set(values).where(eq(flowVersions.id, id)).returning();
  return row!;
}

export async function deleteVersion(tx: Tx, id: string): Promise<void> {
  await tx.delete(flowVersions).where(eq(flowVersions.id, id));
}

/** A flow version visible to the organisation (its own or deployed) by its id, released only: what FHIR serves. */
export async function releasedById(ex: Executor, orgId: string, id: string): Promise<FlowVersionRow | undefined> {
  const [row] = await ex
    .select()
    .from(flowVersions)
    .where(and(eq(flowVersions.id, id), visibleTo(orgId), inArray(flowVersions.status, [...RELEASED])));
  return row;
}

/** A flow (the organisation's or deployed) by its id. */
export async function flowById(ex: Executor, orgId: string, id: string): Promise<FlowRow | undefined> {
  const [row] = await ex
    .select()
    .from(flows)
    .where(and(eq(flows.id, id), or(eq(flows.orgId, orgId), isNull(flows.orgId))));
  return row;
}
