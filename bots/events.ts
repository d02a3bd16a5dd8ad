import { z } from 'zod';

/** The parts of Matrix events the bot relies on, validated at the edge (CS API v1.11). */
const eventBase = {
  event_id: z.string().min(1),
  sender: z.string().min(1),
  origin_server_ts: z.number(),
};

export const roomMessageEvent = z.object({
  ...eventBase,
  type: z.literal('m.room.message'),
  content: z.looseObject({
    msgtype: z.string(),
    body: z.string(),
    'm.relates_to': z.looseObject({ rel_type: z.string().optional() }).optional(),
  }),
});
export type RoomMessageEvent = z.infer<typeof roomMessageEvent>;

/** Invites arrive as stripped state (no event_id, no timestamp). */
export const inviteEvent = z.object({
  sender: z.string().min(1),
  type: z.literal('m.room.member'),
  state_key: z.string(),
  content: z.looseObject({ membership: z.literal('invite'), is_direct: z.boolean().optional() }),
});
export type InviteEvent = z.infer<typeof inviteEvent>;
