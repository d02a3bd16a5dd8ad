/**
 * End-to-end encryption for the bot: what a matrix-bot-sdk MatrixClient needs
 * to run encrypted on our WebAssembly crypto binding, plus fixes for two
 * matrix-bot-sdk bugs (BRIEF §6).
 *
 * The crypto store lives in one folder per bot device: `crypto-store.bin`
 * (identity keys, Olm and Megolm sessions, device lists — an AES-256-GCM
 * encrypted snapshot, key derived from the passphrase) and `bot-sdk.json`
 * (matrix-bot-sdk's room encryption settings). Back up the folder together with
 * the passphrase; without either the bot needs a new device and loses history.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LogService, RustSdkCryptoStorageProvider, type MatrixClient } from 'matrix-bot-sdk';
import { CryptoClient } from 'matrix-bot-sdk/lib/e2ee/CryptoClient.js';
import { RoomTracker } from 'matrix-bot-sdk/lib/e2ee/RoomTracker.js';
import { RustEngine } from 'matrix-bot-sdk/lib/e2ee/RustEngine.js';
import type { CryptoStoreBackend, EncryptionSettings, HistoryVisibility, OlmMachine, PlainRequest } from '@matrix-org/matrix-sdk-crypto-nodejs';
import { encryptedFile, type EncryptedFile } from './encrypted-file.ts';
import { errorFields, type Logger } from '../core/logging.ts';

type Binding = typeof import('@matrix-org/matrix-sdk-crypto-nodejs');
const require = createRequire(import.meta.url);
/** The same module instance matrix-bot-sdk gets (our wasm stand-in). */
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as Binding;

export const { CryptoStoreError } = binding;
export type { CryptoStoreBackend };

/** The account has used end-to-end encryption, but Visite was started without its passphrase. */
export class EncryptionRequiredError extends Error {
  override name = 'EncryptionRequiredError';
  readonly code = 'E2EE_PASSPHRASE_MISSING';
}

export interface CryptoOptions {
  userId: string;
  /** The device of the bot's session; the store refuses to open for another one. */
  deviceId: string;
  /**
   * Folder of this bot's crypto store (created if missing). With a `backend`
   * the sealed crypto state lives there instead; the folder still holds
   * matrix-bot-sdk's `bot-sdk.json` and names the store in the binding.
   */
  storeDir: string;
  passphrase: string;
  /** Where the sealed snapshot and frames live (db/crypto-store.ts `postgresCryptoStore`); absent: files in `storeDir`. */
  backend?: CryptoStoreBackend;
  logger: Logger;
}

export interface BotCrypto {
  /** Pass as the fourth argument of `new MatrixClient(url, token, storage, cryptoStore)`. */
  readonly cryptoStore: RustSdkCryptoStorageProvider;
  readonly storeDir: string;
  /** Writes pending crypto changes to disk or the backend (every change is flushed already; this is for shutdown). */
  flush(): Promise<void>;
  /** Flushes and closes the store. Call after `client.stop()`. */
  close(): Promise<void>;
}

/**
 * matrix-bot-sdk's crypto store, bound to our session's device. The SDK keeps
 * its own device id in `bot-sdk.json`; we answer with the session's instead, so
 * the machine always belongs to the device the access token is for.
 */
class VisiteCryptoStorageProvider extends RustSdkCryptoStorageProvider {
  readonly #deviceId: string;
  closed = false;

  constructor(storeDir: string, deviceId: string) {
    super(storeDir, 1 /* StoreType.Sqlite, ignored by the wasm binding */);
    this.#deviceId = deviceId;
  }

  override async getDeviceId(): Promise<string> {
    return this.#deviceId;
  }

  override async setDeviceId(deviceId: string): Promise<void> {
    if (deviceId !== this.#deviceId) throw new Error(`crypto store is bound to device ${this.#deviceId}, not ${deviceId}`);
  }

  /**
   * matrix-bot-sdk asks this (through isRoomEncrypted) for every event of a
   * sync batch, outside its decryption try/catch. `client.stop()` does not
   * abort a long-poll in flight; once the store is closed, a batch arriving
   * late makes processSync reject here instead of reporting its events as
   * undecryptable — so, with persistTokenAfterSync, the batch is not
   * acknowledged and the next start receives it again.
   */
  override async getRoom(roomId: string): Promise<Awaited<ReturnType<RustSdkCryptoStorageProvider['getRoom']>>> {
    if (this.closed) throw new CryptoStoreError('CRYPTO_STORE_CLOSED', 'the crypto store is closed');
    return super.getRoom(roomId);
  }
}

/**
 * Everything a MatrixClient needs to be encrypted. Opening the store happens
 * in `client.start()` (matrix-bot-sdk calls OlmMachine.initialize there); a
 * wrong passphrase makes that start reject with a CryptoStoreError whose code
 * is `CRYPTO_STORE_PASSPHRASE` — it never creates a new identity.
 */
export function createCrypto(options: CryptoOptions): BotCrypto {
  if (!options.passphrase) throw new Error('a crypto store passphrase is required');
  if (!options.deviceId) throw new Error('end-to-end encryption needs the session device id');
  installMatrixBotSdkFixes();
  const storeDir = options.storeDir;
  binding.configureStore(storeDir, { passphrase: options.passphrase, ...(options.backend ? { backend: options.backend } : {}) });
  const cryptoStore = new VisiteCryptoStorageProvider(storeDir, options.deviceId);
  const log = options.logger.child({ component: 'crypto' });
  return {
    cryptoStore,
    storeDir,
    async flush() {
      await binding.flushStore(storeDir);
    },
    async close() {
      cryptoStore.closed = true;
      try {
        await binding.closeStore(storeDir);
      } catch (error) {
        log.error('could not close the crypto store', errorFields(error));
        throw error;
      }
    },
  };
}

/** Where a bot's store lives below a data folder: one folder per user and device. */
export function cryptoStoreDir(dataDir: string, userId: string, deviceId: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._=-]/g, '_');
  return join(dataDir, 'crypto', safe(userId), safe(deviceId));
}

// ---------------------------------------------------------------------------
// Rooms and sending

/** The initial state that makes a room the bot creates encrypted (TI-M: every room; BRIEF §3). */
export const ROOM_ENCRYPTION_STATE = {
  type: 'm.room.encryption',
  state_key: '',
  content: { algorithm: 'm.megolm.v1.aes-sha2' },
} as const;

/**
 * Which rooms are encrypted, for a bot running without encryption (development only): asked of
 * the homeserver once per room, remembered, and forgotten when the room's encryption state
 * changes in the sync (`noteStateEvent`). Encryption cannot be switched off, so "encrypted" stays.
 */
export const plainRooms = (() => {
  const known = new Map<string, boolean>();
  return {
    async isEncrypted(client: MatrixClient, roomId: string): Promise<boolean> {
      const cached = known.get(roomId);
      if (cached !== undefined) return cached;
      const state = await client.getRoomStateEvent(roomId, 'm.room.encryption', '').catch((error: { statusCode?: number }) => {
        if (error?.statusCode === 404) return null;
        throw error;
      });
      known.set(roomId, state !== null);
      return state !== null;
    },
    noteStateEvent(roomId: string, type: string): void {
      if (type === 'm.room.encryption') known.set(roomId, true);
    },
  };
})();

/**
 * What to PUT for an event: in an encrypted room the `m.room.encrypted`
 * ciphertext (sharing the room key first where needed), otherwise the event
 * unchanged. For senders that bypass `client.sendEvent` (Visite's outbox).
 */
export async function sealForRoom(
  client: MatrixClient,
  roomId: string,
  eventType: string,
  content: Record<string, unknown>,
): Promise<{ eventType: string; content: Record<string, unknown> }> {
  if (!client.crypto) {
    // Without our own crypto we must not speak into a room that is encrypted: refuse, never send plaintext.
    if (await plainRooms.isEncrypted(client, roomId)) {
      throw Object.assign(new Error('the room is encrypted and the bot runs without encryption'), { statusCode: 403, errcode: 'VISITE_E2EE_REQUIRED' });
    }
    return { eventType, content };
  }
  if (!(await client.crypto.isRoomEncrypted(roomId))) return { eventType, content };
  return { eventType: 'm.room.encrypted', content: (await client.crypto.encryptRoomEvent(roomId, eventType, content)) as unknown as Record<string, unknown> };
}

// ---------------------------------------------------------------------------
// Encrypted attachments (CS API: `file` instead of `url` in encrypted rooms)

export { encryptedFile, type EncryptedFile };

/**
 * Decrypts a downloaded attachment. The SHA-256 of the ciphertext is checked
 * first: a file that was swapped or damaged on the server throws.
 */
export function decryptAttachment(ciphertext: Uint8Array, file: EncryptedFile): Uint8Array {
  const attachment = new binding.EncryptedAttachment(ciphertext, JSON.stringify(file));
  return binding.Attachment.decrypt(attachment);
}

/** Encrypts a file for upload; send the ciphertext, then put `{ ...file, url }` into the event's `file`. */
export function encryptAttachment(plain: Uint8Array): { data: Uint8Array; file: Omit<EncryptedFile, 'url'> } {
  const encrypted = binding.Attachment.encrypt(plain);
  const info = JSON.parse(encrypted.mediaEncryptionInfo ?? 'null') as Omit<EncryptedFile, 'url'> | null;
  if (!info) throw new Error('attachment encryption returned no key');
  const data = encrypted.encryptedData;
  encrypted.free();
  return { data, file: info };
}

// ---------------------------------------------------------------------------
// matrix-bot-sdk 0.8.0 fixes

const MEGOLM = 'm.megolm.v1.aes-sha2';
const DEFAULT_ROTATION_PERIOD_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_ROTATION_MESSAGES = 100;

interface RoomCryptoInfo {
  algorithm?: string;
  rotation_period_ms?: number;
  rotation_period_msgs?: number;
  historyVisibility?: string;
}

/**
 * Megolm session settings for a room's `m.room.encryption` content. The Rust
 * crypto takes the rotation period in microseconds; matrix-bot-sdk passes
 * milliseconds (so sessions rotate 1,000 times too often). Here: µs.
 */
export function encryptionSettingsFor(info: RoomCryptoInfo): EncryptionSettings {
  const settings = new binding.EncryptionSettings();
  if (info.algorithm !== MEGOLM) throw new Error(`unsupported room encryption algorithm ${String(info.algorithm)}`);
  settings.algorithm = binding.EncryptionAlgorithm.MegolmV1AesSha2;
  settings.historyVisibility = historyVisibility(info.historyVisibility);
  const periodMs = positiveInteger(info.rotation_period_ms) ?? DEFAULT_ROTATION_PERIOD_MS;
  settings.rotationPeriod = BigInt(periodMs) * 1000n;
  settings.rotationPeriodMessages = BigInt(positiveInteger(info.rotation_period_msgs) ?? DEFAULT_ROTATION_MESSAGES);
  return settings;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function historyVisibility(value: string | undefined): HistoryVisibility {
  switch (value) {
    case 'invited':
      return binding.HistoryVisibility.Invited;
    case 'shared':
      return binding.HistoryVisibility.Shared;
    case 'world_readable':
      return binding.HistoryVisibility.WorldReadable;
    default:
      return binding.HistoryVisibility.Joined;
  }
}

/** Who gets the room key: joined members, and invited ones unless history is only for joined members. */
export function keyRecipientsMembership(historyVisibilityValue: string | undefined): Array<'join' | 'invite'> {
  return historyVisibilityValue === 'joined' ? ['join'] : ['join', 'invite'];
}

/** The parts of RustEngine our fixes use; its members are private in the SDK's types. */
interface EngineInternals {
  machine: OlmMachine;
  client: MatrixClient;
  lock: { acquire<T>(key: string, work: () => Promise<T>): Promise<T> };
  runOnly(...types: number[]): Promise<void>;
  processKeysUploadRequest(request: PlainRequest): Promise<void>;
  processKeysQueryRequest(request: PlainRequest): Promise<void>;
  processKeysClaimRequest(request: PlainRequest): Promise<void>;
  processToDeviceRequest(request: PlainRequest): Promise<void>;
  prepareEncrypt(roomId: string, roomInfo: RoomCryptoInfo): Promise<void>;
  addTrackedUsers(userIds: string[]): Promise<void>;
}

const SYNC_LOCK = 'sync';
const FIXED = Symbol.for('visite.matrix-bot-sdk-fixes');

/**
 * Sends one to-device request as the crypto machine built it. matrix-bot-sdk
 * reads `txn_id`/`event_type` from the request body, which only holds
 * `messages`, and so sends to `sendToDevice/undefined/…`. We take them from
 * the request and reuse its transaction id, so a retried send is de-duplicated.
 */
export async function sendToDeviceRequest(engine: Pick<EngineInternals, 'machine' | 'client'>, request: PlainRequest): Promise<void> {
  const body = JSON.parse(request.body) as { messages?: unknown; txn_id?: unknown; event_type?: unknown };
  const eventType = request.eventType ?? (typeof body.event_type === 'string' ? body.event_type : undefined);
  const txnId = request.txnId ?? (typeof body.txn_id === 'string' ? body.txn_id : undefined);
  if (!eventType || !txnId) throw new Error('to-device request without event type or transaction id');
  const path = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(eventType)}/${encodeURIComponent(txnId)}`;
  const response: unknown = await engine.client.doRequest('PUT', path, null, { messages: body.messages ?? {} });
  await engine.machine.markRequestAsSent(request.id, binding.RequestType.ToDevice, JSON.stringify(response ?? {}));
}

/**
 * Sends the crypto machine's outgoing requests (our version of
 * RustEngine.runOnly). matrix-bot-sdk throws on signature uploads and key
 * backup requests, which cross-signing and key backup produce, and a throw
 * there fails every following sync. We send those too, and skip (with a
 * warning) the kinds a bot does not use (in-room verification messages).
 */
async function runOnly(this: EngineInternals, ...types: number[]): Promise<void> {
  const requests = await this.machine.outgoingRequests();
  for (const request of requests) {
    if (types.length > 0 && !types.includes(request.type)) continue;
    switch (request.type) {
      case binding.RequestType.KeysUpload:
        await this.processKeysUploadRequest(request);
        break;
      case binding.RequestType.KeysQuery:
        await this.processKeysQueryRequest(request);
        break;
      case binding.RequestType.KeysClaim:
        await this.processKeysClaimRequest(request);
        break;
      case binding.RequestType.ToDevice:
        await sendToDeviceRequest(this, request);
        break;
      case binding.RequestType.SignatureUpload: {
        const response: unknown = await this.client.doRequest('POST', '/_matrix/client/v3/keys/signatures/upload', null, JSON.parse(request.body));
        await this.machine.markRequestAsSent(request.id, request.type, JSON.stringify(response ?? {}));
        break;
      }
      case binding.RequestType.KeysBackup: {
        const version = (request as PlainRequest & { version?: string }).version ?? '';
        const path = `/_matrix/client/v3/room_keys/keys?version=${encodeURIComponent(version)}`;
        const response: unknown = await this.client.doRequest('PUT', path, null, JSON.parse(request.body));
        await this.machine.markRequestAsSent(request.id, request.type, JSON.stringify(response ?? {}));
        break;
      }
      default:
        LogService.warn('VisiteCrypto', `skipped an outgoing crypto request of type ${request.type}`);
    }
  }
}

/**
 * Tracks users and makes sure we have Olm sessions with their devices. The
 * crypto machine waits up to 5 s for a pending key query of a user before it
 * reports missing sessions; matrix-bot-sdk asks right after marking the users
 * for a query, without sending it, and so stalls 5 s per call (and holds the
 * sync lock meanwhile). We send the key query first.
 */
async function addTrackedUsers(this: EngineInternals, userIds: string[]): Promise<void> {
  const ids = () => userIds.map((id) => new binding.UserId(id));
  await this.lock.acquire(SYNC_LOCK, async () => {
    await this.machine.updateTrackedUsers(ids());
    await this.runOnly(binding.RequestType.KeysQuery);
    const claim = await this.machine.getMissingSessions(ids());
    if (claim) await this.processKeysClaimRequest(claim);
  });
}

/** Shares the room key with the room's members before encrypting (our version of RustEngine.prepareEncrypt). */
async function prepareEncrypt(this: EngineInternals, roomId: string, roomInfo: RoomCryptoInfo): Promise<void> {
  const memberships = keyRecipientsMembership(roomInfo.historyVisibility);
  const members = (await this.client.getRoomMembers(roomId, undefined, memberships)).map((m) => m.membershipFor);
  const userIds = () => members.map((id) => new binding.UserId(id));
  const settings = encryptionSettingsFor(roomInfo);
  await this.lock.acquire(SYNC_LOCK, async () => {
    await this.machine.updateTrackedUsers(userIds());
    await this.runOnly(binding.RequestType.KeysQuery);
    const claim = await this.machine.getMissingSessions(userIds());
    if (claim) await this.processKeysClaimRequest(claim);
  });
  await this.lock.acquire(roomId, async () => {
    const requests = await this.machine.shareRoomKey(new binding.RoomId(roomId), userIds(), settings);
    for (const request of requests) await sendToDeviceRequest(this, request);
  });
}

const isNotFound = (error: unknown) => {
  const e = error as { statusCode?: unknown; errcode?: unknown } | null;
  return e?.statusCode === 404 || e?.errcode === 'M_NOT_FOUND';
};

interface RoomTrackerInternals {
  client: MatrixClient & { cryptoStore: RustSdkCryptoStorageProvider };
  queueRoomCheck(roomId: string): Promise<void>;
}

/**
 * Learns whether a room is encrypted. matrix-bot-sdk treats *any* failure to
 * read `m.room.encryption` as "not encrypted" — a homeserver hiccup would make
 * the bot send a patient's data in clear text into an encrypted room. Only
 * "no such state" (404) means unencrypted here; other errors propagate, so the
 * send fails and is retried.
 */
export async function checkRoomEncryption(this: RoomTrackerInternals, roomId: string): Promise<void> {
  const known = await this.client.cryptoStore.getRoom(roomId);
  if (known?.algorithm !== undefined) return; // encryption cannot be switched off again
  let encryption: Record<string, unknown>;
  try {
    encryption = (await this.client.getRoomStateEvent(roomId, 'm.room.encryption', '')) as Record<string, unknown>;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  let historyVisibilityValue: string | undefined;
  try {
    const state = (await this.client.getRoomStateEvent(roomId, 'm.room.history_visibility', '')) as { history_visibility?: unknown };
    if (typeof state.history_visibility === 'string') historyVisibilityValue = state.history_visibility;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await this.client.cryptoStore.storeRoom(roomId, {
    ...encryption,
    algorithm: typeof encryption['algorithm'] === 'string' ? encryption['algorithm'] : 'UNKNOWN',
    ...(historyVisibilityValue ? { historyVisibility: historyVisibilityValue } : {}),
  } as never);
}

/** Runs one of matrix-bot-sdk's fire-and-forget crypto handlers; a failure is logged, not an unhandled rejection. */
function guardedHandler<A extends unknown[]>(name: string, original: (this: unknown, ...args: A) => Promise<void>) {
  return async function (this: unknown, ...args: A): Promise<void> {
    try {
      await original.apply(this, args);
    } catch (error) {
      LogService.warn('VisiteCrypto', `${name} failed`, error);
    }
  };
}

/**
 * Patches matrix-bot-sdk once per process: to-device requests go to the right
 * URL, Megolm rotation periods are passed in microseconds, tracking users does
 * not stall on the machine's key-query wait, signature uploads and key backup
 * requests are sent instead of failing the sync, a failed encryption lookup is not
 * taken for "unencrypted", and the crypto handlers the SDK calls without
 * awaiting cannot crash the process with an unhandled rejection.
 */
export function installMatrixBotSdkFixes(): void {
  const proto = RustEngine.prototype as unknown as EngineInternals & { [FIXED]?: true };
  if (proto[FIXED]) return;
  proto.processToDeviceRequest = async function (this: EngineInternals, request: PlainRequest) {
    await sendToDeviceRequest(this, request);
  };
  proto.prepareEncrypt = prepareEncrypt;
  proto.addTrackedUsers = addTrackedUsers;
  proto.runOnly = runOnly;
  (RoomTracker.prototype as unknown as RoomTrackerInternals).queueRoomCheck = checkRoomEncryption;
  const crypto = CryptoClient.prototype as unknown as Record<'onRoomEvent' | 'onRoomJoin', (this: unknown, ...args: unknown[]) => Promise<void>>;
  crypto.onRoomEvent = guardedHandler('tracking a room event', crypto.onRoomEvent);
  crypto.onRoomJoin = guardedHandler('tracking a room join', crypto.onRoomJoin);
  proto[FIXED] = true;
}
