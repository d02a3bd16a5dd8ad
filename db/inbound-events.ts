import { inboundEvents } from './schema.ts';
import type { Db } from './database.ts';
import type { Tx } from './database.ts';

/**
 * Claims an incoming event for handling. Returns true exactly once per
 * `event_id`, however often the event is delivered and by however many
 * instances; the caller only acts when it won the claim.
 */
export async function claimInboundEvent(db: Db | Tx, event: { eventId: string; roomId: string; kind: string }): Promise<boolean> {
  const rows = await db
    .insert(inboundEvents)
    .values(event)
    .onConflictDoNothing({ target: inboundEvents.eventId })
    .returning({ eventId: inboundEvents.eventId });
  return rows.length === 1;
}
