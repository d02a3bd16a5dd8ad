CREATE TABLE "inbound_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"room_id" text NOT NULL,
	"kind" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "inbound_events_room_idx" ON "inbound_events" USING btree ("room_id");