/**
 * The bot's crypto store in the database (db/crypto-store.ts): a real wasm
 * OlmMachine persisted through the binding's backend interface into
 * `crypto_stores` / `crypto_store_frames`, on Postgres and PGlite. Every write
 * passes a lease fence (here: the account's `bot_leases` row, share-locked in
 * the write's transaction, as the runtime's fence does). No homeserver needed:
 * an OlmMachine creates its identity offline.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresCryptoStore } from '../../db/crypto-store.ts';
import type { Tx } from '../../db/database.ts';
import { botAccounts, botLeases, cryptoStoreFrames, cryptoStores } from '../../db/schema.ts';
import { BACKENDS, useBackend } from '../harness/backends.ts';

const require = createRequire(import.meta.url);
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as typeof import('@matrix-org/matrix-sdk-crypto-nodejs');
type Machine = Awaited<ReturnType<typeof binding.OlmMachine.initialize>>;
type Backend = import('@matrix-org/matrix-sdk-crypto-nodejs').CryptoStoreBackend;

const root = mkdtempSync(join(tmpdir(), 'visite-crypto-pg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PASSPHRASE = 'correct horse battery';
let n = 0;
/** The name the binding knows an open store by (a folder path; with a backend nothing is written there). */
const freshKey = () => join(root, `store-${++n}`);
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );

class LeaseLost extends Error {
  readonly code = 'LEASE_LOST';
}

describe.each(BACKENDS)('the crypto store in the database on %s', (kind) => {
  const backend = useBackend(kind);
  const db = () => backend.db;

  /** A bot account whose lease `instance` holds. */
  async function account(instance = 'instance-a', userId = `@visite-${randomUUID().slice(0, 8)}:example.org`) {
    const [row] = await db()
      .insert(botAccounts)
      .values({ homeserverUrl: 'http://localhost', userId, credentials: 'sealed', displayName: 'Visite' })
      .returning({ id: botAccounts.id });
    await db()
      .insert(botLeases)
      .values({ accountId: row!.id, instanceId: instance, epoch: 1, expiresAt: sql`now() + interval '1 hour'` as unknown as Date });
    return { accountId: row!.id, userId };
  }

  /** The lease moves to another instance (a takeover): the epoch grows. */
  const moveLease = (accountId: string, instance: string) =>
    db()
      .update(botLeases)
      .set({ instanceId: instance, epoch: sql`${botLeases.epoch} + 1` })
      .where(eq(botLeases.accountId, accountId));

  /** Throws unless `instance` holds the account's lease; share-locks it for the write's transaction. */
  const leaseFence = (accountId: string, instance: string, calls?: { n: number }) => async (tx: Tx) => {
    if (calls) calls.n++;
    const rows = await tx
      .select({ epoch: botLeases.epoch })
      .from(botLeases)
      .where(and(eq(botLeases.accountId, accountId), eq(botLeases.instanceId, instance), gt(botLeases.expiresAt, sql`now()`)))
      .for('key share');
    if (rows.length === 0) throw new LeaseLost(`instance ${instance} does not hold the lease on ${accountId}`);
  };

  const store = (
    a: { accountId: string; userId: string },
    instance = 'instance-a',
    extra: { deviceId?: string; importFromDir?: string; calls?: { n: number } } = {},
  ) =>
    postgresCryptoStore(db(), {
      accountId: a.accountId,
      userId: a.userId,
      deviceId: extra.deviceId ?? 'BOTDEVICE',
      fence: leaseFence(a.accountId, instance, extra.calls),
      ...(extra.importFromDir ? { importFromDir: extra.importFromDir } : {}),
    });

  const open = (userId: string, storeBackend: Backend | undefined, options: { passphrase?: string; device?: string; key?: string } = {}) => {
    const key = options.key ?? freshKey();
    binding.configureStore(key, { passphrase: options.passphrase ?? PASSPHRASE, ...(storeBackend ? { backend: storeBackend } : {}) });
    return binding.OlmMachine.initialize(new binding.UserId(userId), new binding.DeviceId(options.device ?? 'BOTDEVICE'), key, '', binding.StoreType.Sqlite);
  };

  const row = async (accountId: string) => (await db().select().from(cryptoStores).where(eq(cryptoStores.accountId, accountId)))[0];
  const frames = (accountId: string) =>
    db().select().from(cryptoStoreFrames).where(eq(cryptoStoreFrames.accountId, accountId)).orderBy(asc(cryptoStoreFrames.seq));
  const same = (a: Uint8Array | null | undefined, b: Uint8Array | null | undefined) => !!a && !!b && Buffer.from(a).equals(Buffer.from(b));

  /** The homeserver's answer to the first keys upload: it holds our device keys now (a change written as one frame). */
  async function uploadDeviceKeys(machine: Machine) {
    const upload = (await machine.outgoingRequests()).find((r) => r.type === binding.RequestType.KeysUpload)!;
    const body = JSON.parse(upload.body) as { device_keys?: unknown; one_time_keys?: Record<string, unknown> };
    expect(body.device_keys).toBeDefined();
    return () =>
      machine.markRequestAsSent(
        upload.id,
        upload.type,
        JSON.stringify({ one_time_key_counts: { signed_curve25519: Object.keys(body.one_time_keys ?? {}).length } }),
      );
  }
  /** After a restart: device keys are not uploaded again (the server would refuse other keys for the device). */
  async function deviceKeysUploaded(machine: Machine) {
    const uploads = (await machine.outgoingRequests()).filter((r) => r.type === binding.RequestType.KeysUpload);
    return uploads.every((r) => (JSON.parse(r.body) as { device_keys?: unknown }).device_keys === undefined);
  }

  it('keeps the identity across close and reopen from the database, sealed, and writes nothing to disk', async () => {
    const a = await account();
    const key = freshKey();
    const first = await open(a.userId, store(a), { key });
    const ed25519 = first.identityKeys.ed25519.toBase64();
    const curve25519 = first.identityKeys.curve25519.toBase64();
    expect((await row(a.accountId))?.snapshot).toBeTruthy(); // the new identity is stored before initialize returns
    await first.close();
    expect(existsSync(key)).toBe(false);

    const stored = (await row(a.accountId))!;
    expect(stored).toMatchObject({ userId: a.userId, deviceId: 'BOTDEVICE' });
    const sealed = Buffer.from(stored.snapshot!);
    expect(sealed.subarray(0, 22).toString()).toBe('VISITE-CRYPTO-STORE-1\n'); // the file store's format
    expect(sealed.includes(Buffer.from(a.userId))).toBe(false);
    expect(sealed.includes(Buffer.from('BOTDEVICE'))).toBe(false);
    expect(await frames(a.accountId)).toHaveLength(0); // closing compacts

    const again = await open(a.userId, store(a)); // a fresh backend, a fresh in-memory store
    expect(again.identityKeys.ed25519.toBase64()).toBe(ed25519);
    expect(again.identityKeys.curve25519.toBase64()).toBe(curve25519);
    await again.close();
  });

  it('appends a change as one frame, keeps the snapshot, and folds the frames into a snapshot later', async () => {
    const a = await account();
    const machine = await open(a.userId, store(a));
    const before = (await row(a.accountId))!;
    await (await uploadDeviceKeys(machine))();

    const after = (await row(a.accountId))!;
    expect(same(after.snapshot, before.snapshot)).toBe(true);
    expect(after.snapshotSeq).toBe(before.snapshotSeq);
    const appended = await frames(a.accountId);
    expect(appended).toHaveLength(1);
    expect(appended[0]!.seq).toBe(before.snapshotSeq + 1);
    expect(appended[0]!.frame.byteLength).toBeLessThan(before.snapshot!.byteLength);

    await machine.close();
    const compacted = (await row(a.accountId))!;
    expect(compacted.snapshotSeq).toBeGreaterThan(appended[0]!.seq);
    expect(same(compacted.snapshot, before.snapshot)).toBe(false);
    expect(await frames(a.accountId)).toHaveLength(0);

    const restarted = await open(a.userId, store(a));
    expect(await deviceKeysUploaded(restarted)).toBe(true);
    await restarted.close();
  });

  it('refuses a wrong passphrase and leaves the stored bytes as they were', async () => {
    const a = await account();
    await (await open(a.userId, store(a))).close();
    const before = (await row(a.accountId))!;
    const error = await failure(open(a.userId, store(a), { passphrase: 'wrong horse battery' }));
    expect(error).toBeInstanceOf(binding.CryptoStoreError);
    expect(error?.code).toBe('CRYPTO_STORE_PASSPHRASE');
    expect(error?.message).toMatch(/passphrase/);
    const after = (await row(a.accountId))!;
    expect(same(after.snapshot, before.snapshot)).toBe(true);
    expect(after.snapshotSeq).toBe(before.snapshotSeq);
  });

  it('refuses the store of another device, and never writes over it', async () => {
    const a = await account();
    await (await open(a.userId, store(a, 'instance-a', { deviceId: 'DEVICEONE' }), { device: 'DEVICEONE' })).close();
    const before = (await row(a.accountId))!;
    const error = await failure(open(a.userId, store(a, 'instance-a', { deviceId: 'DEVICETWO' }), { device: 'DEVICETWO' }));
    expect(error).toBeInstanceOf(binding.CryptoStoreError);
    expect(error?.code).toBe('CRYPTO_STORE_OWNER');

    // A backend of the other device writing directly (no load first) is refused as well.
    const other = store(a, 'instance-a', { deviceId: 'DEVICETWO' });
    expect((await failure(other.writeSnapshot(new Uint8Array([1, 2, 3]), 99)))?.code).toBe('CRYPTO_STORE_OWNER');
    const after = (await row(a.accountId))!;
    expect(after).toMatchObject({ deviceId: 'DEVICEONE', snapshotSeq: before.snapshotSeq });
    expect(same(after.snapshot, before.snapshot)).toBe(true);
  });

  it('refuses a damaged snapshot; a damaged frame ends the frames, as a torn tail does in the journal file', async () => {
    const a = await account();
    const first = await open(a.userId, store(a));
    await (await uploadDeviceKeys(first))();
    const [frame] = await frames(a.accountId);
    const flipped = Buffer.from(frame!.frame);
    flipped[flipped.length - 5] = flipped[flipped.length - 5]! ^ 0x01;
    await db()
      .update(cryptoStoreFrames)
      .set({ frame: flipped })
      .where(and(eq(cryptoStoreFrames.accountId, a.accountId), eq(cryptoStoreFrames.seq, frame!.seq)));

    const key = freshKey();
    const second = await open(a.userId, store(a), { key });
    expect(second.identityKeys.ed25519.toBase64()).toBe(first.identityKeys.ed25519.toBase64());
    expect(await deviceKeysUploaded(second)).toBe(false); // the frame's change is lost, not half applied
    expect(await frames(a.accountId)).toHaveLength(0); // folded away with the snapshot written at open
    await binding.closeStore(key);
    await first.close();

    await db()
      .update(cryptoStores)
      .set({ snapshot: Buffer.from('not a store') })
      .where(eq(cryptoStores.accountId, a.accountId));
    expect((await failure(open(a.userId, store(a))))?.code).toBe('CRYPTO_STORE_DAMAGED');
  });

  it('writes nothing while the fence refuses, and the pending changes with the next flush it allows', async () => {
    const a = await account();
    const calls = { n: 0 };
    const machine = await open(a.userId, store(a, 'instance-a', { calls }));
    const before = (await row(a.accountId))!;
    const callsBefore = calls.n;

    await moveLease(a.accountId, 'instance-b');
    const refused = await failure((await uploadDeviceKeys(machine))());
    expect(refused).toBeInstanceOf(LeaseLost);
    expect(calls.n).toBe(callsBefore + 1);
    const during = (await row(a.accountId))!;
    expect(same(during.snapshot, before.snapshot)).toBe(true);
    expect(await frames(a.accountId)).toHaveLength(0);
    // Still refused: nothing stored, the changes stay pending.
    expect(await failure(machine.flush())).toBeInstanceOf(LeaseLost);
    expect(await frames(a.accountId)).toHaveLength(0);

    await moveLease(a.accountId, 'instance-a');
    await machine.flush();
    expect(await frames(a.accountId)).toHaveLength(1);

    // What went out is what the machine acknowledged: a restart does not upload the device keys again.
    const restartedBackend = store(a);
    const key = freshKey();
    const restarted = await open(a.userId, restartedBackend, { key });
    expect(restarted.identityKeys.ed25519.toBase64()).toBe(machine.identityKeys.ed25519.toBase64());
    expect(await deviceKeysUploaded(restarted)).toBe(true);
    await binding.closeStore(key);
    await machine.close();
  });

  it('does not start a machine whose first write the fence refuses, and the same store opens once the lease is back', async () => {
    const a = await account('instance-b');
    const key = freshKey();
    expect(await failure(open(a.userId, store(a, 'instance-a'), { key }))).toBeInstanceOf(LeaseLost);
    expect(await row(a.accountId)).toBeUndefined(); // the new identity was not stored
    await moveLease(a.accountId, 'instance-a');
    const machine = await open(a.userId, store(a, 'instance-a'), { key }); // not CRYPTO_STORE_IN_USE
    expect((await row(a.accountId))?.snapshot).toBeTruthy();
    await machine.close();
  });

  it('imports an existing file store once, bytes as they are, and the folder stays as it was', async () => {
    // A file store as Visite wrote it before: snapshot plus one journal frame, "crashed" (copied while open) with a torn tail.
    const a = await account();
    const dir = freshKey();
    const fileMachine = await open(a.userId, undefined, { key: dir });
    await (await uploadDeviceKeys(fileMachine))();
    const ed25519 = fileMachine.identityKeys.ed25519.toBase64();
    const crashed = freshKey();
    cpSync(dir, crashed, { recursive: true });
    await fileMachine.close();
    appendFileSync(join(crashed, 'crypto-store.journal'), Buffer.from([0, 0, 4, 0, 1, 2, 3]));
    const files = Object.fromEntries(readdirSync(crashed).map((name) => [name, readFileSync(join(crashed, name))]));
    const fileFrames = binding.readFileCryptoStore(crashed);
    expect(fileFrames.frames).toHaveLength(1);

    // The import runs in a fenced transaction: refused while another instance holds the lease.
    await moveLease(a.accountId, 'instance-b');
    expect(await failure(open(a.userId, store(a, 'instance-a', { importFromDir: crashed })))).toBeInstanceOf(LeaseLost);
    expect(await row(a.accountId)).toBeUndefined();
    await moveLease(a.accountId, 'instance-a');

    const imported = await open(a.userId, store(a, 'instance-a', { importFromDir: crashed }));
    expect(imported.identityKeys.ed25519.toBase64()).toBe(ed25519);
    expect(await deviceKeysUploaded(imported)).toBe(true);
    // The imported frame was folded into a snapshot when the store opened.
    expect(await frames(a.accountId)).toHaveLength(0);
    expect((await row(a.accountId))?.snapshotSeq).toBeGreaterThan(0);
    await imported.close();
    for (const [name, data] of Object.entries(files)) expect(readFileSync(join(crashed, name)).equals(data)).toBe(true);

    // Once: the database is the store now; a changed (or vanished) folder no longer matters.
    rmSync(crashed, { recursive: true });
    const again = await open(a.userId, store(a, 'instance-a', { importFromDir: crashed }));
    expect(again.identityKeys.ed25519.toBase64()).toBe(ed25519);
    await again.close();
  });

  it('imports the literal bytes: the snapshot row and the journal frames in order', async () => {
    const a = await account();
    const dir = freshKey();
    const fileMachine = await open(a.userId, undefined, { key: dir });
    await (await uploadDeviceKeys(fileMachine))();
    const copy = freshKey();
    cpSync(dir, copy, { recursive: true });
    await fileMachine.close();
    const files = binding.readFileCryptoStore(copy);

    const loaded = await store(a, 'instance-a', { importFromDir: copy }).load();
    expect(same(loaded.snapshot, files.snapshot)).toBe(true);
    expect(loaded.frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(files.frames.map((f) => Buffer.from(f).toString('hex')));
    expect((await row(a.accountId))?.snapshotSeq).toBe(0);
    expect((await frames(a.accountId)).map((f) => f.seq)).toEqual([1]);
  });

  it('lets a second instance continue the same device after a takeover; the first can no longer write', async () => {
    const a = await account('instance-a');
    const first = await open(a.userId, store(a, 'instance-a'));
    const ed25519 = first.identityKeys.ed25519.toBase64();
    await (await uploadDeviceKeys(first))(); // one frame, no close: instance A stops answering
    expect(await frames(a.accountId)).toHaveLength(1);

    await moveLease(a.accountId, 'instance-b');
    const secondKey = freshKey();
    const second = await open(a.userId, store(a, 'instance-b'), { key: secondKey });
    expect(second.identityKeys.ed25519.toBase64()).toBe(ed25519);
    expect(await deviceKeysUploaded(second)).toBe(true);
    const taken = (await row(a.accountId))!;
    expect(await frames(a.accountId)).toHaveLength(0); // B folded A's frame into its snapshot

    // A wakes up: its final snapshot is refused by the fence, and the database keeps B's state.
    expect(await failure(first.close())).toBeInstanceOf(LeaseLost);
    const kept = (await row(a.accountId))!;
    expect(same(kept.snapshot, taken.snapshot)).toBe(true);

    await binding.closeStore(secondKey);
    // And back: A (after taking the lease again) continues what B left.
    await moveLease(a.accountId, 'instance-a');
    const third = await open(a.userId, store(a, 'instance-a'));
    expect(third.identityKeys.ed25519.toBase64()).toBe(ed25519);
    expect(await deviceKeysUploaded(third)).toBe(true);
    await third.close();
  });
});
