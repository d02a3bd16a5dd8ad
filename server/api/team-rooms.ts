import type { Context } from 'hono';
import { clinicians } from '../../db/schema.ts';
import { ApiError } from '../errors.ts';
import type { ApiEnv, RoomInspection } from './env.ts';
import { owned } from './owned.ts';

/**
 * Before a room becomes a place for alerts (a care team's room, a chain step's
 * room, the organisation's fallback room), the bot must be in it and allowed
 * to post — an alert into a room the bot cannot post in is an alert nobody
 * gets. A care team's own room must also have one of the organisation's
 * clinicians as a member, so nobody can claim another organisation's room.
 */
export async function checkAlertRoom(c: Context<ApiEnv>, roomId: string, field: string, options: { needClinician: boolean }): Promise<RoomInspection> {
  const orgClinicians = await c
    .get('deps')
    .db.select({ matrixUserId: clinicians.matrixUserId })
    .from(clinicians)
    .where(owned(clinicians, c.get('principal').orgId));
  let inspection: RoomInspection;
  try {
    inspection = await c.get('deps').contact.inspectRoom(
      c.get('principal').orgId,
      roomId,
      orgClinicians.map((r) => r.matrixUserId),
    );
  } catch {
    throw new ApiError('not_ready', 'the homeserver cannot be asked about the room right now; try again');
  }
  const problem = !inspection.botJoined
    ? 'Visite is not in this room: a clinician of your organisation invites the bot into it first'
    : !inspection.botCanPost
      ? 'Visite may not post in this room: give it a power level that allows messages'
      : options.needClinician && inspection.clinicians.length === 0
        ? "none of your organisation's clinicians is a member of this room"
        : null;
  if (problem) throw new ApiError('bad_request', `invalid request: ${field}`, { fields: [{ path: field, message: problem }] });
  return inspection;
}

/** A unique violation on the care teams' room: the room is another team's (of whichever organisation). */
export function isRoomTaken(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (
      (e as { code?: unknown }).code === '23505' &&
      String((e as { constraint_name?: unknown; constraint?: unknown }).constraint_name ?? (e as { constraint?: unknown }).constraint ?? '').includes('room_id')
    )
      return true;
  }
  return false;
}
