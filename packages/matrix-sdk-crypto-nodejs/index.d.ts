import type * as wasm from '@matrix-org/matrix-sdk-crypto-wasm';

export * from '@matrix-org/matrix-sdk-crypto-wasm';
export declare const StoreType: { readonly Sled: 0; readonly Sqlite: 1 };
export type StoreType = (typeof StoreType)[keyof typeof StoreType];

/** The file inside a store folder that holds the encrypted snapshot. */
export declare const STORE_FILE_NAME: string;

export type CryptoStoreErrorCode =
  | 'CRYPTO_STORE_PASSPHRASE'
  | 'CRYPTO_STORE_DAMAGED'
  | 'CRYPTO_STORE_OWNER'
  | 'CRYPTO_STORE_CONFIG'
  | 'CRYPTO_STORE_IN_USE'
  | 'CRYPTO_STORE_OPEN'
  | 'CRYPTO_STORE_CLOSED';

export declare class CryptoStoreError extends Error {
  constructor(code: CryptoStoreErrorCode, message: string);
  readonly code: CryptoStoreErrorCode;
}

/**
 * Where a store keeps its sealed state. The store seals everything itself
 * (AES-256-GCM under a key derived from the passphrase): a backend only ever
 * sees opaque bytes, exactly the bytes the file store writes — the snapshot as
 * `crypto-store.bin` holds it, each frame as one record of
 * `crypto-store.journal` including its 4-byte length prefix (so a file store's
 * bytes can be imported unchanged, see `readFileCryptoStore`).
 *
 * Calls come one at a time (a store never overlaps its own writes). A call that
 * rejects makes the flush reject; the changes stay pending and go out with the
 * next flush (under a seq number never used before: a failed call may have
 * been stored after all). Wrong passphrase, another owner and damage are found
 * by the store when it opens what `load` returned (CryptoStoreError codes
 * `CRYPTO_STORE_PASSPHRASE`, `CRYPTO_STORE_OWNER`, `CRYPTO_STORE_DAMAGED`).
 */
export interface CryptoStoreBackend {
  /** Named in error messages ("the crypto store <name> …"). */
  readonly name?: string;
  /**
   * The sealed snapshot (or null when the store is new) and the sealed frames
   * written after it, in seq order. The store reads frames in this order and
   * stops at the first one it cannot read (a torn write); it takes each
   * frame's seq from inside the frame. When frames were returned, the store's
   * first flush writes a snapshot (so they are folded in and dropped).
   */
  load(): Promise<{ snapshot: Uint8Array | null; frames: Uint8Array[] }>;
  /** Replaces the snapshot (it contains everything up to `seq`) and drops the frames up to `seq`, in one transaction. */
  writeSnapshot(sealed: Uint8Array, seq: number): Promise<void>;
  /** Appends one sealed frame with this seq. */
  appendFrame(sealed: Uint8Array, seq: number): Promise<void>;
}

export interface StoreOptions {
  passphrase: string;
  /** Where the sealed snapshot and frames live; without it, the files in the store folder. */
  backend?: CryptoStoreBackend;
}

/**
 * Registers the passphrase (and optionally a backend) for a store folder before
 * matrix-bot-sdk opens it. With a backend, the folder is only the key the
 * binding knows the store by (matrix-bot-sdk passes it to `initialize`).
 */
export declare function configureStore(storePath: string, options: StoreOptions): void;
/** The file store of a folder (`crypto-store.bin`, `crypto-store.journal`) as a backend: what `configureStore` uses without one. */
export declare function fileCryptoStoreBackend(storePath: string): CryptoStoreBackend;
/**
 * A file store folder's sealed snapshot (null: no store there) and journal
 * frames, read without changing the folder; a torn last frame is left out.
 * Throws CryptoStoreError `CRYPTO_STORE_DAMAGED` for a journal without a snapshot.
 */
export declare function readFileCryptoStore(storePath: string): { snapshot: Uint8Array | null; frames: Uint8Array[] };
/** Writes pending changes of the open store at this folder to disk (or its backend). */
export declare function flushStore(storePath: string): Promise<void>;
/** Flushes and closes the open store at this folder (the in-memory store is dropped even when that last flush fails; the error is rethrown). */
export declare function closeStore(storePath: string): Promise<void>;

/** An outgoing request with the native binding's field names. */
export interface PlainRequest {
  id: string;
  type: wasm.RequestType;
  body: string;
  /** To-device requests only. */
  txnId?: string;
  /** To-device requests only. */
  eventType?: string;
}

/** A wasm request object as the native binding's plain request (camelCase `txnId`/`eventType` on to-device ones). */
export declare function nativeRequest(request: { id: string; type: wasm.RequestType; body: string; txn_id?: string; event_type?: string }): PlainRequest;

export interface NativeSignatures {
  get(userId: wasm.UserId): Record<string, { isValid: boolean; isInvalid: boolean; signature: { toBase64(): string } }> | undefined;
  readonly count: number;
  isEmpty(): boolean;
}

/** The native binding's OlmMachine API, over the wasm machine. */
export declare class OlmMachine {
  private constructor();
  static initialize(userId: wasm.UserId, deviceId: wasm.DeviceId, storePath: string, passphrase?: string, storeType?: StoreType): Promise<OlmMachine>;
  readonly inner: wasm.OlmMachine;
  readonly userId: wasm.UserId;
  readonly deviceId: wasm.DeviceId;
  readonly identityKeys: wasm.IdentityKeys;
  flush(): Promise<void>;
  close(): Promise<void>;
  outgoingRequests(): Promise<PlainRequest[]>;
  markRequestAsSent(requestId: string, requestType: wasm.RequestType, response: string): Promise<boolean>;
  receiveSyncChanges(toDeviceEvents: string, changedDevices: wasm.DeviceLists, oneTimeKeyCounts: Record<string, number>, unusedFallbackKeys: string[]): Promise<string>;
  updateTrackedUsers(users: wasm.UserId[]): Promise<void>;
  getMissingSessions(users: wasm.UserId[]): Promise<PlainRequest | null>;
  shareRoomKey(roomId: wasm.RoomId, users: wasm.UserId[], encryptionSettings: wasm.EncryptionSettings): Promise<PlainRequest[]>;
  encryptRoomEvent(roomId: wasm.RoomId, eventType: string, content: string): Promise<string>;
  decryptRoomEvent(event: string, roomId: wasm.RoomId): Promise<wasm.DecryptedRoomEvent>;
  sign(message: string): Promise<NativeSignatures>;
  trackedUsers(): Promise<Set<wasm.UserId>>;
  getDevice(userId: wasm.UserId, deviceId: wasm.DeviceId, timeoutSecs?: number | null): Promise<wasm.Device | undefined>;
  getUserDevices(userId: wasm.UserId, timeoutSecs?: number | null): Promise<wasm.UserDevices>;
  invalidateGroupSession(roomId: wasm.RoomId): Promise<boolean>;
}
