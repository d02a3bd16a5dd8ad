import { describeReescalation, type AlertText } from '../../core/alerts/describe.ts';
import { isLanguage, type Language } from '../../core/language.ts';
import { claimOpenUrgent, cliniciansById, recordStep, stepsTaken, type Escalation } from '../../db/alerts.ts';
import { chainOf, teamOfPatient } from '../../db/care-teams.ts';
import type { Tx } from '../../db/database.ts';
import { enqueue, outboxRow } from '../../db/outbox.ts';
import type { Logger } from '../../core/logging.ts';

/**
 * Urgent alerts nobody took over climb the care team's chain: step k fires
 * `afterMinutes` after the alert, mentions the step's clinicians in the step's
 * room (or the team room), and is stored in alert_steps (once per step).
 */
export async function reescalate(tx: Tx, log: Logger, now: Date): Promise<number> {
  const open = await claimOpenUrgent(tx, 50);
  let raised = 0;
  for (const e of open) {
    const team = await teamOfPatient(tx, e.patientId);
    const done = await stepsTaken(tx, e.id);
    const next = team ? chainOf(team)[done] : undefined;
    // An alert the team's room refused climbs at once: nobody there can have seen it.
    const refused = e.deliveryNote?.startsWith('refused:') || e.deliveryNote === 'undeliverable';
    if (!team?.roomId || !next || (!refused && now.getTime() < e.createdAt.getTime() + next.afterMinutes * 60_000)) continue;
    const posted = await outboxRow(tx, e.outboxId!);
    if (!posted) continue;
    const language: Language = isLanguage(team.language) ? team.language : 'de';
    const mentions = next.clinicianIds?.length ? await cliniciansById(tx, team.orgId, next.clinicianIds) : team.members;
    // The step's own room, else where the alert is now (the fallback room after a refusal); never a room that refused it.
    const roomId = next.roomId ?? (e.deliveryNote === 'undeliverable' ? undefined : posted.roomId);
    if (!roomId) continue;
    const alert = describeReescalation(postedAlert(posted.message, e, language), next.afterMinutes, mentions);
    const [outboxId] = await enqueue(tx, roomId, [{ type: 'alert', alert, ...(roomId === posted.roomId ? { replyTo: posted.id } : {}) }], {
      txnId: `visite-alert-${e.id}-step-${done + 1}`,
    });
    await recordStep(tx, { escalationId: e.id, step: done + 1, at: now, roomId, outboxId: outboxId! });
    log.info('alert re-escalated', { escalationId: e.id, step: done + 1 });
    raised += 1;
  }
  return raised;
}

/** The alert as it was posted; for rows queued before alerts were kept as data, its one-line summary. */
function postedAlert(message: unknown, e: Escalation, language: Language): AlertText {
  const m = message as { type?: string; alert?: AlertText } | null;
  if (m?.type === 'alert' && m.alert) return m.alert;
  return { language, severity: e.severity, head: e.summary ?? e.kind, lines: [], mentions: [] };
}
