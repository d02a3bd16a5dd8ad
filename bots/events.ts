import { z } from 'zod';

/** Matrix invites the bot relies on, validated at the edge (CS API v1.11). */
/** Invites arrive as stripped state (no event_id, no timestamp). */
export const inviteEvent = z.object({
  sender: z.string().min(1),
  type: z.literal('m.room.member'),
  state_key: z.string(),
  content: z.looseObject({ membership: z.literal('invite'), is_direct: z.boolean().optional() }),
});
export type InviteEvent = z.infer<typeof inviteEvent>;
