import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Every Matrix event the bot acted on, recorded by `event_id` before its effect
 * (a reply) is produced. A replayed sync or a second instance seeing the same
 * event finds the row and does nothing: the basis of exactly-once handling.
 * Holds ids only, never message contents.
 */
export const inboundEvents = pgTable(
  'inbound_events',
  {
    eventId: text('event_id').primaryKey(),
    roomId: text('room_id').notNull(),
    kind: text('kind').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('inbound_events_room_idx').on(table.roomId)],
);
