'use strict';
/**
 * A persistent, passphrase-protected home for the wasm crypto store.
 *
 * matrix-sdk-crypto-wasm keeps its state in IndexedDB. Node has no IndexedDB,
 * so we use fake-indexeddb (in memory) and persist it ourselves. By default in
 * two files (the file backend; `configureStore(path, { backend })` puts the
 * same sealed bytes elsewhere, e.g. Visite's Postgres, see README.md):
 *
 * - `crypto-store.bin`: a full snapshot of the store's databases, AES-256-GCM
 *   encrypted under a key derived from the passphrase (scrypt), replaced
 *   atomically (write, fsync, rename).
 * - `crypto-store.journal`: the changes since that snapshot, one encrypted
 *   frame per flush (the records written since the last flush, read back from
 *   IndexedDB), appended and fsynced. A torn last frame (a crash mid-append) is
 *   ignored on open.
 *
 * Writes are seen by wrapping IndexedDB's write methods, so nothing in the wasm
 * store has to cooperate. After every change the binding asks for a flush; the
 * snapshot is rewritten when the schema changed or the journal outgrew it.
 *
 * The wasm store encrypts its own values with the same passphrase too; the
 * outer encryption also hides keys and structure, and lets us tell a wrong
 * passphrase apart from a damaged file before the machine starts.
 */
const { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID, scryptSync } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const FILE_NAME = 'crypto-store.bin';
const MAGIC = Buffer.from('VISITE-CRYPTO-STORE-1\n');
const JOURNAL_AAD = Buffer.from('VISITE-CRYPTO-JOURNAL-1');
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** scrypt cost: ~50 ms once per start; the derived key is kept for the flushes. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

class CryptoStoreError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'CryptoStoreError';
    this.code = code;
  }
}

function ensureIndexedDb() {
  if (!globalThis.indexedDB) require('fake-indexeddb/auto');
  return globalThis.indexedDB;
}

/**
 * What changed since the last flush, per database and object store: the keys
 * written (or deleted), or `full` when a whole store must be written again
 * (clear, a range delete). Schema changes (new stores, indexes) mark the
 * database for a full snapshot.
 */
const changes = new Map(); // dbName → Map(storeName → { full, keys: Map(encodedKey → key) })
const schemaChanged = new Set(); // dbName
let tracking = false;

const encodeKey = (key) => v8.serialize(key).toString('latin1');

function storeChanges(dbName, storeName) {
  let stores = changes.get(dbName);
  if (!stores) changes.set(dbName, (stores = new Map()));
  let entry = stores.get(storeName);
  if (!entry) stores.set(storeName, (entry = { full: false, keys: new Map() }));
  return entry;
}

function noteKey(store, key) {
  try {
    storeChanges(store.transaction.db.name, store.name).keys.set(encodeKey(key), key);
  } catch {
    markFull(store);
  }
}

function markFull(store) {
  try {
    storeChanges(store.transaction.db.name, store.name).full = true;
  } catch {
    // an invalid store: the original call throws anyway
  }
}

/** Records every write request, whoever makes it (the wasm store, matrix-js-sdk, …). */
function trackWrites() {
  if (tracking) return;
  tracking = true;
  const storeProto = globalThis.IDBObjectStore && globalThis.IDBObjectStore.prototype;
  if (!storeProto) return;
  for (const method of ['put', 'add']) {
    const original = storeProto[method];
    storeProto[method] = function (...args) {
      const req = original.apply(this, args);
      const store = this;
      req.addEventListener('success', () => noteKey(store, req.result));
      return req;
    };
  }
  const originalDelete = storeProto.delete;
  storeProto.delete = function (query) {
    if (globalThis.IDBKeyRange && query instanceof globalThis.IDBKeyRange) markFull(this);
    else noteKey(this, query);
    return originalDelete.call(this, query);
  };
  const originalClear = storeProto.clear;
  storeProto.clear = function () {
    markFull(this);
    return originalClear.call(this);
  };
  for (const method of ['createIndex', 'deleteIndex']) {
    const original = storeProto[method];
    storeProto[method] = function (...args) {
      schemaChanged.add(this.transaction.db.name);
      return original.apply(this, args);
    };
  }
  const dbProto = globalThis.IDBDatabase && globalThis.IDBDatabase.prototype;
  for (const method of ['createObjectStore', 'deleteObjectStore']) {
    const original = dbProto && dbProto[method];
    if (typeof original !== 'function') continue;
    dbProto[method] = function (...args) {
      schemaChanged.add(this.name);
      return original.apply(this, args);
    };
  }
  const cursorProto = globalThis.IDBCursor && globalThis.IDBCursor.prototype;
  for (const method of ['update', 'delete']) {
    const original = cursorProto && cursorProto[method];
    if (typeof original !== 'function') continue;
    cursorProto[method] = function (...args) {
      const store = this.source && this.source.objectStore ? this.source.objectStore : this.source;
      noteKey(store, this.primaryKey);
      return original.apply(this, args);
    };
  }
}

/** Takes (and forgets) the recorded changes of these databases. */
function takeChanges(dbNames) {
  const taken = { stores: new Map(), schema: false };
  for (const name of dbNames) {
    if (schemaChanged.delete(name)) taken.schema = true;
    const stores = changes.get(name);
    changes.delete(name);
    if (stores) taken.stores.set(name, stores);
  }
  return taken;
}

/** Puts changes back after a failed flush: they are written with the next one. */
function restoreChanges(taken) {
  for (const [dbName, stores] of taken.stores) {
    for (const [storeName, entry] of stores) {
      const current = storeChanges(dbName, storeName);
      current.full = current.full || entry.full;
      for (const [encoded, key] of entry.keys) current.keys.set(encoded, key);
    }
    if (taken.schema) schemaChanged.add(dbName);
  }
}

/**
 * v8.deserialize returns typed arrays as views into the whole input buffer;
 * IndexedDB's structured clone would copy that whole buffer for every value.
 * Give every view its own memory.
 */
function detach(value, seen = new Map()) {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) return new DataView(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    return new value.constructor(value); // copies into a fresh buffer of exactly this length
  }
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const out = [];
    seen.set(value, out);
    for (const item of value) out.push(detach(item, seen));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    seen.set(value, out);
    for (const [k, v] of value) out.set(detach(k, seen), detach(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    seen.set(value, out);
    for (const v of value) out.add(detach(v, seen));
    return out;
  }
  if (value instanceof Date || value instanceof RegExp) return value;
  const out = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = detach(v, seen);
  return out;
}

const request = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

const transactionDone = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
  });

/** Reads one database completely, in one read-only transaction (a consistent view). */
async function dumpDatabase(idb, name) {
  const db = await request(idb.open(name));
  try {
    const storeNames = [...db.objectStoreNames];
    const stores = [];
    if (storeNames.length > 0) {
      const tx = db.transaction(storeNames, 'readonly');
      const done = transactionDone(tx);
      for (const storeName of storeNames) {
        const store = tx.objectStore(storeName);
        const indexes = [...store.indexNames].map((indexName) => {
          const index = store.index(indexName);
          return { name: indexName, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry };
        });
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        stores.push({ name: storeName, keyPath: store.keyPath, autoIncrement: store.autoIncrement, indexes, keys, values });
      }
      await done;
    }
    return { version: db.version, stores };
  } finally {
    db.close();
  }
}

/** Recreates one database from its dump. */
async function restoreDatabase(idb, name, dump) {
  const open = idb.open(name, dump.version);
  open.onupgradeneeded = () => {
    const db = open.result;
    for (const store of dump.stores) {
      const created = db.createObjectStore(store.name, {
        ...(store.keyPath === null ? {} : { keyPath: store.keyPath }),
        autoIncrement: store.autoIncrement,
      });
      for (const index of store.indexes) created.createIndex(index.name, index.keyPath, { unique: index.unique, multiEntry: index.multiEntry });
      for (let i = 0; i < store.values.length; i++) {
        if (store.keyPath === null) created.put(store.values[i], store.keys[i]);
        else created.put(store.values[i]);
      }
    }
  };
  const db = await request(open);
  db.close();
}

function deleteDatabase(idb, name) {
  return new Promise((resolve) => {
    const req = idb.deleteDatabase(name);
    const timer = setTimeout(resolve, 2_000);
    req.onsuccess = req.onerror = () => (clearTimeout(timer), resolve());
    req.onblocked = () => {}; // resolved by the timer if a connection stays open
  });
}

function encrypt(key, salt, plain) {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(MAGIC);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([MAGIC, salt, iv, cipher.getAuthTag(), body]);
}

function decrypt(passphrase, file, data) {
  const header = MAGIC.length + SALT_BYTES + IV_BYTES + TAG_BYTES;
  if (data.length < header || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CryptoStoreError('CRYPTO_STORE_DAMAGED', `the crypto store ${file} is not a Visite crypto store or is damaged`);
  }
  let offset = MAGIC.length;
  const salt = data.subarray(offset, (offset += SALT_BYTES));
  const iv = data.subarray(offset, (offset += IV_BYTES));
  const tag = data.subarray(offset, (offset += TAG_BYTES));
  const key = scryptSync(passphrase, salt, 32, SCRYPT);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(MAGIC);
  decipher.setAuthTag(tag);
  try {
    const plain = Buffer.concat([decipher.update(data.subarray(offset)), decipher.final()]);
    return { key, salt, plain };
  } catch {
    throw new CryptoStoreError(
      'CRYPTO_STORE_PASSPHRASE',
      `the crypto store ${file} cannot be opened with the configured passphrase (wrong passphrase, or the file is damaged); refusing to start with a new identity`,
    );
  }
}

function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Directories cannot be fsynced on every platform.
  }
}

const JOURNAL_NAME = 'crypto-store.journal';
/** Compact (write a full snapshot) once the journal outgrew the snapshot, and at least past this size. */
const MIN_COMPACT_BYTES = 1024 * 1024;
const FRAME_LENGTH_BYTES = 4;

/** One journal frame: a 4-byte big-endian length, then IV, GCM tag and ciphertext. */
function sealFrame(key, plain) {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(JOURNAL_AAD);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const length = Buffer.alloc(FRAME_LENGTH_BYTES);
  length.writeUInt32BE(IV_BYTES + TAG_BYTES + body.length);
  return Buffer.concat([length, iv, cipher.getAuthTag(), body]);
}

/** One sealed frame (with its length prefix) decrypted, or null when it is torn, damaged or not ours. */
function openFrame(key, sealed) {
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (data.length < FRAME_LENGTH_BYTES) return null;
  const length = data.readUInt32BE(0);
  if (length < IV_BYTES + TAG_BYTES || FRAME_LENGTH_BYTES + length !== data.length) return null;
  const frame = data.subarray(FRAME_LENGTH_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, frame.subarray(0, IV_BYTES));
    decipher.setAAD(JOURNAL_AAD);
    decipher.setAuthTag(frame.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return detach(v8.deserialize(Buffer.concat([decipher.update(frame.subarray(IV_BYTES + TAG_BYTES)), decipher.final()])));
  } catch {
    return null;
  }
}

/**
 * Splits a journal file into its frames (each with its length prefix), by the
 * length prefixes only; stops at a torn last frame (a crash mid-append).
 * `ends[i]` is the byte offset where frame i ends.
 */
function splitFrames(data) {
  const frames = [];
  const ends = [];
  let offset = 0;
  while (offset + FRAME_LENGTH_BYTES <= data.length) {
    const length = data.readUInt32BE(offset);
    if (length < IV_BYTES + TAG_BYTES || offset + FRAME_LENGTH_BYTES + length > data.length) break;
    offset += FRAME_LENGTH_BYTES + length;
    frames.push(data.subarray(offset - FRAME_LENGTH_BYTES - length, offset));
    ends.push(offset);
  }
  return { frames, ends };
}

function appendDurably(file, data) {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a file store folder without changing it: the sealed snapshot (null
 * when there is none) and the journal's frames. A journal without a snapshot is
 * a damaged store (CRYPTO_STORE_DAMAGED).
 */
function readFileStore(dir) {
  const folder = path.resolve(dir);
  const file = path.join(folder, FILE_NAME);
  const journal = path.join(folder, JOURNAL_NAME);
  if (!fs.existsSync(file)) {
    if (fs.existsSync(journal) && fs.statSync(journal).size > 0) {
      throw new CryptoStoreError('CRYPTO_STORE_DAMAGED', `the crypto store ${folder} has a journal but no snapshot; restore ${FILE_NAME} from the backup`);
    }
    return { snapshot: null, frames: [], ends: [], journalBytes: 0 };
  }
  const snapshot = fs.readFileSync(file);
  if (!fs.existsSync(journal)) return { snapshot, frames: [], ends: [], journalBytes: 0 };
  const data = fs.readFileSync(journal);
  return { snapshot, ...splitFrames(data), journalBytes: data.length };
}

/** Lets the file backend cut off the frames the store could not read (a torn tail), as the journal did before backends. */
const KEEP_FRAMES = Symbol('visite.crypto-store.keepFrames');

/**
 * The file backend: `crypto-store.bin` (the snapshot, replaced atomically:
 * write, fsync, rename) and `crypto-store.journal` (the frames, appended and
 * fsynced; emptied when a snapshot is written) in one folder.
 */
class FileBackend {
  constructor(dir) {
    this.dir = path.resolve(dir);
    this.file = path.join(this.dir, FILE_NAME);
    this.journal = path.join(this.dir, JOURNAL_NAME);
    /** For error messages. */
    this.name = this.file;
    this.loaded = undefined;
  }

  async load() {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const { snapshot, frames, ends, journalBytes } = readFileStore(this.dir);
    this.loaded = { ends, journalBytes };
    return { snapshot, frames };
  }

  /** Called after `load` with the number of frames the store could read: a torn or damaged tail is cut off. */
  [KEEP_FRAMES](count) {
    if (!this.loaded) return;
    const validBytes = count === 0 ? 0 : this.loaded.ends[count - 1];
    if (validBytes < this.loaded.journalBytes) fs.truncateSync(this.journal, validBytes);
    this.loaded = undefined;
  }

  async writeSnapshot(sealed, _seq) {
    writeAtomically(this.file, sealed);
    // The snapshot holds everything up to `seq`; older frames are skipped on open even if this truncation is lost.
    fs.writeFileSync(this.journal, Buffer.alloc(0), { mode: 0o600 });
  }

  async appendFrame(sealed, _seq) {
    appendDurably(this.journal, sealed);
  }
}

function checkBackend(backend) {
  for (const method of ['load', 'writeSnapshot', 'appendFrame']) {
    if (!backend || typeof backend[method] !== 'function') {
      throw new TypeError(`a crypto store backend needs the methods load, writeSnapshot and appendFrame (${method} is missing)`);
    }
  }
  return backend;
}

async function readKeys(idb, dbName, stores) {
  const db = await request(idb.open(dbName));
  try {
    const names = [...stores.keys()].filter((name) => db.objectStoreNames.contains(name));
    const ops = [];
    if (names.length === 0) return ops;
    const tx = db.transaction(names, 'readonly');
    const done = transactionDone(tx);
    for (const name of names) {
      const store = tx.objectStore(name);
      for (const key of stores.get(name).keys.values()) {
        const value = await request(store.get(key));
        ops.push(value === undefined ? { store: name, op: 'delete', key } : { store: name, op: 'put', key, value });
      }
    }
    await done;
    return ops;
  } finally {
    db.close();
  }
}

async function applyOps(idb, dbName, ops) {
  const db = await request(idb.open(dbName));
  try {
    const names = [...new Set(ops.map((op) => op.store))].filter((name) => db.objectStoreNames.contains(name));
    if (names.length === 0) return;
    const tx = db.transaction(names, 'readwrite');
    const done = transactionDone(tx);
    for (const op of ops) {
      if (!names.includes(op.store)) continue;
      const store = tx.objectStore(op.store);
      if (op.op === 'delete') store.delete(op.key);
      else if (store.keyPath === null) store.put(op.value, op.key);
      else store.put(op.value);
    }
    await done;
  } finally {
    db.close();
  }
}

/**
 * One persistent store: a sealed snapshot and the sealed frames written after
 * it, kept by a backend (by default the file backend, a folder holding
 * `crypto-store.bin` and `crypto-store.journal`). `open` loads both into
 * IndexedDB under a fresh name and returns that name for
 * OlmMachine.initialize; `flush` appends what changed as one frame, and
 * rewrites the snapshot when the schema changed or the frames have grown too
 * large. A backend call that rejects makes the flush reject; its changes are
 * written with the next flush.
 */
class PersistentStore {
  /**
   * @param {string} location the store folder; with a custom backend only the key the binding knows the store by
   * @param {string} passphrase
   * @param {object} [backend] a CryptoStoreBackend (index.d.ts); the file backend of `location` when absent
   */
  constructor(location, passphrase, backend) {
    this.location = path.resolve(location);
    this.backend = backend ? checkBackend(backend) : new FileBackend(this.location);
    /** For error messages: the snapshot file, or the backend's name. */
    this.label = typeof this.backend.name === 'string' && this.backend.name ? this.backend.name : `at ${this.location}`;
    this.passphrase = passphrase;
    /** Unique per open, so a restart in the same process never sees the old databases. */
    this.name = `visite-crypto-${createHash('sha256').update(this.location).digest('hex').slice(0, 16)}-${randomUUID()}`;
    this.key = undefined;
    this.salt = undefined;
    this.owner = undefined;
    this.seq = 0;
    this.hasSnapshot = false;
    /** Write a snapshot with the next flush, even without changes (frames of a custom backend were loaded). */
    this.compactPending = false;
    this.snapshotBytes = 0;
    this.journalBytes = 0;
    this.chain = Promise.resolve();
    this.closed = false;
    this.stats = { snapshots: 0, frames: 0 };
  }

  /** Loads snapshot and frames (if any); throws CryptoStoreError on a wrong passphrase or another owner. */
  async open(userId, deviceId) {
    const idb = ensureIndexedDb();
    trackWrites();
    this.owner = { userId, deviceId };
    const { snapshot: sealed, frames } = await this.backend.load();
    if (!sealed) {
      if (frames.length > 0) {
        throw new CryptoStoreError(
          'CRYPTO_STORE_DAMAGED',
          `the crypto store ${this.label} has journal frames but no snapshot; restore the snapshot from the backup`,
        );
      }
      this.salt = randomBytes(SALT_BYTES);
      this.key = scryptSync(this.passphrase, this.salt, 32, SCRYPT);
      return this.name;
    }
    const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const { key, salt, plain } = decrypt(this.passphrase, this.label, data);
    this.key = key;
    this.salt = Buffer.from(salt);
    this.hasSnapshot = true;
    this.snapshotBytes = data.length;
    const snapshot = detach(v8.deserialize(plain));
    if (snapshot.userId !== userId || snapshot.deviceId !== deviceId) {
      throw new CryptoStoreError(
        'CRYPTO_STORE_OWNER',
        `the crypto store ${this.label} belongs to ${snapshot.userId} device ${snapshot.deviceId}, not ${userId} device ${deviceId}; refusing to mix identities`,
      );
    }
    this.seq = snapshot.seq || 0;
    for (const [suffix, dump] of Object.entries(snapshot.databases)) await restoreDatabase(idb, `${this.name}${suffix}`, dump);
    // Frames in order; stop at the first one that cannot be read (torn or damaged: a crash mid-append).
    let readable = 0;
    for (const bytes of frames) {
      const frame = openFrame(this.key, bytes);
      if (!frame) break;
      readable++;
      this.journalBytes += bytes.byteLength;
      if (frame.seq <= this.seq) continue; // already in the snapshot (a crash between snapshot and truncation)
      for (const [suffix, ops] of Object.entries(frame.databases)) await applyOps(idb, `${this.name}${suffix}`, ops);
      this.seq = frame.seq;
    }
    if (typeof this.backend[KEEP_FRAMES] === 'function') this.backend[KEEP_FRAMES](readable);
    // A custom backend's frames are folded into a snapshot by the first flush: what was
    // unreadable is dropped with them, and the backend's seq numbers are ours again.
    else if (frames.length > 0) this.compactPending = true;
    // What we just loaded is stored already.
    takeChanges(await this.#ourDatabases());
    return this.name;
  }

  ownsDatabase(name) {
    return name.startsWith(`${this.name}::`);
  }

  async #ourDatabases() {
    const idb = ensureIndexedDb();
    return (await idb.databases()).map((info) => info.name).filter((name) => typeof name === 'string' && this.ownsDatabase(name));
  }

  /** Writes what changed; flushes run one after another. `force` writes a full snapshot. */
  flush(force = false) {
    const run = this.chain.then(() => this.#flushNow(force));
    this.chain = run.catch(() => {});
    return run;
  }

  async #flushNow(force) {
    if (this.closed || !this.key) return false;
    const names = await this.#ourDatabases();
    const taken = takeChanges(names);
    const anyFull = [...taken.stores.values()].some((stores) => [...stores.values()].some((entry) => entry.full));
    if (!force && !this.compactPending && taken.stores.size === 0 && !taken.schema) return false;
    try {
      const compact =
        force || this.compactPending || taken.schema || anyFull || !this.hasSnapshot || this.journalBytes > Math.max(MIN_COMPACT_BYTES, this.snapshotBytes);
      if (compact) await this.#writeSnapshot(names);
      else await this.#appendFrame(taken);
    } catch (error) {
      restoreChanges(taken);
      throw error;
    }
    return true;
  }

  async #writeSnapshot(names) {
    const idb = ensureIndexedDb();
    const databases = {};
    for (const name of names) databases[name.slice(this.name.length)] = await dumpDatabase(idb, name);
    // Never reused, even when the backend fails: it may have stored it after all.
    const seq = ++this.seq;
    const plain = v8.serialize({ format: 2, seq, userId: this.owner.userId, deviceId: this.owner.deviceId, writtenAt: Date.now(), databases });
    const sealed = encrypt(this.key, this.salt, plain);
    await this.backend.writeSnapshot(sealed, seq);
    this.hasSnapshot = true;
    this.compactPending = false;
    this.snapshotBytes = sealed.length;
    this.journalBytes = 0;
    this.stats.snapshots++;
  }

  async #appendFrame(taken) {
    const idb = ensureIndexedDb();
    const databases = {};
    for (const [dbName, stores] of taken.stores) {
      if (!this.ownsDatabase(dbName)) continue;
      const ops = await readKeys(idb, dbName, stores);
      if (ops.length > 0) databases[dbName.slice(this.name.length)] = ops;
    }
    if (Object.keys(databases).length === 0) return;
    const seq = ++this.seq;
    const frame = sealFrame(this.key, v8.serialize({ seq, databases }));
    await this.backend.appendFrame(frame, seq);
    this.journalBytes += frame.length;
    this.stats.frames++;
  }

  /**
   * Final snapshot (compacting the journal), then drops the in-memory
   * databases — also when that snapshot cannot be written (the error is
   * rethrown): a closed machine cannot be flushed again.
   */
  async close(beforeDrop) {
    let failure;
    try {
      await this.flush(true);
    } catch (error) {
      failure = { error };
    }
    await this.discard(beforeDrop);
    if (failure) throw failure.error;
  }

  /** Drops the in-memory databases without writing anything (a machine that failed to start). */
  async discard(beforeDrop) {
    this.closed = true;
    if (beforeDrop) beforeDrop();
    const idb = ensureIndexedDb();
    const names = await this.#ourDatabases();
    takeChanges(names);
    for (const name of names) await deleteDatabase(idb, name);
  }
}

/** The file store of a folder as a backend (what `configureStore` uses without one). */
function fileCryptoStoreBackend(dir) {
  return new FileBackend(dir);
}

/** A file store folder's sealed snapshot and frames, read without changing anything (to import it elsewhere). */
function readFileCryptoStore(dir) {
  const { snapshot, frames } = readFileStore(dir);
  return { snapshot, frames };
}

module.exports = {
  PersistentStore,
  CryptoStoreError,
  fileCryptoStoreBackend,
  readFileCryptoStore,
  STORE_FILE_NAME: FILE_NAME,
  JOURNAL_FILE_NAME: JOURNAL_NAME,
};
