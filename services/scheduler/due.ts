import { decideDue, type QuietHours } from '../../core/scheduling.ts';
import type { Tx } from '../../db/database.ts';
import { claimDue, dueSiblings, markNotStarted, markStarted, postpone, type ClaimedDue, type DueFilter } from '../../db/schedule.ts';
import type { Logger } from '../../core/logging.ts';
import type { Conversations } from '../conversations.ts';
import { startableFlow, type FlowCatalog } from '../flows.ts';
import { emptyResult, sortByPatient, type PassResult } from './result.ts';

export interface DueContext {
  conversations: Conversations;
  flows: FlowCatalog;
  quiet: QuietHours;
  log: Logger;
}

/**
 * Claims one batch of due rows (`FOR UPDATE SKIP LOCKED`) and, in the same
 * transaction, decides each (core/scheduling.ts) and starts, skips, cancels or
 * postpones it. The claimed ids go to `claimed` at once, so a caller whose
 * batch failed (and rolled back) knows which rows to retry one by one.
 */
export async function dueBatch(tx: Tx, ctx: DueContext, now: Date, limit: number, filter: DueFilter, claimed: string[] = []) {
  const result = emptyResult();
  const rows = await claimDue(tx, now, limit, filter);
  claimed.push(...rows.map((r) => r.id));
  if (rows.length === 0) return { claimed: [] as string[], result, started: false };
  const siblings = await dueSiblings(
    tx,
    rows.map((r) => r.enrollmentId),
    now,
  );
  let started = false;
  for (const row of sortByPatient(rows, (a, b) => a.dueAt.getTime() - b.dueAt.getTime())) {
    started = (await handleDue(tx, ctx, row, siblings.get(row.enrollmentId) ?? [], now, result)) || started;
  }
  return { claimed: rows.map((r) => r.id), result, started };
}

async function handleDue(tx: Tx, ctx: DueContext, row: ClaimedDue, siblings: Parameters<typeof decideDue>[1], now: Date, result: PassResult): Promise<boolean> {
  const decision = decideDue(row, siblings, {
    now,
    enrollmentActive: row.enrollmentStatus === 'active',
    monitoring: row.monitoring,
    consent: row.consent,
    hasRoom: row.roomId !== null,
    flowDeployed: (await startableFlow(ctx.flows, row.orgId, row.flowId, row.flowVersion, tx)) !== undefined,
    timeZone: row.timeZone,
    quiet: ctx.quiet,
  });
  switch (decision.action) {
    case 'start': {
      const started = await ctx.conversations.startCheckinInTx(tx, row.patientId, row.flowId, now, {
        enrollmentId: row.enrollmentId,
        version: row.flowVersion,
      });
      await markStarted(tx, row.id, started.checkinId, now);
      result.started += 1;
      result.maxLagMs = Math.max(result.maxLagMs, Date.now() - row.dueAt.getTime());
      ctx.log.debug('scheduled check-in started', { scheduledCheckinId: row.id, checkinId: started.checkinId, day: row.day });
      return true;
    }
    case 'postpone':
      await postpone(tx, row.id, decision.dueAt, decision.remindAt);
      result.postponed += 1;
      ctx.log.debug('scheduled check-in postponed (quiet hours)', { scheduledCheckinId: row.id });
      return false;
    case 'skip':
    case 'cancel':
      await markNotStarted(tx, [row.id], decision.action === 'skip' ? 'skipped' : 'cancelled', decision.reason);
      if (decision.action === 'skip') result.skipped += 1;
      else result.cancelled += 1;
      if (decision.reason === 'no_room' || decision.reason === 'unknown_flow') {
        ctx.log.warn('scheduled check-in skipped', { scheduledCheckinId: row.id, reason: decision.reason });
      } else {
        ctx.log.debug(`scheduled check-in ${decision.action === 'skip' ? 'skipped' : 'cancelled'}`, { scheduledCheckinId: row.id, reason: decision.reason });
      }
      return false;
  }
}
