import type { MatrixClient } from 'matrix-bot-sdk';

/**
 * What the bot sees of a room: whether it is joined, whether its power level
 * lets it send messages, and which of some users are joined members. Used
 * before a care team may claim the room for its alerts.
 */
export async function inspectRoom(client: MatrixClient, botUserId: string, roomId: string, candidates: readonly string[]) {
  const joined = await client.getJoinedRooms();
  if (!joined.includes(roomId)) return { botJoined: false, botCanPost: false, clinicians: [] as string[] };
  const members = new Set(await client.getJoinedRoomMembers(roomId));
  const levels = (await client.getRoomStateEvent(roomId, 'm.room.power_levels', '').catch(() => null)) as {
    users?: Record<string, number>;
    users_default?: number;
    events?: Record<string, number>;
    events_default?: number;
  } | null;
  // Without a power-levels event everybody may send (CS API v1.11, m.room.power_levels).
  const mine = levels ? (levels.users?.[botUserId] ?? levels.users_default ?? 0) : 0;
  const needed = levels ? (levels.events?.['m.room.message'] ?? levels.events_default ?? 0) : 0;
  return { botJoined: true, botCanPost: mine >= needed, clinicians: candidates.filter((id) => members.has(id)) };
}
