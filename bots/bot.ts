import { existsSync } from 'node:fs';
import { MatrixClient } from 'matrix-bot-sdk';
import { errorFields, type Logger } from '../core/logging.ts';
import { readBotState, writeBotState } from '../db/bot-state.ts';
import { recordRoom } from '../db/bot-accounts.ts';
import { fence, type Lease, type LeaseLostError } from '../db/leases.ts';
import type { Db } from '../db/database.ts';
import { SecretKeyError, type SecretBox } from '../db/secrets.ts';
import type { DeliveryOutcomes } from '../services/alerts/outcome.ts';
import type { Signal } from '../services/signal.ts';
import { publishOwnCapabilities, recipientSupports } from './capabilities.ts';
import { enableKeyBackup, ensureCrossSigning, type KeyBackup } from './crypto-account.ts';
import {
  createCrypto,
  CryptoStoreError,
  cryptoStoreDir,
  EncryptionRequiredError,
  plainRooms,
  sealForRoom,
  type BotCrypto,
  type CryptoStoreBackend,
} from './crypto.ts';
import { createInbound, type BotServices } from './inbound.ts';
import { reserveFile, uploadReserved } from './fhir-files.ts';
import { uploadLimit } from './media.ts';
import { startOutboxSender, type FormDeliveryPort, type OutboxSender, type SendEvent, type StructuredDataIo } from './outbox-sender.ts';
import { inspectRoom } from './room-inspection.ts';
import { createDirectRoom, leaveAndForget } from './rooms.ts';
import { rateLimitStatus, type RateLimitStatus } from './rate-limit.ts';
import { routeSdkLogs } from './sdk-logs.ts';
import { loginSession } from './session.ts';
import { DatabaseStorage } from './storage.ts';
import { trackUndecryptable, type UndecryptableTracker } from './undecryptable.ts';

export type { BotServices } from './inbound.ts';

export interface BotOptions {
  homeserverUrl: string;
  userId: string;
  password?: string;
  accessToken?: string;
  displayName: string;
  allowedInviters: readonly string[];
  maxUploadBytes: number;
  /** The bot's own state (session, sync position, crypto-free storage) and the outbox. */
  db: Db;
  /** Seals the stored access token (db/secrets.ts). */
  secrets: SecretBox;
  logger: Logger;
  services: BotServices;
  /** Wakes the outbox sender when services committed messages. */
  outgoing: Signal;
  /** What an accepted or refused message means (alerts are delivered only when accepted). */
  outcomes?: DeliveryOutcomes;
  /** What sending (or not sending) a form means for its check-in (TI-M structured data, docs/tim.md). */
  forms?: FormDeliveryPort;
  /** Backoff bounds while the homeserver is unreachable at start. */
  retry?: { initialMs: number; maxMs: number };
  /** End-to-end encryption: the crypto store's passphrase and folder, how long to wait for missing keys, the backup key. */
  crypto?: { passphrase: string; storeDir: string; undecryptableWaitMs?: number; backupKey?: string };
  /** Where crypto stores live (checked when `crypto` is absent: an account that had one must not start without it). */
  cryptoStoreDir?: string;
  /**
   * The bot account this bot speaks as (db/bot-accounts.ts): it sends only its rooms' messages
   * (and, for the environment's account, those from before accounts existed) and records the
   * rooms it joins. Absent: every message (tests of the bot alone).
   */
  account?: { id: string; includeUnowned: boolean };
  /** The lease this instance holds on the account (db/leases.ts): every send is fenced by it. */
  lease?: Lease;
  /** Limits the open send transactions of all bots in the process (bots/outbox-sender.ts `slots`). */
  sendSlots?: <T>(task: () => Promise<T>) => Promise<T>;
  /** The fence refused a send: another instance may run the account now. */
  onLeaseLost?: (error: LeaseLostError) => void;
  /** The device the account logged in with (recorded on the account). */
  onSession?: (deviceId: string) => Promise<void>;
  /** The crypto store's home for a device (Postgres, db/crypto-store.ts); absent: the folder below `crypto.storeDir`. */
  cryptoBackend?: (deviceId: string) => CryptoStoreBackend;
}

export interface Bot {
  /** Creates a direct room with the patient (one invitee, per TI-M) and returns its id. */
  createDirectRoom(patientUserId: string): Promise<string>;
  /** Leaves a room and forgets it, so its history is gone from the bot's account. */
  leaveAndForget(roomId: string): Promise<void>;
  /** Whether the bot is in a room and may post there, and which of `candidates` are members. */
  inspectRoom(roomId: string, candidates: readonly string[]): Promise<{ botJoined: boolean; botCanPost: boolean; clinicians: string[] }>;
  /** Resolves once syncing; retries with backoff while the homeserver is down. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when the homeserver does not answer. */
  ping(): Promise<void>;
  readonly connected: boolean;
  /** Whether the homeserver exempts the account from message rate limits (known once connected). */
  readonly rateLimit: RateLimitStatus;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * The Matrix adapter's lifecycle: log in (one device for the bot's life), open
 * the crypto store, sync, route events in (bots/inbound.ts), send the outbox
 * out (bots/outbox-sender.ts). What events mean is decided by the services.
 */
export function createBot(options: BotOptions): Bot {
  const log = options.logger.child({ component: 'bot' });
  const sdkLogs = routeSdkLogs(options.logger);
  const stopping = new AbortController();
  const retry = options.retry ?? { initialMs: 1_000, maxMs: 30_000 };
  const storage = new DatabaseStorage(options.db, options.userId);
  const e2eeKey = `${options.userId}:e2ee`;
  let client: MatrixClient | undefined;
  let accessToken = '';
  let deviceId: string | undefined;
  let cutoff = 0;
  let sender: OutboxSender | undefined;
  let maxBytes = options.maxUploadBytes;
  let rateLimit: RateLimitStatus = 'unknown';
  let crypto: BotCrypto | undefined;
  let undecryptable: UndecryptableTracker | undefined;
  let backup: KeyBackup | undefined;
  /** The client of the current connection (set before its first sync, unlike `client`). */
  let live: MatrixClient | undefined;
  /** Ids of events that reached us encrypted and were decrypted (bounded; oldest forgotten first). */
  const decrypted = new Set<string>();
  const rememberDecrypted = (eventId: unknown) => {
    if (typeof eventId !== 'string') return;
    decrypted.add(eventId);
    if (decrypted.size > 20_000) for (const old of [...decrypted].slice(0, 5_000)) decrypted.delete(old);
  };

  const inbound = createInbound({
    userId: options.userId,
    allowedInviters: options.allowedInviters,
    services: options.services,
    files: { homeserverUrl: options.homeserverUrl, accessToken: () => accessToken, maxBytes: () => maxBytes },
    log,
    cutoff: () => cutoff,
    deviceId: () => deviceId,
    ...(options.account ? { joined: (roomId: string) => recordRoom(options.db, roomId, options.account!.id) } : {}),
    ...(options.crypto
      ? {
          encryption: {
            isEncrypted: async (roomId: string) => (await live?.crypto?.isRoomEncrypted(roomId)) ?? false,
            wasDecrypted: (eventId: string) => decrypted.has(eventId),
          },
        }
      : {}),
  });

  /** Cross-signing and server-side key backup: wanted (TI-M), not required — the bot talks without them. */
  async function setUpAccountCrypto(matrix: MatrixClient): Promise<void> {
    await ensureCrossSigning(matrix, { userId: options.userId, ...(options.password ? { password: options.password } : {}), logger: options.logger }).catch(
      (error: unknown) => log.warn('cross-signing not set up', errorFields(error)),
    );
    try {
      backup = await enableKeyBackup(matrix, {
        logger: options.logger,
        ...(options.crypto?.backupKey ? { decryptionKeyBase64: options.crypto.backupKey } : {}),
      });
      if (backup.joinedExisting) await backup.restore();
    } catch (error) {
      log.warn('key backup not enabled', errorFields(error));
    }
  }

  /** One tracked try/catch per handler, so the sync token waits for it (see DatabaseStorage). */
  function guarded(name: string, handler: (roomId: string, event: unknown) => Promise<void>) {
    return (roomId: string, event: unknown) => {
      storage.track(handler(roomId, event).catch((error: unknown) => log.error(`${name} handler failed`, { roomId, ...errorFields(error) })));
    };
  }

  async function connectOnce(): Promise<MatrixClient> {
    const session = await loginSession({
      db: options.db,
      homeserverUrl: options.homeserverUrl,
      userId: options.userId,
      ...(options.password ? { password: options.password } : {}),
      ...(options.accessToken ? { accessToken: options.accessToken } : {}),
      secrets: options.secrets,
    });
    accessToken = session.accessToken;
    deviceId = session.deviceId;
    await options.onSession?.(session.deviceId);
    if (options.crypto) {
      await writeBotState(options.db, e2eeKey, JSON.stringify({ deviceId: session.deviceId }));
      crypto = createCrypto({
        userId: options.userId,
        deviceId: session.deviceId,
        storeDir: cryptoStoreDir(options.crypto.storeDir, options.userId, session.deviceId),
        passphrase: options.crypto.passphrase,
        logger: options.logger,
        ...(options.cryptoBackend ? { backend: options.cryptoBackend(session.deviceId) } : {}),
      });
    }
    const matrix = new MatrixClient(options.homeserverUrl, session.accessToken, storage, crypto?.cryptoStore);
    live = matrix;
    // Save the sync position only after the batch's handlers ran (see DatabaseStorage).
    (matrix as unknown as { persistTokenAfterSync: boolean }).persistTokenAfterSync = true;
    // Without a stored position this is a first sync: what happened before is history, not a request.
    cutoff = (await storage.getSyncToken()) ? 0 : Date.now();
    matrix.on(
      'room.invite',
      guarded('invite', (roomId, event) => inbound.onInvite(matrix, roomId, event)),
    );
    matrix.on('room.event', (roomId: string, event: { type?: string }) => plainRooms.noteStateEvent(roomId, String(event?.type)));
    matrix.on(
      'room.event',
      guarded('event', (roomId, event) => inbound.onEvent(matrix, roomId, event)),
    );
    if (crypto) {
      // Emitted right before the same event's room.event: what arrives without it was sent in the clear.
      matrix.on('room.decrypted_event', (_roomId: string, event: { event_id?: unknown }) => rememberDecrypted(event.event_id));
      // A message whose key has not arrived yet is retried when keys come, then answered politely.
      undecryptable = trackUndecryptable(matrix, {
        logger: options.logger,
        ...(options.crypto?.undecryptableWaitMs ? { giveUpAfterMs: options.crypto.undecryptableWaitMs } : {}),
        onDecrypted: (roomId, event) => {
          rememberDecrypted(event.event_id);
          return inbound.onEvent(matrix, roomId, event);
        },
        onGiveUp: async (roomId, event) => {
          if (event.sender === options.userId) return;
          const outcome = await options.services.conversations.askToResend({ eventId: event.event_id, roomId, sender: event.sender });
          log.info('asked to send an undecryptable message again', { roomId, eventId: event.event_id, outcome });
        },
      });
    }
    rateLimit = await rateLimitStatus(options.homeserverUrl, session.accessToken, options.userId);
    if (rateLimit !== 'exempt') {
      log.warn('the bot account may be rate-limited by the homeserver; exempt it (docs/operations.md, Rate limits)', { userId: options.userId, rateLimit });
    }
    maxBytes = Math.min(options.maxUploadBytes, await uploadLimit(options.homeserverUrl, session.accessToken).catch(() => options.maxUploadBytes));
    try {
      await matrix.start();
    } catch (error) {
      // Leave nothing open: the retry opens the store again.
      matrix.stop();
      undecryptable?.stop();
      await crypto?.close().catch(() => {});
      throw error;
    }
    if (crypto) await setUpAccountCrypto(matrix);
    await matrix.setDisplayName(options.displayName).catch((error: unknown) => log.warn('could not set display name', errorFields(error)));
    // TI-M clients learn from the profile that this device takes ISiK form answers (MSC4401).
    await publishOwnCapabilities(matrix, options.userId, session.deviceId).catch((error: unknown) =>
      log.warn('could not publish client capabilities', errorFields(error)),
    );
    return matrix;
  }

  /** Matrix I/O for structured data: the recipient's capabilities and media for large resources. */
  const structuredVia = (matrix: MatrixClient): StructuredDataIo => {
    const media = { homeserverUrl: options.homeserverUrl, accessToken: () => accessToken };
    return {
      deviceId: () => deviceId,
      recipientSupports: (userId, event) => recipientSupports(matrix, userId, event, log),
      reserveFile: () => reserveFile(media),
      uploadReserved: (reserved, data, fileName) => uploadReserved(media, reserved, data, fileName),
    };
  };

  /**
   * Fail closed: an account that has used end-to-end encryption (recorded in the database when its
   * store was first opened, or a store folder on disk) never starts without its passphrase — it would
   * send plaintext into encrypted rooms and could not read the patients' replies.
   */
  async function assertEncryptionNotRequired(): Promise<void> {
    if (options.crypto) return;
    const recorded = await readBotState(options.db, e2eeKey);
    const folder = options.cryptoStoreDir ? cryptoStoreDir(options.cryptoStoreDir, options.userId, '') : undefined;
    if (recorded || (folder && existsSync(folder))) {
      throw new EncryptionRequiredError(
        `${options.userId} has used end-to-end encryption${recorded ? ` (device ${JSON.parse(recorded).deviceId})` : ''}; set VISITE_CRYPTO_PASSPHRASE to start it — without it the bot would send plaintext into encrypted rooms`,
      );
    }
  }

  /** Sends one outbox event; in an encrypted room it is sealed just before sending, under the same txn id. */
  const sendVia =
    (matrix: MatrixClient): SendEvent =>
    async (roomId, eventType, txnId, content) => {
      const sealed = await sealForRoom(matrix, roomId, eventType, content);
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(sealed.eventType)}/${encodeURIComponent(txnId)}`;
      const response = (await matrix.doRequest('PUT', path, null, sealed.content)) as { event_id: string };
      return response.event_id;
    };

  const connectedClient = (): MatrixClient => {
    if (!client) throw new Error('the bot is not connected to the homeserver yet');
    return client;
  };

  return {
    get connected() {
      return client !== undefined;
    },
    get rateLimit() {
      return rateLimit;
    },
    async start() {
      await assertEncryptionNotRequired();
      let delay = retry.initialMs;
      while (!stopping.signal.aborted) {
        try {
          const matrix = await connectOnce();
          client = matrix;
          sender = startOutboxSender({
            db: options.db,
            logger: options.logger,
            wake: options.outgoing,
            send: sendVia(matrix),
            structured: structuredVia(matrix),
            ...(options.outcomes ? { outcomes: options.outcomes } : {}),
            ...(options.forms ? { forms: options.forms } : {}),
            ...(options.account ? { scope: { accountId: options.account.id, includeUnowned: options.account.includeUnowned } } : {}),
            ...(options.lease ? { fence: (tx) => fence(tx, options.lease!) } : {}),
            ...(options.onLeaseLost ? { onLeaseLost: options.onLeaseLost } : {}),
            ...(options.sendSlots ? { slots: options.sendSlots } : {}),
          });
          log.info('bot syncing', { userId: options.userId });
          return;
        } catch (error) {
          // A wrong passphrase (or a damaged store) must stop the start, never create a new identity.
          if (error instanceof CryptoStoreError && (error as { code?: string }).code !== 'CRYPTO_STORE_CLOSED') {
            log.error('the crypto store cannot be opened', { ...errorFields(error) });
            throw error;
          }
          // The stored session sealed under another key: a configuration error, not a network one.
          if (error instanceof SecretKeyError) {
            log.error('the stored session cannot be opened', { ...errorFields(error) });
            throw error;
          }
          log.warn('homeserver not usable yet; retrying', { inMs: delay, ...errorFields(error) });
          await sleep(delay, stopping.signal);
          delay = Math.min(delay * 2, retry.maxMs);
        }
      }
    },
    async stop() {
      stopping.abort();
      sdkLogs.mute();
      client?.stop();
      undecryptable?.stop();
      backup?.stop();
      await sender?.stop();
      await storage.settle();
      // A last upload of new room keys, bounded so an unreachable homeserver cannot hold up the shutdown.
      if (backup) await Promise.race([backup.backupNow().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())]);
      await crypto?.close().catch((error: unknown) => log.error('crypto store close failed', errorFields(error)));
      client = undefined;
    },
    async ping() {
      const res = await fetch(`${options.homeserverUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`homeserver answered HTTP ${res.status}`);
    },
    createDirectRoom: (patientUserId) =>
      createDirectRoom(connectedClient(), patientUserId, { displayName: options.displayName, encrypted: crypto !== undefined }),
    leaveAndForget: (roomId) => leaveAndForget(connectedClient(), roomId),
    inspectRoom: (roomId, candidates) => inspectRoom(connectedClient(), options.userId, roomId, candidates),
  };
}
