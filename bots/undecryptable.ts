/**
 * Messages the bot could not decrypt yet. The usual cause is a room key that
 * is still on its way (it travels as a to-device message, possibly in a later
 * sync than the event). We keep such events, try again whenever new to-device
 * messages were decrypted, and give up after a while — then the bot can ask
 * the patient politely to send the message again instead of ignoring it.
 *
 * The list lives in memory: after a restart nothing is retried. Events that
 * fail again on the next start (a replayed sync) come back through the same path.
 */
import { EncryptedRoomEvent, type MatrixClient } from 'matrix-bot-sdk';
import { errorFields, type Logger } from '../core/logging.ts';

interface RawEvent {
  event_id: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  origin_server_ts?: number;
}

export interface UndecryptableOptions {
  /** How long to wait for missing keys before giving up. */
  giveUpAfterMs?: number;
  /** The event decrypted on a later try: handle it like any decrypted event. */
  onDecrypted(roomId: string, event: RawEvent): void | Promise<void>;
  /** Still undecryptable after the wait: e.g. ask the sender to send it again. */
  onGiveUp(roomId: string, event: RawEvent): void | Promise<void>;
  logger: Logger;
  /** Injected for tests. */
  now?: () => number;
}

export interface UndecryptableTracker {
  /** Events waiting for keys. */
  readonly pending: number;
  /** Tries all pending events now (called after to-device messages arrive). */
  retry(): Promise<void>;
  /** Gives up on events past their deadline. */
  expire(): Promise<void>;
  stop(): void;
}

interface Pending {
  roomId: string;
  event: RawEvent;
  deadline: number;
}

/** Hooks into the client's `room.failed_decryption` and `to_device.decrypted` events. */
export function trackUndecryptable(client: MatrixClient, options: UndecryptableOptions): UndecryptableTracker {
  const log = options.logger.child({ component: 'crypto' });
  const now = options.now ?? Date.now;
  const giveUpAfterMs = options.giveUpAfterMs ?? 60_000;
  const pending = new Map<string, Pending>();
  let running: Promise<void> = Promise.resolve();
  let scheduled = false;

  const deliver = async (roomId: string, event: RawEvent, handler: (roomId: string, event: RawEvent) => void | Promise<void>, what: string) => {
    try {
      await handler(roomId, event);
    } catch (error) {
      log.error(`${what} handler failed`, { roomId, eventId: event.event_id, ...errorFields(error) });
    }
  };

  async function tryAll(): Promise<void> {
    for (const [eventId, item] of [...pending]) {
      if (!client.crypto) return;
      try {
        const decrypted = (await client.crypto.decryptRoomEvent(new EncryptedRoomEvent(item.event), item.roomId)).raw as RawEvent;
        pending.delete(eventId);
        log.info('decrypted a message on retry', { roomId: item.roomId, eventId });
        await deliver(item.roomId, decrypted, options.onDecrypted, 'decrypted-on-retry');
      } catch {
        // still no key
      }
    }
    await expireDue();
  }

  async function expireDue(): Promise<void> {
    const t = now();
    for (const [eventId, item] of [...pending]) {
      if (item.deadline > t) continue;
      pending.delete(eventId);
      log.warn('gave up decrypting a message', { roomId: item.roomId, eventId });
      await deliver(item.roomId, item.event, options.onGiveUp, 'undecryptable');
    }
  }

  const serial = (work: () => Promise<void>) => (running = running.then(work, work));

  const onFailed = (roomId: string, event: RawEvent) => {
    if (!event?.event_id || pending.has(event.event_id)) return;
    pending.set(event.event_id, { roomId, event, deadline: now() + giveUpAfterMs });
    log.info('message not decryptable yet; waiting for its key', { roomId, eventId: event.event_id });
  };
  const onToDevice = () => {
    if (scheduled || pending.size === 0) return;
    scheduled = true;
    // After the sync lock is released: the machine has stored the new keys by then.
    setImmediate(() => {
      scheduled = false;
      void serial(tryAll);
    });
  };
  client.on('room.failed_decryption', onFailed);
  client.on('to_device.decrypted', onToDevice);
  const timer = setInterval(() => void serial(tryAll), Math.max(1_000, Math.min(10_000, giveUpAfterMs / 4)));
  timer.unref();

  return {
    get pending() {
      return pending.size;
    },
    retry: () => serial(tryAll),
    expire: () => serial(expireDue),
    stop() {
      clearInterval(timer);
      client.off('room.failed_decryption', onFailed);
      client.off('to_device.decrypted', onToDevice);
    },
  };
}
