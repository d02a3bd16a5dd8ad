import { referencedRow, type FhirOutgoing } from '../core/outgoing.ts';
import type { Db, Tx } from '../db/database.ts';
import {
  claimForSending,
  dueHeads,
  markAttemptFailed,
  markSent,
  markSkipped,
  savePrepared,
  sentEventIdOf,
  type OutboxRow,
  type OutboxScope,
} from '../db/outbox.ts';
import { LeaseLostError } from '../db/leases.ts';
import { errorFields, type Logger } from '../core/logging.ts';
import type { DeliveryOutcomes } from '../services/alerts/outcome.ts';
import type { Signal } from '../services/signal.ts';
import type { CapabilityCheck } from './capabilities.ts';
import { encryptReserved, type ReservedFile } from './fhir-files.ts';
import { fitsInline, renderFhir, renderOutgoing, type FhirFile, type MatrixEvent } from './render.ts';

/** Sends one event with a fixed transaction id; resolves to the event id. */
export type SendEvent = (roomId: string, eventType: string, txnId: string, content: Record<string, unknown>) => Promise<string>;

export interface SendFailure {
  /** HTTP status, if the homeserver answered. */
  status?: number;
  errcode?: string;
  retryAfterMs?: number;
}

/**
 * What sending structured data (docs/tim.md) needs from Matrix: the bot's
 * device, the recipient's client capabilities, and media for large resources
 * (bots/fhir-files.ts).
 */
export interface StructuredDataIo {
  deviceId(): string | undefined;
  recipientSupports(userId: string, event: MatrixEvent): Promise<CapabilityCheck>;
  reserveFile(): Promise<ReservedFile>;
  uploadReserved(reserved: ReservedFile, data: Uint8Array, fileName: string): Promise<'uploaded' | 'already' | 'expired'>;
}

/** What a form's sending means for its check-in, inside the sender's transaction (services/conversations.ts). */
export interface FormDeliveryPort {
  formStillWanted(tx: Tx, deliveryId: string): Promise<boolean>;
  formSent(tx: Tx, deliveryId: string, eventId: string, now: Date): Promise<void>;
  fallBackToChat(tx: Tx, deliveryId: string, reason: 'not-capable', now: Date): Promise<boolean>;
}

/** Stands in for the file while deciding whether a recipient's device can show the event (its capabilities never name a media id). */
const FILE_PLACEHOLDER: FhirFile = {
  url: 'mxc://placeholder/file',
  size: 0,
  key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: '', ext: true },
  iv: '',
  hashes: { sha256: '' },
  v: 'v2',
};

export interface OutboxSender {
  /** Look for work now (after a transaction that enqueued messages). */
  kick(): void;
  stop(): Promise<void>;
}

export const MAX_BACKOFF_MS = 60_000;
/** A request the homeserver refuses for good (not 429, not 5xx) is retried this often, then marked failed. */
export const MAX_REFUSALS = 3;

/**
 * When to try again after a failure: the homeserver's `retry_after_ms` on 429,
 * otherwise exponential backoff from 1 s up to a minute. Pure, for tests.
 */
export function nextAttemptDelay(failure: SendFailure, attempts: number): number {
  if (failure.status === 429 && failure.retryAfterMs !== undefined) return Math.min(Math.max(failure.retryAfterMs, 0), 10 * MAX_BACKOFF_MS);
  return Math.min(1_000 * 2 ** Math.max(attempts - 1, 0), MAX_BACKOFF_MS);
}

export function isPermanent(failure: SendFailure): boolean {
  return failure.status !== undefined && failure.status >= 400 && failure.status < 500 && failure.status !== 429 && failure.status !== 408;
}

function describe(error: unknown): SendFailure {
  const e = error as { statusCode?: number; errcode?: string; retryAfterMs?: number; body?: { retry_after_ms?: number } };
  const failure: SendFailure = {};
  if (typeof e?.statusCode === 'number') failure.status = e.statusCode;
  if (typeof e?.errcode === 'string') failure.errcode = e.errcode;
  const retry = e?.retryAfterMs ?? e?.body?.retry_after_ms;
  if (typeof retry === 'number') failure.retryAfterMs = retry;
  return failure;
}

/**
 * Delivers the durable outbox. Per room strictly in order: only the oldest
 * pending message of a room is eligible, so a message waiting for a retry holds
 * back the ones after it. Rows are claimed with FOR UPDATE SKIP LOCKED, so
 * several instances share the work without sending anything twice; the row
 * stays locked while it is sent, and the fixed transaction id makes a resend
 * after a crash a no-op on the homeserver. Messages are rendered into Matrix
 * content here, just before sending (bots/render.ts).
 */
export function startOutboxSender(options: {
  db: Db;
  send: SendEvent;
  logger: Logger;
  wake?: Signal;
  outcomes?: DeliveryOutcomes;
  structured?: StructuredDataIo;
  forms?: FormDeliveryPort;
  /** Only this account's messages (bots/fleet.ts); absent: only messages of no account (rooms no account is recorded in). */
  scope?: OutboxScope;
  /**
   * Checked inside each message's transaction before it is sent (db/leases.ts): throws
   * LeaseLostError once another instance may send for the account; nothing is sent then.
   */
  fence?: (tx: Tx) => Promise<void>;
  /** Told when the fence refused (the account is to be given up). */
  onLeaseLost?: (error: LeaseLostError) => void;
  /**
   * Shared by every account's sender in the process (bots/fleet.ts): how many send transactions may be
   * open at once. Each holds a database connection while it sends, and encrypting may write the
   * crypto store through another one; bounded below the pool size, many accounts cannot exhaust it.
   */
  slots?: <T>(task: () => Promise<T>) => Promise<T>;
  pollMs?: number;
  batch?: number;
}): OutboxSender {
  const log = options.logger.child({ component: 'outbox' });
  const pollMs = options.pollMs ?? 500;
  const batch = options.batch ?? 20;
  let running = true;
  /** After a 429 the whole account waits (not only the room): other accounts' senders are not affected. */
  let pausedUntil = 0;
  let wake: (() => void) | undefined;
  let kicked = false;
  const kick = () => {
    kicked = true;
    wake?.();
  };
  const unsubscribe = options.wake?.subscribe(kick);

  /**
   * A FHIR resource (TI-M structured data): a form goes out only while its
   * check-in still waits for it and only if a device of the patient announces
   * it can show it — otherwise the chat takes over and the row is skipped. A
   * resource too large for the event goes as an encrypted file, in repeatable
   * steps (bots/fhir-files.ts): `again` means a step was stored and the row is
   * to be taken up once more.
   */
  async function fhirEventOf(tx: Tx, row: OutboxRow, message: FhirOutgoing): Promise<MatrixEvent | 'skipped' | 'again'> {
    const io = options.structured;
    if (!io) throw new Error('structured data cannot be sent without Matrix media and profiles');
    const ctx = { ...(io.deviceId() ? { deviceId: io.deviceId()! } : {}) };
    const now = new Date();
    if (message.form && !(await options.forms?.formStillWanted(tx, message.form.deliveryId))) {
      await markSkipped(tx, row, 'form no longer wanted', now);
      return 'skipped';
    }
    const inline = fitsInline(message, ctx);
    const skeleton = renderFhir(message, inline ? ctx : { ...ctx, file: FILE_PLACEHOLDER });
    if (message.form) {
      const check = await io.recipientSupports(message.form.recipient, skeleton);
      if (!check.capable) {
        await options.forms?.fallBackToChat(tx, message.form.deliveryId, 'not-capable', now);
        await markSkipped(tx, row, 'no device of the recipient shows forms', now);
        log.info('form not sent: no capable device; the chat takes over', { outboxId: row.id, roomId: row.roomId });
        return 'skipped';
      }
      log.debug('form goes to capable devices', { outboxId: row.id, devices: check.devices.length });
    }
    if (inline) return skeleton;
    const reserved = row.prepared as ReservedFile | null;
    if (!reserved) {
      // Step 1, kept before anything is uploaded: the media id and key every later attempt uses.
      await savePrepared(tx, row, await io.reserveFile());
      return 'again';
    }
    const { data, file } = encryptReserved(new TextEncoder().encode(message.resource), reserved);
    if ((await io.uploadReserved(reserved, data, message.fileName)) === 'expired') {
      await savePrepared(tx, row, null);
      return 'again';
    }
    return renderFhir(message, { ...ctx, file });
  }

  /** The Matrix event of a row: its message rendered now (relations resolved), or content queued by an older version. */
  async function eventOf(tx: Tx, row: OutboxRow): Promise<MatrixEvent | 'skipped' | 'again'> {
    if (!row.message) return { type: row.eventType, content: (row.content ?? {}) as Record<string, unknown> };
    if (row.message.type === 'fhir') return fhirEventOf(tx, row, row.message);
    const related = referencedRow(row.message);
    const deviceId = options.structured?.deviceId();
    return renderOutgoing(row.message, related === undefined ? undefined : await sentEventIdOf(tx, related), deviceId ? { deviceId } : {});
  }

  async function sendOne(id: number): Promise<number> {
    const slots = options.slots ?? ((task) => task());
    return slots(() => sendInTransaction(id));
  }

  async function sendInTransaction(id: number): Promise<number> {
    return options.db.transaction(async (tx) => {
      // Re-check under the row lock: another instance may have sent it, or it may no longer be due.
      const row = await claimForSending(tx, id, new Date());
      if (!row) return 0;
      // Outside the try: a lost lease is not a failed attempt of this message; the row stays as it was.
      await options.fence?.(tx);
      try {
        const event = await eventOf(tx, row);
        if (event === 'skipped' || event === 'again') return 1;
        const eventId = await options.send(row.roomId, event.type, row.txnId, event.content);
        const now = new Date();
        await markSent(tx, row, eventId, now);
        await options.outcomes?.accepted(tx, row, eventId, now);
        if (row.message?.type === 'fhir' && row.message.form) await options.forms?.formSent(tx, row.message.form.deliveryId, eventId, now);
      } catch (error) {
        const failure = describe(error);
        const attempts = row.attempts + 1;
        const giveUp = isPermanent(failure) && attempts >= MAX_REFUSALS;
        const delay = nextAttemptDelay(failure, attempts);
        if (failure.status === 429) pausedUntil = Date.now() + delay;
        await markAttemptFailed(tx, row, {
          failed: giveUp,
          error: failure.errcode ?? (failure.status ? `HTTP ${failure.status}` : 'network'),
          retryAt: new Date(Date.now() + delay),
        });
        const fields = { outboxId: row.id, roomId: row.roomId, attempts, ...errorFields(error), ...(failure.status ? { status: failure.status } : {}) };
        if (giveUp) {
          log.error('message refused by the homeserver; giving up', fields);
          await options.outcomes?.refused(tx, row, failure.errcode ?? `HTTP_${failure.status ?? 'ERROR'}`, new Date());
        } else {
          log.warn('send failed; will retry', { ...fields, inMs: delay });
        }
      }
      return 1;
    });
  }

  async function drainOnce(): Promise<number> {
    // Candidates first (no lock), then one short transaction per message: a slow or failing room
    // never holds back the bookkeeping of messages already delivered to other rooms.
    let handled = 0;
    for (const id of await dueHeads(options.db, new Date(), batch, options.scope)) {
      if (!running || Date.now() < pausedUntil) break;
      handled += await sendOne(id);
    }
    return handled;
  }

  const loop = (async () => {
    while (running) {
      let sent = 0;
      try {
        kicked = false;
        sent = await drainOnce();
      } catch (error) {
        if (error instanceof LeaseLostError) {
          log.warn('lease lost; this instance stops sending for the account', { accountId: error.accountId });
          running = false;
          options.onLeaseLost?.(error);
          break;
        }
        log.error('outbox pass failed', errorFields(error));
      }
      const pause = Math.max(pausedUntil - Date.now(), 0);
      if ((sent > 0 || kicked) && pause === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(pollMs, pause));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    kick,
    async stop() {
      running = false;
      unsubscribe?.();
      wake?.();
      await loop;
    },
  };
}
