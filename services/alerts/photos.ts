import { claimUnforwardedPhotos, firstAlertOfCheckin, markPhotoForwarded } from '../../db/alerts.ts';
import type { Tx } from '../../db/database.ts';
import { enqueue } from '../../db/outbox.ts';

/**
 * A photo the patient sent in a check-in that raised an alert follows that
 * alert into the care-team room (as a reply to it), once. Photos of the last
 * day are considered; those of check-ins without alerts stay with the record.
 */
export async function forwardPhotos(tx: Tx, now: Date): Promise<number> {
  const waiting = await claimUnforwardedPhotos(tx, new Date(now.getTime() - 86_400_000), 20);
  let forwarded = 0;
  for (const photo of waiting) {
    const alert = await firstAlertOfCheckin(tx, photo.checkinId!);
    if (!alert) continue;
    await enqueue(tx, alert.roomId, [
      {
        type: 'photo',
        url: photo.mxcUrl,
        contentType: photo.contentType,
        size: photo.size,
        caption: `#${alert.patientId.slice(0, 8)}`,
        replyTo: alert.outboxId,
      },
    ]);
    await markPhotoForwarded(tx, photo.id, now);
    forwarded += 1;
  }
  return forwarded;
}
