import { desc, eq, and, sql } from 'drizzle-orm';
import { alertNoticeText, type AlertText } from '../../core/alerts/describe.ts';
import { isLanguage, type Language } from '../../core/language.ts';
import { acknowledgeAlert, alertOfPostedEvent, type Escalation } from '../../db/alerts.ts';
import { chainOf, clinicianByMatrixId, teamOfPatient } from '../../db/care-teams.ts';
import type { Tx } from '../../db/database.ts';
import { claimInboundEvent } from '../../db/inbound-events.ts';
import { enqueue, outboxRow, replacePending } from '../../db/outbox.ts';
import { outbox } from '../../db/schema.ts';

/** A care-team member took an alert over in the room: a ✅ reaction or an "ok" reply to it. */
export interface RoomAcknowledgement {
  /** The reaction or reply event. */
  eventId: string;
  sender: string;
  /** The alert message (or a re-escalation of it) the event points at. */
  alertEventId: string;
}

export type AckOutcome = 'not-an-alert' | 'duplicate' | 'refused' | 'already' | 'acknowledged';

/**
 * Takes an acknowledgement from a care-team room, in the caller's
 * transaction together with the event-id claim. Team members may take over,
 * and the people the chain called in; everyone else is told so in the room.
 */
export async function acknowledgeInRoom(tx: Tx, roomId: string, ack: RoomAcknowledgement, now: Date): Promise<AckOutcome> {
  const escalation = await alertOfPostedEvent(tx, roomId, ack.alertEventId);
  const team = escalation ? await teamOfPatient(tx, escalation.patientId) : undefined;
  if (!escalation || !team) return 'not-an-alert';
  if (!(await claimInboundEvent(tx, { eventId: ack.eventId, roomId, kind: 'alert-ack' }))) return 'duplicate';
  const language: Language = isLanguage(team.language) ? team.language : 'de';
  const notice = async (key: 'acknowledged' | 'alreadyAcknowledged' | 'notMember', vars: Record<string, string> = {}) =>
    enqueue(tx, roomId, [{ type: 'notice', text: alertNoticeText(language, key, vars), lang: language }]);
  const person = await clinicianByMatrixId(tx, team.orgId, ack.sender);
  const allowed = person && (team.members.some((m) => m.userId === ack.sender) || chainOf(team).some((s) => s.clinicianIds?.includes(person.id)));
  if (!person || !allowed) {
    await notice('notMember');
    return 'refused';
  }
  if (escalation.acknowledgedAt) {
    await notice('alreadyAcknowledged', { who: escalation.acknowledgedBy ?? '' });
    return 'already';
  }
  const row = await acknowledgeAlert(tx, escalation.id, ack.sender, now);
  if (row) await editAcknowledged(tx, row, person.displayName, now);
  return 'acknowledged';
}

/**
 * Someone took an alert over outside the room (web app, API): the same record
 * as a ✅ in the room, and the same edit of the posted alert. Returns the
 * acknowledged alert, or null when it was acknowledged already.
 */
export async function acknowledgeByStaff(tx: Tx, escalationId: string, who: { by: string; displayName: string }, now: Date): Promise<Escalation | null> {
  const row = await acknowledgeAlert(tx, escalationId, who.by, now);
  if (row) await editAcknowledged(tx, row, who.displayName, now);
  return row;
}

/**
 * The alert message in the care-team room is edited (m.replace) to say who
 * took it over and when — wherever the acknowledgement came from — so the
 * room shows the alert's state where the alert is. The edit keeps the alert's
 * latest text (a repeat's count included) and mentions nobody: nobody needs
 * to be called any more. An alert still waiting in the outbox gets the new
 * text before it is sent.
 */
export async function editAcknowledged(tx: Tx, alert: Escalation, displayName: string, now: Date): Promise<number | undefined> {
  if (alert.outboxId === null) return undefined;
  const posted = await outboxRow(tx, alert.outboxId);
  if (!posted || posted.message?.type !== 'alert') return undefined;
  const [latest] = await tx
    .select({ message: outbox.message })
    .from(outbox)
    .where(and(eq(outbox.roomId, posted.roomId), sql`${outbox.message}->>'type' = 'alert'`, sql`(${outbox.message}->>'replaces')::bigint = ${posted.id}`))
    .orderBy(desc(outbox.id))
    .limit(1);
  const current: AlertText = latest?.message?.type === 'alert' ? latest.message.alert : posted.message.alert;
  const language: Language = isLanguage(current.language) ? current.language : 'de';
  const time = now.toLocaleTimeString(language === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
  const edited: AlertText = { ...current, lines: [...current.lines, alertNoticeText(language, 'acknowledged', { who: displayName, time })], mentions: [] };
  if (await replacePending(tx, posted.id, { type: 'alert', alert: edited })) return posted.id;
  const [id] = await enqueue(tx, posted.roomId, [{ type: 'alert', alert: edited, replaces: posted.id }]);
  return id;
}
