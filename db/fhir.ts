import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { FhirRecord } from '../core/fhir/records.ts';
import type { Tx } from './database.ts';
import type { Db } from './database.ts';
import { fhirResources } from './schema.ts';

/** Inserts or replaces the records of a check-in (same ids on every turn; versionId counts up). */
export async function storeRecords(tx: Tx, scope: { orgId: string; patientId: string; checkinId: string }, records: FhirRecord[]): Promise<void> {
  for (const r of records) {
    // The resource's own meta (e.g. the ISiK profile it claims) stays; lastUpdated is the store's.
    const resource = { ...r.resource, meta: { ...r.resource.meta, lastUpdated: new Date().toISOString() } };
    await tx
      .insert(fhirResources)
      .values({ resourceType: r.resourceType, id: r.id, ...scope, codes: r.codes, effectiveAt: r.effectiveAt ? new Date(r.effectiveAt) : null, resource })
      .onConflictDoUpdate({
        target: [fhirResources.resourceType, fhirResources.id],
        set: {
          codes: r.codes,
          effectiveAt: r.effectiveAt ? new Date(r.effectiveAt) : null,
          resource,
          versionId: sql`${fhirResources.versionId} + 1`,
          updatedAt: new Date(),
        },
      });
  }
}

/** Writes (or rewrites) one resource outside a check-in's records, e.g. an alert's Flag. */
export async function storeResource(
  tx: Tx | Db,
  scope: { orgId: string; patientId: string; checkinId: string | null },
  resource: { resourceType: string; id?: string },
  effectiveAt: Date | null,
): Promise<void> {
  const row = { ...resource, meta: { lastUpdated: new Date().toISOString() } };
  await tx
    .insert(fhirResources)
    .values({ resourceType: resource.resourceType, id: resource.id!, ...scope, codes: [], effectiveAt, resource: row })
    .onConflictDoUpdate({
      target: [fhirResources.resourceType, fhirResources.id],
      set: { resource: row, versionId: sql`${fhirResources.versionId} + 1`, updatedAt: new Date() },
    });
}

export interface ResourceQuery {
  orgId: string;
  resourceType: 'Observation' | 'QuestionnaireResponse' | 'Flag' | 'Provenance' | 'Patient';
  patientId?: string;
  /** `system|code` or a bare `code` (matches any system). */
  code?: string;
  /** FHIR date prefixes: ge, gt, le, lt, eq (day precision or full instant). */
  dates?: Array<{ prefix: 'ge' | 'gt' | 'le' | 'lt' | 'eq'; from: Date; to: Date }>;
  limit: number;
}

export async function searchResources(db: Db, q: ResourceQuery): Promise<unknown[]> {
  const conditions = [eq(fhirResources.orgId, q.orgId), eq(fhirResources.resourceType, q.resourceType)];
  if (q.patientId) conditions.push(eq(fhirResources.patientId, q.patientId));
  if (q.code) {
    conditions.push(
      q.code.includes('|')
        ? sql`${q.code} = any(${fhirResources.codes})`
        : sql`exists (select 1 from unnest(${fhirResources.codes}) c where split_part(c, '|', 2) = ${q.code})`,
    );
  }
  for (const d of q.dates ?? []) {
    // A date parameter covers a range (e.g. a whole day); the prefixes compare against it.
    if (d.prefix === 'ge') conditions.push(gte(fhirResources.effectiveAt, d.from));
    if (d.prefix === 'gt') conditions.push(gte(fhirResources.effectiveAt, d.to));
    if (d.prefix === 'lt') conditions.push(lt(fhirResources.effectiveAt, d.from));
    if (d.prefix === 'le') conditions.push(lt(fhirResources.effectiveAt, d.to));
    if (d.prefix === 'eq') conditions.push(gte(fhirResources.effectiveAt, d.from), lt(fhirResources.effectiveAt, d.to));
  }
  const rows = await db
    .select({ resource: fhirResources.resource, versionId: fhirResources.versionId })
    .from(fhirResources)
    .where(and(...conditions))
    .orderBy(desc(fhirResources.effectiveAt), fhirResources.id)
    .limit(q.limit);
  return rows.map((r) => ({ ...(r.resource as object), meta: { ...((r.resource as { meta?: object }).meta ?? {}), versionId: String(r.versionId) } }));
}
