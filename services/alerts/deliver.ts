import { alertSummary, describeAlert, type EscalationKind } from '../../core/alerts/describe.ts';
import type { Flow } from '../../core/flow/model.ts';
import { isLanguage, type Language } from '../../core/language.ts';
import { claimUndelivered, markQueued, markUndeliverable, openRepeatOf, recentValues, writeAlertFlag, type Escalation } from '../../db/alerts.ts';
import { teamOfPatient, type CareTeam } from '../../db/care-teams.ts';
import { checkinById, patientById, type PatientRow } from '../../db/conversations.ts';
import type { Tx } from '../../db/database.ts';
import { enqueue, outboxRow, replacePending } from '../../db/outbox.ts';
import type { Logger } from '../../core/logging.ts';
import { withTeamThresholds, type FlowCatalog } from '../flows.ts';

export interface DeliveryContext {
  flows: FlowCatalog;
  /** Base URL for the record link in alerts (read when an alert is written). */
  links: { readonly publicUrl: string };
  /** A repeat of an open alert within this window edits that alert instead of posting anew. */
  dedupeWindowMs: number;
  log: Logger;
}

/**
 * Escalations → alerts in the responsible care team's room, as outbox data in
 * the same transaction (exactly once across instances: rows are claimed with
 * FOR UPDATE SKIP LOCKED). A repeat of an open alert within the window updates
 * the posted alert instead of posting again (BRIEF §8, alert fatigue).
 */
export async function deliverEscalations(tx: Tx, ctx: DeliveryContext, now: Date): Promise<number> {
  const due = await claimUndelivered(tx, 20);
  for (const e of due) {
    const patient = await patientById(tx, e.patientId);
    const team = patient ? await teamOfPatient(tx, patient.id) : undefined;
    if (!patient || !team?.roomId) {
      await markUndeliverable(tx, e.id, 'no_care_team');
      ctx.log.warn('escalation without a care-team room', { escalationId: e.id });
      continue;
    }
    await deliverOne(tx, ctx, e, patient, { ...team, roomId: team.roomId }, now);
  }
  return due.length;
}

async function deliverOne(tx: Tx, ctx: DeliveryContext, e: Escalation, patient: PatientRow, team: CareTeam & { roomId: string }, now: Date): Promise<void> {
  const checkin = e.checkinId ? await checkinById(tx, e.checkinId) : undefined;
  const asked = checkin
    ? await ctx.flows.find(patient.orgId, checkin.flowId, { version: checkin.flowVersion, versionId: checkin.flowVersionId }, tx)
    : undefined;
  // The team's own thresholds are the ones to show.
  const flow: Flow | undefined = asked ? withTeamThresholds(asked, team.thresholds) : undefined;
  const itemId = (e.details as { itemId?: unknown }).itemId;
  const repeat = await openRepeatOf(tx, e, new Date(now.getTime() - ctx.dedupeWindowMs));
  const alert = describeAlert({
    kind: e.kind as EscalationKind,
    severity: e.severity,
    details: { ...(e.details as Record<string, unknown>), ruleId: e.ruleId },
    patient: { id: patient.id, displayName: patient.displayName },
    flow,
    ...(checkin && typeof itemId === 'string'
      ? { recent: await recentValues(tx, { patientId: patient.id, flowId: checkin.flowId, questionId: itemId, checkinId: checkin.id }) }
      : {}),
    mentions: team.members,
    count: repeat ? repeat.repeats + 2 : 1,
    at: e.createdAt,
    recordUrl: `${ctx.links.publicUrl}/fhir/R4/Patient/${patient.id}/$everything`,
    language: isLanguage(team.language) ? team.language : ('de' as Language),
  });
  const summary = alertSummary(alert);
  if (repeat?.first.outboxId) {
    const posted = await outboxRow(tx, repeat.first.outboxId);
    // Not sent yet: the waiting message gets the new text. Sent: an edit of it follows (the repeat is
    // delivered when that edit is accepted).
    let outboxId = repeat.first.outboxId;
    if (!posted || !(await replacePending(tx, posted.id, { type: 'alert', alert }))) {
      [outboxId] = (await enqueue(tx, posted?.roomId ?? team.roomId, [{ type: 'alert', alert, replaces: repeat.first.outboxId }])) as [number];
    }
    await markQueued(tx, e.id, { at: now, outboxId, summary, dedupeOf: repeat.first.id });
    return;
  }
  const [outboxId] = await enqueue(tx, team.roomId, [{ type: 'alert', alert }], { txnId: `visite-alert-${e.id}` });
  await writeAlertFlag(tx, await markQueued(tx, e.id, { at: now, outboxId: outboxId!, summary }));
}
