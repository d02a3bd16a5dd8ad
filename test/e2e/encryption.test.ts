/**
 * End-to-end encryption on a real Synapse: a small matrix-bot-sdk bot running
 * on our WebAssembly crypto binding talks to a patient played by matrix-js-sdk
 * with its own Rust crypto. Nothing of the patient side is ours.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MatrixClient, MemoryStorageProvider } from 'matrix-bot-sdk';
import { registerUser, type RegisteredUser } from '../../scripts/synapse.ts';
import { createCrypto, CryptoStoreError, decryptAttachment, encryptAttachment, encryptedFile, type BotCrypto } from '../../bots/crypto.ts';
import { createLogger } from '../../server/logger.ts';
import { E2eeClient } from '../harness/e2ee-client.ts';
import { startEchoBot, type EchoBot } from '../harness/e2ee-bot.ts';

type TestBot = EchoBot;
const startTestBot = (user: RegisteredUser, storage: MemoryStorageProvider, storeDir: string, passphrase: string) =>
  startEchoBot(user, storage, storeDir, passphrase, echoImage);

/** Decrypts the patient's photo and sends it back as a new encrypted image (fresh key, fresh upload). */
async function echoImage(client: MatrixClient, roomId: string, rawFile: unknown): Promise<void> {
  const file = encryptedFile.parse(rawFile);
  const { data } = await client.downloadContent(file.url);
  const photo = decryptAttachment(data, file);
  const encrypted = encryptAttachment(photo);
  const url = await client.uploadContent(Buffer.from(encrypted.data), 'application/octet-stream');
  await client.sendMessage(roomId, {
    msgtype: 'm.image',
    body: 'echo.png',
    info: { mimetype: 'image/png', size: photo.byteLength },
    file: { ...encrypted.file, url },
  });
}

const fromBot = (botId: string, body: string) => (e: { sender: string; type: string; content: Record<string, unknown> }) =>
  e.sender === botId && e.type === 'm.room.message' && e.content['body'] === body;

describe('end-to-end encryption with matrix-bot-sdk on the wasm binding', () => {
  const homeserver = inject('homeserver');
  const passphrase = randomBytes(16).toString('hex');
  let dir: string;
  let botUser: RegisteredUser;
  let patientUser: RegisteredUser;
  let patient: E2eeClient;
  let storage: MemoryStorageProvider;
  let bot: TestBot | undefined;
  let roomId: string;
  let firstMessageId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'visite-e2ee-'));
    botUser = await registerUser(homeserver, `e2ee-bot-${randomBytes(4).toString('hex')}`);
    patientUser = await registerUser(homeserver, `e2ee-patient-${randomBytes(4).toString('hex')}`);
    storage = new MemoryStorageProvider();
    bot = await startTestBot(botUser, storage, join(dir, 'store'), passphrase);
    patient = await E2eeClient.start({
      baseUrl: homeserver.url,
      userId: patientUser.userId,
      accessToken: patientUser.accessToken,
      deviceId: patientUser.deviceId,
    });
  });

  afterAll(async () => {
    await bot?.stop().catch(() => {});
    await patient?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads the device keys of the bot and writes an encrypted store', async () => {
    const keys = (await patient.matrix.http.authedRequest('POST' as never, '/keys/query', undefined, { device_keys: { [botUser.userId]: [] } })) as {
      device_keys: Record<string, Record<string, { keys: Record<string, string> }>>;
    };
    const device = keys.device_keys[botUser.userId]?.[botUser.deviceId];
    expect(device?.keys[`ed25519:${botUser.deviceId}`]).toBe(bot!.client.crypto.clientDeviceEd25519);
    const file = readFileSync(join(dir, 'store', 'crypto-store.bin'));
    expect(file.subarray(0, 21).toString()).toBe('VISITE-CRYPTO-STORE-1');
    expect(file.includes(Buffer.from(botUser.userId))).toBe(false);
  });

  it('decrypts the patient’s encrypted message and answers encrypted, readable by the patient', async () => {
    roomId = await patient.createEncryptedDirectRoom(botUser.userId);
    await patient.waitForMembership(roomId, botUser.userId, 'join');
    expect(await patient.isRoomEncrypted(roomId)).toBe(true);

    firstMessageId = await patient.sendText(roomId, 'Hallo, mir geht es gut');
    const reply = await patient.waitForEvent(roomId, fromBot(botUser.userId, 'echo: Hallo, mir geht es gut'));
    expect(reply.encrypted).toBe(true);
    expect(reply.decryptionFailure).toBe(false);
    expect(bot!.seen).toContainEqual(expect.objectContaining({ roomId, eventId: firstMessageId, body: 'Hallo, mir geht es gut', decrypted: true }));
    expect(bot!.failures).toEqual([]);

    // The room really carries ciphertext: the raw event on the server is m.room.encrypted.
    const raw = await bot!.client.getRawEvent(roomId, reply.eventId);
    expect(raw.type).toBe('m.room.encrypted');
    expect(JSON.stringify(raw.content)).not.toContain('echo');
  });

  it('keeps talking over several messages in both directions', async () => {
    for (const text of ['Schmerz 3', 'Temperatur 37,2']) {
      await patient.sendText(roomId, text);
      await patient.waitForEvent(roomId, fromBot(botUser.userId, `echo: ${text}`));
    }
    expect(bot!.failures).toEqual([]);
  });

  it('decrypts an encrypted photo from the patient and sends an encrypted photo the patient can open', async () => {
    const photo = randomBytes(50_000);
    await patient.sendEncryptedImage(roomId, photo, 'image/png', 'wunde.png');
    const reply = await patient.waitForEvent(roomId, (e) => e.sender === botUser.userId && e.type === 'm.room.message' && e.content['msgtype'] === 'm.image');
    expect(bot!.failures).toEqual([]);
    expect(reply.encrypted).toBe(true);
    expect(reply.content['url']).toBeUndefined();
    const file = reply.content['file'] as { url: string; key: { k: string }; iv: string; hashes: { sha256: string } };
    expect(Buffer.from(await patient.downloadAndDecrypt(file)).equals(photo)).toBe(true);
  });

  it('refuses a tampered attachment instead of returning garbage', () => {
    const { data, file } = encryptAttachment(new Uint8Array([1, 2, 3, 4]));
    const tampered = Uint8Array.from(data);
    tampered[0] = tampered[0]! ^ 0xff;
    expect(() => decryptAttachment(tampered, { ...file, url: 'mxc://localhost/x' })).toThrow();
    expect(Array.from(decryptAttachment(data, { ...file, url: 'mxc://localhost/x' }))).toEqual([1, 2, 3, 4]);
  });

  it('after a restart with the same device it decrypts old messages, messages sent while down, and new ones', async () => {
    await bot!.stop();
    bot = undefined;
    const whileDown = await patient.sendText(roomId, 'Nachricht während der Pause');

    bot = await startTestBot(botUser, storage, join(dir, 'store'), passphrase);
    expect(bot.client.crypto.clientDeviceId).toBe(botUser.deviceId);
    await patient.waitForEvent(roomId, fromBot(botUser.userId, 'echo: Nachricht während der Pause'));
    expect(bot.seen).toContainEqual(expect.objectContaining({ eventId: whileDown, decrypted: true }));

    // A message from before the restart, fetched from the server and decrypted with the persisted session.
    const old = await bot.client.getEvent(roomId, firstMessageId);
    expect(old.type).toBe('m.room.message');
    expect(old.content.body).toBe('Hallo, mir geht es gut');

    await patient.sendText(roomId, 'Nach dem Neustart');
    const reply = await patient.waitForEvent(roomId, fromBot(botUser.userId, 'echo: Nach dem Neustart'));
    expect(reply.decryptionFailure).toBe(false);
    expect(bot.failures).toEqual([]);
  });

  it('refuses to start with a wrong passphrase instead of creating a new identity', async () => {
    await bot!.stop();
    bot = undefined;
    const file = join(dir, 'store', 'crypto-store.bin');
    const before = readFileSync(file);
    const wrong = createCrypto({
      userId: botUser.userId,
      deviceId: botUser.deviceId,
      storeDir: join(dir, 'store'),
      passphrase: 'not-the-passphrase',
      logger: createLogger('error'),
    });
    const client = new MatrixClient(homeserver.url, botUser.accessToken, storage, wrong.cryptoStore);
    const error = await client.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    client.stop();
    await wrong.close();
    expect(error).toBeInstanceOf(CryptoStoreError);
    expect((error as InstanceType<typeof CryptoStoreError>).code).toBe('CRYPTO_STORE_PASSPHRASE');
    expect((error as Error).message).toMatch(/passphrase/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(file)).toBe(true);

    // The right passphrase still opens it, with the same identity.
    bot = await startTestBot(botUser, storage, join(dir, 'store'), passphrase);
    await patient.sendText(roomId, 'Noch da?');
    await patient.waitForEvent(roomId, fromBot(botUser.userId, 'echo: Noch da?'));
  });
});
