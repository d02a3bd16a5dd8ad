import type { AlertText } from './alerts/describe.ts';
import type { BotMessage } from './engine/types.ts';
import type { StructureInfo } from './fhir/isik.ts';
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
  | { type: 'photo'; url: string; contentType: string; size: number; caption: string; replyTo?: number }
  /**
   * A FHIR resource as TI-M structured data (`de.gematik.fhir`, docs/tim.md):
   * inline when the event stays well under the size limit, else an encrypted
   * file. `resource` is the serialised JSON, kept as a string so that a resend
   * uploads exactly the same bytes; `text` is the plain-text fallback every
   * client can show. `statusLifetimeMs` asks the recipient for a processing
   * status that long. `form`: the check-in's questions for a patient — sent
   * only when one of the recipient's devices announces that it can show them;
   * otherwise the check-in goes on in the chat.
   */
  | FhirOutgoing
  /** A processing status for an event someone sent us (`de.gematik.response.status`, MSC4300). */
  | { type: 'status'; relatesTo: string; status: 'success' | 'error'; messages: StatusMessage[] };

export interface FhirOutgoing {
  type: 'fhir';
  structure: StructureInfo;
  resource: string;
  fileName: string;
  text: string;
  statusLifetimeMs?: number;
  form?: { deliveryId: string; recipient: string };
}

export interface StatusMessage {
  type: 'info' | 'warning' | 'error';
  text: string;
}

/** The outbox rows an outgoing message refers to (for resolving relations when it is sent). */
export function referencedRow(message: Outgoing): number | undefined {
  switch (message.type) {
    case 'alert':
      return message.replaces ?? message.replyTo;
    case 'notice':
    case 'photo':
      return message.replyTo;
    case 'bot':
    case 'fhir':
    case 'status':
      return undefined;
  }
}
