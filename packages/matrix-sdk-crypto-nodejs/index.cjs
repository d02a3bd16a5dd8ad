'use strict';
/**
 * Stand-in for @matrix-org/matrix-sdk-crypto-nodejs, whose native binary cannot
 * be installed from the npm registry. matrix-bot-sdk requires that binding at
 * load time; npm `overrides` in Visite's package.json point it here instead.
 *
 * We expose the same Rust crypto, compiled to WebAssembly and shipped inside
 * @matrix-org/matrix-sdk-crypto-wasm. Names that exist in both are the wasm
 * classes; `OlmMachine` is our adapter with the native binding's API, the one
 * matrix-bot-sdk calls (see README.md for the differences it bridges).
 */
const wasm = require('@matrix-org/matrix-sdk-crypto-wasm');
const path = require('node:path');
const { PersistentStore, CryptoStoreError, STORE_FILE_NAME, fileCryptoStoreBackend, readFileCryptoStore } = require('./store.cjs');

/** The native binding's store kinds. The wasm build persists through IndexedDB instead. */
const StoreType = Object.freeze({ Sled: 0, Sqlite: 1 });

/** Store folder (resolved) → { passphrase, backend? }. Filled by `configureStore` before the machine starts. */
const configured = new Map();
/** Store folder (resolved) → the open machine, so the owner can flush and close it. */
const openMachines = new Map();

/**
 * Registers the passphrase for a store folder. matrix-bot-sdk passes only the
 * folder (and an empty passphrase) to OlmMachine.initialize; the passphrase
 * comes from Visite's configuration through this call. With a `backend`
 * (CryptoStoreBackend, index.d.ts) the store's sealed snapshot and frames live
 * there instead of in the folder; the folder is then only the name
 * matrix-bot-sdk knows the store by.
 */
function configureStore(storePath, options) {
  if (!options || typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
    throw new TypeError('configureStore needs a non-empty passphrase');
  }
  const backend = options.backend;
  if (backend !== undefined && backend !== null) {
    for (const method of ['load', 'writeSnapshot', 'appendFrame']) {
      if (typeof backend[method] !== 'function') throw new TypeError(`configureStore: the backend has no ${method} method`);
    }
  }
  configured.set(path.resolve(storePath), { passphrase: options.passphrase, backend: backend ?? undefined });
}

/** Writes pending changes of the store at this folder to disk (no-op when nothing changed). */
async function flushStore(storePath) {
  const machine = openMachines.get(path.resolve(storePath));
  if (machine) await machine.flush();
}

/** Flushes and closes the machine at this folder; it cannot be used afterwards. */
async function closeStore(storePath) {
  const key = path.resolve(storePath);
  const machine = openMachines.get(key);
  openMachines.delete(key);
  if (machine) await machine.close();
}

const cloneUsers = (users) => Array.from(users ?? [], (user) => user.clone());

/** Outgoing requests as plain objects with the native binding's field names. */
function plainRequest(request) {
  if (!request) return request;
  const plain = { id: request.id, type: request.type, body: request.body };
  if (request.type === wasm.RequestType.ToDevice) {
    plain.txnId = request.txn_id;
    plain.eventType = request.event_type;
  }
  if (request.type === wasm.RequestType.SignatureUpload || request.type === wasm.RequestType.KeysBackup) {
    if ('version' in request) plain.version = request.version;
  }
  return plain;
}

/** The native binding's `Signatures`: get(userId) → { keyId: { isValid, signature: { toBase64() } } }. */
function nativeSignatures(signatures) {
  const byUser = JSON.parse(signatures.asJSON());
  signatures.free();
  return {
    get(userId) {
      const entries = byUser[String(userId)];
      if (!entries) return undefined;
      const result = {};
      for (const [keyId, value] of Object.entries(entries)) {
        result[keyId] = { isValid: true, isInvalid: false, signature: { toBase64: () => value } };
      }
      return result;
    },
    get count() {
      return Object.values(byUser).reduce((n, keys) => n + Object.keys(keys).length, 0);
    },
    isEmpty() {
      return this.count === 0;
    },
  };
}

const decryptionSettings = () => new wasm.DecryptionSettings(wasm.TrustRequirement.Untrusted);

/**
 * The native binding's OlmMachine over the wasm one. Every call that can change
 * the store is followed by a flush, so what the caller acknowledges next (a
 * sync token, a sent request) never runs ahead of what is on disk.
 */
class OlmMachine {
  #inner;
  #store;
  #closed = false;

  constructor(inner, store) {
    this.#inner = inner;
    this.#store = store;
  }

  /**
   * Native signature: (userId, deviceId, storePath, passphrase, storeType).
   * The store folder must be configured with `configureStore` unless a
   * passphrase is given here.
   */
  static async initialize(userId, deviceId, storePath, passphrase, _storeType) {
    if (typeof storePath !== 'string' || storePath.length === 0) {
      throw new CryptoStoreError('CRYPTO_STORE_CONFIG', 'the wasm crypto binding needs a store folder');
    }
    const key = path.resolve(storePath);
    const secret = passphrase || configured.get(key)?.passphrase;
    if (!secret) {
      throw new CryptoStoreError('CRYPTO_STORE_CONFIG', `no passphrase is configured for the crypto store ${key} (configureStore was not called)`);
    }
    if (openMachines.has(key)) {
      throw new CryptoStoreError('CRYPTO_STORE_IN_USE', `the crypto store ${key} is already open in this process`);
    }
    const store = new PersistentStore(key, secret, configured.get(key)?.backend);
    let storeName;
    try {
      storeName = await store.open(userId.toString(), deviceId.toString());
    } catch (error) {
      await store.discard();
      throw error;
    }
    let inner;
    try {
      inner = await wasm.OlmMachine.initialize(userId.clone(), deviceId.clone ? deviceId.clone() : new wasm.DeviceId(deviceId.toString()), storeName, secret);
    } catch (error) {
      await store.discard();
      const message = error instanceof Error ? error.message : String(error);
      throw new CryptoStoreError('CRYPTO_STORE_OPEN', `the crypto store ${key} could not be opened: ${message}`);
    }
    const machine = new OlmMachine(inner, store);
    openMachines.set(key, machine);
    try {
      // A new identity, or frames a backend returned, are stored before the machine is handed out.
      await machine.flush();
    } catch (error) {
      // Not started: nothing is kept open (the same folder can be opened again), nothing more is written.
      openMachines.delete(key);
      machine.#closed = true;
      await store.discard(() => inner.close());
      throw error;
    }
    return machine;
  }

  /** The wasm OlmMachine, for features matrix-bot-sdk does not use (cross-signing, backup). */
  get inner() {
    return this.#inner;
  }

  get userId() {
    return this.#inner.userId;
  }

  get deviceId() {
    return this.#inner.deviceId;
  }

  get identityKeys() {
    return this.#inner.identityKeys;
  }

  async flush() {
    await this.#store.flush();
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const [key, machine] of openMachines) if (machine === this) openMachines.delete(key);
    await this.#store.close(() => this.#inner.close());
  }

  #assertOpen() {
    if (this.#closed) throw new CryptoStoreError('CRYPTO_STORE_CLOSED', 'the crypto machine is closed');
  }

  async #mutating(work) {
    this.#assertOpen();
    const result = await work();
    await this.#store.flush();
    return result;
  }

  async outgoingRequests() {
    this.#assertOpen();
    const requests = await this.#inner.outgoingRequests();
    return requests.map(plainRequest);
  }

  markRequestAsSent(requestId, requestType, response) {
    return this.#mutating(() => this.#inner.markRequestAsSent(requestId, requestType, response));
  }

  /**
   * Native: (toDeviceEventsJson, DeviceLists, { algorithm: count }, [algorithm]) → JSON of the
   * decrypted to-device events. Wasm: Map and Set in, event objects out.
   */
  receiveSyncChanges(toDeviceEvents, changedDevices, oneTimeKeyCounts, unusedFallbackKeys) {
    return this.#mutating(async () => {
      const counts = new Map(Object.entries(oneTimeKeyCounts ?? {}).map(([algorithm, count]) => [algorithm, Number(count)]));
      const fallbacks = new Set(unusedFallbackKeys ?? []);
      const processed = await this.#inner.receiveSyncChanges(toDeviceEvents, changedDevices, counts, fallbacks, decryptionSettings());
      const events = [];
      for (const event of processed) {
        if (event.type === wasm.ProcessedToDeviceEventType.Decrypted || event.type === wasm.ProcessedToDeviceEventType.PlainText) {
          events.push(JSON.parse(event.rawEvent));
        }
        event.free();
      }
      return JSON.stringify(events);
    });
  }

  updateTrackedUsers(users) {
    return this.#mutating(() => this.#inner.updateTrackedUsers(cloneUsers(users)));
  }

  async getMissingSessions(users) {
    this.#assertOpen();
    return plainRequest(await this.#inner.getMissingSessions(cloneUsers(users))) ?? null;
  }

  shareRoomKey(roomId, users, encryptionSettings) {
    return this.#mutating(async () => (await this.#inner.shareRoomKey(roomId, cloneUsers(users), encryptionSettings)).map(plainRequest));
  }

  encryptRoomEvent(roomId, eventType, content) {
    return this.#mutating(() => this.#inner.encryptRoomEvent(roomId, eventType, content));
  }

  decryptRoomEvent(event, roomId) {
    return this.#mutating(() => this.#inner.decryptRoomEvent(event, roomId, decryptionSettings()));
  }

  async sign(message) {
    this.#assertOpen();
    return nativeSignatures(await this.#inner.sign(message));
  }

  trackedUsers() {
    return this.#inner.trackedUsers();
  }

  getDevice(userId, deviceId, timeoutSecs) {
    return this.#inner.getDevice(userId, deviceId, timeoutSecs);
  }

  getUserDevices(userId, timeoutSecs) {
    return this.#inner.getUserDevices(userId, timeoutSecs);
  }

  invalidateGroupSession(roomId) {
    return this.#mutating(() => this.#inner.invalidateGroupSession(roomId));
  }
}

module.exports = {
  ...wasm,
  OlmMachine,
  nativeRequest: plainRequest,
  StoreType,
  configureStore,
  flushStore,
  closeStore,
  CryptoStoreError,
  fileCryptoStoreBackend,
  readFileCryptoStore,
  STORE_FILE_NAME,
};
