CREATE TABLE "form_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"checkin_id" uuid NOT NULL,
	"patient_id" uuid NOT NULL,
	"room_id" text NOT NULL,
	"outbox_id" bigint NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"event_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"fallback_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "form_deliveries_checkin_id_unique" UNIQUE("checkin_id")
);
--> statement-breakpoint
ALTER TABLE "answers" ADD COLUMN "channel" text DEFAULT 'chat' NOT NULL;--> statement-breakpoint
ALTER TABLE "care_teams" ADD COLUMN "post_fhir_responses" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "prepared" jsonb;--> statement-breakpoint
ALTER TABLE "form_deliveries" ADD CONSTRAINT "form_deliveries_checkin_id_checkins_id_fk" FOREIGN KEY ("checkin_id") REFERENCES "public"."checkins"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "form_deliveries" ADD CONSTRAINT "form_deliveries_patient_id_patients_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "form_deliveries_due" ON "form_deliveries" USING btree ("fallback_at") WHERE status in ('pending', 'sent');--> statement-breakpoint
CREATE INDEX "form_deliveries_event" ON "form_deliveries" USING btree ("event_id");