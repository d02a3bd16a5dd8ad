/**
 * Account-level end-to-end encryption for the bot, beyond what matrix-bot-sdk
 * does: cross-signing (clients show the bot's device as verified by its owner)
 * and server-side key backup of the room keys (TI-M; BRIEF §6).
 *
 * Both work on the wasm OlmMachine behind matrix-bot-sdk's CryptoClient. The
 * private cross-signing keys and the backup decryption key are kept in the
 * bot's crypto store (so: back up the store folder with its passphrase).
 */
import { createRequire } from 'node:module';
import type { MatrixClient } from 'matrix-bot-sdk';
import type { OlmMachine as AdapterMachine } from '@matrix-org/matrix-sdk-crypto-nodejs';
import { errorFields, type Logger } from '../core/logging.ts';

type Binding = typeof import('@matrix-org/matrix-sdk-crypto-nodejs');
const require = createRequire(import.meta.url);
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as Binding;

const BACKUP_ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';

/** The adapter machine of a started, encrypted client. */
function machineOf(client: MatrixClient): AdapterMachine {
  const machine = (client.crypto as unknown as { engine?: { machine?: AdapterMachine } } | undefined)?.engine?.machine;
  if (!machine || !client.crypto?.isReady) throw new Error('end-to-end encryption is not running on this client');
  return machine;
}

interface HttpFailure {
  statusCode?: number;
  errcode?: string;
  body?: { session?: string; flows?: Array<{ stages?: string[] }>; errcode?: string };
}

export type CrossSigningOutcome = 'existing' | 'created' | 'needs-password';

/**
 * Gives the bot's account cross-signing keys (if it has none in its store)
 * and signs its device with them. Uploading the keys needs user-interactive
 * auth on most homeservers when keys exist already; we answer it with the
 * account password when we have one.
 */
export async function ensureCrossSigning(client: MatrixClient, options: { userId: string; password?: string; logger: Logger }): Promise<CrossSigningOutcome> {
  const log = options.logger.child({ component: 'crypto' });
  const machine = machineOf(client);
  const status = await machine.inner.crossSigningStatus();
  const complete = status.hasMaster && status.hasSelfSigning && status.hasUserSigning;
  status.free();
  if (complete) return 'existing';

  const requests = await machine.inner.bootstrapCrossSigning(true);
  try {
    const uploadKeys = requests.uploadKeysRequest as { id: string; type: number; body: string } | undefined;
    if (uploadKeys) {
      const response: unknown = await client.doRequest('POST', '/_matrix/client/v3/keys/upload', null, JSON.parse(uploadKeys.body));
      await machine.markRequestAsSent(uploadKeys.id, uploadKeys.type, JSON.stringify(response));
    }
    const signingKeys = JSON.parse(requests.uploadSigningKeysRequest.body) as Record<string, unknown>;
    try {
      await client.doRequest('POST', '/_matrix/client/v3/keys/device_signing/upload', null, signingKeys);
    } catch (error) {
      const failure = error as HttpFailure;
      const session = failure.body?.session;
      const passwordFlow = failure.body?.flows?.some((flow) => flow.stages?.length === 1 && flow.stages[0] === 'm.login.password');
      if (failure.statusCode !== 401 || !session) throw error;
      if (!options.password || !passwordFlow) {
        log.warn('cross-signing needs interactive auth the bot cannot give (no password configured)');
        return 'needs-password';
      }
      await client.doRequest('POST', '/_matrix/client/v3/keys/device_signing/upload', null, {
        ...signingKeys,
        auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: options.userId }, password: options.password, session },
      });
    }
    await client.doRequest('POST', '/_matrix/client/v3/keys/signatures/upload', null, JSON.parse(requests.uploadSignaturesRequest.body));
  } finally {
    requests.free();
    await machine.flush();
  }
  log.info('cross-signing keys created and the bot device signed');
  return 'created';
}

export interface KeyBackup {
  readonly version: string;
  /** True when this store joined an existing backup with the configured key: call `restore` to read old history. */
  readonly joinedExisting: boolean;
  /** Downloads the whole backup and imports the room keys we do not have (after a store loss, on a new device). */
  restore(): Promise<{ imported: number; total: number }>;
  /** Uploads room keys not backed up yet; resolves to how many keys are backed up in total. */
  backupNow(): Promise<{ backedUp: number; total: number }>;
  /** The backup decryption key (base64): store it apart from the crypto store to read the backup without it. */
  exportDecryptionKey(): Promise<string>;
  stop(): void;
}

/**
 * Turns on server-side key backup. The key pair is, in this order: the one in
 * the store (if the server's backup is still the one it belongs to), the
 * operator's `decryptionKeyBase64` (kept apart from the store, e.g. after
 * a lost store or on a new device), or a fresh one. Without a matching backup
 * on the server a new backup version is created (signed by the device and,
 * if present, the cross-signing master key). Room keys are then uploaded every
 * `intervalMs` and whenever `backupNow` is called.
 */
export async function enableKeyBackup(
  client: MatrixClient,
  options: { logger: Logger; intervalMs?: number; decryptionKeyBase64?: string },
): Promise<KeyBackup> {
  const log = options.logger.child({ component: 'crypto' });
  const machine = machineOf(client);
  const inner = machine.inner;
  const userId = await client.getUserId();

  const stored = await inner.getBackupKeys();
  let decryptionKey = stored.decryptionKey;
  let version = stored.backupVersion;
  stored.free();
  const serverVersion = (await client.doRequest('GET', '/_matrix/client/v3/room_keys/version').catch((error: unknown) => {
    if ((error as HttpFailure).statusCode === 404) return undefined;
    throw error;
  })) as { version?: string; algorithm?: string; auth_data?: { public_key?: string } } | undefined;

  const onServer = (key: { megolmV1PublicKey: { publicKeyBase64: string } } | undefined) =>
    key !== undefined && serverVersion?.algorithm === BACKUP_ALGORITHM && serverVersion.auth_data?.public_key === key.megolmV1PublicKey.publicKeyBase64;
  const matchesServer = decryptionKey && version && serverVersion?.version === version && onServer(decryptionKey);
  const given = options.decryptionKeyBase64 ? binding.BackupDecryptionKey.fromBase64(options.decryptionKeyBase64) : undefined;
  let joinedExisting = false;
  if (!matchesServer && given && onServer(given)) {
    joinedExisting = true;
    decryptionKey = given;
    version = serverVersion!.version!;
    await inner.saveBackupDecryptionKey(decryptionKey, version);
    log.info('key backup joined with the configured key', { version });
  } else if (!matchesServer) {
    decryptionKey = given ?? binding.BackupDecryptionKey.createRandomKey();
    const authData: Record<string, unknown> = { public_key: decryptionKey.megolmV1PublicKey.publicKeyBase64 };
    const signatures = await machine.sign(JSON.stringify(authData));
    const mine = signatures.get(new binding.UserId(userId)) ?? {};
    authData['signatures'] = { [userId]: Object.fromEntries(Object.entries(mine).map(([keyId, s]) => [keyId, s.signature.toBase64()])) };
    const created = (await client.doRequest('POST', '/_matrix/client/v3/room_keys/version', null, { algorithm: BACKUP_ALGORITHM, auth_data: authData })) as {
      version: string;
    };
    version = created.version;
    await inner.saveBackupDecryptionKey(decryptionKey, version);
    log.info('key backup created', { version });
  }
  await inner.enableBackupV1(decryptionKey!.megolmV1PublicKey.publicKeyBase64, version!);
  await machine.flush();
  const backupVersion = version!;

  let running: Promise<{ backedUp: number; total: number }> | undefined;
  async function backupAll(): Promise<{ backedUp: number; total: number }> {
    for (;;) {
      const request = await inner.backupRoomKeys();
      if (!request) break;
      const path = `/_matrix/client/v3/room_keys/keys?version=${encodeURIComponent(request.version)}`;
      const response: unknown = await client.doRequest('PUT', path, null, JSON.parse(request.body));
      await machine.markRequestAsSent(request.id, request.type, JSON.stringify(response));
      request.free();
    }
    const counts = await inner.roomKeyCounts();
    const result = { backedUp: counts.backedUp, total: counts.total };
    counts.free();
    return result;
  }
  const backupNow = () => (running ??= backupAll().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    backupNow().catch((error: unknown) => log.warn('key backup upload failed; retrying later', errorFields(error)));
  }, options.intervalMs ?? 10_000);
  timer.unref();

  async function restore(): Promise<{ imported: number; total: number }> {
    const keys = await inner.getBackupKeys();
    const key = keys.decryptionKey;
    keys.free();
    if (!key) throw new Error('no backup decryption key in the store');
    const data = (await client.doRequest('GET', '/_matrix/client/v3/room_keys/keys', { version: backupVersion })) as {
      rooms?: Record<string, { sessions?: Record<string, { session_data?: { ephemeral?: string; mac?: string; ciphertext?: string } }> }>;
    };
    const byRoom = new Map<InstanceType<Binding['RoomId']>, Map<string, unknown>>();
    let undecryptable = 0;
    for (const [roomId, room] of Object.entries(data.rooms ?? {})) {
      const sessions = new Map<string, unknown>();
      for (const [sessionId, entry] of Object.entries(room.sessions ?? {})) {
        const sealed = entry.session_data;
        try {
          sessions.set(sessionId, JSON.parse(key.decryptV1(sealed?.ephemeral ?? '', sealed?.mac ?? '', sealed?.ciphertext ?? '')));
        } catch {
          undecryptable++;
        }
      }
      if (sessions.size > 0) byRoom.set(new binding.RoomId(roomId), sessions);
    }
    const result = await inner.importBackedUpRoomKeys(byRoom, () => {}, backupVersion);
    const outcome = { imported: result.importedCount, total: result.totalCount + undecryptable };
    result.free();
    await machine.flush();
    log.info('room keys restored from the key backup', { imported: outcome.imported, total: outcome.total, undecryptable });
    return outcome;
  }

  return {
    version: backupVersion,
    joinedExisting,
    restore,
    backupNow,
    async exportDecryptionKey() {
      const keys = await inner.getBackupKeys();
      const key = keys.decryptionKeyBase64;
      keys.free();
      if (!key) throw new Error('no backup decryption key in the store');
      return key;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
