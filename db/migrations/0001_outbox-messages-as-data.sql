ALTER TABLE "outbox" ALTER COLUMN "event_type" SET DEFAULT 'm.room.message';--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "content" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "escalations" ADD COLUMN "summary" text;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "message" jsonb;