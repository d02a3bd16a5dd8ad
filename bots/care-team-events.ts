import { normalizeEmoji, normalizeWords } from '../core/engine/normalize.ts';

/**
 * Care-team room events that take an alert over: a ✅ (or 👍) reaction to it,
 * or a reply saying "ok" (or `!ack`). Pure reading of Matrix content; what an
 * acknowledgement means is the alert service's business.
 */
const ACK_EMOJI: ReadonlySet<string> = new Set(['✅', '✔', '☑', '👍']);
const ACK_WORDS: ReadonlySet<string> = new Set([
  'ok',
  'okay',
  'ack',
  'übernommen',
  'uebernommen',
  'ubernommen',
  'erledigt',
  'gesehen',
  'taken',
  'done',
  'on it',
]);

/** The event id of the alert this reaction or reply acknowledges, if it is one. */
export function acknowledgedEvent(type: string, content: Record<string, unknown>): string | undefined {
  const relation = content['m.relates_to'] as { rel_type?: string; event_id?: string; key?: string; 'm.in_reply_to'?: { event_id?: string } } | undefined;
  if (type === 'm.reaction' && relation?.rel_type === 'm.annotation' && relation.key && ACK_EMOJI.has(normalizeEmoji(relation.key))) return relation.event_id;
  if (type === 'm.room.message' && relation?.['m.in_reply_to']?.event_id) {
    // Replies quote the original above the answer; the answer is the last line.
    const body = String(content['body'] ?? '')
      .split('\n')
      .filter((l) => !l.startsWith('>'))
      .join(' ');
    if (ACK_WORDS.has(normalizeWords(body)) || body.trim().startsWith('!ack')) return relation['m.in_reply_to'].event_id;
  }
  return undefined;
}
