import type { Context } from 'hono';
import type { Db } from '../../db/database.ts';
import { auditLog } from '../../db/schema.ts';
import type { ApiEnv } from './env.ts';

export type AuditEntry = typeof auditLog.$inferInsert;
export type AuditOutcome = AuditEntry['outcome'];

/** Writes one audit entry: ids and outcomes only, never names or contents (BDSG §22). */
export async function writeAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values(entry);
}

/** Audit an access by the authenticated caller of this request. */
export async function audit(c: Context<ApiEnv>, action: string, resource: { type: string; id?: string | null }, outcome: AuditOutcome = 'ok'): Promise<void> {
  const principal = c.get('principal');
  await writeAudit(c.get('deps').db, {
    orgId: principal.orgId,
    actorType: principal.kind,
    actorId: principal.id,
    action,
    resourceType: resource.type,
    resourceId: resource.id ?? null,
    outcome,
    ip: c.get('clientIp'),
  });
}
