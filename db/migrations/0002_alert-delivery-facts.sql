ALTER TABLE "escalations" ADD COLUMN "queued_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "escalations" ADD COLUMN "alert_event_id" text;--> statement-breakpoint
-- Until now "delivered" meant "queued": keep that as the queue time; acceptance is unknown for old rows.
UPDATE "escalations" SET "queued_at" = "delivered_at" WHERE "delivered_at" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "organisations" ADD COLUMN "fallback_room_id" text;--> statement-breakpoint
-- One room, one owner: where teams of several organisations named the same room, the oldest keeps it;
-- the others lose it (their alerts become visible as undeliverable until they name their own room).
UPDATE "care_teams" SET "room_id" = NULL WHERE "id" IN (
  SELECT "id" FROM (
    SELECT "id", row_number() OVER (PARTITION BY "room_id" ORDER BY "created_at", "id") AS "n" FROM "care_teams" WHERE "room_id" IS NOT NULL
  ) AS "ranked" WHERE "n" > 1
);--> statement-breakpoint
ALTER TABLE "care_teams" ADD CONSTRAINT "care_teams_room_id_unique" UNIQUE("room_id");
