import type { MatrixClient } from 'matrix-bot-sdk';
import { detectGreeting } from '../core/conversation/greeting.ts';
import type { Logger } from '../core/logging.ts';
import type { Alerts } from '../services/alerts/dispatcher.ts';
import type { CareTeamCommands } from '../services/care-team-commands.ts';
import type { Conversations } from '../services/conversations.ts';
import type { Greetings } from '../services/greetings.ts';
import { acknowledgedEvent } from './care-team-events.ts';
import { inviteEvent } from './events.ts';
import { readFhirFile } from './fhir-files.ts';
import { toInput, type FileAccess } from './files.ts';
import { FHIR_EVENT, readPatientAction, STATUS_EVENT, type PatientAction } from './patient-events.ts';
import { isActionable, isInviterAllowed } from './policy.ts';
import { perKeyQueue } from './serial.ts';

/** The services Matrix events are translated into. */
export interface BotServices {
  conversations: Conversations;
  alerts?: Alerts;
  careTeamCommands?: CareTeamCommands;
  greetings?: Greetings;
  invites: {
    /** Is this user an enrolled patient? Their invites are accepted. */
    isEnrolledPatient(userId: string): Promise<boolean>;
    /** Is this user a clinician of some organisation? Their invites (care-team rooms) are accepted. */
    isClinician(userId: string): Promise<boolean>;
    /** An enrolled patient invited us into a room: remember it as their direct room. */
    adoptPatientRoom(userId: string, roomId: string): Promise<void>;
  };
}

const HANDLED_TYPES: ReadonlySet<string> = new Set([
  'm.room.message',
  'm.reaction',
  'org.matrix.msc3381.poll.response',
  'm.poll.response',
  FHIR_EVENT,
  STATUS_EVENT,
]);

export interface InboundOptions {
  userId: string;
  allowedInviters: readonly string[];
  services: BotServices;
  files: FileAccess;
  log: Logger;
  /** Events older than this (ms since epoch) are history, not requests (first sync). */
  cutoff(): number;
  /**
   * With end-to-end encryption: whether a room is encrypted, and whether an event reached us
   * encrypted. A plaintext message in an encrypted room is refused (anyone holding only a
   * patient's access token could otherwise answer for them).
   */
  encryption?: { isEncrypted(roomId: string): Promise<boolean>; wasDecrypted(eventId: string): boolean };
  /** The bot's device id (processing statuses are addressed to devices). */
  deviceId?(): string | undefined;
  /** The account joined a room: its messages there go out as this account (db/bot-accounts.ts). */
  joined?(roomId: string): Promise<void>;
}

/**
 * Whether a patient's structured-data event gets a processing status back:
 * yes, unless its request (gematik statusRequest.json) is addressed to another
 * device or its lifetime is over (MSC4300: expired requests get no response).
 * An event without a request gets one too: the patient's client may show it,
 * and the room keeps the record.
 */
export function wantsStatus(
  request: Extract<PatientAction, { type: 'fhir' }>['statusRequest'],
  ourDevice: string | undefined,
  sentAt: number,
  now: number,
): boolean {
  if (!request) return true;
  if (request.toDevice !== undefined && request.toDevice !== ourDevice) return false;
  return request.lifetimeMs === undefined || sentAt + request.lifetimeMs >= now;
}

/** Spec-conforming clients send reactions unencrypted even in encrypted rooms (their relation is public anyway). */
const CLEARTEXT_TYPES: ReadonlySet<string> = new Set(['m.reaction']);

/**
 * Translates Matrix events into service calls: patient rooms first (almost all
 * traffic), then care-team rooms (acknowledgements, commands), then greetings
 * in other direct rooms. What an event means is decided by the services.
 */
export function createInbound(options: InboundOptions) {
  const { services, log } = options;
  // One event at a time per room, in timeline order; rooms run side by side.
  const inRoomOrder = perKeyQueue();

  async function onInvite(matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> {
    const parsed = inviteEvent.safeParse(raw);
    if (!parsed.success) {
      log.warn('ignored malformed invite', { roomId, issue: parsed.error.issues[0]?.path.join('.') ?? '' });
      return;
    }
    const inviter = parsed.data.sender;
    const patient = await services.invites.isEnrolledPatient(inviter);
    if (patient || isInviterAllowed(inviter, options.allowedInviters) || (await services.invites.isClinician(inviter))) {
      await matrix.joinRoom(roomId);
      await options.joined?.(roomId);
      if (patient) await services.invites.adoptPatientRoom(inviter, roomId);
      log.info('joined room', { roomId, as: patient ? 'patient-room' : 'care-team' });
    } else {
      // Declining reveals nothing: not whether anybody is enrolled, not why.
      await matrix.leaveRoom(roomId);
      log.info('declined invite', { roomId });
    }
  }

  /** A FHIR resource from the patient (a filled-in form): read inline or from its (encrypted) file, then handed to the conversation. */
  async function onFhir(
    roomId: string,
    event: { event_id: string; sender: string; origin_server_ts: number },
    action: Extract<PatientAction, { type: 'fhir' }>,
  ): Promise<void> {
    let resource: unknown = action.resource;
    let unreadable = action.invalid;
    if (!unreadable && resource === undefined && action.file) {
      const read = await readFhirFile(options.files, action.file);
      if ('resource' in read) resource = read.resource;
      else unreadable = `fhir.json de.gematik.fhir.file: ${read.unreadable}`;
    }
    const outcome = await services.conversations.handleFhir({
      eventId: event.event_id,
      roomId,
      sender: event.sender,
      structure: action.structure,
      ...(resource !== undefined && !unreadable ? { resource } : {}),
      ...(unreadable ? { unreadable } : {}),
      respond: wantsStatus(action.statusRequest, options.deviceId?.(), event.origin_server_ts, Date.now()),
    });
    log.info('patient event', { roomId, eventId: event.event_id, input: 'fhir', outcome });
  }

  async function onPatientEvent(
    matrix: MatrixClient,
    roomId: string,
    event: { event_id: string; sender: string; type: string; origin_server_ts: number; content?: unknown },
  ): Promise<void> {
    const action = readPatientAction(event.type, event.content);
    if (!action) {
      log.warn('ignored malformed event', { roomId, eventId: event.event_id, type: event.type });
      return;
    }
    if (action.type === 'status') {
      const outcome = await services.conversations.handleStatus({
        eventId: event.event_id,
        roomId,
        sender: event.sender,
        relatesTo: action.relatesTo,
        status: action.status,
      });
      log.info('patient event', { roomId, eventId: event.event_id, input: `status:${action.status}`, outcome });
      return;
    }
    if (action.type === 'fhir') {
      await onFhir(roomId, event, action);
      void matrix.sendReadReceipt(roomId, event.event_id).catch(() => {});
      return;
    }
    // Typing and read receipts are courtesy, never awaited and never fatal. Typing shows only when the
    // work takes a noticeable time (a photo download): for a quick answer it would compete with the reply.
    let typing = false;
    const typingTimer = setTimeout(() => {
      typing = true;
      void matrix.setTyping(roomId, true, 10_000).catch(() => {});
    }, 400);
    try {
      const { input, file, editOf } = await toInput(action, options.files, log);
      const outcome = await services.conversations.handle({
        eventId: event.event_id,
        roomId,
        sender: event.sender,
        input,
        ...(file ? { file } : {}),
        ...(editOf ? { editOf } : {}),
      });
      log.info('patient event', { roomId, eventId: event.event_id, input: input.type, outcome });
    } finally {
      clearTimeout(typingTimer);
      if (typing) void matrix.setTyping(roomId, false).catch(() => {});
    }
    void matrix.sendReadReceipt(roomId, event.event_id).catch(() => {});
  }

  async function onCareTeamEvent(roomId: string, event: { event_id: string; sender: string; type: string; content?: unknown }): Promise<void> {
    const content = (event.content ?? {}) as Record<string, unknown>;
    if (event.type === 'm.room.message' && typeof content['body'] === 'string' && services.careTeamCommands) {
      if (await services.careTeamCommands.handle(roomId, { eventId: event.event_id, sender: event.sender, body: content['body'] })) return;
    }
    const alertEventId = acknowledgedEvent(event.type, content);
    if (alertEventId && services.alerts) await services.alerts.acknowledgeInRoom(roomId, { eventId: event.event_id, sender: event.sender, alertEventId });
  }

  /** Outside patient and care-team rooms (a clinician trying the bot) the bot only answers greetings, in direct chats. */
  async function onOtherEvent(matrix: MatrixClient, roomId: string, event: { event_id: string; type: string; content?: unknown }): Promise<void> {
    const action = readPatientAction(event.type, event.content);
    if (action?.type !== 'text' || action.editOf || !services.greetings) return;
    const language = detectGreeting(action.text);
    if (!language) return;
    const members = await matrix.getJoinedRoomMembers(roomId);
    if (members.length !== 2) return;
    if (await services.greetings.answer({ roomId, eventId: event.event_id, language }))
      log.info('answered greeting', { roomId, eventId: event.event_id, language });
  }

  async function route(matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> {
    const event = raw as {
      event_id?: unknown;
      sender?: unknown;
      type?: unknown;
      origin_server_ts?: unknown;
      content?: unknown;
      unsigned?: { redacted_because?: unknown };
    };
    if (typeof event.event_id !== 'string' || typeof event.sender !== 'string' || typeof event.type !== 'string') return;
    if (!HANDLED_TYPES.has(event.type) || event.unsigned?.redacted_because) return;
    const meta = { sender: event.sender, origin_server_ts: typeof event.origin_server_ts === 'number' ? event.origin_server_ts : 0 };
    if (!isActionable(meta, options.userId, options.cutoff())) return;
    const typed = { event_id: event.event_id, sender: event.sender, type: event.type, origin_server_ts: meta.origin_server_ts, content: event.content };
    const patientRoom = await services.conversations.isPatientRoom(roomId, event.sender);
    if (
      options.encryption &&
      !CLEARTEXT_TYPES.has(event.type) &&
      !options.encryption.wasDecrypted(event.event_id) &&
      (await options.encryption.isEncrypted(roomId))
    ) {
      log.warn('refused an unencrypted event in an encrypted room', { roomId, eventId: event.event_id, type: event.type });
      if (patientRoom) await services.conversations.refusePlaintext({ eventId: event.event_id, roomId, sender: event.sender });
      return;
    }
    if (patientRoom) return onPatientEvent(matrix, roomId, typed);
    if (services.alerts && (await services.alerts.isCareTeamRoom(roomId))) return onCareTeamEvent(roomId, typed);
    return onOtherEvent(matrix, roomId, typed);
  }

  const onEvent = (matrix: MatrixClient, roomId: string, raw: unknown): Promise<void> => inRoomOrder(roomId, () => route(matrix, roomId, raw));

  return { onInvite, onEvent };
}
