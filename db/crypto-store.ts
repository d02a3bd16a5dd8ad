import { createRequire } from 'node:module';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { CryptoStoreBackend } from '@matrix-org/matrix-sdk-crypto-nodejs';
import type { Db, Tx } from './database.ts';
import { cryptoStoreFrames, cryptoStores } from './schema.ts';

type Binding = typeof import('@matrix-org/matrix-sdk-crypto-nodejs');
const require = createRequire(import.meta.url);
/** The same module instance matrix-bot-sdk gets (our wasm stand-in): its CryptoStoreError, its file store reader. */
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as Binding;

export type { CryptoStoreBackend };

export interface PostgresCryptoStoreOptions {
  /** The bot account (`bot_accounts.id`) whose store this is: one store per account. */
  accountId: string;
  /** Who the store belongs to: a row of another user or device is refused (CRYPTO_STORE_OWNER). */
  userId: string;
  deviceId: string;
  /**
   * Called first in every writing transaction; throws when this instance no
   * longer holds the account's lease. The write then does not happen and the
   * error propagates (the store keeps the changes for its next flush).
   */
  fence: (tx: Tx) => Promise<void>;
  /**
   * A file store folder (`crypto-store.bin`, `crypto-store.journal`) to import
   * when the account has no store in the database yet. It is only read: the
   * migration source for accounts that ran before the store moved here.
   */
  importFromDir?: string;
}

type StoreRow = typeof cryptoStores.$inferSelect;

const bytes = (value: Uint8Array): Uint8Array => (value instanceof Uint8Array ? value : new Uint8Array(value));

/**
 * An account's end-to-end crypto store in Postgres (or PGlite): the sealed
 * snapshot in `crypto_stores`, the sealed frames written since in
 * `crypto_store_frames`, so any instance holding the account's lease continues
 * the same device with the same keys. Sealing happens in the binding (the
 * passphrase never reaches the database); this only keeps the bytes, each
 * write in one transaction behind the lease fence.
 *
 * Pass it as `backend` to `configureStore` (bots/crypto.ts `createCrypto`).
 */
export function postgresCryptoStore(db: Db, options: PostgresCryptoStoreOptions): CryptoStoreBackend {
  const { accountId, userId, deviceId, fence } = options;
  const name = `of account ${accountId} (${userId} device ${deviceId}) in the database`;

  const checkOwner = (row: Pick<StoreRow, 'userId' | 'deviceId'>) => {
    if (row.userId !== userId || row.deviceId !== deviceId) {
      throw new binding.CryptoStoreError(
        'CRYPTO_STORE_OWNER',
        `the crypto store of account ${accountId} in the database belongs to ${row.userId} device ${row.deviceId}, not ${userId} device ${deviceId}; refusing to mix identities`,
      );
    }
  };

  const readStore = async (): Promise<{ row: StoreRow | undefined; frames: Uint8Array[] }> =>
    db.transaction(
      async (tx) => {
        const [row] = await tx.select().from(cryptoStores).where(eq(cryptoStores.accountId, accountId));
        if (!row) return { row, frames: [] };
        // Every frame of the account, in seq order (imported frames carry seq 1…n under a snapshot_seq of 0).
        const frames = await tx
          .select({ frame: cryptoStoreFrames.frame })
          .from(cryptoStoreFrames)
          .where(eq(cryptoStoreFrames.accountId, accountId))
          .orderBy(asc(cryptoStoreFrames.seq));
        return { row, frames: frames.map((f) => bytes(f.frame)) };
      },
      { isolationLevel: 'repeatable read' },
    ); // snapshot and frames as of one moment

  /**
   * The file store's bytes, unchanged, in one fenced transaction. The real seq
   * numbers are inside the sealed frames (unreadable without the passphrase):
   * the frames keep their order as seq 1…n, and the binding folds them into a
   * snapshot with its first flush after opening. Nothing is written when
   * another instance imported first (its row wins; it is loaded instead).
   */
  const importFiles = async (dir: string): Promise<boolean> => {
    const files = binding.readFileCryptoStore(dir);
    if (!files.snapshot) return false;
    const snapshot = files.snapshot;
    return db.transaction(async (tx) => {
      await fence(tx);
      const inserted = await tx
        .insert(cryptoStores)
        .values({ accountId, userId, deviceId, snapshot: bytes(snapshot), snapshotSeq: 0 })
        .onConflictDoNothing()
        .returning({ accountId: cryptoStores.accountId });
      if (inserted.length === 0) return false;
      if (files.frames.length > 0) {
        await tx.insert(cryptoStoreFrames).values(files.frames.map((frame, i) => ({ accountId, seq: i + 1, frame: bytes(frame) })));
      }
      return true;
    });
  };

  return {
    name,

    async load() {
      let { row, frames } = await readStore();
      if (!row && options.importFromDir && (await importFiles(options.importFromDir))) ({ row, frames } = await readStore());
      if (!row) return { snapshot: null, frames: [] };
      checkOwner(row);
      return { snapshot: row.snapshot ? bytes(row.snapshot) : null, frames };
    },

    async writeSnapshot(sealed, seq) {
      await db.transaction(async (tx) => {
        await fence(tx);
        const [row] = await tx
          .insert(cryptoStores)
          .values({ accountId, userId, deviceId, snapshot: bytes(sealed), snapshotSeq: seq })
          .onConflictDoUpdate({
            target: cryptoStores.accountId,
            set: { snapshot: bytes(sealed), snapshotSeq: seq, updatedAt: sql`now()` },
            // Never over another device's store (the row stays as it is, and we refuse below).
            setWhere: and(eq(cryptoStores.userId, userId), eq(cryptoStores.deviceId, deviceId)),
          })
          .returning({ accountId: cryptoStores.accountId });
        if (!row) {
          const [other] = await tx.select().from(cryptoStores).where(eq(cryptoStores.accountId, accountId));
          checkOwner(other ?? { userId, deviceId });
          throw new Error(`the crypto store of account ${accountId} could not be written`);
        }
        // All of the account's frames: the snapshot is the whole state of the lease holder, so every frame is in
        // it (seq ≤ `seq`) or was unreadable when the store opened; none is left to collide with the next seq.
        await tx.delete(cryptoStoreFrames).where(eq(cryptoStoreFrames.accountId, accountId));
      });
    },

    async appendFrame(sealed, seq) {
      await db.transaction(async (tx) => {
        await fence(tx);
        await tx.insert(cryptoStoreFrames).values({ accountId, seq, frame: bytes(sealed) });
      });
    },
  };
}
