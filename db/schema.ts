import { sql } from 'drizzle-orm';
import type { Outgoing } from '../core/outgoing.ts';
import { bigint, boolean, customType, date, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** The owning organisation: every tenant-scoped row has one, and goes when it goes. */
const orgRef = () =>
  uuid('org_id')
    .notNull()
    .references(() => organisations.id, { onDelete: 'cascade' });
/** The patient a row is about: erasing the patient erases the row. */
const patientRef = () =>
  uuid('patient_id')
    .notNull()
    .references(() => patients.id, { onDelete: 'cascade' });
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * Every Matrix event the bot acted on, recorded by `event_id` in the same
 * transaction as its effect. A replayed sync or a second instance seeing the
 * same event finds the row and does nothing: the basis of exactly-once
 * handling. Holds ids only, never message contents.
 */
export const inboundEvents = pgTable(
  'inbound_events',
  {
    eventId: text('event_id').primaryKey(),
    roomId: text('room_id').notNull(),
    kind: text('kind').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (table) => [index('inbound_events_room_idx').on(table.roomId)],
);

/** Small durable settings of the bot process: its device/session and its /sync position. */
export const botState = pgTable('bot_state', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A tenant: a practice or hospital. Nothing of one organisation is visible to another. */
export const organisations = pgTable('organisations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** Patient data older than this (after the last activity) is deleted by the retention job. */
  retentionDays: integer('retention_days').notNull().default(365),
  /** Where alerts go when a care team's room refuses them (the bot was removed, the room is gone). */
  fallbackRoomId: text('fallback_room_id'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const ROLES = ['org_admin', 'flow_author', 'flow_reviewer', 'clinician', 'integration'] as const;
export type Role = (typeof ROLES)[number];

/**
 * A flow of an organisation's catalog, or (no organisation) a flow deployed as
 * a file, which every organisation without its own flow of that id uses. The
 * versions share this identity: its id makes the Questionnaire's canonical URL.
 */
export const flows = pgTable(
  'flows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Null: deployed from VISITE_FLOWS_DIR. */
    orgId: uuid('org_id').references(() => organisations.id, { onDelete: 'cascade' }),
    flowId: text('flow_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('flows_org_flow').on(table.orgId, table.flowId).where(sql`org_id is not null`),
    uniqueIndex('flows_deployed_flow').on(table.flowId).where(sql`org_id is null`),
  ],
);

export const FLOW_VERSION_STATUSES = ['draft', 'in_review', 'published', 'retired'] as const;
export type FlowVersionStatus = (typeof FLOW_VERSION_STATUSES)[number];

/**
 * One version of a flow: draft → in_review → published → retired. A published
 * version never changes (check-ins and stored QuestionnaireResponses point at
 * it); a flow has at most one draft (in review or not) at a time. Who wrote and
 * who published are kept for four-eyes publishing.
 */
export const flowVersions = pgTable(
  'flow_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    flowRef: uuid('flow_ref')
      .notNull()
      .references(() => flows.id, { onDelete: 'cascade' }),
    /** The flow's organisation (null: deployed), kept here so every query can scope by it. */
    orgId: uuid('org_id').references(() => organisations.id, { onDelete: 'cascade' }),
    flowId: text('flow_id').notNull(),
    version: text('version').notNull(),
    status: text('status', { enum: FLOW_VERSION_STATUSES }).notNull(),
    /** The flow as submitted: YAML (JSON is YAML too), in the format of the flow files. */
    source: text('source').notNull(),
    /** Golden transcripts (the `<flow>.transcripts.yaml` format), run before publishing. */
    transcripts: text('transcripts'),
    /** Everyone who wrote this version (`api_key:<id>` / `user:<subject>`): none of them may publish it. */
    authors: text('authors').array().notNull().default([]),
    /** The flow file a deployed version came from. */
    file: text('file'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    submittedBy: text('submitted_by'),
    submittedAt: ts('submitted_at'),
    publishedBy: text('published_by'),
    publishedAt: ts('published_at'),
    retiredBy: text('retired_by'),
    retiredAt: ts('retired_at'),
  },
  (table) => [
    // A version string names one immutable version of a flow.
    uniqueIndex('flow_versions_released').on(table.flowRef, table.version).where(sql`status in ('published', 'retired')`),
    uniqueIndex('flow_versions_one_draft').on(table.flowRef).where(sql`status in ('draft', 'in_review')`),
    index('flow_versions_org_flow').on(table.orgId, table.flowId, table.status),
  ],
);

/** A care team: its Matrix group room receives the alerts; the chain says who is called next. */
export const careTeams = pgTable('care_teams', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: orgRef(),
  name: text('name').notNull(),
  /** One room, one owner: no two teams (of any organisations) share a room. */
  roomId: text('room_id').unique(),
  language: text('language').notNull().default('de'),
  /** Ordered escalation steps: [{ afterMinutes, clinicianIds?: uuid[], roomId?: string }]. */
  escalationChain: jsonb('escalation_chain').notNull().default([]),
  /** The team's own alert thresholds: { flowId: { ruleId: number } } (core/flow/thresholds.ts). */
  thresholds: jsonb('thresholds').notNull().default({}),
  /** Post each completed check-in to the room as a `de.gematik.fhir` QuestionnaireResponse too (TI-M Pro clients can import it; docs/tim.md). */
  postFhirResponses: boolean('post_fhir_responses').notNull().default(false),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const clinicians = pgTable(
  'clinicians',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: orgRef(),
    matrixUserId: text('matrix_user_id').notNull(),
    displayName: text('display_name').notNull(),
    roles: text('roles').array().notNull().default([]),
    /** The OIDC subject this person signs in to the API with, if any. */
    oidcSubject: text('oidc_subject'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (table) => [uniqueIndex('clinicians_org_matrix').on(table.orgId, table.matrixUserId)],
);

export const careTeamMembers = pgTable(
  'care_team_members',
  {
    careTeamId: uuid('care_team_id')
      .notNull()
      .references(() => careTeams.id, { onDelete: 'cascade' }),
    clinicianId: uuid('clinician_id')
      .notNull()
      .references(() => clinicians.id, { onDelete: 'cascade' }),
  },
  (table) => [primaryKey({ columns: [table.careTeamId, table.clinicianId] })],
);

/** Per-organisation keys for system integration; only a hash of the secret is kept. */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: orgRef(),
  name: text('name').notNull(),
  /** Public part shown in lists and logs, e.g. `vk_3f9a1c2b`. */
  prefix: text('prefix').notNull().unique(),
  secretHash: text('secret_hash').notNull(),
  roles: text('roles').array().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  revokedAt: ts('revoked_at'),
  lastUsedAt: ts('last_used_at'),
});

/** Who read or changed what, when and from where; ids only, never contents. Kept on erasure. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: ts('at').notNull().defaultNow(),
    orgId: uuid('org_id'),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'anonymous', 'system', 'matrix'] }).notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    outcome: text('outcome', { enum: ['ok', 'denied', 'not_found', 'invalid', 'error'] }).notNull(),
    ip: text('ip'),
  },
  (table) => [index('audit_log_org_at').on(table.orgId, table.at)],
);

export const patients = pgTable(
  'patients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: orgRef(),
    matrixUserId: text('matrix_user_id').notNull(),
    displayName: text('display_name'),
    language: text('language').notNull().default('de'),
    timeZone: text('time_zone').notNull().default('Europe/Berlin'),
    /** The direct room with this patient; null until it exists. */
    roomId: text('room_id').unique(),
    /** An instance is opening the patient's room since then (one opener at a time, db/patients.ts claimRoomOpening). */
    roomRequestedAt: ts('room_requested_at'),
    /** none → asked → given | refused; withdrawn after "stop". */
    consent: text('consent', { enum: ['none', 'asked', 'given', 'refused', 'withdrawn'] })
      .notNull()
      .default('none'),
    consentAt: ts('consent_at'),
    /** paused: a clinician paused the scheduled check-ins; stopped: the patient said stop. */
    monitoring: text('monitoring', { enum: ['active', 'paused', 'stopped'] })
      .notNull()
      .default('active'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (table) => [uniqueIndex('patients_org_matrix').on(table.orgId, table.matrixUserId)],
);

/** A patient × flow × anchor date (e.g. the day of surgery) × care team. */
export const enrollments = pgTable(
  'enrollments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: orgRef(),
    patientId: patientRef(),
    flowId: text('flow_id').notNull(),
    /** A pinned flow version; null: each check-in starts on the latest published version. */
    flowVersion: text('flow_version'),
    anchorDate: date('anchor_date', { mode: 'string' }).notNull(),
    careTeamId: uuid('care_team_id')
      .notNull()
      .references(() => careTeams.id, { onDelete: 'restrict' }),
    status: text('status', { enum: ['active', 'ended'] })
      .notNull()
      .default('active'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (table) => [index('enrollments_patient').on(table.patientId)],
);

/**
 * The check-ins a schedule template yields for an enrollment, materialised at
 * enrollment. The scheduler claims due rows with FOR UPDATE SKIP LOCKED; the
 * unique (enrollment, day) makes "started twice" impossible by construction.
 */
export const scheduledCheckins = pgTable(
  'scheduled_checkins',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: orgRef(),
    enrollmentId: uuid('enrollment_id')
      .notNull()
      .references(() => enrollments.id, { onDelete: 'cascade' }),
    day: integer('day').notNull(),
    dueAt: ts('due_at').notNull(),
    remindAt: ts('remind_at'),
    expiresAt: ts('expires_at'),
    status: text('status', { enum: ['pending', 'started', 'skipped', 'cancelled'] })
      .notNull()
      .default('pending'),
    checkinId: uuid('checkin_id'),
    startedAt: ts('started_at'),
    /** Why the row was skipped or cancelled (machine code, e.g. `expired`, `newer_due`, `monitoring_stopped`). */
    reason: text('reason'),
    /** When the reminder step looked at the started check-in (once); `reminded_at` is set only if it queued a reminder. */
    reminderCheckedAt: ts('reminder_checked_at'),
    remindedAt: ts('reminded_at'),
    /** When the no-response step looked at the started check-in at `expires_at` (once). */
    expiryCheckedAt: ts('expiry_checked_at'),
  },
  (table) => [
    uniqueIndex('scheduled_checkins_once').on(table.enrollmentId, table.day),
    index('scheduled_checkins_due').on(table.dueAt).where(sql`status = 'pending'`),
    index('scheduled_checkins_remind').on(table.remindAt).where(sql`status = 'started' and reminder_checked_at is null`),
    index('scheduled_checkins_expiry').on(table.expiresAt).where(sql`status = 'started' and expiry_checked_at is null`),
  ],
);

export const checkins = pgTable(
  'checkins',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: patientRef(),
    /** The enrollment that scheduled it; null for check-ins started by hand. */
    enrollmentId: uuid('enrollment_id').references(() => enrollments.id, { onDelete: 'set null' }),
    flowId: text('flow_id').notNull(),
    flowVersion: text('flow_version').notNull(),
    /** The catalog's version the check-in runs on to its end (null: started before the catalog existed). */
    flowVersionId: uuid('flow_version_id').references(() => flowVersions.id, { onDelete: 'set null' }),
    /** pending: waiting for consent; active: questions running. */
    /** expired: still open at the schedule's `expires_at` (no response); closed by the scheduler. */
    status: text('status', { enum: ['pending', 'active', 'completed', 'cancelled', 'superseded', 'expired'] }).notNull(),
    /** The engine's JSON-serialisable conversation state. */
    state: jsonb('state'),
    /** The event that carried the last recorded answer, so an edit of it is a correction. */
    lastAnswerEventId: text('last_answer_event_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    endedAt: ts('ended_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (table) => [
    // At most one open check-in per patient, enforced by the database itself.
    uniqueIndex('checkins_one_open_per_patient').on(table.patientId).where(sql`status in ('pending', 'active')`),
    // History for trend rules: a patient's earlier check-ins of one flow.
    index('checkins_patient_flow').on(table.patientId, table.flowId),
  ],
);

export const answers = pgTable(
  'answers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    checkinId: uuid('checkin_id')
      .notNull()
      .references(() => checkins.id, { onDelete: 'cascade' }),
    questionId: text('question_id').notNull(),
    value: jsonb('value').notNull(),
    answeredAt: ts('answered_at').notNull(),
    sourceEventId: text('source_event_id').notNull(),
    /** 1 for the first answer, +1 for each correction. */
    revision: integer('revision').notNull().default(1),
    status: text('status', { enum: ['current', 'retracted'] })
      .notNull()
      .default('current'),
    /** Where the (current) answer came from: typed in the chat, or a TI-M form (docs/tim.md). */
    channel: text('channel', { enum: ['chat', 'form'] })
      .notNull()
      .default('chat'),
  },
  (table) => [uniqueIndex('answers_one_per_question').on(table.checkinId, table.questionId)],
);

/**
 * Clinical records as FHIR R4 JSON (QuestionnaireResponse, Observation),
 * validated before they are stored, with indexed columns for the searches
 * the FHIR read API offers. Deleted with the patient.
 */
export const fhirResources = pgTable(
  'fhir_resources',
  {
    resourceType: text('resource_type').notNull(),
    id: text('id').notNull(),
    orgId: orgRef(),
    patientId: patientRef(),
    checkinId: uuid('checkin_id').references(() => checkins.id, { onDelete: 'cascade' }),
    /** All `system|code` pairs of the resource's code, for `code=` searches. */
    codes: text('codes').array().notNull().default([]),
    /** Observation.effective / QuestionnaireResponse.authored. */
    effectiveAt: ts('effective_at'),
    resource: jsonb('resource').notNull(),
    versionId: integer('version_id').notNull().default(1),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.resourceType, table.id] }),
    index('fhir_resources_patient').on(table.orgId, table.patientId, table.resourceType, table.effectiveAt),
  ],
);

/** Escalation events raised by conversations; delivered to clinicians by the escalation service. */
export const escalations = pgTable(
  'escalations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: patientRef(),
    checkinId: uuid('checkin_id').references(() => checkins.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['red_flag', 'rule', 'unanswered', 'monitoring_stopped', 'consent_refused', 'no_response', 'patient_message'] }).notNull(),
    severity: text('severity', { enum: ['info', 'warning', 'urgent'] }).notNull(),
    ruleId: text('rule_id'),
    details: jsonb('details').notNull(),
    sourceEventId: text('source_event_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** When the alert message was queued for the care team's room (the outbox row is `outbox_id`). */
    queuedAt: ts('queued_at'),
    /** When the homeserver accepted the alert message: delivery is a fact, not a hope. */
    deliveredAt: ts('delivered_at'),
    /** The posted alert's event id, once accepted. */
    alertEventId: text('alert_event_id'),
    /** When a clinician acknowledged the alert (API or care-team room); null while open. */
    acknowledgedAt: ts('acknowledged_at'),
    /** Who acknowledged: `api_key:<id>`, `user:<oidc subject>` or a clinician's Matrix id. */
    acknowledgedBy: text('acknowledged_by'),
    /** The alert message in the care-team room (an outbox row), once delivered. */
    outboxId: bigint('outbox_id', { mode: 'number' }),
    /** A repeat of an open alert within the dedupe window: it updated that alert instead of posting anew. */
    dedupeOf: uuid('dedupe_of'),
    /** The alert in one line as posted (severity, patient, what triggered): the FHIR Flag's text. */
    summary: text('summary'),
    /** Why an escalation could not be delivered: `no_care_team`, `refused:<errcode>` (rerouted), `undeliverable`; null otherwise. */
    deliveryNote: text('delivery_note'),
  },
  (table) => [
    index('escalations_patient_idx').on(table.patientId, table.createdAt),
    // The web app's worklist: open alerts (not repeats), newest changes first.
    index('escalations_open_idx').on(table.createdAt).where(sql`acknowledged_at is null and dedupe_of is null`),
  ],
);

/** Each re-escalation of an unacknowledged urgent alert up the care team's chain, kept for the record. */
export const alertSteps = pgTable(
  'alert_steps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    escalationId: uuid('escalation_id')
      .notNull()
      .references(() => escalations.id, { onDelete: 'cascade' }),
    /** 1 for the first re-escalation (chain index + 1). */
    step: integer('step').notNull(),
    at: ts('at').notNull().defaultNow(),
    roomId: text('room_id').notNull(),
    outboxId: bigint('outbox_id', { mode: 'number' }).notNull(),
  },
  (table) => [uniqueIndex('alert_steps_once').on(table.escalationId, table.step)],
);

export const attachments = pgTable('attachments', {
  id: uuid('id').primaryKey().defaultRandom(),
  patientId: patientRef(),
  checkinId: uuid('checkin_id').references(() => checkins.id, { onDelete: 'cascade' }),
  questionId: text('question_id'),
  mxcUrl: text('mxc_url').notNull(),
  contentType: text('content_type').notNull(),
  size: integer('size').notNull(),
  data: bytea('data').notNull(),
  sourceEventId: text('source_event_id').notNull().unique(),
  createdAt: ts('created_at').notNull().defaultNow(),
  /** When the photo was shown to the care team next to an alert of its check-in. */
  forwardedAt: ts('forwarded_at'),
});

/**
 * Messages to send, written in the transaction that decided them, as domain
 * data (`message`, core/outgoing.ts) that the Matrix adapter renders when it
 * sends. The sender delivers them in id order per room with `txn_id` as the
 * Matrix transaction id, so a retry after a crash never posts twice.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    roomId: text('room_id').notNull(),
    /** The account that sends it (the room's, `bot_rooms`); null only for rows from before accounts existed. */
    accountId: uuid('account_id'),
    txnId: text('txn_id').notNull().unique(),
    message: jsonb('message').$type<Outgoing>(),
    /** Matrix content queued by versions before 0.2 (sent as it is); new rows carry `message`. */
    eventType: text('event_type').notNull().default('m.room.message'),
    content: jsonb('content'),
    /** skipped: not to be sent after all (a form the recipient's devices cannot show; `last_error` says why). */
    status: text('status', { enum: ['pending', 'sent', 'failed', 'skipped'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    sentEventId: text('sent_event_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
    /**
     * A large message's file, reserved before it is uploaded (bots/outbox-sender.ts): the
     * media id and the key it is encrypted with, written before the upload, so a resend
     * after a crash uploads the same bytes to the same id and posts the same event.
     */
    prepared: jsonb('prepared'),
  },
  (table) => [
    index('outbox_pending_idx').on(table.roomId, table.id).where(sql`status = 'pending'`),
    index('outbox_account_pending_idx').on(table.accountId, table.roomId, table.id).where(sql`status = 'pending'`),
  ],
);

/**
 * A check-in's questions sent as a form (TI-M `de.gematik.fhir`, docs/tim.md):
 * which outbox message carries it, the event once sent, and until when the
 * chat waits for it. `pending`: queued; `sent`: a capable device has it;
 * `answered`: a form answer came; `chat`: the patient went on in the chat;
 * `fallback`: the form did not come through (`reason`: not-capable, refused,
 * timeout) and the chat took over.
 */
export const formDeliveries = pgTable(
  'form_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    checkinId: uuid('checkin_id')
      .notNull()
      .unique()
      .references(() => checkins.id, { onDelete: 'cascade' }),
    patientId: patientRef(),
    roomId: text('room_id').notNull(),
    outboxId: bigint('outbox_id', { mode: 'number' }).notNull(),
    status: text('status', { enum: ['pending', 'sent', 'answered', 'chat', 'fallback'] })
      .notNull()
      .default('pending'),
    reason: text('reason'),
    /** The form event, once the homeserver accepted it (processing statuses refer to it). */
    eventId: text('event_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
    /** No answer by then: the chat takes over (VISITE_TIM_FORM_WAIT_MINUTES after sending). */
    fallbackAt: ts('fallback_at').notNull(),
    closedAt: ts('closed_at'),
  },
  (table) => [index('form_deliveries_due').on(table.fallbackAt).where(sql`status in ('pending', 'sent')`), index('form_deliveries_event').on(table.eventId)],
);

/**
 * Signed-in sessions of the web app (/app). The browser holds a random token in
 * an HttpOnly cookie; only its SHA-256 is stored here, so a copy of the table
 * signs nobody in. `csrf_token` must accompany every state change; a session
 * idle longer than the configured timeout, or past `expires_at`, is gone.
 */
export const webSessions = pgTable(
  'web_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    orgId: orgRef(),
    /** OIDC subject, or `link:<name>` for a sign-in link. */
    subject: text('subject').notNull(),
    displayName: text('display_name').notNull(),
    roles: text('roles').array().notNull(),
    csrfToken: text('csrf_token').notNull(),
    /** How the person signed in: `oidc` or `link`. */
    method: text('method', { enum: ['oidc', 'link'] }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
  },
  (table) => [index('web_sessions_expiry').on(table.expiresAt)],
);

/**
 * A sign-in started at the identity provider and not finished yet: the OAuth
 * `state` (hashed), the PKCE verifier and the nonce, kept in the database so
 * the provider may send the browser back to any instance. Used once.
 */
export const webLogins = pgTable('web_logins', {
  stateHash: text('state_hash').primaryKey(),
  codeVerifier: text('code_verifier').notNull(),
  nonce: text('nonce').notNull(),
  returnTo: text('return_to').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * Single-use, short-lived sign-in links for installations without an identity
 * provider (`visite admin login-link`, the demo); only the hash is kept.
 */
export const loginLinks = pgTable('login_links', {
  tokenHash: text('token_hash').primaryKey(),
  orgId: orgRef(),
  name: text('name').notNull(),
  roles: text('roles').array().notNull(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * A Matrix account the bot speaks as (docs/operations.md "Bot accounts"). In
 * TI-M each organisation's chatbot is its own function account; an
 * organisation without one is served by the environment's account
 * (`org_id` null, written from VISITE_BOT_* at start). Credentials are sealed
 * (db/secrets.ts) and never leave the database in the clear.
 */
export const botAccounts = pgTable(
  'bot_accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Null: the environment's account, serving every organisation without its own. */
    orgId: uuid('org_id').references(() => organisations.id, { onDelete: 'cascade' }),
    homeserverUrl: text('homeserver_url').notNull(),
    userId: text('user_id').notNull().unique(),
    /** Sealed JSON `{ password?, accessToken? }` (db/secrets.ts). */
    credentials: text('credentials').notNull(),
    /** The device the account speaks from, once logged in (its keys live in `crypto_stores`). */
    deviceId: text('device_id'),
    displayName: text('display_name').notNull(),
    /** Matrix ids or `@*:server` patterns whose invites the account follows into rooms. */
    allowedInviters: jsonb('allowed_inviters').$type<string[]>().notNull().default([]),
    /** Bumped on every credential rotation: instances holding the account reconnect with the new one. */
    credentialsVersion: integer('credentials_version').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    disabledAt: ts('disabled_at'),
  },
  (table) => [index('bot_accounts_org_idx').on(table.orgId)],
);

/** Which account is in which room (patient rooms, care-team rooms): its messages go out as that account. */
export const botRooms = pgTable(
  'bot_rooms',
  {
    roomId: text('room_id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => botAccounts.id, { onDelete: 'cascade' }),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (table) => [index('bot_rooms_account_idx').on(table.accountId)],
);

/** A running Visite process, alive while its heartbeat is fresh (leases are spread over the live ones). */
export const botInstances = pgTable('bot_instances', {
  id: text('id').primaryKey(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
  expiresAt: ts('expires_at').notNull(),
});

/**
 * Who runs an account now: only the holder syncs and sends for it, and every
 * send and crypto-store write checks the lease (instance and epoch) in its own
 * transaction. A lease not renewed before `expires_at` may be taken over; the
 * epoch grows with every new holder.
 */
export const botLeases = pgTable('bot_leases', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => botAccounts.id, { onDelete: 'cascade' }),
  instanceId: text('instance_id').notNull(),
  epoch: bigint('epoch', { mode: 'number' }).notNull(),
  acquiredAt: ts('acquired_at').notNull().defaultNow(),
  renewedAt: ts('renewed_at').notNull().defaultNow(),
  expiresAt: ts('expires_at').notNull(),
});

/**
 * An account's end-to-end encryption store (packages/matrix-sdk-crypto-nodejs):
 * the sealed snapshot (AES-256-GCM under the passphrase) and the sealed frames
 * written since, so any instance can continue the account with the same device.
 */
export const cryptoStores = pgTable('crypto_stores', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => botAccounts.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull(),
  deviceId: text('device_id').notNull(),
  snapshot: bytea('snapshot'),
  /** The last frame the snapshot contains. */
  snapshotSeq: bigint('snapshot_seq', { mode: 'number' }).notNull().default(0),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const cryptoStoreFrames = pgTable(
  'crypto_store_frames',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => cryptoStores.accountId, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    frame: bytea('frame').notNull(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.seq] })],
);
