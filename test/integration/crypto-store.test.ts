/**
 * The bot's crypto store on disk: the wasm OlmMachine's IndexedDB persisted as
 * one passphrase-encrypted file. No homeserver needed: an OlmMachine creates
 * its identity offline.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const binding = require('@matrix-org/matrix-sdk-crypto-nodejs') as typeof import('@matrix-org/matrix-sdk-crypto-nodejs');

const root = mkdtempSync(join(tmpdir(), 'visite-crypto-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const freshDir = () => join(root, `store-${++n}`);
const open = (dir: string, passphrase: string, device = 'BOTDEVICE') => {
  binding.configureStore(dir, { passphrase });
  return binding.OlmMachine.initialize(new binding.UserId('@visite:example.org'), new binding.DeviceId(device), dir, '', binding.StoreType.Sqlite);
};
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as InstanceType<typeof binding.CryptoStoreError>,
  );

describe('the persistent crypto store', () => {
  it('keeps the identity across a close and reopen, in encrypted files only', async () => {
    const dir = freshDir();
    const first = await open(dir, 'correct horse battery');
    const ed25519 = first.identityKeys.ed25519.toBase64();
    await first.close();
    expect(readdirSync(dir).sort()).toEqual(['crypto-store.bin', 'crypto-store.journal']);
    expect(statSync(join(dir, 'crypto-store.journal')).size).toBe(0); // closing compacts the journal into the snapshot
    const file = readFileSync(join(dir, 'crypto-store.bin'));
    expect(file.includes(Buffer.from('@visite:example.org'))).toBe(false);
    expect(file.includes(Buffer.from('BOTDEVICE'))).toBe(false);

    const again = await open(dir, 'correct horse battery');
    expect(again.identityKeys.ed25519.toBase64()).toBe(ed25519);
    await again.close();
  });

  it('refuses a wrong passphrase with a clear error and leaves the file as it was', async () => {
    const dir = freshDir();
    await (await open(dir, 'correct horse battery')).close();
    const before = readFileSync(join(dir, 'crypto-store.bin'));
    const error = await failure(open(dir, 'wrong horse battery'));
    expect(error).toBeInstanceOf(binding.CryptoStoreError);
    expect(error?.code).toBe('CRYPTO_STORE_PASSPHRASE');
    expect(error?.message).toMatch(/passphrase/);
    expect(readFileSync(join(dir, 'crypto-store.bin')).equals(before)).toBe(true);
  });

  it('refuses a store that belongs to another device', async () => {
    const dir = freshDir();
    await (await open(dir, 'correct horse battery', 'DEVICEONE')).close();
    const error = await failure(open(dir, 'correct horse battery', 'DEVICETWO'));
    expect(error?.code).toBe('CRYPTO_STORE_OWNER');
  });

  it('refuses a file that is not a store, and a damaged one', async () => {
    const garbage = freshDir();
    await (await open(garbage, 'correct horse battery')).close();
    writeFileSync(join(garbage, 'crypto-store.bin'), 'not a store');
    expect((await failure(open(garbage, 'correct horse battery')))?.code).toBe('CRYPTO_STORE_DAMAGED');

    const flipped = freshDir();
    await (await open(flipped, 'correct horse battery')).close();
    const data = readFileSync(join(flipped, 'crypto-store.bin'));
    data[data.length - 10] = data[data.length - 10]! ^ 0x01;
    writeFileSync(join(flipped, 'crypto-store.bin'), data);
    expect((await failure(open(flipped, 'correct horse battery')))?.code).toBe('CRYPTO_STORE_PASSPHRASE');
  });

  it('is on disk as soon as a change returns, so a crash (no close) loses nothing acknowledged', async () => {
    const dir = freshDir();
    const machine = await open(dir, 'correct horse battery');
    const snapshot = readFileSync(join(dir, 'crypto-store.bin'));
    const upload = (await machine.outgoingRequests()).find((r) => r.type === binding.RequestType.KeysUpload)!;
    const body = JSON.parse(upload.body) as { device_keys?: unknown; one_time_keys?: Record<string, unknown> };
    expect(body.device_keys).toBeDefined();
    // The homeserver's answer: it now holds our device keys and one-time keys.
    const counts = { signed_curve25519: Object.keys(body.one_time_keys ?? {}).length };
    await machine.markRequestAsSent(upload.id, upload.type, JSON.stringify({ one_time_key_counts: counts }));

    // The change went to the journal as a small frame; the snapshot was not rewritten.
    expect(readFileSync(join(dir, 'crypto-store.bin')).equals(snapshot)).toBe(true);
    const journalBytes = statSync(join(dir, 'crypto-store.journal')).size;
    expect(journalBytes).toBeGreaterThan(0);
    expect(journalBytes).toBeLessThan(snapshot.length);

    // "Crash": copy the folder as it is now, while the machine is still open, and start from the copy,
    // with a torn frame at the end of the journal as a crash mid-append leaves it.
    const crashed = freshDir();
    cpSync(dir, crashed, { recursive: true });
    appendFileSync(join(crashed, 'crypto-store.journal'), Buffer.from([0, 0, 4, 0, 1, 2, 3]));
    const restarted = await open(crashed, 'correct horse battery');
    expect(restarted.identityKeys.ed25519.toBase64()).toBe(machine.identityKeys.ed25519.toBase64());
    const uploads = (await restarted.outgoingRequests()).filter((r) => r.type === binding.RequestType.KeysUpload);
    // Device keys are not uploaded a second time (a second upload of other keys would be refused by the server).
    expect(uploads.every((r) => (JSON.parse(r.body) as { device_keys?: unknown }).device_keys === undefined)).toBe(true);
    expect(statSync(join(crashed, 'crypto-store.journal')).size).toBe(journalBytes); // the torn tail is cut off
    await restarted.close();
    await machine.close();
    expect(existsSync(join(dir, `crypto-store.bin.${process.pid}.tmp`))).toBe(false);
  });

  it('needs a passphrase, and cannot be opened twice at once', async () => {
    const unconfigured = join(root, 'unconfigured');
    const missing = await failure(binding.OlmMachine.initialize(new binding.UserId('@visite:example.org'), new binding.DeviceId('D'), unconfigured, ''));
    expect(missing?.code).toBe('CRYPTO_STORE_CONFIG');
    expect(() => binding.configureStore(unconfigured, { passphrase: '' })).toThrow(/passphrase/);

    const dir = freshDir();
    const machine = await open(dir, 'correct horse battery');
    expect((await failure(open(dir, 'correct horse battery')))?.code).toBe('CRYPTO_STORE_IN_USE');
    await machine.close();
  });
});
