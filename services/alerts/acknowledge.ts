import { alertNoticeText } from '../../core/alerts/describe.ts';
import { isLanguage, type Language } from '../../core/language.ts';
import { acknowledgeAlert, alertOfPostedEvent } from '../../db/alerts.ts';
import { chainOf, clinicianByMatrixId, teamOfPatient } from '../../db/care-teams.ts';
import type { Tx } from '../../db/database.ts';
import { claimInboundEvent } from '../../db/inbound-events.ts';
import { enqueue } from '../../db/outbox.ts';

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
  await acknowledgeAlert(tx, escalation.id, ack.sender, now);
  const time = now.toLocaleTimeString(language === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
  await notice('acknowledged', { who: person.displayName, time });
  return 'acknowledged';
}
