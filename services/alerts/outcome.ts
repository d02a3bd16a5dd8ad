import type { AlertText } from '../../core/alerts/describe.ts';
import { translator } from '../../core/i18n.ts';
import { isLanguage, isRightToLeft } from '../../core/language.ts';
import type { Logger } from '../../core/logging.ts';
import type { Outgoing } from '../../core/outgoing.ts';
import { alertsOfMessage, fallbackRoomOf, markAccepted, rerouteAlert, type Escalation } from '../../db/alerts.ts';
import { patientById } from '../../db/conversations.ts';
import type { Tx } from '../../db/database.ts';
import { enqueue } from '../../db/outbox.ts';

/**
 * What happens when the homeserver accepted or refused for good an outbox
 * message, inside the sender's transaction: an alert is delivered only when
 * accepted, and only then is a patient who raised it told that the team has
 * it. An alert a care-team room refuses (the bot was removed, the room is gone)
 * goes to the organisation's fallback room and climbs the chain at once; with
 * nowhere left to go it is undeliverable, the operator sees it (log, metric,
 * /readyz) and the patient is told to call 112 or the practice.
 */
export interface DeliveryOutcomes {
  accepted(tx: Tx, message: { id: number; roomId: string; message: Outgoing | null }, eventId: string, now: Date): Promise<void>;
  refused(tx: Tx, message: { id: number; roomId: string; message: Outgoing | null }, errcode: string, now: Date): Promise<void>;
}

/** Only what a patient raised themselves gets an answer about its delivery. */
const toldToPatient = (e: Escalation) => e.kind === 'red_flag' && e.severity === 'urgent';

async function tellPatient(tx: Tx, e: Escalation, key: 'redflag.teamNotified' | 'redflag.teamUnreachable', now: Date): Promise<void> {
  const patient = await patientById(tx, e.patientId);
  if (!patient?.roomId || patient.monitoring === 'stopped') return;
  const lang = isLanguage(patient.language) ? patient.language : 'de';
  const time = now.toLocaleTimeString(lang === 'en' ? 'en-GB' : lang, { hour: '2-digit', minute: '2-digit', timeZone: patient.timeZone });
  await enqueue(tx, patient.roomId, [{ type: 'bot', message: { kind: 'notice', text: translator(lang)(key, { time }), lang, rtl: isRightToLeft(lang) } }]);
}

export function deliveryOutcomes(options: { logger: Logger; onQueued: () => void }): DeliveryOutcomes {
  const log = options.logger.child({ component: 'alert-delivery' });
  return {
    async accepted(tx, row, eventId, now) {
      if (row.message?.type !== 'alert') return;
      const delivered = await markAccepted(tx, row.id, eventId, now);
      let told = false;
      for (const e of delivered) {
        if (e.dedupeOf === null && toldToPatient(e)) {
          await tellPatient(tx, e, 'redflag.teamNotified', now);
          told = true;
        }
      }
      if (told) options.onQueued();
    },

    async refused(tx, row, errcode, now) {
      if (row.message?.type !== 'alert') return;
      for (const e of await alertsOfMessage(tx, row.id)) {
        if (e.acknowledgedAt) continue;
        const fallback = await fallbackRoomOf(tx, e.patientId);
        if (fallback && fallback !== row.roomId) {
          const alert: AlertText = {
            ...row.message.alert,
            lines: [...row.message.alert.lines, translator(row.message.alert.language)('rerouted', { ns: 'alerts', code: errcode })],
          };
          const [outboxId] = await enqueue(tx, fallback, [{ type: 'alert', alert }], { txnId: `visite-alert-${e.id}-fallback-${row.id}` });
          await rerouteAlert(tx, e.id, { outboxId: outboxId!, note: `refused:${errcode}` });
          log.warn('alert refused by the care-team room; sent to the fallback room', {
            escalationId: e.id,
            roomId: row.roomId,
            fallbackRoomId: fallback,
            errcode,
          });
        } else {
          await rerouteAlert(tx, e.id, { outboxId: null, note: 'undeliverable' });
          log.error('alert undeliverable: the care-team room refused it and no fallback room is left', { escalationId: e.id, roomId: row.roomId, errcode });
          if (toldToPatient(e)) await tellPatient(tx, e, 'redflag.teamUnreachable', now);
        }
      }
      options.onQueued();
    },
  };
}
