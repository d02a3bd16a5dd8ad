import type { MatrixClient } from 'matrix-bot-sdk';
import { ROOM_ENCRYPTION_STATE } from './crypto.ts';

/** The topic of the direct rooms the bot opens: what it is, and what it is not. */
export const ROOM_TOPIC =
  'Digitaler Helfer Ihres Behandlungsteams – kein Notfalldienst (Notruf 112) · Digital helper of your care team – not for emergencies (call 112)';

/**
 * A direct room with a patient the TI-M way (BRIEF §3): one invitee, invite
 * only, history visible from the invite, room version 10, the TI-M room type,
 * name and topic mirrored in the gematik state events, encrypted when the bot is.
 */
export function createDirectRoom(client: MatrixClient, patientUserId: string, options: { displayName: string; encrypted: boolean }): Promise<string> {
  return client.createRoom({
    preset: 'trusted_private_chat',
    is_direct: true,
    invite: [patientUserId],
    room_version: '10',
    creation_content: { type: 'de.gematik.tim.roomtype.default.v1' },
    name: options.displayName,
    topic: ROOM_TOPIC,
    initial_state: [
      { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'invited' } },
      // TI-M clients read name and topic from these mirrors (A_25814-01).
      { type: 'de.gematik.tim.room.name', state_key: '', content: { name: options.displayName } },
      { type: 'de.gematik.tim.room.topic', state_key: '', content: { topic: ROOM_TOPIC } },
      ...(options.encrypted ? [ROOM_ENCRYPTION_STATE] : []),
    ],
  });
}

/** Leaves a room and forgets it, so its history is gone from the bot's account (erasure). */
export async function leaveAndForget(client: MatrixClient, roomId: string): Promise<void> {
  await client.leaveRoom(roomId).catch(() => {});
  await client.doRequest('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/forget`, null, {});
}
