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

/** Registers the passphrase for a store folder before matrix-bot-sdk opens it. */
export declare function configureStore(storePath: string, options: { passphrase: string }): void;
/** Writes pending changes of the open store at this folder to disk. */
export declare function flushStore(storePath: string): Promise<void>;
/** Flushes and closes the open store at this folder. */
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
