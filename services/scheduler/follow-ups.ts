import { translator } from '../../core/i18n.ts';
import { isLanguage, isRightToLeft } from '../../core/language.ts';
import type { Tx } from '../../db/database.ts';
import { enqueue } from '../../db/outbox.ts';
import { claimExpiries, claimReminders, expireCheckin, markExpiryChecked, markReminderChecked, openCheckinContact } from '../../db/schedule.ts';
import type { Logger } from '../../core/logging.ts';
import { sortByPatient } from './result.ts';

/** At `remind_at`: one reminder for a check-in that is still open. Returns rows claimed and reminders queued. */
export async function remindBatch(tx: Tx, log: Logger, now: Date, limit: number): Promise<{ claimed: number; sent: number }> {
  const rows = sortByPatient(await claimReminders(tx, now, limit));
  let sent = 0;
  for (const row of rows) {
    const contact = await openCheckinContact(tx, row);
    if (contact) {
      const lang = isLanguage(contact.language) ? contact.language : 'de';
      await enqueue(tx, contact.roomId, [
        { type: 'bot', message: { kind: 'question', text: translator(lang)('reminder.text'), lang, rtl: isRightToLeft(lang) } },
      ]);
      sent += 1;
      log.debug('reminder queued', { scheduledCheckinId: row.id, checkinId: row.checkinId });
    }
    await markReminderChecked(tx, row.id, now, contact !== undefined);
  }
  return { claimed: rows.length, sent };
}

/** At `expires_at`: an open check-in ends as `expired` with a `no_response` escalation. Returns rows claimed and check-ins expired. */
export async function expireBatch(tx: Tx, log: Logger, now: Date, limit: number): Promise<{ claimed: number; expired: number }> {
  const rows = sortByPatient(await claimExpiries(tx, now, limit));
  let expired = 0;
  for (const row of rows) {
    if (await expireCheckin(tx, row, now)) {
      expired += 1;
      log.info('check-in expired without response', { scheduledCheckinId: row.id, checkinId: row.checkinId });
    }
    await markExpiryChecked(tx, row.id, now);
  }
  return { claimed: rows.length, expired };
}
