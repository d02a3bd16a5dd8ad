CREATE TABLE "flow_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"flow_ref" uuid NOT NULL,
	"org_id" uuid,
	"flow_id" text NOT NULL,
	"version" text NOT NULL,
	"status" text NOT NULL,
	"source" text NOT NULL,
	"transcripts" text,
	"authors" text[] DEFAULT '{}' NOT NULL,
	"file" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_by" text,
	"submitted_at" timestamp with time zone,
	"published_by" text,
	"published_at" timestamp with time zone,
	"retired_by" text,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "flows" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid,
	"flow_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "checkins" ADD COLUMN "flow_version_id" uuid;--> statement-breakpoint
ALTER TABLE "enrollments" ADD COLUMN "flow_version" text;--> statement-breakpoint
ALTER TABLE "flow_versions" ADD CONSTRAINT "flow_versions_flow_ref_flows_id_fk" FOREIGN KEY ("flow_ref") REFERENCES "public"."flows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_versions" ADD CONSTRAINT "flow_versions_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flows" ADD CONSTRAINT "flows_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "flow_versions_released" ON "flow_versions" USING btree ("flow_ref","version") WHERE status in ('published', 'retired');--> statement-breakpoint
CREATE UNIQUE INDEX "flow_versions_one_draft" ON "flow_versions" USING btree ("flow_ref") WHERE status in ('draft', 'in_review');--> statement-breakpoint
CREATE INDEX "flow_versions_org_flow" ON "flow_versions" USING btree ("org_id","flow_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "flows_org_flow" ON "flows" USING btree ("org_id","flow_id") WHERE org_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "flows_deployed_flow" ON "flows" USING btree ("flow_id") WHERE org_id is null;--> statement-breakpoint
ALTER TABLE "checkins" ADD CONSTRAINT "checkins_flow_version_id_flow_versions_id_fk" FOREIGN KEY ("flow_version_id") REFERENCES "public"."flow_versions"("id") ON DELETE set null ON UPDATE no action;