import type { AlertText } from './alerts/describe.ts';
import type { BotMessage } from './engine/types.ts';
import type { Language } from './language.ts';

/**
 * A message Visite decided to send, as domain data. The services write it to
 * the outbox in the transaction that decided it; the Matrix adapter renders it
 * into event content only when it sends it (bots/render.ts). Relations to
 * earlier messages name their outbox row, resolved to an event id at sending
 * time — messages of one room are sent in order, so the row they point at has
 * been sent by then (or has failed, and the relation is dropped).
 */
export type Outgoing =
  /** A message to a patient (question, acknowledgement, notice …). */
  | { type: 'bot'; message: BotMessage }
  /**
   * An alert in a care-team room, or a re-escalation of one. `replaces` edits an
   * alert posted earlier (a repeat within the dedupe window); `replyTo` answers it.
   */
  | { type: 'alert'; alert: AlertText; replaces?: number; replyTo?: number }
  /** A short status line in a care-team room (acknowledgements, command answers). */
  | { type: 'notice'; text: string; lang: Language; replyTo?: number }
  /** A patient's photo shown next to the alert of its check-in. */
  | { type: 'photo'; url: string; contentType: string; size: number; caption: string; replyTo?: number };

/** The outbox rows an outgoing message refers to (for resolving relations when it is sent). */
export function referencedRow(message: Outgoing): number | undefined {
  switch (message.type) {
    case 'alert':
      return message.replaces ?? message.replyTo;
    case 'notice':
    case 'photo':
      return message.replyTo;
    case 'bot':
      return undefined;
  }
}
