CREATE TABLE "bot_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid,
	"homeserver_url" text NOT NULL,
	"user_id" text NOT NULL,
	"credentials" text NOT NULL,
	"device_id" text,
	"display_name" text NOT NULL,
	"allowed_inviters" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"credentials_version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone,
	CONSTRAINT "bot_accounts_user_id_unique" UNIQUE("user_id")
);
--> statement-breakpoint
CREATE TABLE "bot_instances" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bot_leases" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"instance_id" text NOT NULL,
	"epoch" bigint NOT NULL,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"renewed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bot_rooms" (
	"room_id" text PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "crypto_store_frames" (
	"account_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"frame" "bytea" NOT NULL,
	CONSTRAINT "crypto_store_frames_account_id_seq_pk" PRIMARY KEY("account_id","seq")
);
--> statement-breakpoint
CREATE TABLE "crypto_stores" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"device_id" text NOT NULL,
	"snapshot" "bytea",
	"snapshot_seq" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "account_id" uuid;--> statement-breakpoint
ALTER TABLE "bot_accounts" ADD CONSTRAINT "bot_accounts_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bot_leases" ADD CONSTRAINT "bot_leases_account_id_bot_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."bot_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bot_rooms" ADD CONSTRAINT "bot_rooms_account_id_bot_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."bot_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "crypto_store_frames" ADD CONSTRAINT "crypto_store_frames_account_id_crypto_stores_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."crypto_stores"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "crypto_stores" ADD CONSTRAINT "crypto_stores_account_id_bot_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."bot_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bot_accounts_org_idx" ON "bot_accounts" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "bot_rooms_account_idx" ON "bot_rooms" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "outbox_account_pending_idx" ON "outbox" USING btree ("account_id","room_id","id") WHERE status = 'pending';