import { sql } from 'drizzle-orm';
import { bigint, customType, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
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

export const patients = pgTable('patients', {
  id: uuid('id').primaryKey().defaultRandom(),
  matrixUserId: text('matrix_user_id').notNull().unique(),
  displayName: text('display_name'),
  language: text('language').notNull().default('de'),
  timeZone: text('time_zone').notNull().default('Europe/Berlin'),
  /** The direct room with this patient; null until it exists. */
  roomId: text('room_id').unique(),
  /** none → asked → given | refused; withdrawn after "stop". */
  consent: text('consent', { enum: ['none', 'asked', 'given', 'refused', 'withdrawn'] }).notNull().default('none'),
  consentAt: ts('consent_at'),
  monitoring: text('monitoring', { enum: ['active', 'stopped'] }).notNull().default('active'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const checkins = pgTable(
  'checkins',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id, { onDelete: 'cascade' }),
    flowId: text('flow_id').notNull(),
    flowVersion: text('flow_version').notNull(),
    /** pending: waiting for consent; active: questions running. */
    status: text('status', { enum: ['pending', 'active', 'completed', 'cancelled', 'superseded'] }).notNull(),
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
    status: text('status', { enum: ['current', 'retracted'] }).notNull().default('current'),
  },
  (table) => [uniqueIndex('answers_one_per_question').on(table.checkinId, table.questionId)],
);

/** Escalation events raised by conversations; delivered to clinicians by the escalation service. */
export const escalations = pgTable(
  'escalations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    patientId: uuid('patient_id')
      .notNull()
      .references(() => patients.id, { onDelete: 'cascade' }),
    checkinId: uuid('checkin_id').references(() => checkins.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['red_flag', 'rule', 'unanswered', 'monitoring_stopped', 'consent_refused'] }).notNull(),
    severity: text('severity', { enum: ['info', 'warning', 'urgent'] }).notNull(),
    ruleId: text('rule_id'),
    details: jsonb('details').notNull(),
    sourceEventId: text('source_event_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
  },
  (table) => [index('escalations_patient_idx').on(table.patientId, table.createdAt)],
);

export const attachments = pgTable('attachments', {
  id: uuid('id').primaryKey().defaultRandom(),
  patientId: uuid('patient_id')
    .notNull()
    .references(() => patients.id, { onDelete: 'cascade' }),
  checkinId: uuid('checkin_id').references(() => checkins.id, { onDelete: 'cascade' }),
  questionId: text('question_id'),
  mxcUrl: text('mxc_url').notNull(),
  contentType: text('content_type').notNull(),
  size: integer('size').notNull(),
  data: bytea('data').notNull(),
  sourceEventId: text('source_event_id').notNull().unique(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * Messages to send, written in the transaction that decided them. The sender
 * delivers them in id order per room with `txn_id` as the Matrix transaction
 * id, so a retry after a crash never posts twice.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    roomId: text('room_id').notNull(),
    txnId: text('txn_id').notNull().unique(),
    eventType: text('event_type').notNull(),
    content: jsonb('content').notNull(),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    sentEventId: text('sent_event_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
  },
  (table) => [index('outbox_pending_idx').on(table.roomId, table.id).where(sql`status = 'pending'`)],
);
